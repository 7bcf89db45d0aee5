"""The WooCommerce sandbox itself (paging, errors, seeded faults) and the outbox draining against it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import Engine, select

from connector.actions import ActionKind, PlannedAction
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain, plan
from connector.sandbox.woocommerce import Faults, WooSandbox
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow
from tests.conftest import make_settings


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def site() -> Iterator[WooSandbox]:
    sandbox = WooSandbox(clock=Clock(), ping_on_create=False)
    with sandbox.serve():
        yield sandbox


def get(site: WooSandbox, path: str, **params: str) -> requests.Response:
    auth = (site.consumer_key, site.consumer_secret)
    return requests.get(f"{site.site_url}/wp-json/wc/v3/{path}", params=params, auth=auth, timeout=5)


def test_paging_headers_and_limits(site: WooSandbox) -> None:
    for _ in range(25):
        site.create_order()
    answer = get(site, "orders", per_page="10", page="3")
    assert (answer.headers["X-WP-Total"], answer.headers["X-WP-TotalPages"]) == ("25", "3")
    assert len(answer.json()) == 5
    too_many = get(site, "orders", per_page="101")
    assert (too_many.status_code, too_many.json()["code"]) == (400, "rest_invalid_param")


def test_error_shapes(site: WooSandbox) -> None:
    assert get(site, "nothing-here").json() == {
        "code": "rest_no_route",
        "message": "No route was found matching the URL and request method",
        "data": {"status": 404},
    }
    order = site.create_order()
    bad = requests.put(
        f"{site.site_url}/wp-json/wc/v3/orders/{order['id']}",
        data=b"{kapot",
        auth=(site.consumer_key, site.consumer_secret),
        timeout=5,
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "rest_invalid_json")


def test_faults_repeat_with_the_same_seed() -> None:
    def run(seed: int) -> list[int]:
        sandbox = WooSandbox(faults=Faults(error_rate=0.3, garbage_rate=0.2, burst_429=2, seed=seed))
        with sandbox.serve():
            return [get(sandbox, "orders").status_code for _ in range(12)]

    first = run(7)
    assert first == run(7)
    assert first[:2] == [429, 429]
    assert {500, 200} <= set(first)


def test_outbox_applies_every_action_once_through_faults(db_url: str, engine: Engine) -> None:
    clock = Clock()
    site = WooSandbox(clock=clock, faults=Faults(error_rate=0.3, garbage_rate=0.15, seed=4), ping_on_create=False)
    with site.serve():
        order = site.create_order()
        services = Services.build(
            make_settings(db_url, shops=[site.shop_config("theewinkel")]), engine=engine, clock=clock
        )
        steps = [
            PlannedAction(ActionKind.ADD_NOTE, "address", "note", {"text": "Huisnummer ontbreekt."}),
            PlannedAction(ActionKind.ADD_TAGS, "address", "tag", {"tags": ["ordercare:address"]}),
            PlannedAction(ActionKind.HOLD_FULFILLMENT, "address", "hold", {"reason": "address"}),
            PlannedAction(
                ActionKind.CREATE_VOUCHER, "next_day", "voucher", {"code": "SORRY-1", "kind": "fixed", "value": "5"}
            ),
        ]
        with transaction(services.sessions) as session:
            for step in steps:
                plan(
                    session,
                    shop_id="theewinkel",
                    order_id=None,
                    order_external_id=str(order["id"]),
                    action=step,
                    now=clock.now,
                )
        env = OutboxEnv(services)
        for _ in range(40):
            drain(env)
            clock.now += timedelta(hours=2)
        env.close()
        with services.sessions() as session:
            states = dict(session.execute(select(ActionRow.kind, ActionRow.state)).all())
        assert states == {step.kind.value: "done" for step in steps}
        assert site.counters["faults_5xx"] + site.counters["faults_garbage"] > 0, site.counters
        assert (site.counters["notes"], site.counters["coupons"]) == (1, 1)
        assert site.counters["status:processing->on-hold"] == 1
        assert site.meta(order["id"])["ordercare_tags"] == "ordercare:address"
