"""Staff notes and call-task reasons about a customer's report, dated, in the shop's language (Dutch, English)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.policies.notes import moment

CAUSE_WORDS: dict[str, dict[str, str]] = {
    "nl": {
        "wrong_item": "verkeerd artikel ontvangen",
        "damaged": "artikel beschadigd",
        "item_missing": "artikel ontbreekt",
        "not_received": "pakket niet ontvangen",
        "other": "ander probleem",
    },
    "en": {
        "wrong_item": "wrong item received",
        "damaged": "item damaged",
        "item_missing": "item missing",
        "not_received": "parcel not received",
        "other": "other problem",
    },
}

NOTES: dict[str, dict[str, str]] = {
    "nl": {
        "open": "klant meldt: {cause}{items}.{next}{told}",
        "told": " Klant heeft bericht gekregen; antwoord beloofd uiterlijk {date}.",
        "told_date": " Klant heeft bericht gekregen met de status van het pakket.",
        "not_told": " Het bericht aan de klant is niet verstuurd: {error}.",
        "staff_only": " Klant is niet ingelicht ({why}).",
        "replacement": " Vervanging klaargezet: bevestig die in het dashboard.",
        "delivered": " Vervoerder meldt bezorgd op {date}: vraag het bezorgbewijs op.",
        "confirmed": "vervanging bevestigd door {who}; verzonden zonder kosten voor de klant.",
        "call": "klant meldt: {cause}{items}. {what}",
        "call_replacement": "Bel de klant; een vervanging staat klaar om te bevestigen in het dashboard.",
        "call_delivered": "Vervoerder meldt bezorgd op {date}. Bel de klant en vraag het bezorgbewijs op.",
        "call_unknown": "Geen gegevens van de vervoerder. Zoek uit waar het pakket is en bel de klant.",
        "call_other": "Bel de klant over de melding.",
    },
    "en": {
        "open": "customer reports: {cause}{items}.{next}{told}",
        "told": " Customer was told; an answer promised by {date}.",
        "told_date": " Customer was told the parcel's status.",
        "not_told": " The message to the customer was not sent: {error}.",
        "staff_only": " Customer not informed ({why}).",
        "replacement": " Replacement prepared: confirm it on the dashboard.",
        "delivered": " Carrier says delivered on {date}: ask for the proof of delivery.",
        "confirmed": "replacement confirmed by {who}; sent at no cost to the customer.",
        "call": "customer reports: {cause}{items}. {what}",
        "call_replacement": "Call the customer; a replacement is ready to confirm on the dashboard.",
        "call_delivered": "Carrier says delivered on {date}. Call the customer and ask for the proof of delivery.",
        "call_unknown": "No carrier data. Find out where the parcel is and call the customer.",
        "call_other": "Call the customer about the report.",
    },
}

WHY: dict[str, dict[str, str]] = {
    "nl": {
        "unpaid": "de bestelling is nog niet betaald",
        "no_email": "geen e-mailadres",
        "no_carrier_data": "geen gegevens van de vervoerder",
        "order_ended": "de bestelling is geannuleerd of terugbetaald",
    },
    "en": {
        "unpaid": "the order is not paid yet",
        "no_email": "no e-mail address",
        "no_carrier_data": "no carrier data",
        "order_ended": "the order was cancelled or refunded",
    },
}


def _language(locale: str) -> str:
    return locale if locale in NOTES else "en"


def cause(locale: str, value: str) -> str:
    return CAUSE_WORDS[_language(locale)].get(value, value)


def text(locale: str, key: str, **fields: Any) -> str:
    return NOTES[_language(locale)][key].format(**fields)


def why(locale: str, reason: str) -> str:
    return WHY[_language(locale)].get(reason, reason)


def note(locale: str, key: str, local_now: datetime, **fields: Any) -> str:
    """``<date time> ordercare: <text>`` in the shop's language."""
    return f"{moment(locale, local_now)} ordercare: {text(locale, key, **fields)}"
