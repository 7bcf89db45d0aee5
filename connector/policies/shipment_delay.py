"""The shipment-delay policy: a parcel late against its promise, without a carrier scan, or in trouble.

Step ``k`` of the ladder is due when the parcel is ``ladder[k].late`` late against the promised (or
carrier-estimated) date. A missing scan (``no_scan_for``) or a carrier failure/attempted delivery counts
as already one step late: step 1 at once, step ``k`` after ``ladder[k-1].late``. Each step is taken once;
when ticks fall behind, the highest due step is taken and the skipped ones are not repeated. Resolved on
delivery. An order the customer collects (``DeliveryMethod.PICK_UP``, retail, nothing to deliver) has no parcel
and no ladder; the stale policy watches it until it is ready.

Nothing is late without evidence. A scan is a physical one (a label is not). A parcel waiting at a pickup point
has arrived as far as lateness goes. A failed delivery attempt counts only when nothing moved by the end of
the next working day (``attempt_wait_working_days``). A parcel on its way back to the sender ends the ladder
with one call task per parcel and no message. A parcel nobody can see (``connector.policies.visibility``: no
scan, no platform status, no tracking source that can read it) never reaches the customer as "late": when it
would have, staff get one ``parcel_unseen`` incident with a tag and a note instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from connector.actions import ActionKind
from connector.incidents import Incidents, IncidentView
from connector.model import Order, Shipment, ShipmentStatus
from connector.policies.base import (
    FINISHED,
    Decision,
    Escalate,
    Open,
    PolicyBase,
    PolicyContext,
    Resolve,
    VoucherRequest,
    awaiting_payment,
    live_shipments,
    notify_payload,
    plan_note_after_message,
    plan_notify,
    promise_for,
    resolve_if_active,
    tag,
)
from connector.policies.notes import day, phrase
from connector.policies.visibility import visible
from connector.promises.rules import DELIVERY_BY, PromiseView, kept_date, open_delivery_date

KIND = "shipment_delay"
UNSEEN = "parcel_unseen"  # staff only: a parcel that would be late, but no scan or source can tell

_ENDED = {status: reason for status, reason in FINISHED.items() if status.is_final}  # delivered or given up
_ARRIVED_ENOUGH = frozenset({ShipmentStatus.READY_FOR_PICKUP})


@dataclass(frozen=True)
class _Trouble:
    reason: str  # late | no_scan | carrier_failure
    dues: tuple[datetime, ...]  # when each ladder step is due for this trouble
    since: date  # shop-local: the expected day, the last scan's day or the failure's day
    status: str | None = None


def _delivered(shipment: Shipment) -> bool:
    return shipment.delivered_time is not None or shipment.current_status is ShipmentStatus.DELIVERED


def _last_scan(shipment: Shipment) -> datetime | None:
    """The carrier's last physical handling of the parcel (a label or a notice is not one); else the hand-over."""
    scans = [e.happened_at for e in shipment.events if e.is_scan]
    return max(scans) if scans else shipment.shipped_at


def _attempt_deadline(attempt: datetime, ctx: PolicyContext) -> datetime:
    """The end of the working day(s) a failed delivery attempt waits for the next move (shop time)."""
    calendar = ctx.calendar
    wait = ctx.config.shipment_delay.attempt_wait_working_days
    last = calendar.add_working_days_to_date(calendar.local_date(attempt), wait)
    return calendar.start_of_day(last + timedelta(days=1))


def _told_day(incidents: Incidents, promises: Iterable[PromiseView] = ()) -> date | None:
    """The latest delivery date we already gave the customer (a missed next-day or stale update, an open
    promise)."""
    told = [
        date.fromisoformat(str(incident.details["new_delivery_date"]))
        for incident in incidents.values()
        if incident.details.get("new_delivery_date")
    ]
    told += [p.promised for p in promises if p.open and p.kind == DELIVERY_BY]
    return max(told, default=None)


def _expected_day(order: Order, shipment: Shipment, ctx: PolicyContext, incidents: Incidents) -> date | None:
    promise = promise_for(order, ctx)
    if promise is not None:
        expected: date | None = promise.deliver_on
    else:
        estimate = shipment.expected_delivery_at
        expected = ctx.local_date(estimate) if estimate is not None else None
    told = _told_day(incidents, ctx.promises)
    if expected is not None and told is not None:
        return max(expected, told)  # the customer plans on the newer date: late means late against that one
    return expected


def _troubles(order: Order, shipment: Shipment, ctx: PolicyContext, incidents: Incidents) -> list[_Trouble]:
    if shipment.current_status in _ARRIVED_ENOUGH:
        return []  # waiting at a pickup point: arrived as far as lateness goes
    calendar, config = ctx.calendar, ctx.config.shipment_delay
    ladder = config.ladder
    found: list[_Trouble] = []
    expected = _expected_day(order, shipment, ctx, incidents)
    if expected is not None:
        found.append(_Trouble("late", tuple(calendar.late_after(expected, s.late) for s in ladder), expected))
    signals: list[tuple[str, datetime, datetime, str | None]] = []  # reason, step 1 due, since, status
    scan = _last_scan(shipment)
    if scan is not None:
        signals.append(("no_scan", calendar.add(scan, config.no_scan_for), scan, None))
    status = shipment.current_status
    floor: datetime | None = None
    if status.is_problem:
        latest = max((e for e in shipment.events if e.status is status), key=lambda e: e.happened_at, default=None)
        at = latest.happened_at if latest else (shipment.updated_at or shipment.shipped_at)
        if at is not None:
            start = at
            if status is ShipmentStatus.ATTEMPTED_DELIVERY:
                # usually mended by the next round or a pickup point: nothing is due before the wait is over
                start = floor = _attempt_deadline(at, ctx)
            signals.append(("carrier_failure", start, at, status.value))
    for reason, start, since, state in signals:
        dues = (start, *(calendar.add(start, s.late) for s in ladder[:-1]))
        found.append(_Trouble(reason, dues, ctx.local_date(since), state))
    if floor is not None:
        found = [replace(t, dues=tuple(max(d, floor) for d in t.dues)) for t in found]
    return found


def _earliest(troubles: list[_Trouble], step: int) -> _Trouble:
    """The trouble that makes ladder step ``step`` due first."""
    return min(troubles, key=lambda trouble: trouble.dues[step])


class ShipmentDelayPolicy(PolicyBase):
    name = "shipment_delay"

    def decide(self, order: Order, incidents: Incidents, now: datetime, ctx: PolicyContext) -> Decision:
        incident = incidents.get(KIND)
        active = incident is not None and incident.active
        live = live_shipments(order)
        ended = _ENDED.get(order.status)
        if ended is None and live and all(_delivered(s) for s in live) and order.status.is_shipped:
            ended = "delivered"
        if ended is None and not order.delivery_method.delivered:
            # collected at the shop (pickup, retail): no parcel travels, so no carrier dates or scans to be late
            # against; a picked-up order's fulfilment has no tracking and would otherwise read as "no scan"
            ended = f"no parcel ({order.delivery_method.value})"
        if ended is not None:
            decision = resolve_if_active(incident, KIND, ended)
            decision.incidents += resolve_if_active(incidents.get(UNSEEN), UNSEEN, ended).incidents
            return decision
        decision = Decision()
        if not order.status.is_shipped or not live:
            return decision
        travelling = [s for s in live if not _delivered(s)]
        returned = [s for s in travelling if s.current_status is ShipmentStatus.RETURNED]
        moving = [s for s in travelling if s.current_status is not ShipmentStatus.RETURNED]
        seen = [s for s in moving if visible(order, s, ctx.carriers)]
        unseen = [s for s in moving if not visible(order, s, ctx.carriers)]
        if returned:
            self._returned(decision, returned, now, ctx)
            if not moving and active:
                decision.incidents.append(Resolve(KIND, "returned to sender"))
        self._unseen(decision, order, incidents, unseen, now, ctx)
        troubles = [t for s in seen for t in _troubles(order, s, ctx, incidents)]
        if not troubles:
            return decision
        ladder = ctx.config.shipment_delay.ladder
        steps = len(ladder)
        firsts = [_earliest(troubles, k) for k in range(steps)]
        reached = max((k + 1 for k in range(steps) if firsts[k].dues[k] <= now), default=0)
        current = incident.level if active and incident is not None else 0
        if reached > current:
            self._step(decision, order, incident, active, reached, firsts[reached - 1], firsts, seen, now, ctx)
        following = max(reached, current)
        if following < steps:
            decision.look_again(firsts[following].dues[following])
        return decision

    def _step(
        self,
        decision: Decision,
        order: Order,
        incident: IncidentView | None,
        active: bool,
        level: int,
        trouble: _Trouble,
        firsts: list[_Trouble],
        seen: list[Shipment],
        now: datetime,
        ctx: PolicyContext,
    ) -> None:
        ladder = ctx.config.shipment_delay.ladder
        todo = set(ladder[level - 1].do)
        if not active:
            # the first contact is a message, whatever step a late discovery starts at; a call task comes on top
            todo.add("notify")
        details = {"reason": trouble.reason, "level": level}
        if active:
            decision.incidents.append(Escalate(KIND, level, details))
            occurrence = incident.occurrence if incident is not None else 1
        else:
            decision.incidents.append(Open(KIND, level, details))
            occurrence = incident.occurrence + 1 if incident is not None else 1
        prefix = f"{occurrence}-level-{level}-"
        new_date, hear_by = self._dates(order, level, firsts, seen, now, ctx)
        email = None
        unpaid = awaiting_payment(order)  # shipped before the money came: staff decide what the customer hears
        if "notify" in todo and not unpaid:
            email = notify_payload(
                order,
                ctx,
                "delay_notice",
                new_delivery_date=new_date,
                hear_from_us_by=hear_by,
                level=level,
                reason=trouble.reason,
            )
        locale = ctx.locale
        reason_text = phrase(locale, trouble.reason, date=day(locale, trouble.since), status=trouble.status or "")
        call = phrase(locale, "call") if "call_task" in todo else ""

        def note(told: str) -> str:
            return ctx.note("delay", now, reason_text=reason_text, level=level, told=told, call=call)

        decision.plan(KIND, ActionKind.ADD_TAGS, self.name, prefix + "tag", {"tags": [tag(f"late-{level}")]})
        told = note(phrase(locale, "told") if email is not None else "")
        notify_step = prefix + "notify" if email is not None else None
        not_told = note(phrase(locale, "not_told", error="{error}"))
        plan_note_after_message(decision, KIND, self.name, prefix + "note", notify_step, told=told, not_told=not_told)
        notify_step = plan_notify(decision, KIND, self.name, prefix + "notify", email)
        if "voucher" in todo and not unpaid:
            decision.vouchers.append(VoucherRequest(self.name, prefix + "voucher", KIND, notify_step, prefix + "note"))
        if "call_task" in todo:
            decision.plan(
                KIND,
                ActionKind.CREATE_CALL_TASK,
                self.name,
                prefix + "call",
                {
                    "reason": f"parcel delayed ({trouble.reason}), step {level}: call the customer",
                    "due_at": now.isoformat(),
                },
            )

    def _dates(
        self,
        order: Order,
        level: int,
        firsts: list[_Trouble],
        seen: list[Shipment],
        now: datetime,
        ctx: PolicyContext,
    ) -> tuple[date | None, date | None]:
        """The date to tell the customer: the carrier's estimate if it is still ahead; else a promise that still
        lies ahead (one we gave, or the shop's own); else the last scan plus the working days its status usually
        needs (``remaining_working_days``); each no earlier than an open promise (kept, not replaced). Without
        any of these: no date, and when they hear from us next."""
        today = ctx.local_date(now)
        estimates = [s.expected_delivery_at for s in live_shipments(order) if s.expected_delivery_at is not None]
        ahead = [ctx.local_date(e) for e in estimates if ctx.local_date(e) >= today]
        if ahead:
            return kept_date(ctx.promises, max(ahead)), None
        given = open_delivery_date(ctx.promises, today)
        if given is not None:
            return given, None
        promise = promise_for(order, ctx)
        if promise is not None and promise.deliver_on is not None and promise.deliver_on >= today:
            return kept_date(ctx.promises, promise.deliver_on), None
        by_scan = _date_from_scans(seen, now, ctx)
        if by_scan is not None:
            return kept_date(ctx.promises, by_scan), None
        if level < len(firsts):
            return None, max(ctx.local_date(firsts[level].dues[level]), today)
        return None, ctx.calendar.add_working_days_to_date(today, 2)

    def _returned(self, decision: Decision, returned: list[Shipment], now: datetime, ctx: PolicyContext) -> None:
        """A parcel on its way back to the sender: once per parcel a tag, a note and a call task; no message
        (the customer needs a person: a new parcel, a refund, a better address)."""
        locale = ctx.locale
        for shipment in returned:
            prefix = f"returned-{shipment.external_id}-"
            tracking = shipment.tracking_number or phrase(locale, "no_tracking")
            decision.plan(KIND, ActionKind.ADD_TAGS, self.name, prefix + "tag", {"tags": [tag("returned")]})
            note = ctx.note("delay_returned", now, tracking=tracking)
            decision.plan(KIND, ActionKind.ADD_NOTE, self.name, prefix + "note", {"text": note})
            decision.plan(
                KIND,
                ActionKind.CREATE_CALL_TASK,
                self.name,
                prefix + "call",
                {"reason": f"parcel {tracking} returned to sender: call the customer", "due_at": now.isoformat()},
            )

    def _unseen(
        self,
        decision: Decision,
        order: Order,
        incidents: Incidents,
        unseen: list[Shipment],
        now: datetime,
        ctx: PolicyContext,
    ) -> None:
        """Parcels no source can see: when one would be late (step 1 of its ladder is due), staff get one
        ``parcel_unseen`` incident, a tag and a note; the customer hears nothing. Resolved once they can be seen."""
        existing = incidents.get(UNSEEN)
        if not unseen:
            if existing is not None and existing.active:
                decision.incidents.append(Resolve(UNSEEN, "parcel visible"))
            return
        if existing is not None:
            return  # told staff once
        troubles = [t for s in unseen for t in _troubles(order, s, ctx, incidents)]
        if not troubles:
            return
        first = _earliest(troubles, 0)
        if first.dues[0] > now:
            decision.look_again(first.dues[0])
            return
        locale = ctx.locale
        decision.incidents.append(Open(UNSEEN, 1, {"reason": first.reason}))
        numbers = [s.tracking_number for s in unseen if s.tracking_number]
        tracking = ", ".join(numbers) if numbers else phrase(locale, "no_tracking")
        when = phrase(
            locale, "unseen_late" if first.reason == "late" else "unseen_no_scan", date=day(locale, first.since)
        )
        note = ctx.note("parcel_unseen", now, tracking=tracking, reason_text=when)
        decision.plan(UNSEEN, ActionKind.ADD_TAGS, self.name, "1-unseen-tag", {"tags": [tag("unseen")]})
        decision.plan(UNSEEN, ActionKind.ADD_NOTE, self.name, "1-unseen-note", {"text": note})


def _date_from_scans(seen: list[Shipment], now: datetime, ctx: PolicyContext) -> date | None:
    """The latest of each parcel's last physical scan day (today, if that is earlier) plus the working days its
    status usually still needs; None when a parcel has no scan, a status without a figure, or has stalled
    (no scan for ``no_scan_for``: its status says nothing about when it comes)."""
    config, calendar = ctx.config.shipment_delay, ctx.calendar
    today = ctx.local_date(now)
    days: list[date] = []
    for shipment in seen:
        if shipment.current_status in _ARRIVED_ENOUGH:
            continue
        scans = [e.happened_at for e in shipment.events if e.is_scan]
        remaining = config.remaining_working_days.get(shipment.current_status.value)
        if not scans or remaining is None:
            return None
        scan = max(scans)
        if calendar.add(scan, config.no_scan_for) <= now:
            return None
        days.append(calendar.add_working_days_to_date(max(today, ctx.local_date(scan)), remaining))
    return max(days, default=None)


POLICY = ShipmentDelayPolicy()
