"""When a customer message may go: never in the shop's quiet hours, and at most so many a day per customer.

The worker asks this gate about the customer messages it is about to claim. A message due inside the
shop's quiet hours (``policies.messages``, shop time) waits for their end; a retry that falls in the night
waits the same way. A customer (shop + normalised e-mail) gets at most ``messages.per_customer_per_day``
messages a shop day, across policies and orders: messages already accepted by the mail server that day,
messages other workers are sending now and earlier ones in the same claim count; a later one waits for the
next morning (the end of the next quiet hours). Waiting is not an attempt: the action stays pending with
the reason as its last error, and its attempt count is untouched.

Exempt from the daily limit (they still count towards it, and they still wait for the morning):
``address_question`` — the parcel is held until the customer answers — and ``promise_followup`` — its day
was promised to the customer, and waiting would break that promise — and ``out_of_stock_choice``, the confirmation
of what the customer just chose on the choice page, and ``order_problem`` / ``order_problem_replacement``, the
answer to what the customer just reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from connector.actions import ActionKind
from connector.store.tables import ActionRow, EmailLog, ShopRow

if TYPE_CHECKING:
    from connector.policies.config import MessagesConfig
    from connector.services import Services

EXEMPT_FROM_DAILY_LIMIT = frozenset(
    {"address_question", "promise_followup", "out_of_stock_choice", "order_problem", "order_problem_replacement"}
)
_LOCK = 0x6F6E65766F696365  # "onevoice": claims that may send customer messages take turns (PostgreSQL)


@dataclass(frozen=True)
class Deferral:
    """A message that may not go yet: when it may, and why, in words for staff."""

    until: datetime
    reason: str


@dataclass(frozen=True)
class _Message:
    action_id: int
    shop_id: str
    customer: str | None  # normalised e-mail
    template: str
    marketing: bool

    @property
    def exempt(self) -> bool:
        return self.template in EXEMPT_FROM_DAILY_LIMIT


def _message(action_id: int, shop_id: str, payload: dict[str, Any]) -> _Message:
    to = payload.get("to")
    customer = to.strip().lower() if isinstance(to, str) and to.strip() else None
    return _Message(action_id, shop_id, customer, str(payload.get("template")), payload.get("marketing") is True)


def _local(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


class MessageGate:
    """Decides, inside the claim's transaction, which customer messages wait (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def _rules(self, session: Session, shop_id: str) -> tuple[MessagesConfig, tzinfo]:
        # read through the claim's own session: a second connection would wait on the claim's write lock
        zone = session.scalar(select(ShopRow.timezone).where(ShopRow.id == shop_id))
        return self.services.settings.policies_for(shop_id).messages, ZoneInfo(zone or "UTC")

    def __call__(self, session: Session, ids: Sequence[int], now: datetime) -> dict[int, Deferral]:
        rows = session.execute(
            select(ActionRow.id, ActionRow.shop_id, ActionRow.payload).where(
                ActionRow.id.in_(ids), ActionRow.kind == ActionKind.NOTIFY_CUSTOMER.value
            ).order_by(ActionRow.next_attempt_at, ActionRow.id)
        ).all()
        deferred: dict[int, Deferral] = {}
        going: list[_Message] = []
        for action_id, shop_id, payload in rows:
            messages, tz = self._rules(session, shop_id)
            until = messages.send_at(now, tz)
            if until > now:
                window = f"{messages.quiet_from:%H:%M}–{messages.quiet_until:%H:%M}"
                deferred[action_id] = Deferral(until, f"waits for the end of the quiet hours ({window} shop time)")
            else:
                going.append(_message(action_id, shop_id, payload or {}))
        if going:
            deferred.update(self._daily_limit(session, going, set(ids), now))
        return deferred

    def _daily_limit(
        self, session: Session, going: list[_Message], claiming: set[int], now: datetime
    ) -> dict[int, Deferral]:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(_LOCK)))
        counted = self._already_today(session, [m for m in going if m.customer], claiming, now)
        deferred: dict[int, Deferral] = {}
        # what must reach the customer goes first, marketing last; otherwise in the order they were due
        for message in sorted(going, key=lambda m: (not m.exempt, m.marketing)):
            if message.customer is None:
                continue
            key = (message.shop_id, message.customer)
            messages, tz = self._rules(session, message.shop_id)
            limit = messages.per_customer_per_day
            if not message.exempt and counted[key] >= limit:
                tomorrow = datetime.combine(now.astimezone(tz).date() + timedelta(days=1), datetime.min.time(), tz)
                until = messages.send_at(tomorrow, tz)
                deferred[message.action_id] = Deferral(
                    until,
                    f"waits until {_local(until, tz)}: this customer already gets a message from the shop today "
                    f"(at most {limit} a day)",
                )
                continue
            counted[key] += 1
        return deferred

    def _already_today(
        self, session: Session, going: list[_Message], claiming: set[int], now: datetime
    ) -> Counter[tuple[str, str]]:
        """Per (shop, customer): messages the mail server accepted this shop day, and those being sent now."""
        counted: Counter[tuple[str, str]] = Counter()
        customers: dict[str, set[str]] = {}
        for message in going:
            assert message.customer is not None
            customers.setdefault(message.shop_id, set()).add(message.customer)
        for shop_id, emails in customers.items():
            _, tz = self._rules(session, shop_id)
            day_start = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tz)
            recipient = func.lower(EmailLog.recipient)
            sent = session.execute(
                select(recipient, func.count())
                .where(EmailLog.shop_id == shop_id, recipient.in_(sorted(emails)), EmailLog.sent_at >= day_start)
                # a claimed action's own e-mail (logged before a stop) is the same message, not another one
                .where(or_(EmailLog.action_id.is_(None), EmailLog.action_id.not_in(sorted(claiming))))
                .group_by(recipient)
            ).all()
            counted.update({(shop_id, email): int(n) for email, n in sent})
        in_flight = session.execute(
            select(ActionRow.id, ActionRow.shop_id, ActionRow.payload).where(
                ActionRow.kind == ActionKind.NOTIFY_CUSTOMER.value,
                ActionRow.state == "pending",
                ActionRow.lease_until > now,
                ActionRow.shop_id.in_(sorted(customers)),
            )
        ).all()
        for action_id, shop_id, payload in in_flight:
            message = _message(action_id, shop_id, payload or {})
            if action_id not in claiming and message.customer in customers.get(shop_id, set()):
                counted[(shop_id, message.customer)] += 1
        return counted
