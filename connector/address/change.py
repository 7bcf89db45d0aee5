"""An address incident's record of the address as the customer typed it and as it was corrected.

The address policy keeps the typed address in the incident's details when it opens the incident
(``details["address"]["typed"]``); the fix page (``connector.address.fix``) or a fix in the shop admin adds the
corrected one and who corrected it. Staff see both on the incident. The key is one of the personal keys the
customer's erasure empties (``connector.privacy``), so both go with the customer's data. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector import codec
from connector.model import Address

ADDRESS_KEY = "address"
CUSTOMER, SHOP = "customer", "shop"  # who corrected it: on the fix page, or in the shop admin


def _dumped(address: Address | None) -> dict[str, Any] | None:
    return codec.dump(address) if address is not None else None


def typed(address: Address | None) -> dict[str, Any]:
    """The details entry of a new address incident: the address as typed."""
    return {"typed": _dumped(address)}


def corrected(recorded: Any, before: Address | None, after: Address | None, by: str) -> dict[str, Any]:
    """The details entry once the address is corrected: the typed address as recorded (else ``before``, the
    address the order had until the correction), the corrected one and who corrected it."""
    kept = recorded.get("typed") if isinstance(recorded, Mapping) else None
    return {"typed": kept if kept is not None else _dumped(before), "corrected": _dumped(after), "by": by}


@dataclass(frozen=True)
class AddressChange:
    """The two addresses for staff, each as lines (name, street, place, country)."""

    typed: tuple[str, ...]
    corrected: tuple[str, ...]  # empty: not corrected (yet)
    by: str | None


def _lines(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, Mapping):
        return ()
    try:
        address = codec.load(Address, raw)
    except ValueError:
        return ()
    name = " ".join(p for p in (address.first_name, address.last_name) if p)
    number = " ".join(p for p in (address.house_number, address.house_number_addition) if p)
    street = address.address1 or " ".join(p for p in (address.street, number) if p)
    if address.address1 and address.house_number and address.house_number not in address.address1:
        street = f"{address.address1} {number}"  # a split-field checkout keeps the number apart
    place = " ".join(p for p in (address.postcode, address.city) if p)
    lines = (name, address.company, street, address.address2, place, address.country_code)
    return tuple(line for line in lines if line)


def read(details: Mapping[str, Any] | None) -> AddressChange | None:
    """The change recorded in an incident's details; None when none was recorded (or it was erased)."""
    entry = (details or {}).get(ADDRESS_KEY)
    if not isinstance(entry, Mapping):
        return None
    found_typed, found_corrected = _lines(entry.get("typed")), _lines(entry.get("corrected"))
    if not found_typed and not found_corrected:
        return None
    by = entry.get("by")
    return AddressChange(found_typed, found_corrected, str(by) if by in (CUSTOMER, SHOP) else None)
