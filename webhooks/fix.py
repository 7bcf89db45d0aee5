"""The address-fix page ``/fix/<token>``: the customer corrects a shipping address in a minute.

GET shows the order, the address as we have it, what is wrong with it and a form; for Dutch addresses the
"look up" button fills street and city from postcode + house number (PDOK by default, or the lookup in
``app.extensions["ordercare.address_lookup"]``). POST validates the address and, in one transaction,
stores it, plans the platform update, the release of our hold and a staff note, resolves the incident and
uses the link up. Works without JavaScript; CSRF-protected by a signed cookie; Dutch and English.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, current_app, make_response, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer

from connector import codec
from connector.address import fix as address_fix
from connector.address import fixlinks
from connector.address.check import AddressLookup, LookupUnavailable, check_address, lookup_provider
from connector.address.split import normalise_postcode
from connector.calendar import BusinessCalendar
from connector.model import Address, Order
from connector.notify.render import Item, format_day, format_items, normalise_locale, renderer_for
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.store.tables import FixToken, OrderRow

bp = Blueprint("fix", __name__, template_folder="templates")

LOOKUP_EXTENSION = "ordercare.address_lookup"
CSRF_COOKIE = "ordercare_fix"
FIELDS = ("postcode", "house_number", "house_number_addition", "street", "city")
MAX_FIELD = 100
SPLIT_FIELDS_KEY = "split_address_fields"

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Correct your delivery address",
        "intro": "Order {number}",
        "items": "What you ordered",
        "current": "The address we have now",
        "no_address": "We have no address for this order.",
        "wrong": "What is wrong",
        "form": "Your correct address",
        "postcode": "Postcode",
        "house_number": "House number",
        "house_number_addition": "Addition (optional)",
        "street": "Street",
        "city": "Town or city",
        "country": "Country",
        "lookup": "Look up street and town",
        "save": "Save address",
        "lookup_hint": "Fill in postcode and house number and press “Look up”, or type street and town yourself.",
        "lookup_done": "We filled in street and town. Please check them and press “Save address”.",
        "lookup_down": "We cannot look addresses up right now. Please type street and town yourself.",
        "not_found": "We cannot find this postcode with this house number.",
        "required": "Please fill this in.",
        "too_long": "This is too long.",
        "house_number_not_numeric": "Start with a number, e.g. 12; put “a” or “bis” in the addition.",
        "postcode_format": "This is not a valid postcode here, e.g. {example}.",
        "postcode_city_mismatch": "This postcode does not belong to this town.",
        "missing_street": "Please fill in the street.",
        "missing_house_number": "Please fill in the house number.",
        "missing_postcode": "Please fill in the postcode.",
        "missing_city": "Please fill in the town or city.",
        "missing_address": "Please fill in your address.",
        "unsupported_country": "We cannot check addresses in this country; please reply to our e-mail.",
        "has_errors": "Please check the fields marked below.",
        "done_title": "Thank you, your address is saved",
        "done_greeting": "Thank you{name}!",
        "done_saved": "We saved this address for order {number}:",
        "done_date": "We are sending your order now. Expected delivery: {date}.",
        "done_after": "You will receive the track-and-trace code from {shop} as soon as the parcel is on its way.",
        "gone_used_title": "This link has already been used",
        "gone_used": "The address for this order was corrected on {date}. Nothing else needs to be done.",
        "gone_expired_title": "This link has expired",
        "gone_expired": "For your safety the link works for a limited time. Reply to our e-mail and we will help you.",
        "gone_unknown_title": "This link does not work",
        "gone_unknown": "The link is incomplete or has been changed. Please open it again from our e-mail.",
        "csrf_title": "Please try again",
        "csrf": "The form was open too long or cookies are blocked. Open the link again and re-enter your address.",
        "again": "Open the form again",
        "language": "Nederlands",
    },
    "nl": {
        "title": "Verbeter je bezorgadres",
        "intro": "Bestelling {number}",
        "items": "Wat je bestelde",
        "current": "Het adres dat we nu hebben",
        "no_address": "We hebben geen adres bij deze bestelling.",
        "wrong": "Wat er niet klopt",
        "form": "Je juiste adres",
        "postcode": "Postcode",
        "house_number": "Huisnummer",
        "house_number_addition": "Toevoeging (optioneel)",
        "street": "Straat",
        "city": "Plaats",
        "country": "Land",
        "lookup": "Straat en plaats opzoeken",
        "save": "Adres opslaan",
        "lookup_hint": "Vul postcode en huisnummer in en kies “Opzoeken”, of typ straat en plaats zelf.",
        "lookup_done": "We hebben straat en plaats ingevuld. Kijk ze even na en kies “Adres opslaan”.",
        "lookup_down": "Opzoeken lukt nu even niet. Typ straat en plaats zelf in.",
        "not_found": "We kunnen deze postcode met dit huisnummer niet vinden.",
        "required": "Vul dit in.",
        "too_long": "Dit is te lang.",
        "house_number_not_numeric": "Begin met een getal, bijv. 12; zet “a” of “bis” bij de toevoeging.",
        "postcode_format": "Dit is geen geldige postcode, bijv. {example}.",
        "postcode_city_mismatch": "Deze postcode hoort niet bij deze plaats.",
        "missing_street": "Vul de straat in.",
        "missing_house_number": "Vul het huisnummer in.",
        "missing_postcode": "Vul de postcode in.",
        "missing_city": "Vul de plaats in.",
        "missing_address": "Vul je adres in.",
        "unsupported_country": "Adressen in dit land kunnen we niet controleren; beantwoord onze e-mail.",
        "has_errors": "Kijk de gemarkeerde velden hieronder even na.",
        "done_title": "Bedankt, je adres is opgeslagen",
        "done_greeting": "Bedankt{name}!",
        "done_saved": "We hebben dit adres opgeslagen voor bestelling {number}:",
        "done_date": "We versturen je bestelling nu. Verwachte bezorgdatum: {date}.",
        "done_after": "Je krijgt de track-and-trace-code van {shop} zodra het pakket onderweg is.",
        "gone_used_title": "Deze link is al gebruikt",
        "gone_used": "Het adres van deze bestelling is op {date} verbeterd. Je hoeft niets meer te doen.",
        "gone_expired_title": "Deze link is verlopen",
        "gone_expired": "Voor je veiligheid werkt de link maar een tijdje. Beantwoord onze e-mail, dan helpen we je.",
        "gone_unknown_title": "Deze link werkt niet",
        "gone_unknown": "De link is onvolledig of veranderd. Open hem opnieuw vanuit onze e-mail.",
        "csrf_title": "Probeer het nog eens",
        "csrf": "Het formulier stond te lang open of cookies staan uit. Open de link opnieuw en vul je adres in.",
        "again": "Formulier opnieuw openen",
        "language": "English",
    },
}

# which form field an address problem belongs to (connector.address.check field names)
_PROBLEM_FIELD = {"street": "street", "house_number": "house_number", "postcode": "postcode", "city": "city"}
_POSTCODE_EXAMPLES = {"NL": "1234 AB", "BE": "1000", "DE": "10115"}


# --- request state -------------------------------------------------------------------------------


@dataclass
class Page:
    """Everything the form template needs."""

    signed: str
    lang: str
    shop: Shop
    order: Order
    token: FixToken
    values: dict[str, str]
    problems: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    notice: str | None = None
    lookup_enabled: bool = False

    @property
    def country(self) -> str:
        address = self.order.shipping_address
        return ((address.country_code if address else None) or self.shop.country).upper()


def _services() -> Services:
    services: Services = current_app.extensions["ordercare"]
    return services


def _lookup(services: Services, shop: Shop) -> AddressLookup | None:
    if LOOKUP_EXTENSION in current_app.extensions:  # set by the host (tests, demo); None turns lookups off
        injected: AddressLookup | None = current_app.extensions[LOOKUP_EXTENSION]
        return injected
    config = services.settings.policies_for(shop.id).address.lookup
    return lookup_provider(config.provider, config.base_url, config.timeout_seconds)


def _calendar(services: Services, shop: Shop) -> BusinessCalendar:
    return services.settings.policies_for(shop.id).calendar.build(shop.timezone, shop.country)


def _language(order: Order, shop: Shop) -> str:
    asked = request.values.get("lang")
    if asked in TEXT:
        return asked
    return normalise_locale(order.customer.locale, default=normalise_locale(shop.locale))


def _page(template: str, status: int, lang: str, **context: Any) -> Response:
    response = make_response(render_template(template, t=TEXT[lang], lang=lang, **context), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _gone(state: fixlinks.LinkState, token: FixToken | None, lang: str, shop: Shop | None) -> Response:
    key = {"used": "gone_used", "expired": "gone_expired"}.get(state.value, "gone_unknown")
    used_on = ""
    if token is not None and token.used_at is not None and shop is not None:
        used_on = format_day(_calendar(_services(), shop).local_date(token.used_at), lang)
    status = 404 if state is fixlinks.LinkState.UNKNOWN else 410
    t = TEXT[lang]
    return _page("fix/gone.html", status, lang, title=t[key + "_title"], message=t[key].format(date=used_on))


# --- CSRF: a signed random nonce in a cookie, bound to the link in the form ------------------------


def _cookie_serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt="ordercare.fix-csrf")


def _cookie_nonce(secret_key: str) -> str | None:
    raw = request.cookies.get(CSRF_COOKIE)
    if not raw:
        return None
    try:
        value = _cookie_serializer(secret_key).loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def _form_token(secret_key: str, nonce: str, token_id: str) -> str:
    return hmac.new(secret_key.encode(), f"{nonce}:{token_id}".encode(), hashlib.sha256).hexdigest()


def _csrf_ok(secret_key: str, token_id: str) -> bool:
    nonce = _cookie_nonce(secret_key)
    sent = request.form.get("csrf_token", "")
    return nonce is not None and hmac.compare_digest(sent, _form_token(secret_key, nonce, token_id))


def _render_form(page: Page, status: int = 200) -> Response:
    services = _services()
    secret_key = services.settings.secret_key
    nonce = _cookie_nonce(secret_key) or secrets.token_urlsafe(18)
    address = page.order.shipping_address
    response = _page(
        "fix/form.html",
        status,
        page.lang,
        page=page,
        order=page.order,
        items=format_items(_items(page.order), page.lang),
        current=_address_lines(address),
        problem_texts=renderer_for(services.settings.templates_dir).problem_texts(page.problems, page.lang),
        csrf_token=_form_token(secret_key, nonce, page.token.id),
        other_lang="en" if page.lang == "nl" else "nl",
        example=_POSTCODE_EXAMPLES.get(page.country, ""),
    )
    response.set_cookie(
        CSRF_COOKIE,
        _cookie_serializer(secret_key).dumps(nonce),
        max_age=3600,
        path="/fix/",
        httponly=True,
        samesite="Lax",
        secure=services.settings.public_url.startswith("https://"),
    )
    return response


# --- address helpers -----------------------------------------------------------------------------


def _items(order: Order) -> list[Item]:
    return [Item(line.title, line.quantity) for line in order.lines]


def _address_lines(address: Address | None) -> list[str]:
    if address is None:
        return []
    place = " ".join(p for p in (address.postcode, address.city) if p)
    return [line for line in (address.address1, address.address2, place, address.country_code) if line]


def _initial_values(address: Address | None) -> dict[str, str]:
    if address is None:
        return dict.fromkeys(FIELDS, "")
    return {name: str(getattr(address, name) or "") for name in FIELDS}


def _form_values() -> dict[str, str]:
    return {name: " ".join(request.form.get(name, "").split()) for name in FIELDS}


def _split_number(values: dict[str, str]) -> None:
    """ "12a" or "12-2" typed as the house number: the digits stay, the rest becomes the addition."""
    match = re.fullmatch(
        r"(\d{1,5})(?:\s*[-/]\s*([A-Za-z0-9]{1,6})|\s*([A-Za-z][A-Za-z0-9]{0,5}))", values["house_number"]
    )
    if match and not values["house_number_addition"]:
        values["house_number"] = match.group(1)
        values["house_number_addition"] = match.group(2) or match.group(3)


def _new_address(order: Order, values: dict[str, str], country: str) -> Address:
    old = order.shipping_address or Address(
        first_name=order.customer.first_name, last_name=order.customer.last_name, phone=order.customer.phone
    )
    number = values["house_number"] + (f" {values['house_number_addition']}" if values["house_number_addition"] else "")
    return replace(
        old,
        address1=f"{values['street']} {number}".strip() or None,
        address2=None,
        street=values["street"] or None,
        house_number=values["house_number"] or None,
        house_number_addition=values["house_number_addition"] or None,
        postcode=normalise_postcode(values["postcode"], country),
        city=values["city"] or None,
        country_code=country,
    )


def _one_line(address: Address) -> str:
    place = " ".join(p for p in (address.postcode, address.city) if p)
    return ", ".join(p for p in (address.address1, place) if p)


# --- the routes ----------------------------------------------------------------------------------


@dataclass
class Loaded:
    check: fixlinks.LinkCheck
    shop: Shop | None = None
    order: Order | None = None


def _load(signed: str) -> Loaded:
    services = _services()
    with services.sessions() as session:
        check = fixlinks.check(session, services.settings.secret_key, signed, services.now())
        if check.token is None:
            return Loaded(check)
        row = session.get(OrderRow, check.token.order_id)
        order = codec.load_order(row.data) if row is not None else None
    shop = services.shops.get(check.token.shop_id)
    if order is None or shop is None:
        return Loaded(fixlinks.LinkCheck(fixlinks.LinkState.UNKNOWN))
    return Loaded(check, shop, order)


def _early_answer(loaded: Loaded) -> Response | None:
    if loaded.check.state is fixlinks.LinkState.VALID:
        return None
    if loaded.order is not None and loaded.shop is not None:
        lang = _language(loaded.order, loaded.shop)
    else:
        asked = request.values.get("lang")
        lang = asked if asked in TEXT else "en"
    return _gone(loaded.check.state, loaded.check.token, lang, loaded.shop)


@bp.get("/fix/<signed>")
def show(signed: str) -> Response:
    loaded = _load(signed)
    early = _early_answer(loaded)
    if early is not None:
        return early
    assert loaded.shop and loaded.order and loaded.check.token
    services = _services()
    page = Page(signed, _language(loaded.order, loaded.shop), loaded.shop, loaded.order, loaded.check.token, {})
    page.values = _initial_values(loaded.order.shipping_address)
    page.lookup_enabled = page.country == "NL"
    split = bool(loaded.order.extra.get(SPLIT_FIELDS_KEY))
    lookup = _lookup(services, loaded.shop)
    try:
        found = check_address(loaded.order.shipping_address, lookup=lookup, split_field_country=split)
    except LookupUnavailable:
        found = check_address(loaded.order.shipping_address, split_field_country=split)
    page.problems = [p.code for p in found]
    return _render_form(page)


@bp.post("/fix/<signed>")
def submit(signed: str) -> Response:
    loaded = _load(signed)
    early = _early_answer(loaded)
    if early is not None:
        return early
    assert loaded.shop and loaded.order and loaded.check.token
    services = _services()
    page = Page(signed, _language(loaded.order, loaded.shop), loaded.shop, loaded.order, loaded.check.token, {})
    if not _csrf_ok(services.settings.secret_key, page.token.id):
        t = TEXT[page.lang]
        return _page("fix/gone.html", 400, page.lang, title=t["csrf_title"], message=t["csrf"], again=True)
    page.values = _form_values()
    page.lookup_enabled = page.country == "NL"
    _split_number(page.values)
    lookup = _lookup(services, loaded.shop)
    if request.form.get("action") == "lookup" and page.lookup_enabled:
        _fill_from_lookup(page, lookup, explicit=True)
        return _render_form(page, 200)
    if page.lookup_enabled and not (page.values["street"] and page.values["city"]):
        _fill_from_lookup(page, lookup, explicit=False)
    if not _validate(page, lookup):
        page.notice = page.notice or TEXT[page.lang]["has_errors"]
        return _render_form(page, 422)
    return _accept(page)


def _fill_from_lookup(page: Page, lookup: AddressLookup | None, *, explicit: bool) -> None:
    t = TEXT[page.lang]
    for name in ("postcode", "house_number"):
        if not page.values[name]:
            page.errors[name] = t["required"]
    if page.errors or lookup is None:
        return
    try:
        found = lookup.lookup(page.country, page.values["postcode"], page.values["house_number"])
    except LookupUnavailable:
        page.notice = t["lookup_down"]
        return
    if found is None:
        if explicit:
            page.errors["postcode"] = t["not_found"]
        return
    page.values.update(street=found.street, city=found.city, postcode=normalise_postcode(found.postcode, "NL") or "")
    if explicit:
        page.notice = t["lookup_done"]


def _validate(page: Page, lookup: AddressLookup | None) -> bool:
    t = TEXT[page.lang]
    for name, value in page.values.items():
        if len(value) > MAX_FIELD:
            page.errors[name] = t["too_long"]
    if page.errors:
        return False
    address = _new_address(page.order, page.values, page.country)
    try:
        problems = check_address(address, lookup=lookup)
    except LookupUnavailable:
        problems = check_address(address)
    for problem in problems:
        target = _PROBLEM_FIELD.get(problem.field)
        message = t.get(problem.code, t["missing_address"]).format(example=_POSTCODE_EXAMPLES.get(page.country, ""))
        if target is None:
            page.notice = message
        else:
            page.errors.setdefault(target, message)
    return not problems and not page.errors


def _accept(page: Page) -> Response:
    services = _services()
    now = services.now()
    token = page.token
    address = _new_address(page.order, page.values, page.country)
    calendar = _calendar(services, page.shop)
    note = renderer_for(services.settings.templates_dir).render_note(
        "note_address_fixed", page.shop.locale, {"at": calendar.local(now), "address": _one_line(address)}
    )
    with transaction(services.sessions) as session:
        result = address_fix.accept(session, token, address, note, now, metrics=services.metrics)
    if not result.accepted:
        assert result.state is not None
        with services.sessions() as session:
            fresh = session.get(FixToken, token.id)
        return _gone(result.state, fresh, page.lang, page.shop)
    delivery = _expected_delivery(services, page.shop, now)
    t = TEXT[page.lang]
    first_name = page.order.customer.first_name
    return _page(
        "fix/done.html",
        200,
        page.lang,
        title=t["done_title"],
        greeting=t["done_greeting"].format(name=f", {first_name}" if first_name else ""),
        saved=t["done_saved"].format(number=page.order.number),
        address_lines=_address_lines(address),
        when=t["done_date"].format(date=format_day(delivery, page.lang)),
        after=t["done_after"].format(shop=page.shop.name),
    )


def _expected_delivery(services: Services, shop: Shop, now: datetime) -> date:
    """Released now: out with today's dispatch if before the cut-off, then the next delivery day."""
    config = services.settings.policies_for(shop.id).next_day
    return _calendar(services, shop).next_day_promise(now, config.cutoff, config.dispatch_by).deliver_on
