"""Carrier status changes written back to Shopify as fulfilment events, for shops that opt in.

A Shopify shop with ``carriers.shopify_events: true`` gets one ``CREATE_FULFILLMENT_EVENT`` action per carrier
status change (``connector.platforms.shopify.fulfillment_events``) on each of its fulfilments, so staff see the
carrier's news on the order and Shopify Flow can act on it. The step is named after the carrier event, so a
change is written once however often the order is looked at. Fulfilments on which another app already writes
events are left alone, and so are parcels only a carrier source knows (no Shopify fulfilment to write to).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from connector.actions import ActionKind
from connector.incidents import Incidents
from connector.model import Order, Platform
from connector.platforms.shopify.fulfillment_events import changes, fulfillment_id, others_post, payload_for, step_for
from connector.policies.base import Decision, PolicyBase, PolicyContext, live_shipments


class ShopifyEventsPolicy(PolicyBase):
    name = "shopify_events"

    def decide(self, order: Order, incidents: Incidents, now: datetime, ctx: PolicyContext) -> Decision:
        decision = Decision()
        carriers = ctx.carriers
        if ctx.shop.platform is not Platform.SHOPIFY or carriers is None or not carriers.shopify_events:
            return decision
        horizon = now - timedelta(days=ctx.config.shopify_events.max_age_days)
        for shipment in live_shipments(order):
            if fulfillment_id(shipment) is None or others_post(shipment):
                continue
            for event in changes(shipment.events):
                if event.happened_at >= horizon:
                    step = step_for(shipment, event)
                    decision.plan(
                        None, ActionKind.CREATE_FULFILLMENT_EVENT, self.name, step, payload_for(shipment, event)
                    )
        return decision


POLICY = ShopifyEventsPolicy()
