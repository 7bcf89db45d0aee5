"""``ordercare preview [TEMPLATE] [--shop ID] [--locale nl|en]``: render customer messages with sample data.

Merchants use it to check their own templates (``--templates-dir`` or ``templates_dir`` from ``--config``)
before a customer sees them: subject and plain text by default, the HTML with ``--html`` or into a file with
``--out``. With ``--shop`` it shows what that shop's customers get: the shop's name, sender and reply-to, its
signature, its review link and the consent footer of its legal basis, in its language. No template: all.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from connector.config import ConfigError, Settings
from connector.notify.mailer import sender_with_name
from connector.notify.render import LOCALES, TEMPLATES, ContextError, RenderedMessage, Renderer

SAMPLE_VOUCHER = {"code": "OC-7KQ2M9", "kind": "percentage", "value": "10", "currency": "EUR", "ends_at": "2027-02-22"}

SAMPLES: dict[str, dict[str, Any]] = {
    "address_question": {
        "problems": ["missing_house_number"],
        "fix_url": "https://ordercare.example.nl/fix/voorbeeld",
        "fix_expires_on": "2026-12-01",
        "address_lines": ["Hoofdstraat", "1234 AB Amsterdam"],
    },
    "stale_update": {"reason": "unshipped", "new_delivery_date": "2026-11-26"},
    "next_day_missed": {"new_delivery_date": "2026-11-25", "voucher": SAMPLE_VOUCHER},
    "delay_notice": {
        "reason": "no_scan",
        "carrier": "PostNL",
        "tracking_url": "https://jouw.postnl.nl/track-and-trace/3SABCD1234567-NL-1234AB",
        "hear_from_us_by": "2026-11-27",
    },
    "review_request": {"review_url": "https://fietsenwinkel.example.nl/review/1001"},
    "promise_followup": {
        "promised_date": "2026-11-26",
        "promise_kind": "delivery_by",
        "shipped": True,
        "carrier": "PostNL",
        "tracking_url": "https://jouw.postnl.nl/track-and-trace/3SABCD1234567-NL-1234AB",
        "hear_from_us_by": "2026-11-27",
    },
    "order_problem": {"report_cause": "damaged", "replacement": True, "hear_from_us_by": "2026-11-27"},
    "order_problem_replacement": {"report_cause": "damaged"},
    "out_of_stock": {
        "stock_lines": [
            {
                "title": "Tuinlamp - Zwart",
                "quantity": 1,
                "wait_until": "2026-12-02",
                "alternatives": ["Tuinlamp - Antraciet"],
            }
        ],
        "choice_url": "https://ordercare.example.nl/stock/voorbeeld",
        "choice_expires_on": "2026-12-08",
    },
    "out_of_stock_choice": {"choice": "wait", "item": "Tuinlamp - Zwart", "new_delivery_date": "2026-12-02"},
    "date_confirmed": {"agreed_on": "2026-11-27"},
}


def sample_context(template: str, *, shop_name: str, level: int, voucher: bool) -> dict[str, Any]:
    context: dict[str, Any] = {
        "shop_name": shop_name,
        "order_number": "#1001",
        "first_name": "Sanne",
        "items": [{"title": "Fietsbel messing", "quantity": 2}, {"title": "Bidonhouder", "quantity": 1}],
        "level": level,
        **SAMPLES[template],
    }
    if voucher:
        context["voucher"] = SAMPLE_VOUCHER
    return context


@dataclass(frozen=True)
class ShopLook:
    """What a shop's settings put into its messages (``--shop``)."""

    name: str
    locale: str
    sender: str
    reply_to: str | None
    signature: list[str] | None
    review_url: str | None
    consent_basis: str


def shop_look(settings: Settings, shop_id: str) -> ShopLook:
    """The shop's own voice and links, as the outbox and the review policy use them."""
    shop = settings.configured_shop(shop_id)
    if shop is None:
        known = ", ".join(s.id for s in settings.shops) or "none"
        raise ConfigError([f"--shop: no shop {shop_id!r} in the configuration (shops: {known})"])
    name = shop.name or shop.id
    voice = settings.voice_for(shop.id)
    review = settings.policies_for(shop.id).review
    return ShopLook(
        name=name,
        locale=shop.locale,
        sender=sender_with_name(voice.sender, name),
        reply_to=voice.reply_to,
        signature=voice.signature.strip().splitlines() if voice.signature else None,
        review_url=review.link_for("#1001", "1001", "7391"),
        consent_basis=review.consent,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("template", nargs="?", choices=TEMPLATES, help="the message to render (default: all)")
    parser.add_argument("--template", dest="template_option", choices=TEMPLATES, help="the same as TEMPLATE")
    parser.add_argument("--shop", help="render as this configured shop's customers get it (needs --config)")
    parser.add_argument("--locale", choices=LOCALES, help="language (default: the shop's, else nl)")
    parser.add_argument("--html", action="store_true", help="print the HTML part instead of the plain text")
    parser.add_argument("--out", help="write the HTML to this file (several templates: to this directory)")
    parser.add_argument("--level", type=int, default=1, help="delay_notice: the ladder step (default: 1)")
    parser.add_argument("--voucher", action="store_true", help="include a sample voucher")
    parser.add_argument("--shop-name", default="Fietsenwinkel", help="the shop name in the signature (no --shop)")
    parser.add_argument("--templates-dir", help="a directory with your own templates (overrides --config)")
    parser.add_argument("--config", help="the configuration file (default: $ORDERCARE_CONFIG with --shop)")


def _settings(args: argparse.Namespace) -> Settings | None:
    if args.shop:
        from connector.cli import _load

        return _load(args.config)
    if args.config:
        from connector.config import load_settings

        return load_settings(args.config)
    return None


def _context(template: str, args: argparse.Namespace, look: ShopLook | None) -> dict[str, Any]:
    name = look.name if look is not None else args.shop_name
    context = sample_context(template, shop_name=name, level=args.level, voucher=args.voucher)
    if look is not None:
        if look.signature:
            context["signature"] = look.signature
        if template == "review_request":
            context["review_url"] = look.review_url
            context["consent_basis"] = look.consent_basis
    return context


def _headers(message: RenderedMessage, look: ShopLook | None) -> str:
    lines = []
    if look is not None:
        lines.append(f"From: {look.sender}")
        if look.reply_to:
            lines.append(f"Reply-To: {look.reply_to}")
    lines.append(f"Subject: {message.subject}")
    return "\n".join(lines) + "\n\n"


def run(args: argparse.Namespace) -> int:
    chosen = args.template or args.template_option
    templates = [chosen] if chosen else list(TEMPLATES)
    template, locale = templates[0], args.locale or "nl"
    try:
        settings = _settings(args)
        look = shop_look(settings, args.shop) if args.shop and settings is not None else None
        templates_dir = args.templates_dir or (settings.templates_dir if settings is not None else None)
        renderer = Renderer(templates_dir)
        locale = args.locale or (look.locale if look is not None else "nl")
        messages = []
        for template in templates:
            messages.append(renderer.render(template, locale, _context(template, args, look)))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except ContextError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except jinja2.TemplateError as exc:  # a merchant's template with a syntax error or an unknown variable
        print(f"error: cannot render {template} ({locale}): {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.out:
        return _write(Path(args.out), messages)
    for index, message in enumerate(messages):
        if index:
            sys.stdout.write("\n" + "=" * 72 + "\n")
        sys.stdout.write(message.html if args.html else _headers(message, look) + message.text)
    return 0


def _write(out: Path, messages: list[RenderedMessage]) -> int:
    """One message: the HTML into ``out``; several: ``<template>.<locale>.html`` each in the directory ``out``."""
    if len(messages) == 1:
        targets = [(out, messages[0])]
    else:
        out.mkdir(parents=True, exist_ok=True)
        targets = [(out / f"{m.template}.{m.locale}.html", m) for m in messages]
    for path, message in targets:
        path.write_text(message.html, encoding="utf-8")
        print(f"wrote {path}")
    return 0
