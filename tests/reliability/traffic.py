"""Realistic webhook traffic from the sandbox shops: orders created, changed, held, shipped, scanned,
cancelled, trashed and restored, each change as the signed delivery the platform would send."""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.sandbox.shopify import ShopifySandbox
from connector.sandbox.woocommerce import WooSandbox
from tests.reliability.support import SHOPIFY_DOMAIN, WOO_SITE, Clock, Signed, woo_headers

DELETED_AT = "X-WC-Webhook-Deleted-At"


@dataclass
class Traffic:
    """The in-order deliveries, and per order the indexes of its deliveries (for stale re-sends)."""

    deliveries: list[Signed] = field(default_factory=list)
    by_order: dict[str, list[int]] = field(default_factory=dict)

    def add(self, order_key: str, delivery: Signed) -> None:
        self.by_order.setdefault(order_key, []).append(len(self.deliveries))
        self.deliveries.append(delivery)


def _shopify_orders(traffic: Traffic, clock: Clock, count: int, secret: str, rng: random.Random) -> None:
    sandbox = ShopifySandbox(clock=clock)
    shop = sandbox.add_shop(SHOPIFY_DOMAIN, secret)

    def send(key: str, topic: str, body: object) -> None:
        headers, raw = shop.signed(topic, body)  # type: ignore[arg-type]
        traffic.add(key, Signed("shopify", headers, raw))
        clock.advance(timedelta(seconds=rng.randint(1, 90)))

    for index in range(count):
        email = f"klant.{index}@example.nl"  # one customer per order: budgets per customer stay apart
        customer_id = 7_300_000_000_000_100_000 + index
        customer = {
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
            "id": customer_id,
            "email": email,
            "first_name": "Sanne",
            "last_name": f"de Vries {index}",
            "phone": "+31612345678",
        }
        overrides: dict[str, Any] = {"email": email, "contact_email": email, "customer": customer}
        if index % 7 == 3:  # no house number: the address policy opens an incident
            address = {**shop.create_order()["shipping_address"], "address1": "Hoofdstraat"}
            overrides["shipping_address"] = address
        order = shop.create_order(**overrides)
        oid = order["id"]
        key = f"shopify:{oid}"
        send(key, "orders/create", order)
        send(key, "orders/updated", shop.update_order(oid, tags="vip, cadeau", note=f"Bel aan bij nr {index}"))
        fate = index % 5
        if fate == 0:
            cancelled = shop.update_order(oid, cancelled_at=shop.now_text(), financial_status="refunded")
            send(key, "orders/cancelled", cancelled)
            continue
        if fate == 1:  # left in the warehouse: the stale policy's case
            send(key, "orders/updated", shop.update_order(oid, tags="vip, cadeau, wacht-op-voorraad"))
            continue
        fulfilment = shop.fulfil(oid)
        send(key, "fulfillments/create", fulfilment)
        send(key, "orders/fulfilled", shop.order(oid))
        event = shop.add_fulfillment_event(
            fulfilment["id"], "in_transit", estimated_delivery_at=clock() + timedelta(days=1), city="Utrecht"
        )
        send(key, "fulfillment_events/create", event)
        if fate in (2, 3):
            send(key, "fulfillment_events/create", shop.add_fulfillment_event(fulfilment["id"], "delivered"))
            send(key, "fulfillments/update", shop.update_fulfillment(fulfilment["id"], shipment_status="delivered"))


def _dated(site: WooSandbox, order_id: int) -> dict[str, str]:
    moment = datetime.fromisoformat(site.order(order_id)["date_modified_gmt"]).replace(tzinfo=UTC)
    return {DELETED_AT: moment.isoformat()}


def _woo_orders(traffic: Traffic, clock: Clock, count: int, secret: str, rng: random.Random) -> None:
    site = WooSandbox(clock=clock, webhook_secret=secret, site_url=WOO_SITE)

    def send(order_id: int, topic: str, extra: dict[str, str] | None = None) -> None:
        body = site.payload(topic, order_id)
        headers = woo_headers(topic, body, secret, secrets.token_hex(16))
        headers.update(extra or {})
        traffic.add(f"woocommerce:{order_id}", Signed("woocommerce", headers, body))
        clock.advance(timedelta(seconds=rng.randint(1, 90)))

    for index in range(count):
        order = site.create_order(
            status="on-hold" if index % 4 == 0 else "processing",
            house_number="" if index % 7 == 5 else str(10 + index % 90),
            email=f"klant.{index}@example.nl",
        )
        oid = int(order["id"])
        send(oid, "order.created")
        fate = index % 6
        if index % 4 == 0:
            site.update_order(oid, status="processing")
            send(oid, "order.updated")
        if fate == 0:  # trashed for good
            site.trash_order(oid)
            # WooCommerce sends only the id, so the deletion cannot be placed among several versions
            # of the order: those get the relay's date header (see DELETED_AT in the adapter)
            send(oid, "order.deleted", _dated(site, oid) if index % 4 == 0 else None)
            continue
        if fate == 1:  # trashed and restored; a relay dates the deletion
            site.trash_order(oid)
            send(oid, "order.deleted", _dated(site, oid))
            site.restore_order(oid)
            send(oid, "order.restored")
            continue
        if fate == 2:
            continue  # still processing
        site.add_tracking(oid, number=f"3SNL{index:08d}", status="in_transit", estimated_delivery="2026-11-25")
        send(oid, "order.updated")
        if fate in (3, 4):
            site.set_shipment_status(oid, 0, "delivered")
            send(oid, "order.updated")


def generate(shopify_orders: int, woo_orders: int, start: datetime, secrets_: tuple[str, str], seed: int) -> Traffic:
    """In-order deliveries for both platforms, interleaved as they would arrive on one clock."""
    rng = random.Random(seed)
    traffic = Traffic()
    _shopify_orders(traffic, Clock(start), shopify_orders, secrets_[0], rng)
    _woo_orders(traffic, Clock(start), woo_orders, secrets_[1], rng)
    return traffic


def redelivered(delivery: Signed, fresh_id: bool) -> Signed:
    """The same body again: Shopify retries under the same webhook id, WooCommerce with a new delivery id.
    ``fresh_id`` gives a Shopify delivery a new id too (a late, separately triggered send of an old version)."""
    headers = dict(delivery.headers)
    if delivery.platform == "woocommerce":
        headers["X-WC-Webhook-Delivery-ID"] = secrets.token_hex(16)
    elif fresh_id:
        headers["X-Shopify-Webhook-Id"] = f"stale-{secrets.token_hex(8)}"
    return Signed(delivery.platform, headers, delivery.body)


def describe(delivery: Signed) -> str:
    topic = delivery.headers.get("X-Shopify-Topic") or delivery.headers.get("X-WC-Webhook-Topic")
    return f"{delivery.platform} {topic} {json.loads(delivery.body).get('id')}"
