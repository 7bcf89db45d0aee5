"""Staff notes about out-of-stock lines, dated, in the shop's language (Dutch and English)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.policies.notes import moment

NOTES: dict[str, dict[str, str]] = {
    "nl": {
        "open": "niet op voorraad: {items}.{told} Belafspraak aangemaakt.",
        "open_staff": "niet op voorraad: {items}. Klant is niet ingelicht ({why}). Belafspraak aangemaakt.",
        "told": " Klant heeft een keuzelink gekregen (wachten, alternatief of annuleren).",
        "not_told": " Het bericht aan de klant is niet verstuurd: {error}.",
        "wait": "klant wacht op {item}; bezorging beloofd uiterlijk {date}.",
        "alternative": "klant kiest {alternative} in plaats van {item}; de bestelling is aangepast.",
        "alternative_failed": "klant kiest {alternative} in plaats van {item}, maar aanpassen lukte niet: {error}."
        " Pas de bestelling met de hand aan.",
        "cancel": "klant annuleert {item}; de regel is uit de bestelling gehaald. Terugbetalen: {refund}.",
        "cancel_failed": "klant annuleert {item}, maar aanpassen lukte niet: {error}. Pas de bestelling met de"
        " hand aan en betaal {refund} terug.",
        "back": "{items} weer op voorraad; incident gesloten.",
    },
    "en": {
        "open": "out of stock: {items}.{told} Call task created.",
        "open_staff": "out of stock: {items}. Customer not informed ({why}). Call task created.",
        "told": " Customer got a choice link (wait, alternative or cancel).",
        "not_told": " The message to the customer was not sent: {error}.",
        "wait": "customer waits for {item}; delivery promised by {date}.",
        "alternative": "customer takes {alternative} instead of {item}; the order is changed.",
        "alternative_failed": "customer takes {alternative} instead of {item}, but the change failed: {error}."
        " Change the order by hand.",
        "cancel": "customer cancels {item}; the line is taken off the order. Refund: {refund}.",
        "cancel_failed": "customer cancels {item}, but the change failed: {error}. Change the order by hand and"
        " refund {refund}.",
        "back": "{items} back in stock; incident closed.",
    },
}

WHY: dict[str, dict[str, str]] = {
    "nl": {
        "unpaid": "de bestelling is nog niet betaald",
        "no_email": "geen e-mailadres",
        "one_voice": "de klant heeft al een ander lopend probleem of recent bericht",
        "switched_off": "klantberichten staan uit",
    },
    "en": {
        "unpaid": "the order is not paid yet",
        "no_email": "no e-mail address",
        "one_voice": "the customer has another open problem or a recent message",
        "switched_off": "customer messages are switched off",
    },
}


def _language(locale: str) -> str:
    return locale if locale in NOTES else "en"


def text(locale: str, key: str, **fields: Any) -> str:
    return NOTES[_language(locale)][key].format(**fields)


def why(locale: str, reason: str) -> str:
    return WHY[_language(locale)].get(reason, reason)


def note(locale: str, key: str, local_now: datetime, **fields: Any) -> str:
    """``<date time> ordercare: <text>`` in the shop's language."""
    return f"{moment(locale, local_now)} ordercare: {text(locale, key, **fields)}"
