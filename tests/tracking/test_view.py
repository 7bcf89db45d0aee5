# ruff: noqa: E501  (the expected sentences are kept as the customer reads them)
"""What the tracking page says, per state of the order, in Dutch and English, word for word."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from connector.incidents import IncidentView
from connector.model import OrderStatus, Payment, ShipmentStatus
from connector.notify.render import Renderer
from connector.tracking import view
from connector.tracking.view import Action, Parcel, Step, TrackingPage
from tests import builders
from tests.tracking.support import (
    AMSTERDAM,
    CONTACT,
    FIX_URL,
    NOW,
    VOUCHER,
    address_incident,
    delay_incident,
    delivered,
    held_for_address,
    late,
    local,
    placed,
    promise,
)

RENDERER = Renderer()
CONTACT_ACTION = Action("contact", f"mailto:{CONTACT}")


def build(order: Any, lang: str = "en", **facts: Any) -> TrackingPage:
    given: dict[str, Any] = {"incidents": [], "vouchers": [], "promises": [], "contact": CONTACT}
    given.update(facts)
    return view.build(
        order, now=given.pop("now", NOW), tz=AMSTERDAM, shop_name="Fietsenwinkel",
        words=view.Wording(RENDERER, lang), **given,
    )  # fmt: skip


def page(lang: str, **fields: Any) -> TrackingPage:
    base: dict[str, Any] = {
        "lang": lang,
        "shop_name": "Fietsenwinkel",
        "order_number": "#1001",
        "ordered_on": "23 November 2026" if lang == "en" else "23 november 2026",
        "headline": None,
        "promise": None,
        "problems": (),
        "vouchers": (),
        "items": ("2× Fietsbel",),
        "parcels": (),
        "actions": (CONTACT_ACTION,),
        "contact": CONTACT,
    }
    base.update(fields)
    return TrackingPage(**base)


# --- the four states of the demo's orders ------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "headline"), [("en", "We are preparing your order."), ("nl", "We maken je bestelling klaar.")]
)
def test_placed(lang: str, headline: str) -> None:
    assert build(placed(), lang) == page(lang, headline=headline)


HELD = {
    "en": (
        "Your order is waiting for the right delivery address.",
        "We need your help with the delivery address: the house number is missing. We keep your order ready and send it as soon as the address is right.",
    ),
    "nl": (
        "Je bestelling wacht op het juiste bezorgadres.",
        "We hebben je hulp nodig bij het bezorgadres: het huisnummer ontbreekt. We houden je bestelling klaar en versturen hem zodra het adres klopt.",
    ),
}


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_held_for_address(lang: str) -> None:
    headline, problem = HELD[lang]
    shown = build(held_for_address(), lang, incidents=[address_incident()], fix_url=FIX_URL)
    assert shown == page(
        lang, headline=headline, problems=(problem,), actions=(Action("fix_address", FIX_URL), CONTACT_ACTION)
    )


LATE = {
    "en": (
        "Your order is on its way.",
        "The new expected delivery date is Monday 30 November.",
        "Your parcel has not been scanned by PostNL for a few days, so we do not know exactly where it is.",
        "As a small apology, here is a discount code for your next order: OC-7KQ2M9 (10% off, valid until 22 February 2027).",
        (
            Step("Tuesday 24 November, 07:30", "On its way with PostNL", "Nieuwegein"),
            Step("Monday 23 November, 18:00", "Handed to PostNL", "Amsterdam"),
            Step("Monday 23 November, 15:00", "Sent with PostNL"),
        ),
    ),
    "nl": (
        "Je bestelling is onderweg.",
        "De nieuwe verwachte bezorgdatum is maandag 30 november.",
        "Je pakket is al een paar dagen niet gescand door PostNL, dus we weten niet precies waar het is.",
        "Als klein gebaar krijg je van ons een kortingscode voor je volgende bestelling: OC-7KQ2M9 (10% korting, geldig tot en met 22 februari 2027).",
        (
            Step("dinsdag 24 november, 07:30", "Onderweg met PostNL", "Nieuwegein"),
            Step("maandag 23 november, 18:00", "Overgedragen aan PostNL", "Amsterdam"),
            Step("maandag 23 november, 15:00", "Verstuurd met PostNL"),
        ),
    ),
}


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_late_with_a_promise(lang: str) -> None:
    headline, promised, problem, voucher, steps = LATE[lang]
    shown = build(
        late(), lang, incidents=[delay_incident()], vouchers=[VOUCHER], promises=[promise(date(2026, 11, 30))]
    )
    # the carrier's own link names the customer's postcode (1234AB), so the page does not show it
    parcel = Parcel("PostNL", "3SABCD1234567", None, None, steps)
    assert shown == page(
        lang, headline=headline, promise=promised, problems=(problem,), vouchers=(voucher,), parcels=(parcel,)
    )


DELIVERED = {
    "en": (
        "Your order was delivered on Wednesday 25 November.",
        (
            Step("Wednesday 25 November, 13:10", "Delivered", "Amsterdam"),
            Step("Tuesday 24 November, 06:00", "On its way with PostNL", "Utrecht"),
            Step("Monday 23 November, 18:00", "Handed to PostNL", "Amsterdam"),
            Step("Monday 23 November, 15:00", "Sent with PostNL"),
        ),
    ),
    "nl": (
        "Je bestelling is bezorgd op woensdag 25 november.",
        (
            Step("woensdag 25 november, 13:10", "Bezorgd", "Amsterdam"),
            Step("dinsdag 24 november, 06:00", "Onderweg met PostNL", "Utrecht"),
            Step("maandag 23 november, 18:00", "Overgedragen aan PostNL", "Amsterdam"),
            Step("maandag 23 november, 15:00", "Verstuurd met PostNL"),
        ),
    ),
}


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_delivered(lang: str) -> None:
    headline, steps = DELIVERED[lang]
    # a promise still open when the parcel arrived gives no date any more
    shown = build(delivered(), lang, promises=[promise(date(2026, 11, 30))], incidents=[delay_incident()])
    parcel = Parcel("PostNL", "3SABCD1234567", "https://postnl.nl/tt/3SABCD1234567", None, steps)
    assert shown == page(lang, headline=headline, parcels=(parcel,))


# --- saying less when the facts are not there ----------------------------------------------------------


def test_a_promise_whose_day_has_passed_is_not_shown() -> None:
    on_the_day = build(late(), promises=[promise(date(2026, 11, 27))])
    assert on_the_day.promise == "The new expected delivery date is Friday 27 November."
    day_after = build(late(), promises=[promise(date(2026, 11, 26))])
    assert day_after.promise is None


def test_the_newest_promise_is_the_date_and_hear_from_us_is_said_as_the_message_said_it() -> None:
    older, newer = promise(date(2026, 12, 2), id=1), promise(date(2026, 11, 30), made_at=local(27, 8), id=2)
    assert build(late(), promises=[older, newer]).promise == "The new expected delivery date is Monday 30 November."
    hear = promise(date(2026, 11, 30), kind="hear_from_us_by")
    assert build(late(), "nl", promises=[hear]).promise == (
        "Een betrouwbare nieuwe datum kunnen we je nog niet geven. Uiterlijk maandag 30 november hoor je van ons."
    )


def test_the_carriers_expected_day_shows_only_without_a_promise_and_not_once_passed() -> None:
    order = late()
    expecting = replace(order.shipments[0], estimated_delivery_at=local(28, 12))
    order = replace(order, shipments=(expecting,))
    assert build(order).parcels[0].expected == "PostNL expects to deliver it on Saturday 28 November."
    assert build(order, "nl").parcels[0].expected == "PostNL verwacht het pakket zaterdag 28 november te bezorgen."
    assert build(order, promises=[promise(date(2026, 11, 30))]).parcels[0].expected is None
    assert build(order, now=local(29, 10)).parcels[0].expected is None


def test_no_fix_button_without_a_working_fix_link_nor_once_the_order_shipped() -> None:
    assert build(held_for_address(), incidents=[address_incident()]).actions == (CONTACT_ACTION,)
    shipped = replace(late(), shipping_address=builders.address_without_house_number())
    shown = build(shipped, incidents=[address_incident()], fix_url=FIX_URL)
    assert (shown.headline, shown.problems, shown.actions) == ("Your order is on its way.", (), (CONTACT_ACTION,))


def test_a_resolved_incident_and_an_unknown_kind_say_nothing() -> None:
    resolved = replace(address_incident(), state="resolved")
    unknown = IncidentView("out_of_stock", "open", 1, 1, local(24, 10), id=13, details={"reason": "backorder"})
    shown = build(placed(), incidents=[resolved, unknown])
    assert (shown.headline, shown.problems) == ("We are preparing your order.", ())


def test_an_expired_voucher_is_not_shown() -> None:
    assert build(late(), vouchers=[replace(VOUCHER, ends_on=date(2026, 11, 27))]).vouchers != ()
    assert build(late(), vouchers=[replace(VOUCHER, ends_on=date(2026, 11, 26))]).vouchers == ()


@pytest.mark.parametrize(
    ("changes", "headline"),
    [
        (
            {"payment": Payment.AWAITING, "status": OrderStatus.ON_HOLD, "paid_at": None},
            "We are waiting for your payment.",
        ),
        ({"status": OrderStatus.PLACED}, "We have received your order."),
        ({"status": OrderStatus.PARTIALLY_SHIPPED}, "Part of your order is on its way."),
        ({"status": OrderStatus.CANCELLED}, "This order has been cancelled."),
        ({"status": OrderStatus.REFUNDED}, "This order has been refunded."),
    ],
)
def test_the_other_headlines(changes: dict[str, Any], headline: str) -> None:
    assert build(placed(**changes), promises=[promise(date(2026, 11, 30))]).headline == headline


def test_a_cancelled_order_gives_no_date_and_no_problem() -> None:
    shown = build(
        placed(status=OrderStatus.CANCELLED), promises=[promise(date(2026, 11, 30))], incidents=[address_incident()]
    )
    assert (shown.promise, shown.problems) == (None, ())


def test_parcels_sent_back_get_no_headline() -> None:
    back = replace(late().shipments[0], status=ShipmentStatus.RETURNED, events=(), updated_at=local(26, 9))
    shown = build(replace(late(), shipments=(back,)), "nl")
    assert shown.headline is None
    assert shown.parcels[0].steps == (Step("maandag 23 november, 15:00", "Verstuurd met PostNL"),)


def test_an_unknown_carrier_code_is_left_out_of_the_timeline() -> None:
    odd = builders.scan("e9", local(24, 9), ShipmentStatus.UNKNOWN)
    parcel = replace(late().shipments[0], events=(*late().shipments[0].events, odd))
    assert build(replace(late(), shipments=(parcel,))).parcels[0].steps == LATE["en"][4]
