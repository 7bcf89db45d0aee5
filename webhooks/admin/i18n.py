"""The dashboard's language and clock: Flask-Babel catalogs, the per-user language, dates in the shop's zone.

The language is the one chosen with ``?lang=`` (kept in the session, so it holds for that user until they
choose again), else the first shop's locale, else the browser's preference, else English (the source
language of the catalogs in ``webhooks/translations``). Times are written with Babel in the shop's time
zone, the zone named where the viewer's shops lie in more than one.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from flask import Flask, g, request, session
from flask_babel import Babel, get_locale, gettext

from connector.admin import wording
from connector.admin.wording import Phrase

LANGUAGES = ("en", "nl")
LANG = "admin_lang"  # the session key of the viewer's own choice
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def _language() -> str | None:
    if request.blueprint != "admin":
        return None  # other pages choose their language themselves
    chosen = str(session.get(LANG) or "")
    if chosen in LANGUAGES:
        return chosen
    viewer = g.get("admin_viewer")
    if viewer is not None and viewer.shops:
        shop_language = str(viewer.shops[0].locale).split("-")[0].split("_")[0].lower()
        if shop_language in LANGUAGES:
            return shop_language
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def remember_language() -> None:
    """``?lang=nl`` / ``?lang=en`` on any dashboard page: the viewer's choice from now on."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        session[LANG] = asked


def language() -> str:
    return str(get_locale() or LANGUAGES[0])


def _zone(shop_id: str | None) -> tzinfo:
    viewer = g.get("admin_viewer")
    if viewer is None:
        return ZoneInfo("UTC")
    shop = viewer.shop(shop_id) if shop_id else None
    return ZoneInfo(shop.timezone) if shop is not None else viewer.zone


def _zones_mix() -> bool:
    viewer = g.get("admin_viewer")
    return viewer is not None and len({shop.timezone for shop in viewer.shops}) > 1


def local_time(value: datetime | None, with_date: bool = True, shop_id: str | None = None) -> str:
    """A stored UTC time in the shop's zone, the Babel way for the language: ``di 24 nov 14:00``."""
    if value is None:
        return ""
    pattern = wording.MOMENT if with_date else "HH:mm"
    if _zones_mix():
        pattern += " z"
    return format_datetime(value, pattern, tzinfo=_zone(shop_id), locale=language())


def local_day(value: date | None, pattern: str = wording.DAY) -> str:
    """A date (``di 24 nov``), or a month with ``pattern="LLLL yyyy"`` (``november 2026``)."""
    if value is None:
        return ""
    return format_date(value, pattern, locale=language())


def words(value: Phrase | None, shop_id: str | None = None) -> str:
    """A phrase from ``connector.admin.wording`` in the viewer's language."""
    if value is None:
        return ""
    return wording.render(value, gettext, language(), _zone(shop_id))


def money(amount: Decimal | None, currency: str) -> str:
    """``€ 12,50`` in Dutch, ``€12.50`` in English."""
    if amount is None:
        return ""
    return format_currency(amount, currency, locale=language())


def action_words(kind: str) -> str:
    return words(wording.action(kind))


def problem_words(code: str) -> str:
    """An address problem code in the staff notes' words: ``huisnummer ontbreekt``."""
    return words(wording.phrase("%(problems)s", problems=wording.Problems((code,))))


def init(app: Flask | Any) -> None:
    if "babel" not in app.extensions:
        Babel(app, locale_selector=_language, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.filters["words"] = words
    app.jinja_env.filters["action_words"] = action_words
    app.jinja_env.filters["problem_words"] = problem_words
    app.jinja_env.globals["wording"] = wording
