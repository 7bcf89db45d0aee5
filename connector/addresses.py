"""Splitting address lines into street, house number and addition (pure; used by every mapper).

Dutch and Belgian checkouts often put the whole "Hoofdstraat 12a" in one line, or the number alone in
``address2``; split-field plugins hand the parts over separately. ``split_address`` makes the best of
what it is given and leaves a part ``None`` when it cannot tell, so the address policy can ask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "Laan van Meerdervoort 1001 A", "Hoofdstraat 12-2", "Kerkstraat 3bis", "Dorpsstraat 7 hs"
_STREET_FIRST = re.compile(
    r"^(?P<street>.*?\S)[\s,]+(?P<number>\d{1,5})(?:\s*[-/]?\s*(?P<addition>[A-Za-z0-9]{1,6}(?:\s?[A-Za-z0-9]{1,4})?))?\s*$"
)
# "12 Main Street", "12a rue de la Paix"
_NUMBER_FIRST = re.compile(r"^(?P<number>\d{1,5})(?P<addition>[A-Za-z]?)[\s,]+(?P<street>\D.*\S)\s*$")
# address2 holding only a number with an optional addition: "12", "12 A", "12-3", "bus 4" is not one
_NUMBER_ONLY = re.compile(r"^(?P<number>\d{1,5})(?:\s*[-/]?\s*(?P<addition>[A-Za-z0-9]{1,6}))?$")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class AddressParts:
    street: str | None
    house_number: str | None
    house_number_addition: str | None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def split_address(address1: str | None, address2: str | None = None) -> AddressParts:
    """Street, house number and addition from the free-text lines of an address."""
    line1, line2 = _clean(address1), _clean(address2)
    if line1 is None and line2 is None:
        return AddressParts(None, None, None)
    if line1 is not None:
        match = _STREET_FIRST.match(line1)
        if match and _LETTER.search(match.group("street")):
            return AddressParts(match.group("street"), match.group("number"), _clean(match.group("addition")))
        match = _NUMBER_FIRST.match(line1)
        if match:
            return AddressParts(match.group("street"), match.group("number"), _clean(match.group("addition")) or None)
    if line1 is not None and line2 is not None:
        match = _NUMBER_ONLY.match(line2)
        if match and _DIGIT.search(line1) is None:
            return AddressParts(line1, match.group("number"), _clean(match.group("addition")))
    if line1 is None and line2 is not None:
        match = _STREET_FIRST.match(line2)
        if match:
            return AddressParts(match.group("street"), match.group("number"), _clean(match.group("addition")))
        return AddressParts(line2, None, None) if _DIGIT.search(line2) is None else AddressParts(None, None, None)
    # a line with no number at all is a street without a house number; a bare number has no street
    if line1 is not None and _DIGIT.search(line1) is None:
        return AddressParts(line1, None, None)
    if line1 is not None:
        match = _NUMBER_ONLY.match(line1)
        if match:
            return AddressParts(None, match.group("number"), _clean(match.group("addition")))
    return AddressParts(None, None, None)


def normalise_postcode(postcode: str | None, country_code: str | None) -> str | None:
    """Dutch postcodes as "1234 AB"; others trimmed and upper-cased."""
    if postcode is None:
        return None
    compact = "".join(postcode.split()).upper()
    if not compact:
        return None
    if (country_code or "").upper() == "NL" and re.fullmatch(r"\d{4}[A-Z]{2}", compact):
        return f"{compact[:4]} {compact[4:]}"
    return " ".join(postcode.split()).upper()
