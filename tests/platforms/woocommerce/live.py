"""Helpers for tests that talk to a served sandbox site: a settable clock, the shop, one action request,
and the outbox run against it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from connector.actions import ActionKind, ActionRequest, PlannedAction, idempotency_key
from connector.model import Platform
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain, plan
from connector.sandbox.woocommerce import WooSandbox
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.store.tables import ActionRow
from tests.conftest import make_settings

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SHOP_ID = "theewinkel"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def shop_for(site: WooSandbox, **overrides: Any) -> Shop:
    return Shop(
        id=SHOP_ID,
        platform=Platform.WOOCOMMERCE,
        key=site.source,
        name="De Theewinkel",
        status="active",
        timezone="Europe/Amsterdam",
        locale="nl",
        country="NL",
        source="config",
        api_base_url=overrides.pop("api_base_url", site.site_url),
        credentials={"consumer_key": site.consumer_key, "consumer_secret": site.consumer_secret, **overrides},
        webhook_secrets=(site.webhook_secret,),
    )


def action(kind: ActionKind, order_id: int | str, payload: dict[str, Any], key: str = "k") -> ActionRequest:
    return ActionRequest(
        action_id=1,
        shop_id=SHOP_ID,
        kind=kind,
        idempotency_key=f"{SHOP_ID}:{order_id}:test:{key}",
        payload=payload,
        order_external_id=str(order_id),
        attempt=1,
    )


@dataclass(frozen=True)
class Outcome:
    state: str
    attempts: int
    last_error: str | None
    result: dict[str, Any] | None


@dataclass
class Outbox:
    """ordercare's outbox for one WooCommerce shop: plan a step, drain, read back what it stored."""

    services: Services
    env: OutboxEnv
    clock: Clock

    def run(self, order_id: int, step: PlannedAction, *, drains: int = 1) -> Outcome:
        with transaction(self.services.sessions) as session:
            plan(
                session,
                shop_id=SHOP_ID,
                order_id=None,
                order_external_id=str(order_id),
                action=step,
                now=self.clock.now,
            )
        for _ in range(drains):
            drain(self.env)
            self.clock.now += timedelta(minutes=10)
        with self.services.sessions() as session:
            key = idempotency_key(SHOP_ID, str(order_id), step.policy, step.step)
            row = session.scalars(select(ActionRow).where(ActionRow.idempotency_key == key)).one()
            return Outcome(row.state, row.attempts, row.last_error, row.result)


@contextmanager
def outbox(db_url: str, engine: Engine, clock: Clock, site: WooSandbox, **shop: Any) -> Iterator[Outbox]:
    services = Services.build(
        make_settings(db_url, shops=[site.shop_config(SHOP_ID, **shop)]), engine=engine, clock=clock
    )
    env = OutboxEnv(services)
    try:
        yield Outbox(services, env, clock)
    finally:
        env.close()
