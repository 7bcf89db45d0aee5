"""Rendering customer messages and staff notes from Jinja2 templates, per locale, with Babel formatting.

Templates live in ``templates/<locale>/<name>.subject.txt | .txt | .html``; a merchant's directory
(``settings.templates_dir``, same layout) takes precedence file by file, and English is the fallback for
any file a locale lacks. HTML is autoescaped. ``prepare_context`` validates a NOTIFY_CUSTOMER context and
names the bad key; dates arrive as ISO strings and are shown as "dinsdag 24 november".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

PACKAGED = Path(__file__).with_name("templates")
LOCALES = ("nl", "en")
FALLBACK_LOCALE = "en"
TEMPLATES = (
    "address_question",
    "stale_update",
    "next_day_missed",
    "delay_notice",
    "review_request",
    "promise_followup",
    "out_of_stock",
    "out_of_stock_choice",
    "order_problem",
    "order_problem_replacement",
    "date_confirmed",  # the delivery day agreed with staff on the phone (connector.admin.calls)
)
# what a message cannot do without (a key of the context, by template)
REQUIRED: dict[str, tuple[str, ...]] = {"date_confirmed": ("agreed_on",)}
NOTES = ("note_address_fixed",)
PARTS = {"subject": "subject.txt", "text": "txt", "html": "html"}


class ContextError(ValueError):
    """A message context that cannot be rendered; the message names the key (``context.items[0].title``)."""


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Voucher:
    code: str
    kind: str  # percentage | fixed
    value: Decimal
    currency: str
    ends_on: date | None


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    template: str
    locale: str
    subject: str
    text: str
    html: str


def normalise_locale(value: str | None, default: str = FALLBACK_LOCALE) -> str:
    """ "nl-NL", "nl_BE", "NL" -> "nl"; anything we have no templates for -> ``default``."""
    if value:
        language = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
        if language in LOCALES:
            return language
    return default if default in LOCALES else FALLBACK_LOCALE


# --- context -------------------------------------------------------------------------------------


def _as_date(value: Any, key: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ContextError(f"{key}: expected an ISO date like '2026-11-26', got {value!r}")


def _as_text(value: Any, key: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise ContextError(f"{key}: required")
        return None
    if not isinstance(value, str):
        raise ContextError(f"{key}: expected text, got {type(value).__name__}")
    return value


def _items(value: Any) -> list[Item]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ContextError(f"context.items: expected a list, got {type(value).__name__}")
    items = []
    for index, raw in enumerate(value):
        key = f"context.items[{index}]"
        if not isinstance(raw, Mapping):
            raise ContextError(f"{key}: expected an object with title and quantity")
        title = _as_text(raw.get("title"), f"{key}.title", required=True)
        quantity = raw.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ContextError(f"{key}.quantity: expected a whole number of at least 1, got {quantity!r}")
        assert title is not None
        items.append(Item(title=title, quantity=quantity))
    return items


def _voucher(value: Any) -> Voucher | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ContextError("context.voucher: expected an object or null")
    code = _as_text(value.get("code"), "context.voucher.code", required=True)
    kind = value.get("kind")
    if kind not in ("percentage", "fixed"):
        raise ContextError(f"context.voucher.kind: expected 'percentage' or 'fixed', got {kind!r}")
    try:
        amount = Decimal(str(value.get("value")))
    except InvalidOperation:
        raise ContextError(f"context.voucher.value: expected a number, got {value.get('value')!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise ContextError(f"context.voucher.value: expected a positive number, got {value.get('value')!r}")
    currency = _as_text(value.get("currency"), "context.voucher.currency") or "EUR"
    if kind == "fixed" and not re.fullmatch(r"[A-Z]{3}", currency):
        raise ContextError(f"context.voucher.currency: expected a 3-letter code, got {currency!r}")
    assert code is not None
    return Voucher(code, kind, amount, currency, _as_date(value.get("ends_at"), "context.voucher.ends_at"))


def _level(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ContextError(f"context.level: expected a whole number of at least 1, got {value!r}")
    return value


def _problems(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ContextError("context.problems: expected a list of problem codes")
    return list(value)


def _lines(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
        raise ContextError(f"{key}: expected a list of text lines")
    return [line for line in value if line.strip()]


def _consent_basis(value: Any) -> str:
    if value is None:
        return "required"
    if value not in ("required", "existing_customer"):
        raise ContextError(f"context.consent_basis: expected required or existing_customer, got {value!r}")
    return str(value)


def prepare_context(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a message context and turn it into what the templates use (dates, items, voucher)."""
    if not isinstance(raw, Mapping):
        raise ContextError("context: expected an object")
    context: dict[str, Any] = dict(raw)  # keys a merchant's own templates may use pass through
    context.update(
        shop_name=_as_text(raw.get("shop_name"), "context.shop_name", required=True),
        order_number=_as_text(raw.get("order_number"), "context.order_number", required=True),
        first_name=_as_text(raw.get("first_name"), "context.first_name"),
        items=_items(raw.get("items")),
        new_delivery_date=_as_date(raw.get("new_delivery_date"), "context.new_delivery_date"),
        hear_from_us_by=_as_date(raw.get("hear_from_us_by"), "context.hear_from_us_by"),
        promised_date=_as_date(raw.get("promised_date"), "context.promised_date"),  # the date followed up
        voucher=_voucher(raw.get("voucher")),
        problems=_problems(raw.get("problems")),
        level=_level(raw.get("level")),
        carrier=_as_text(raw.get("carrier"), "context.carrier"),
        tracking_url=_as_text(raw.get("tracking_url"), "context.tracking_url"),  # the carrier's page
        tracking_page_url=_as_text(raw.get("tracking_page_url"), "context.tracking_page_url"),  # the order's page
        reason=_as_text(raw.get("reason"), "context.reason"),
        fix_url=_as_text(raw.get("fix_url"), "context.fix_url"),
        fix_expires_on=_as_date(raw.get("fix_expires_on"), "context.fix_expires_on"),
        address_lines=_lines(raw.get("address_lines"), "context.address_lines"),
        review_url=_as_text(raw.get("review_url"), "context.review_url"),
        signature=_lines(raw.get("signature"), "context.signature"),
        consent_basis=_consent_basis(raw.get("consent_basis")),
        report_url=_as_text(raw.get("report_url"), "context.report_url"),  # the report page (connector.reports)
        agreed_on=_as_date(raw.get("agreed_on"), "context.agreed_on"),  # a day agreed on the phone
    )
    if "report_cause" in raw:  # order_problem: what the customer reported and what the carrier says
        context.update(
            report_cause=_as_text(raw.get("report_cause"), "context.report_cause", required=True),
            replacement=bool(raw.get("replacement")),
            situation=_as_text(raw.get("situation"), "context.situation"),
            parcel_status=_as_text(raw.get("parcel_status"), "context.parcel_status"),
            delivered_on=_as_date(raw.get("delivered_on"), "context.delivered_on"),
        )
    if "stock_lines" in raw or "choice_url" in raw:  # out_of_stock: the items, their dates and the choice link
        context.update(
            stock_lines=_stock_lines(raw.get("stock_lines")),
            choice_url=_as_text(raw.get("choice_url"), "context.choice_url"),
            choice_expires_on=_as_date(raw.get("choice_expires_on"), "context.choice_expires_on"),
        )
    return context


def _stock_lines(value: Any) -> list[dict[str, Any]]:
    """The out-of-stock lines of a message: title, quantity, the day it comes if the customer waits, alternatives."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ContextError("context.stock_lines: expected a list")
    lines = []
    for index, raw in enumerate(value):
        key = f"context.stock_lines[{index}]"
        if not isinstance(raw, Mapping):
            raise ContextError(f"{key}: expected an object")
        item = _items([{"title": raw.get("title"), "quantity": raw.get("quantity", 1)}])[0]
        lines.append(
            {
                "title": item.title,
                "quantity": item.quantity,
                "wait_until": _as_date(raw.get("wait_until"), f"{key}.wait_until"),
                "alternatives": _lines(raw.get("alternatives"), f"{key}.alternatives"),
            }
        )
    return lines


# --- formatting ----------------------------------------------------------------------------------


def format_day(value: date | None, locale: str) -> str:
    """ "dinsdag 24 november" / "Tuesday 24 November"."""
    return format_date(value, "EEEE d MMMM", locale=locale) if value else ""


def format_full_date(value: date | None, locale: str) -> str:
    """ "22 februari 2027" / "22 February 2027"."""
    return format_date(value, "d MMMM y", locale=locale) if value else ""


def format_short_date(value: date | None, locale: str) -> str:
    """ "24 nov 2026" / "24 Nov 2026" (staff notes)."""
    return format_date(value, "d MMM y", locale=locale).replace(".", "") if value else ""


def format_moment(value: datetime | None, locale: str) -> str:
    """ "24 nov 2026 10:00" in the datetime's own time zone (staff notes, as the policies write them)."""
    return format_datetime(value, "d MMM yyyy HH:mm", tzinfo=value.tzinfo, locale=locale) if value else ""


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=locale)


def format_voucher_value(voucher: Voucher, locale: str) -> str:
    """ "10%" or "€ 5,00"."""
    if voucher.kind == "percentage":
        return format_decimal(voucher.value, locale=locale) + "%"
    return format_money(voucher.value, voucher.currency, locale)


def format_items(items: Sequence[Item], locale: str) -> str:
    """ "2× Fietsbel en Bidon"."""
    parts = [f"{item.quantity}× {item.title}" if item.quantity > 1 else item.title for item in items]
    return format_list(parts, locale=locale) if parts else ""


def and_list(values: Iterable[str], locale: str) -> str:
    parts = [v for v in values if v]
    return format_list(parts, locale=locale) if parts else ""


def capfirst(value: str) -> str:
    return value[:1].upper() + value[1:]


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _tidy_subject(text: str) -> str:
    return " ".join(text.split())


# --- environments --------------------------------------------------------------------------------


class Renderer:
    """Renders messages and notes; one Jinja environment per (locale, text|html)."""

    def __init__(self, override_dir: str | Path | None = None) -> None:
        self.override_dir = Path(override_dir) if override_dir else None
        self._envs: dict[tuple[str, bool], Environment] = {}

    def _search_path(self, locale: str) -> list[Path]:
        order = [locale] if locale == FALLBACK_LOCALE else [locale, FALLBACK_LOCALE]
        paths = []
        for loc in order:
            if self.override_dir is not None:
                paths.append(self.override_dir / loc)
            paths.append(PACKAGED / loc)
        return paths

    def environment(self, locale: str, html: bool) -> Environment:
        key = (locale, html)
        env = self._envs.get(key)
        if env is None:
            env = Environment(
                loader=ChoiceLoader([FileSystemLoader(str(path)) for path in self._search_path(locale)]),
                autoescape=html,  # noqa: S701 - plain-text parts (subject, text) must not be HTML-escaped
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
            )
            env.filters.update(
                day=lambda value: format_day(value, locale),
                full_date=lambda value: format_full_date(value, locale),
                short_date=lambda value: format_short_date(value, locale),
                moment=lambda value: format_moment(value, locale),
                money=lambda amount, currency: format_money(amount, currency, locale),
                voucher_value=lambda voucher: format_voucher_value(voucher, locale),
                items_list=lambda items: format_items(items, locale),
                and_list=lambda values: and_list(values, locale),
                capfirst=capfirst,
            )
            env.globals["locale"] = locale
            self._envs[key] = env
        return env

    def _render(self, name: str, part: str, locale: str, context: Mapping[str, Any]) -> str:
        env = self.environment(locale, html=part == "html")
        return env.get_template(f"{name}.{PARTS[part]}").render(**context)

    def render(self, template: str, locale: str | None, context: Mapping[str, Any]) -> RenderedMessage:
        """Subject, plain text and HTML of one customer message. Raises ContextError for bad context."""
        if template not in TEMPLATES:
            raise ContextError(f"template: unknown message {template!r}; known: {', '.join(TEMPLATES)}")
        loc = normalise_locale(locale)
        prepared = prepare_context(context)
        for key in REQUIRED.get(template, ()):
            if prepared.get(key) in (None, ""):
                raise ContextError(f"context.{key}: required for {template}")
        return RenderedMessage(
            template=template,
            locale=loc,
            subject=_tidy_subject(self._render(template, "subject", loc, prepared)),
            text=_tidy_text(self._render(template, "text", loc, prepared)),
            html=self._render(template, "html", loc, prepared).strip() + "\n",
        )

    def render_note(self, name: str, locale: str | None, context: Mapping[str, Any]) -> str:
        """A short staff note (plain text, one paragraph) in the shop's locale."""
        if name not in NOTES:
            raise ContextError(f"note: unknown note {name!r}; known: {', '.join(NOTES)}")
        return _tidy_text(self._render(name, "text", normalise_locale(locale), context)).strip()

    def problem_texts(self, codes: Iterable[str], locale: str | None) -> list[str]:
        """What is wrong with an address, one phrase per problem code, as the messages say it."""
        module = self.environment(normalise_locale(locale), html=False).get_template("_problems.txt").module
        known: Mapping[str, str] = getattr(module, "problem_text", {})
        return [known[code] for code in codes if code in known]

    def has_template(self, name: str, locale: str, part: str = "text") -> bool:
        try:
            self.environment(locale, part == "html").get_template(f"{name}.{PARTS[part]}")
        except TemplateNotFound:
            return False
        return True


@lru_cache(maxsize=8)
def renderer_for(templates_dir: str | None) -> Renderer:
    """The shared renderer for a merchant template directory (None: packaged templates only)."""
    return Renderer(templates_dir)
