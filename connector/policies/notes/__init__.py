"""Staff notes: short, dated, human lines on the order in the shop's language (Dutch and English).

Each note starts with the shop-local date and time and ``ordercare``, then says in one or two sentences
what we saw and what we did, so staff (and their own automations) can act on it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_datetime

NOTES: dict[str, dict[str, str]] = {
    "nl": {
        "address_open": "adres klopt niet: {problems}.{held}{asked}",
        "address_fixed_shop": "adres is in de winkel aangepast; {released}incident gesloten.",
        "stale_unshipped": "betaald op {since} en nog niet verzonden.{told}",
        "stale_not_ready": "betaald op {since} en nog niet klaargezet om af te halen.{told}",
        "stale_on_hold": "staat sinds {since} in de wacht (on-hold).{told}",
        "stale_pending": "wacht sinds {since} op betaling.{told}",
        "stale_call": "nog steeds niet verzonden; belafspraak aangemaakt.",
        "promise_followup": "beloofd aan de klant: {promised}; {state}. Vervolgbericht: {outcome}.{told}{call}",
        "next_day": "'{method}' beloofd voor {promised}, niet verzonden voor {deadline}. "
        "Nieuwe bezorgdatum {new_date}.{told}",
        "delay": "pakket {reason_text}; stap {level} van de vertragingsladder.{told}{call}",
        "delay_returned": "pakket {tracking} is retour afzender; de vertragingsladder stopt. Klant is niet ingelicht."
        " Belafspraak aangemaakt.",
        "parcel_unseen": "ordercare kan dit pakket niet volgen ({tracking}): geen scan van de vervoerder, geen status"
        " van het platform en geen volgbron ingesteld. {reason_text}. Klant is niet ingelicht.",
        "voucher_issued": " Kortingscode {code} ({value}) gemaakt, geldig t/m {ends}.",
        "voucher_refused": " Geen kortingscode: {reason}.",
    },
    "en": {
        "address_open": "address problem: {problems}.{held}{asked}",
        "address_fixed_shop": "address corrected in the shop admin; {released}incident closed.",
        "stale_unshipped": "paid on {since} and not shipped yet.{told}",
        "stale_not_ready": "paid on {since} and not ready for pickup yet.{told}",
        "stale_on_hold": "on hold since {since}.{told}",
        "stale_pending": "waiting for payment since {since}.{told}",
        "stale_call": "still not shipped; call task created.",
        "promise_followup": "promised to the customer: {promised}; {state}. Follow-up: {outcome}.{told}{call}",
        "next_day": "'{method}' promised for {promised}, not shipped by {deadline}. "
        "New delivery date {new_date}.{told}",
        "delay": "parcel {reason_text}; delay ladder step {level}.{told}{call}",
        "delay_returned": "parcel {tracking} is going back to the sender; the delay ladder stops. Customer not"
        " informed. Call task created.",
        "parcel_unseen": "ordercare cannot see this parcel ({tracking}): no carrier scan, no status from the"
        " platform and no tracking source configured. {reason_text}. Customer not informed.",
        "voucher_issued": " Voucher {code} ({value}) created, valid until {ends}.",
        "voucher_refused": " No voucher: {reason}.",
    },
}

PHRASES: dict[str, dict[str, str]] = {
    "nl": {
        "held": " Verzending staat vast.",
        "asked": " Klant is gevraagd het adres aan te vullen.",
        "told": " Klant is op de hoogte gebracht.",
        "not_told": " Het bericht aan de klant is niet verstuurd: {error}.",
        "call": " Belafspraak aangemaakt.",
        "promised_delivery": "bezorging uiterlijk {date}",
        "promised_word": "bericht uiterlijk {date}",
        "not_shipped": "nog niet verzonden",
        "on_its_way": "onderweg, nog niet bezorgd",
        "new_date": "nieuwe datum {date}",
        "no_date": "nog geen datum, nieuw bericht uiterlijk {date}",
        "released": "onze blokkade is opgeheven; ",
        "late": "is later dan beloofd (verwacht {date})",
        "no_scan": "heeft sinds {date} geen scan van de vervoerder",
        "carrier_failure": "heeft een probleem bij de vervoerder ({status})",
        "unseen_late": "Verwacht op {date}",
        "unseen_no_scan": "Verzonden op {date}",
        "no_tracking": "zonder volgnummer",
    },
    "en": {
        "held": " Fulfilment is on hold.",
        "asked": " Customer asked to complete the address.",
        "told": " Customer informed.",
        "not_told": " The message to the customer was not sent: {error}.",
        "call": " Call task created.",
        "promised_delivery": "delivery by {date}",
        "promised_word": "word from us by {date}",
        "not_shipped": "not shipped",
        "on_its_way": "on its way, not delivered",
        "new_date": "new date {date}",
        "no_date": "no date yet, next word by {date}",
        "released": "our hold is released; ",
        "late": "is later than promised (expected {date})",
        "no_scan": "has had no carrier scan since {date}",
        "carrier_failure": "has a carrier problem ({status})",
        "unseen_late": "Expected on {date}",
        "unseen_no_scan": "Shipped on {date}",
        "no_tracking": "no tracking number",
    },
}

PROBLEMS: dict[str, dict[str, str]] = {
    "nl": {
        "missing_address": "geen verzendadres",
        "missing_street": "straatnaam ontbreekt",
        "missing_house_number": "huisnummer ontbreekt",
        "house_number_not_numeric": "huisnummer is geen getal",
        "missing_postcode": "postcode ontbreekt",
        "postcode_format": "postcode heeft niet de juiste vorm",
        "missing_city": "plaats ontbreekt",
        "postcode_city_mismatch": "postcode en plaats horen niet bij elkaar",
        "unsupported_country": "land onbekend",
    },
    "en": {
        "missing_address": "no shipping address",
        "missing_street": "street name missing",
        "missing_house_number": "house number missing",
        "house_number_not_numeric": "house number is not a number",
        "missing_postcode": "postcode missing",
        "postcode_format": "postcode has the wrong format",
        "missing_city": "city missing",
        "postcode_city_mismatch": "postcode and city do not match",
        "unsupported_country": "unknown country",
    },
}


def _language(locale: str) -> str:
    return locale if locale in NOTES else "en"


def phrase(locale: str, key: str, **fields: Any) -> str:
    return PHRASES[_language(locale)][key].format(**fields)


def problem_text(locale: str, codes: list[str]) -> str:
    names = PROBLEMS[_language(locale)]
    return "; ".join(names.get(code, code) for code in codes)


def day(locale: str, value: date) -> str:
    """A date as staff read it: '24 nov. 2026' / 'Nov 24, 2026'."""
    return format_date(value, format="medium", locale=_language(locale))


def moment(locale: str, value: datetime) -> str:
    return format_datetime(value, format="d MMM yyyy HH:mm", tzinfo=value.tzinfo, locale=_language(locale))


def note_text(locale: str, key: str, **fields: Any) -> str:
    return NOTES[_language(locale)][key].format(**fields)


def render_note(locale: str, key: str, local_now: datetime, **fields: Any) -> str:
    """``<date time> ordercare: <text>`` in the shop's language."""
    return f"{moment(locale, local_now)} ordercare: {note_text(locale, key, **fields)}"
