"""Splitting address lines into street, house number and addition (pure; used by every mapper).

Dutch and Belgian checkouts often put the whole "Hoofdstraat 12a" in one line, or the number alone in
``address2``; split-field plugins hand the parts over separately. ``split_address`` makes the best of
what it is given and leaves a part ``None`` when it cannot tell, so the address policy can ask.

One rule decides whether there is a street at all (``names_street``): text whose street part (what is
left once a house number and its addition are taken off) holds no letter is no street. "12", "12a",
"12-2", "12 A" and " 7 " are a house number alone; "Hoofdstraat 12", "Laan 1940-1945 12" and
"2e Helmersstraat 5" name a street. The parser applies it to every street it hands out, and the address
check applies it to the street of split-field checkouts and to the raw lines.
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


def _street(text: str | None) -> str | None:
    """``text`` as a street name, or None when it holds no letter ("12", "-", "12 3" name no street)."""
    return text if text is not None and _LETTER.search(text) else None


def split_address(address1: str | None, address2: str | None = None) -> AddressParts:
    """Street, house number and addition from the free-text lines of an address.

    A street is only ever handed out with a letter in it (see ``names_street``); a line that is a
    house number alone gives the number and no street.
    """
    line1, line2 = _clean(address1), _clean(address2)
    if line1 is None and line2 is None:
        return AddressParts(None, None, None)
    if line1 is not None:
        match = _STREET_FIRST.match(line1)
        if match and _street(match.group("street")):
            return AddressParts(match.group("street"), match.group("number"), _clean(match.group("addition")))
        match = _NUMBER_FIRST.match(line1)
        if match and _street(match.group("street")):
            return AddressParts(match.group("street"), match.group("number"), _clean(match.group("addition")) or None)
    if line1 is not None and line2 is not None:
        match = _NUMBER_ONLY.match(line2)
        if match and _DIGIT.search(line1) is None:
            return AddressParts(_street(line1), match.group("number"), _clean(match.group("addition")))
    if line1 is None and line2 is not None:
        match = _STREET_FIRST.match(line2)
        if match and _street(match.group("street")):
            return AddressParts(match.group("street"), match.group("number"), _clean(match.group("addition")))
        return AddressParts(_street(line2) if _DIGIT.search(line2) is None else None, None, None)
    # a line with no number at all is a street without a house number; a bare number has no street
    if line1 is not None and _DIGIT.search(line1) is None:
        return AddressParts(_street(line1), None, None)
    if line1 is not None:
        match = _NUMBER_ONLY.match(line1)
        if match:
            return AddressParts(None, match.group("number"), _clean(match.group("addition")))
    return AddressParts(None, None, None)


def names_street(text: str | None) -> bool:
    """Whether ``text`` (a street field or one address line) names a street: THE missing-street rule.

    The street part is what is left once a house number and its addition are taken off, and it must
    hold a letter. "12", "12a", "12-2", "12 A", " 7 " are a house number alone: no street.
    "Hoofdstraat 12", "Laan 1940-1945 12", "2e Helmersstraat 5" name one (digits in a street name are
    fine as long as it has letters), and so does a line with words that is not "street number" at all
    ("Flat 2, Rose Court").
    """
    cleaned = _clean(text)
    if cleaned is None:
        return False
    parts = split_address(cleaned)
    if parts.street is not None:
        return True
    if parts.house_number is not None:
        return False  # the line was a number (and an addition) and nothing else
    return _street(cleaned) is not None


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
