"""The shop's own voice: each shop's customers get mail from that shop's sender, replies go to that shop, and
its signature closes the message; a shop without its own sender falls back on the global ``email`` block."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from connector.checks import config_warnings
from connector.config import Settings
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain
from connector.services import Services
from tests.builders import order
from tests.conftest import make_settings
from tests.notify.conftest import notify_settings
from tests.notify.support import CapturingHandler, Clock, context, notify_payload, plan_notify, store


def voiced_settings(db_url: str, smtp_port: int) -> Settings:
    shops = [shop.model_dump(exclude_none=True) for shop in make_settings(db_url).shops]
    shops[0].update(name="Fietsenwinkel", sender="Fietsenwinkel <service@fietsenwinkel.nl>")
    shops[1].update(
        name="Theewinkel",
        sender="Theewinkel <hallo@theewinkel.nl>",
        reply_to="Klantenservice Theewinkel <klantenservice@theewinkel.nl>",
        signature="Warme groet,\nAnnemiek van de Theewinkel\n020 123 45 67",
    )
    return notify_settings(db_url, smtp_port, shops=shops)


@pytest.fixture
def voiced(db_url: str, engine: Engine, clock: Clock, smtp: CapturingHandler) -> Services:
    return Services.build(voiced_settings(db_url, smtp.port), engine=engine, clock=clock)  # type: ignore[attr-defined]


def send_one(services: Services, shop_id: str, name: str) -> None:
    order_id = store(services, order("1001", shop_id=shop_id))
    payload = notify_payload("stale_update", context=context(shop_name=name))
    plan_notify(services, order_id, payload, shop_id=shop_id)


def test_each_shop_writes_in_its_own_name_and_gets_its_own_replies(voiced: Services, smtp: CapturingHandler) -> None:
    send_one(voiced, "fietsen", "Fietsenwinkel")
    send_one(voiced, "theewinkel", "Theewinkel")
    env = OutboxEnv(voiced)
    assert drain(env).done == 2
    env.close()
    by_from = {r.message["From"]: r for r in smtp.received}
    assert set(by_from) == {"Fietsenwinkel <service@fietsenwinkel.nl>", "Theewinkel <hallo@theewinkel.nl>"}
    bikes = by_from["Fietsenwinkel <service@fietsenwinkel.nl>"]
    tea = by_from["Theewinkel <hallo@theewinkel.nl>"]
    assert (bikes.mail_from, tea.mail_from) == ("service@fietsenwinkel.nl", "hallo@theewinkel.nl")
    # the bike shop's own sender: replies go to it, never to the global reply-to of another shop
    assert bikes.message["Reply-To"] is None
    assert tea.message["Reply-To"] == "Klantenservice Theewinkel <klantenservice@theewinkel.nl>"
    assert bikes.message["Message-ID"].endswith("@fietsenwinkel.nl>")
    assert tea.message["Message-ID"].endswith("@theewinkel.nl>")
    # the signature closes the message, line by line
    assert tea.body("plain").rstrip().endswith("Warme groet,\nAnnemiek van de Theewinkel\n020 123 45 67")
    assert "Hartelijke groet" not in tea.body("plain")
    assert "Warme groet,<br>\nAnnemiek van de Theewinkel<br>\n020 123 45 67" in tea.body("html")
    assert bikes.body("plain").rstrip().endswith("Hartelijke groet,\nFietsenwinkel")


def test_a_shop_without_its_own_sender_uses_the_global_one(
    services: Services, env: OutboxEnv, smtp: CapturingHandler
) -> None:
    send_one(services, "fietsen", "Fietsenwinkel Één")
    assert drain(env).done == 1
    (received,) = smtp.received
    assert received.message["From"] == "Fietsenwinkel Één <service@fietsenwinkel.example>"
    assert received.message["Reply-To"] == "Klantenservice <help@fietsenwinkel.example>"


def test_an_installed_shop_speaks_with_the_global_voice(voiced: Services) -> None:
    voice = voiced.settings.voice_for("installed-shop")
    assert (voice.sender, voice.reply_to, voice.signature) == (
        "service@fietsenwinkel.example", "Klantenservice <help@fietsenwinkel.example>", None
    )  # fmt: skip


@pytest.mark.parametrize("bad", ["service", "Fietsenwinkel", "<>", ""])
def test_a_sender_that_is_no_address_is_refused_with_its_key(db_url: str, bad: str) -> None:
    from connector.config import ConfigError

    shops: list[dict[str, Any]] = [shop.model_dump(exclude_none=True) for shop in make_settings(db_url).shops]
    shops[1]["sender"] = bad
    with pytest.raises(ConfigError) as info:
        make_settings(db_url, shops=shops)
    assert any(problem.startswith("shops[1].sender: ") for problem in info.value.problems)


def test_check_config_names_each_shop_without_its_own_sender_when_there_are_several(db_url: str) -> None:
    several = make_settings(db_url, public_url="https://ordercare.example.nl")
    assert [w for w in config_warnings(several) if "sender" in w] == [
        "shops[0].sender: not set; fietsen's customers get mail from the global email.sender "
        "(ordercare <ordercare@localhost>) and their replies go there",
        "shops[1].sender: not set; theewinkel's customers get mail from the global email.sender "
        "(ordercare <ordercare@localhost>) and their replies go there",
    ]
    shops = [shop.model_dump(exclude_none=True) for shop in several.shops]
    shops[0]["sender"] = "Fietsen <a@fietsen.nl>"
    shops[1]["sender"] = "Thee <b@thee.nl>"
    own = make_settings(db_url, public_url="https://ordercare.example.nl", shops=shops)
    assert [w for w in config_warnings(own) if "sender" in w] == []
    one_shop = [shop.model_dump(exclude_none=True) for shop in several.shops][:1]  # no sender of its own
    alone = make_settings(db_url, public_url="https://ordercare.example.nl", shops=one_shop)
    assert [w for w in config_warnings(alone) if "sender" in w] == []
