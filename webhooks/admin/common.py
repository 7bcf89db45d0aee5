"""Helpers every dashboard view uses: the services, the signed-in viewer, dates in the shop's zone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, g, request
from flask_babel import gettext

from connector import phones
from connector.admin.queries import ShopInfo
from connector.admin.users import Account
from connector.config import Settings
from connector.services import Services


@dataclass(frozen=True)
class Viewer:
    account: Account
    shops: tuple[ShopInfo, ...]

    @property
    def shop_ids(self) -> tuple[str, ...]:
        return tuple(shop.id for shop in self.shops)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone pages are shown in: the first shop's."""
        return ZoneInfo(self.shops[0].timezone) if self.shops else ZoneInfo("UTC")

    def shop(self, shop_id: str) -> ShopInfo | None:
        return next((shop for shop in self.shops if shop.id == shop_id), None)


def services() -> Services:
    found: Services = current_app.extensions["ordercare"]
    return found


def viewer() -> Viewer:
    found: Viewer = g.admin_viewer
    return found


def now() -> datetime:
    return services().now()


def day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``[first 00:00, last+1 00:00)`` in ``zone``, as aware UTC datetimes."""
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def today(zone: ZoneInfo) -> date:
    return now().astimezone(zone).date()


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date
    start: datetime
    end: datetime


def _date_arg(name: str, default: date | None) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, description=gettext("%(name)s: %(value)r is not a date; use YYYY-MM-DD", name=name, value=raw))


def date_range(default_days: int | None, zone: ZoneInfo, max_days: int | None = None) -> DateRange | None:
    """The ``from``/``to`` query arguments (local dates, both included); None when open-ended."""
    last_default = today(zone) if default_days is not None else None
    first_default = last_default - timedelta(days=default_days - 1) if last_default and default_days else None
    first = _date_arg("from", first_default)
    last = _date_arg("to", last_default)
    if first is None and last is None:
        return None
    first = first or date(2000, 1, 1)
    last = last or today(zone)
    if first > last:
        abort(400, description=gettext("from: %(first)s is after to: %(last)s", first=first, last=last))
    if max_days is not None and (last - first).days + 1 > max_days:
        abort(400, description=gettext("from: choose a range of at most %(count)s days", count=max_days))
    start, end = day_bounds(first, last, zone)
    return DateRange(first, last, start, end)


def _field(node: Any, name: str) -> Any:
    if node is None:
        return None
    if isinstance(node, Mapping):
        return node.get(name)
    return getattr(node, name, None)


def daily_voucher_budget(settings: Settings, shop_id: str) -> Decimal | None:
    """The shop's ``compensation.budget.per_shop_per_day``, or None when no budget is configured."""
    policies = settings.policies_for(shop_id)
    value = _field(_field(getattr(policies, "compensation", None), "budget"), "per_shop_per_day")
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def safe_next(default: str) -> str:
    """A same-site dashboard path from the ``next`` field, never an outside address."""
    target = (request.form.get("next") or request.args.get("next") or "").strip()
    if target.startswith("/admin") and "//" not in target and "\\" not in target and "\n" not in target:
        return target
    return default


def positive_int(name: str, default: int) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        abort(400, description=gettext("%(name)s: %(value)r is not a positive whole number", name=name, value=raw))
    return int(raw)


def tel_href(phone: str, country: str | None = None, shop_id: str | None = None) -> str:
    """A ``tel:`` link in E.164 (``06 1234 5678`` -> ``tel:+31612345678``): a number typed the national way is read
    in ``country`` (the shipping address's), else the country of the shop ``shop_id`` (``connector.phones``)."""
    shop = viewer().shop(shop_id) if shop_id and g.get("admin_viewer") is not None else None
    return phones.tel_href(phone, country or (shop.country if shop is not None else None)) or ""
