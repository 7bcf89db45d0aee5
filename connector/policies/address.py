"""The address policy: an address that cannot be delivered is held, tagged, noted and the customer asked.

When the address is fixed in the shop admin (a later snapshot with a good address) our hold is released,
a note left and the incident resolved; a fix through the customer's fix page resolves the incident
itself, and the policy then stays quiet. An address already flagged once never raises a second incident.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from connector.actions import ActionKind
from connector.address import change
from connector.address.check import AddressProblem, LookupUnavailable, check_address
from connector.incidents import Incidents, IncidentView
from connector.model import Address, DeliveryMethod, Order
from connector.policies.base import (
    FINISHED,
    Annotate,
    Decision,
    Open,
    PolicyBase,
    PolicyContext,
    Resolve,
    notify_payload,
    plan_note_after_message,
    plan_notify,
    resolve_if_active,
    tag,
)
from connector.policies.notes import phrase, problem_text

KIND = "address"
SPLIT_SOURCES = frozenset({"split_meta"})  # Order.extra["address_source"] of split-field checkouts (WooCommerce)


def fingerprint(address: Address | None) -> str:
    """Identifies one version of an address, so a flagged address is never flagged twice."""
    if address is None:
        return "none"
    parts = [address.address1, address.address2, address.street, address.house_number, address.postcode]
    parts += [address.city, address.country_code]
    raw = json.dumps([" ".join((p or "").split()).casefold() for p in parts])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class AddressPolicy(PolicyBase):
    name = "address"

    def decide(self, order: Order, incidents: Incidents, now: datetime, ctx: PolicyContext) -> Decision:
        incident = incidents.get(KIND)
        finished = FINISHED.get(order.status)
        if finished is not None or not order.requires_shipping:
            return resolve_if_active(incident, KIND, f"order {finished}" if finished else "no shipping needed")
        if not order.delivery_method.delivered:
            return self._collected(order, incident)
        decision = Decision()
        active = incident is not None and incident.active
        address = order.shipping_address
        if address is None and order.delivery_method is DeliveryMethod.UNKNOWN:
            # no address at all, from a snapshot that cannot tell a pickup from a delivery (Shopify's REST
            # bodies): the read that says how the order is delivered decides (a new version is checked again)
            return decision
        config = ctx.config.address
        if address is not None and (address.country_code or "").upper() not in config.countries:
            return decision
        split = order.extra.get("address_source") in SPLIT_SOURCES
        try:
            problems = check_address(address, lookup=ctx.lookup, split_field_country=split)
        except LookupUnavailable:
            problems = check_address(address, split_field_country=split)
            if not problems:
                decision.look_again(ctx.calendar.add(now, config.retry_lookup_after))
        if problems:
            self._flag(decision, order, incident, problems, now, ctx)
        elif active:
            self._fixed_in_shop(decision, order, incident, now, ctx)
        return decision

    def _flag(
        self,
        decision: Decision,
        order: Order,
        incident: IncidentView | None,
        problems: list[AddressProblem],
        now: datetime,
        ctx: PolicyContext,
    ) -> None:
        current = fingerprint(order.shipping_address)
        if incident is not None:
            seen = incident.details.get("fingerprints") or []
            if incident.active or current in seen:
                return  # already handled, or a stale snapshot of an address we flagged before
        config = ctx.config.address
        occurrence = incident.occurrence + 1 if incident is not None else 1
        codes = [p.code for p in problems]
        seen = list((incident.details.get("fingerprints") or []) if incident is not None else [])
        hold = config.hold_fulfillment
        email = notify_payload(order, ctx, "address_question", problems=codes) if config.ask_customer else None
        details = {
            "problems": codes,
            "problem_details": [p.detail for p in problems],
            "fingerprint": current,
            "fingerprints": [*seen, current],
            "held": hold,
            "asked": email is not None,
            change.ADDRESS_KEY: change.typed(order.shipping_address),  # the address as typed, for staff
        }
        decision.incidents.append(Open(KIND, 1, details))
        prefix = f"{occurrence}-"
        locale = ctx.locale

        def note(asked: str) -> str:
            problems, held = problem_text(locale, codes), phrase(locale, "held") if hold else ""
            return ctx.note("address_open", now, problems=problems, held=held, asked=asked)

        if hold:  # the hold goes first, before the message: its note says only what is wrong
            hold_payload = {"reason": "incorrect_address", "note": note("")}
            decision.plan(KIND, ActionKind.HOLD_FULFILLMENT, self.name, prefix + "hold", hold_payload)
        decision.plan(KIND, ActionKind.ADD_TAGS, self.name, prefix + "tag", {"tags": [tag("address")]})
        notify_step = prefix + "notify" if email is not None else None
        told = note(phrase(locale, "asked") if email is not None else "")
        not_told = note(phrase(locale, "not_told", error="{error}"))
        plan_note_after_message(decision, KIND, self.name, prefix + "note", notify_step, told=told, not_told=not_told)
        plan_notify(decision, KIND, self.name, prefix + "notify", email)

    def _collected(self, order: Order, incident: IncidentView | None) -> Decision:
        """Collected or handed over (pickup, retail, nothing physical): no address needed; an incident raised
        before the delivery method was known is resolved and our hold released."""
        decision = resolve_if_active(incident, KIND, f"no address needed ({order.delivery_method.value})")
        if incident is not None and incident.active and incident.details.get("held"):
            decision.plan(KIND, ActionKind.RELEASE_HOLD, self.name, f"{incident.occurrence}-release", {})
        return decision

    def _fixed_in_shop(
        self, decision: Decision, order: Order, incident: IncidentView | None, now: datetime, ctx: PolicyContext
    ) -> None:
        assert incident is not None
        prefix = f"{incident.occurrence}-"
        held = bool(incident.details.get("held"))
        if held:
            decision.plan(KIND, ActionKind.RELEASE_HOLD, self.name, prefix + "release", {})
        note = ctx.note("address_fixed_shop", now, released=phrase(ctx.locale, "released") if held else "")
        decision.plan(KIND, ActionKind.ADD_NOTE, self.name, prefix + "fixed-note", {"text": note})
        recorded = incident.details.get(change.ADDRESS_KEY)
        fixed = change.corrected(recorded, None, order.shipping_address, change.SHOP)
        decision.incidents.append(Annotate(KIND, {change.ADDRESS_KEY: fixed}))
        decision.incidents.append(Resolve(KIND, "address corrected in the shop"))


POLICY = AddressPolicy()
