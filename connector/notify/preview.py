"""``ordercare preview TEMPLATE --locale nl``: render one customer message with sample data.

Merchants use it to check their own templates (``--templates-dir`` or ``templates_dir`` from ``--config``)
before a customer sees them: subject and plain text by default, the HTML with ``--html``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import jinja2

from connector.notify.render import LOCALES, TEMPLATES, ContextError, Renderer

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("template", choices=TEMPLATES, help="the message to render")
    parser.add_argument("--locale", choices=LOCALES, default="nl", help="language (default: nl)")
    parser.add_argument("--html", action="store_true", help="print the HTML part instead of the plain text")
    parser.add_argument("--level", type=int, default=1, help="delay_notice: the ladder step (default: 1)")
    parser.add_argument("--voucher", action="store_true", help="include a sample voucher")
    parser.add_argument("--shop-name", default="Fietsenwinkel", help="the shop name in the signature")
    parser.add_argument("--templates-dir", help="a directory with your own templates (overrides --config)")
    parser.add_argument("--config", help="a config file whose templates_dir to use")


def _templates_dir(args: argparse.Namespace) -> str | None:
    if args.templates_dir:
        return str(args.templates_dir)
    if args.config:
        from connector.config import load_settings

        return load_settings(args.config).templates_dir
    return None


def run(args: argparse.Namespace) -> int:
    try:
        renderer = Renderer(_templates_dir(args))
        context = sample_context(args.template, shop_name=args.shop_name, level=args.level, voucher=args.voucher)
        message = renderer.render(args.template, args.locale, context)
    except ContextError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except jinja2.TemplateError as exc:  # a merchant's template with a syntax error or an unknown variable
        print(f"error: cannot render {args.template} ({args.locale}): {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.html:
        sys.stdout.write(message.html)
    else:
        sys.stdout.write(f"Subject: {message.subject}\n\n{message.text}")
    return 0
