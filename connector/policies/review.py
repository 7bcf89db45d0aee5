"""The review policy: one review request, ``after_delivery`` after an on-time delivery with no incident.

Review requests are marketing: sent only on the legal basis the merchant chose (``consent``: recorded
consent, unknown is no; or the soft opt-in for existing customers), skipped when the customer has no e-mail, the parcel
came later than promised, or (``only_if_no_incident``) anything went wrong with the order. Deliveries
older than ``give_up_after`` (e.g. found by a late reconcile) get no request.
"""

from __future__ import annotations

from datetime import datetime

from connector.incidents import Incidents
from connector.model import Order, OrderStatus
from connector.notify.consent import may_market
from connector.policies.base import (
    Decision,
    PolicyBase,
    PolicyContext,
    live_shipments,
    notify_payload,
    plan_notify,
    promise_for,
)


def delivered_at(order: Order) -> datetime | None:
    """When the last live parcel arrived, if every one of them did."""
    live = live_shipments(order)
    times = [s.delivered_time for s in live]
    if not live or any(t is None for t in times):
        return None
    latest: datetime = max(t for t in times if t is not None)
    return latest


class ReviewPolicy(PolicyBase):
    name = "review"

    def decide(self, order: Order, incidents: Incidents, now: datetime, ctx: PolicyContext) -> Decision:
        decision = Decision()
        config = ctx.config.review
        if order.status is not OrderStatus.DELIVERED or not may_market(
            order.customer.accepts_marketing, config.consent
        ):
            return decision
        arrived = delivered_at(order)
        if arrived is None or (config.only_if_no_incident and incidents):
            return decision
        promise = promise_for(order, ctx)
        if promise is not None and ctx.local_date(arrived) > promise.deliver_on:
            return decision  # late: no review request after a broken promise
        due = ctx.calendar.add(arrived, config.after_delivery)
        if now < due:
            decision.look_again(due)
            return decision
        if now >= ctx.calendar.add(arrived, config.give_up_after):
            return decision
        payload = notify_payload(order, ctx, "review_request", marketing=True)
        if payload is not None:
            payload["context"]["consent_basis"] = config.consent
            product = next((line.product_id for line in order.lines if line.product_id), None)
            payload["context"]["review_url"] = config.link_for(order.number, order.external_id, product)
        plan_notify(decision, None, self.name, "request", payload)
        return decision


POLICY = ReviewPolicy()
