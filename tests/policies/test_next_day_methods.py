"""Which shipping methods promise next-day delivery: the built-in phrases, merchant globs, both platforms.

The default phrases match as whole words anywhere in the method name, any case; merchants' ``methods``
globs keep their fnmatch meaning over the whole name. Orders for the policy tests are the recorded Dutch
webhook bodies with the shipping line renamed, mapped by each platform's mapper.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from connector.model import Order, OrderStatus, Platform
from connector.platforms.base import ShopContext
from connector.platforms.shopify import mapper as shopify
from connector.platforms.woocommerce import mapper as woocommerce
from connector.policies.base import Open
from connector.policies.config import NEXT_DAY_PHRASES, NextDayConfig, phrase_pattern
from connector.policies.next_day import POLICY as NEXT_DAY
from tests.conftest import fixture_json

from .support import ams, context, planned

NEXT_DAY_NAMES = [
    "PostNL - Morgen in huis",
    "DHL (Morgen bezorgd)",
    "Volgende dag",
    "Volgende dag levering",
    "DPD Next Day",
    "Next-day delivery",
    "next day",
    "Morgen in huis",
    "Morgen bezorgd - DHL",
    "Vandaag besteld, morgen in huis",
]
# decided: a dash ends a word, so "Nextday-ish" holds "nextday" and counts (documented in phrase_pattern)
ALSO_NEXT_DAY = ["Nextday-ish", "NEXTDAY", "Next – Day", "Vandaag besteld, morgen geleverd", "Morgen in huis (PostNL)"]
OTHER_NAMES = [
    "Standaard verzending",
    "PostNL Pakket",
    "Ophalen in de winkel",
    "Morgenster Express",
    "Zaterdaglevering",
    "Levering binnen 2 dagen",
    "Gratis verzending",
    "DHL Parcel Connect",
]
# a phrase glued to other letters is not the phrase
GLUED_NAMES = ["Levering in de volgende dagen", "'s Morgens bezorgd", "Zaterdagmorgen bezorgd", "Next daytime"]

SHOPIFY = ShopContext(shop_id="fietsen", platform=Platform.SHOPIFY, timezone="Europe/Amsterdam", country="NL")
WOO = ShopContext(shop_id="theewinkel", platform=Platform.WOOCOMMERCE, timezone="Europe/Amsterdam", country="NL")

# both recorded orders are paid on Monday 23 Nov 2026 before 18:00: dispatch by Monday 21:00
LATE = ams(2026, 11, 24, 10, 0)


# --- the matcher --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NEXT_DAY_NAMES + ALSO_NEXT_DAY)
def test_default_phrases_match_next_day_names(name: str) -> None:
    assert NextDayConfig().matches(name)


@pytest.mark.parametrize("name", OTHER_NAMES + GLUED_NAMES + ["", None])
def test_default_phrases_leave_other_names_alone(name: str | None) -> None:
    assert not NextDayConfig().matches(name)


def test_phrase_pattern_is_word_bounded_and_joins_words_by_space_dash_or_nothing() -> None:
    pattern = phrase_pattern(("next day",))
    assert pattern is not None
    assert [bool(pattern.search(n)) for n in ("next day", "next-day", "nextday", "next_day", "next  day")] == [True] * 5
    assert [bool(pattern.search(n)) for n in ("nextdays", "anext day", "next, day", "next.day")] == [False] * 4
    assert phrase_pattern(()) is None
    assert NextDayConfig().method_phrases == list(NEXT_DAY_PHRASES)


def test_merchant_globs_keep_their_fnmatch_meaning() -> None:
    globs = NextDayConfig(methods=["Express*", "Spoed"], method_phrases=[])
    assert globs.matches("Express levering")
    assert globs.matches("EXPRESS")
    assert globs.matches("spoed")
    assert not globs.matches("DHL Express")  # a glob is over the whole name, from its start
    assert not globs.matches("Spoedlevering")
    assert not globs.matches("Morgen in huis")  # phrases switched off: only the globs
    old_defaults = NextDayConfig(methods=["Morgen in huis*", "Next day*"], method_phrases=[])
    assert old_defaults.matches("Morgen in huis (PostNL)")
    assert not old_defaults.matches("PostNL - Morgen in huis")


def test_merchant_globs_count_beside_the_default_phrases() -> None:
    config = NextDayConfig(methods=["Express*"])
    assert config.matches("Express levering")
    assert config.matches("DPD Next Day")
    assert not config.matches("Standaard verzending")


def test_own_phrases_replace_the_defaults() -> None:
    config = NextDayConfig(method_phrases=["spoedlevering"])
    assert config.matches("PostNL Spoedlevering (vandaag)")
    assert not config.matches("Morgen in huis")


@pytest.mark.parametrize("phrase", ["Morgen*", "", " - "])
def test_a_phrase_with_a_wildcard_or_without_words_is_refused(phrase: str) -> None:
    with pytest.raises(ValidationError):
        NextDayConfig(method_phrases=[phrase])


# --- through each platform's mapper and the policy ----------------------------------------------


def shopify_order(method: str) -> Order:
    data: dict[str, Any] = copy.deepcopy(fixture_json("shopify/orders_create__nl_paid.json"))
    data["shipping_lines"][0]["title"] = method
    data["shipping_lines"][0]["code"] = "custom"
    return shopify.order_from_rest(data, SHOPIFY)


def woo_order(method: str) -> Order:
    data: dict[str, Any] = copy.deepcopy(fixture_json("woocommerce/order_updated__nl_split_address.json"))
    data["shipping_lines"][0]["method_title"] = method
    return woocommerce.order_from_rest(data, WOO)


PLATFORMS = [pytest.param(shopify_order, id="shopify"), pytest.param(woo_order, id="woocommerce")]


@pytest.mark.parametrize("build", PLATFORMS)
@pytest.mark.parametrize("name", NEXT_DAY_NAMES)
def test_next_day_names_open_an_incident_when_the_deadline_passed(build: Any, name: str) -> None:
    order = build(name)
    assert order.shipping_method == name
    assert order.status in (OrderStatus.PAID, OrderStatus.PROCESSING)
    ctx = context(platform=order.platform)
    waiting = NEXT_DAY.decide(order, {}, ams(2026, 11, 23, 20, 0), ctx)
    assert waiting.empty
    assert waiting.next_check == ams(2026, 11, 23, 21, 0)
    decision = NEXT_DAY.decide(order, {}, LATE, ctx)
    (opened,) = decision.incidents
    assert isinstance(opened, Open)
    assert opened.kind == "next_day"
    assert opened.details["promised"] == "2026-11-24"
    assert [kind for kind, _, _ in planned(decision)] == ["add_tags", "add_note", "notify_customer"]


@pytest.mark.parametrize("build", PLATFORMS)
@pytest.mark.parametrize("name", OTHER_NAMES + GLUED_NAMES)
def test_other_names_carry_no_next_day_promise(build: Any, name: str) -> None:
    order = build(name)
    assert order.shipping_method == name
    decision = NEXT_DAY.decide(order, {}, LATE + timedelta(days=2), context(platform=order.platform))
    assert decision.empty
    assert decision.next_check is None


@pytest.mark.parametrize("build", PLATFORMS)
def test_a_merchant_glob_still_works_through_the_policy(build: Any) -> None:
    order = build("Express levering")
    assert NEXT_DAY.decide(order, {}, LATE, context(platform=order.platform)).empty
    ctx = context({"next_day": {"methods": ["express*"]}}, platform=order.platform)
    assert not NEXT_DAY.decide(order, {}, LATE, ctx).empty
