"""Prometheus metrics: one registry per running service (web or worker), exposed at ``/metrics``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.webhooks_received = Counter(
            "ordercare_webhooks_received", "Webhook deliveries accepted", ["platform", "outcome"], registry=r
        )
        self.webhooks_rejected = Counter(
            "ordercare_webhooks_rejected", "Webhook deliveries rejected", ["platform", "reason"], registry=r
        )
        self.webhooks_ignored = Counter(
            "ordercare_webhooks_ignored", "Deliveries for topics we do not handle", ["platform", "topic"], registry=r
        )
        self.webhook_seconds = Histogram(
            "ordercare_webhook_seconds", "Time to verify, store and answer a delivery", ["platform"], registry=r
        )
        self.carrier_events = Counter(
            "ordercare_carrier_events",
            "Carrier events received (pushed or read), by outcome; unmatched: no order names the parcel yet",
            ["source", "outcome"],
            registry=r,
        )
        self.orders_stored = Counter(
            "ordercare_orders_stored", "Order snapshots applied to the store", ["platform"], registry=r
        )
        self.incidents_opened = Counter("ordercare_incidents_opened", "Incidents opened", ["kind"], registry=r)
        self.incidents_resolved = Counter("ordercare_incidents_resolved", "Incidents resolved", ["kind"], registry=r)
        self.actions = Counter(
            "ordercare_actions", "Outbox attempts by kind and outcome", ["kind", "outcome"], registry=r
        )
        self.performer_errors = Counter(
            "ordercare_performer_errors",
            "Actions failed by an unexpected error in ordercare's own code (a bug to report)",
            ["kind", "error"],
            registry=r,
        )
        self.ticks = Counter("ordercare_ticks", "Scheduler ticks run", registry=r)
        self.tick_orders = Counter("ordercare_tick_orders", "Orders evaluated by ticks", ["outcome"], registry=r)
        self.outbox_backlog = Gauge("ordercare_outbox_backlog", "Actions waiting to be performed", registry=r)
        self.outbox_failed = Gauge("ordercare_outbox_failed", "Actions that failed permanently", registry=r)
