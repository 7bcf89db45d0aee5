"""Phone numbers for staff to dial: a number as the customer typed it, as E.164 for a ``tel:`` link.

Parsing is Google's libphonenumber (the ``phonenumbers`` package): a number with ``+`` names its own
country; one typed the national way (``06 1234 5678``) is read in the default region, the shipping
address's country where known, else the shop's country.
"""

from __future__ import annotations

import phonenumbers


def e164(phone: str, region: str | None) -> str | None:
    """The number in E.164 (``+31612345678``), or None when it cannot be told (no region, not a number)."""
    try:
        parsed = phonenumbers.parse(phone, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def tel_href(phone: str, region: str | None) -> str | None:
    """``tel:+31612345678``; the digits as typed when the number cannot be read; None without digits."""
    normalised = e164(phone, region)
    if normalised is not None:
        return "tel:" + normalised
    digits = "".join(c for c in phone if c.isdigit())
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits if digits else None
