"""What the tracking page says about one order, in the customer's language: a pure view model.

``build`` takes the order, the incidents the customer was told about, the vouchers the shop created, the
promises on the order and ``now``, and returns sentences ready to show. The words come from the message
templates (``_tracking.txt`` and the partials the messages use), so a merchant's own templates change the page
too. When a fact is unknown the page says less: no date that has passed, no problem the customer was not told
about, no step a carrier code does not name, and no address, e-mail or phone at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from connector.carriers.names import display_name
from connector.incidents import IncidentView
from connector.model import Order, OrderStatus, Payment, Shipment, ShipmentEvent, ShipmentStatus
from connector.notify.render import Renderer, Voucher, format_day, format_full_date, normalise_locale
from connector.promises import rules
from connector.promises.rules import PromiseView

# the order the problems are told in: the one the customer can act on first
PROBLEM_KINDS = ("address", "next_day", "stale", "shipment_delay")
_FINISHED = {OrderStatus.CANCELLED: "cancelled", OrderStatus.REFUNDED: "refunded", OrderStatus.FAILED: "failed"}
_NO_DATE = frozenset({"delivered", "cancelled", "refunded", "failed"})


@dataclass(frozen=True)
class Step:
    """One line of a parcel's timeline: when (shop time), what, and where if the carrier said."""

    when: str
    text: str
    place: str | None = None


@dataclass(frozen=True)
class Parcel:
    carrier: str | None
    tracking_number: str | None
    carrier_url: str | None  # the carrier's own page, unless it carries the customer's postcode
    expected: str | None  # the carrier's expected day, only while we promised none ourselves
    steps: tuple[Step, ...]  # newest first


@dataclass(frozen=True)
class Action:
    """Something the customer can do from the page: ``fix_address`` or ``contact``."""

    kind: str
    url: str


@dataclass(frozen=True)
class TrackingPage:
    lang: str
    shop_name: str
    order_number: str
    ordered_on: str
    headline: str | None
    promise: str | None
    problems: tuple[str, ...]
    vouchers: tuple[str, ...]
    items: tuple[str, ...]
    parcels: tuple[Parcel, ...]
    actions: tuple[Action, ...]
    contact: str | None  # the shop's e-mail address


class Wording:
    """The page's sentences in one language, from the message templates."""

    def __init__(self, renderer: Renderer, locale: str) -> None:
        self.locale = normalise_locale(locale)
        module = renderer.environment(self.locale, html=False).get_template("_tracking.txt").module
        self._t: Any = module

    def _say(self, name: str, *args: Any) -> str | None:
        text = " ".join(str(getattr(self._t, name)(*args)).split())
        return text or None

    def headline(self, state: str, day: date | None) -> str | None:
        return self._say("headline", state, day)

    def promise(self, delivery: date | None, hear_by: date | None) -> str | None:
        return self._say("promise", delivery, hear_by)

    def carrier_expects(self, carrier: str | None, day: date) -> str | None:
        return self._say("carrier_expects", carrier, day)

    def problem(self, kind: str, details: Mapping[str, Any], carrier: str | None) -> str | None:
        problems = details.get("problems")
        codes = [c for c in problems if isinstance(c, str)] if isinstance(problems, list) else []
        reason = details.get("reason")
        return self._say("problem", kind, reason if isinstance(reason, str) else None, codes, carrier)

    def voucher(self, voucher: Voucher) -> str | None:
        return self._say("voucher", voucher)

    def step(self, status: str, sub_status: str | None, carrier: str | None, shop_name: str) -> str | None:
        return self._say("step", status, sub_status, carrier, shop_name)


def _local(moment: datetime, tz: tzinfo) -> datetime:
    return moment.astimezone(tz)


def _when(moment: datetime, tz: tzinfo, locale: str) -> str:
    local = _local(moment, tz)
    return f"{format_day(local.date(), locale)}, {local:%H:%M}"


def _live(order: Order) -> list[Shipment]:
    return [s for s in order.shipments if not s.cancelled]


def _compact(value: str | None) -> str:
    return re.sub(r"[\s\-]+", "", value or "").upper()


def _carrier_url(url: str | None, order: Order) -> str | None:
    """The carrier's page for the parcel: http(s) only, and not when it names the customer's postcode."""
    if not url or not url.lower().startswith(("https://", "http://")):
        return None
    postcode = _compact(order.shipping_address.postcode if order.shipping_address else None)
    if postcode and postcode in _compact(url):
        return None
    return url


def _steps(shipment: Shipment, carrier: str | None, shop_name: str, tz: tzinfo, words: Wording) -> tuple[Step, ...]:
    """The parcel's story, newest first; a run of scans that say the same thing is told once, at its latest."""
    events: list[ShipmentEvent] = sorted(shipment.events, key=lambda e: (e.happened_at, e.external_id))
    told: list[tuple[datetime, str, str | None]] = []
    if shipment.shipped_at is not None and (not events or shipment.shipped_at <= events[0].happened_at):
        text = words.step("shipped", None, carrier, shop_name)
        if text:
            told.append((shipment.shipped_at, text, None))
    for event in events:
        text = words.step(event.status.value, event.sub_status, carrier, shop_name)
        if not text:
            continue
        if told and told[-1][1] == text:
            told[-1] = (event.happened_at, text, event.city or told[-1][2])
        else:
            told.append((event.happened_at, text, event.city))
    delivered = shipment.delivered_time
    if delivered is not None and not any(e.status is ShipmentStatus.DELIVERED for e in events):
        text = words.step(ShipmentStatus.DELIVERED.value, None, carrier, shop_name)
        if text:
            told.append((delivered, text, None))
    told.sort(key=lambda entry: entry[0])
    return tuple(Step(_when(at, tz, words.locale), text, place) for at, text, place in reversed(told))


def _state(order: Order, active: Mapping[str, IncidentView]) -> tuple[str | None, bool]:
    """Where the order stands (a headline key, None when a headline would guess), and whether it has shipped."""
    if order.status in _FINISHED:
        return _FINISHED[order.status], False
    live = _live(order)
    delivered = rules.delivered_at(order)
    if order.status is OrderStatus.DELIVERED or (order.status is OrderStatus.SHIPPED and delivered is not None):
        return "delivered", True
    if live and all(s.current_status is ShipmentStatus.RETURNED for s in live):
        return None, True  # the parcels went back: the timeline says so
    if order.status is OrderStatus.PARTIALLY_SHIPPED:
        return "partly_shipped", True
    if order.status is OrderStatus.SHIPPED:
        return "shipped", True
    if "address" in active:
        return "held_for_address", False
    if order.payment is Payment.AWAITING:
        return "awaiting_payment", False
    if order.status in (OrderStatus.PAID, OrderStatus.PROCESSING):
        return "preparing", False
    return "received", False


def _promise(promises: Sequence[PromiseView], today: date, words: Wording) -> str | None:
    """The date ordercare promises now (``promises.rules.current``), unless its day has passed."""
    delivery = rules.current(promises, rules.DELIVERY_BY)
    hear_by = rules.current(promises, rules.HEAR_FROM_US_BY)
    delivery = delivery if delivery is not None and delivery >= today else None
    hear_by = hear_by if hear_by is not None and hear_by >= today else None
    if delivery is None and hear_by is None:
        return None
    return words.promise(delivery, hear_by)


def _items(order: Order) -> tuple[str, ...]:
    return tuple(f"{line.quantity}× {line.title}" if line.quantity > 1 else line.title for line in order.lines)


def build(
    order: Order,
    *,
    incidents: Iterable[IncidentView],
    vouchers: Iterable[Voucher],
    promises: Iterable[PromiseView],
    now: datetime,
    tz: tzinfo,
    shop_name: str,
    words: Wording,
    fix_url: str | None = None,
    contact: str | None = None,
) -> TrackingPage:
    """The page for ``order``; ``incidents`` are the ones the customer got a message about (active or not)."""
    locale = words.locale
    today = _local(now, tz).date()
    active = {i.kind: i for i in incidents if i.active}
    promised = list(promises)
    state, shipped = _state(order, active)
    delivered = rules.delivered_at(order)
    day = _local(delivered, tz).date() if state == "delivered" and delivered is not None else None
    headline = words.headline(state, day) if state is not None else None
    promise = None if state in _NO_DATE else _promise(promised, today, words)

    live = _live(order)
    first_carrier = next((display_name(s.carrier) for s in live if s.carrier), None)
    parcels = []
    for shipment in live:
        carrier = display_name(shipment.carrier)
        expected = None
        arriving = shipment.expected_delivery_at
        if (
            promise is None
            and state not in _NO_DATE
            and arriving is not None
            and shipment.delivered_time is None
            and shipment.current_status is not ShipmentStatus.DELIVERED
            and _local(arriving, tz).date() >= today
        ):
            expected = words.carrier_expects(carrier, _local(arriving, tz).date())
        parcels.append(
            Parcel(
                carrier=carrier,
                tracking_number=shipment.tracking_number,
                carrier_url=_carrier_url(shipment.tracking_url, order),
                expected=expected,
                steps=_steps(shipment, carrier, shop_name, tz, words),
            )
        )

    problems: list[str] = []
    if state not in _NO_DATE:
        for kind in PROBLEM_KINDS:
            incident = active.get(kind)
            if incident is None or (kind in ("address", "stale", "next_day") and shipped):
                continue
            text = words.problem(kind, incident.details, first_carrier)
            if text:
                problems.append(text)

    voucher_texts = [t for t in (words.voucher(v) for v in vouchers if v.ends_on is None or v.ends_on >= today) if t]
    actions = []
    if fix_url and "address" in active and not shipped and state not in _NO_DATE:
        actions.append(Action("fix_address", fix_url))
    if contact:
        actions.append(Action("contact", f"mailto:{contact}"))
    return TrackingPage(
        lang=locale,
        shop_name=shop_name,
        order_number=order.number,
        ordered_on=format_full_date(_local(order.created_at, tz).date(), locale),
        headline=headline,
        promise=promise,
        problems=tuple(problems),
        vouchers=tuple(voucher_texts),
        items=_items(order),
        parcels=tuple(parcels),
        actions=tuple(actions),
        contact=contact,
    )
