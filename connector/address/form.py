"""The address-fix form as pure functions: the fields the customer typed in, an address and field errors out.

No Flask, no session, no clock. The view hands over the posted fields and gets back the values to show
again, errors by field and one notice, all as message codes (``"too_long"``, ``"required"``, or a
``connector.address.check`` code such as ``"missing_house_number"``); the page's templates say them in the
customer's language. The house number is read by ``split_address``, the parser every mapper uses: "12a",
"12-2" or "12 bis" typed as the house number keep the number and hand the rest to an empty addition.
``look_up`` and ``save`` call the lookup they are handed (a fake in tests) and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from connector.address.check import AddressLookup, AddressProblem, LookupResult, LookupUnavailable, check_address
from connector.address.split import normalise_postcode, split_address
from connector.model import Address, Order

FIELDS = ("postcode", "house_number", "house_number_addition", "street", "city")
MAX_LENGTH = 100  # per field; the inputs say maxlength="100" too
LOOKUP_COUNTRIES = frozenset({"NL"})  # the lookup (PDOK) knows Dutch addresses only
POSTCODE_EXAMPLES = {"NL": "1234 AB", "BE": "1000", "DE": "10115"}
SPLIT_FIELDS_KEY = "split_address_fields"  # order.extra: the checkout had separate street and number fields
# problems of these check_address fields are shown next to the form field of that name; others above the form
_FORM_FIELDS = frozenset({"street", "house_number", "postcode", "city"})
# split_address reads a second line holding only a number and an addition ("12a", "12-2", "12 bis") as
# number + addition when the first line is a street without digits; this stands in for that street
_STREET_WITHOUT_DIGITS = "street"


@dataclass(frozen=True)
class FormState:
    """What goes back into the form: the values, errors by field and one notice, as message codes."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    notice: str | None = None


# --- what the page shows --------------------------------------------------------------------------


def country_of(address: Address | None, shop_country: str) -> str:
    """The address's country, else the shop's, upper-cased."""
    return ((address.country_code if address else None) or shop_country).upper()


def can_look_up(country: str) -> bool:
    return country in LOOKUP_COUNTRIES


def postcode_example(country: str) -> str:
    return POSTCODE_EXAMPLES.get(country, "")


def initial_values(address: Address | None) -> dict[str, str]:
    """The form filled in with the address as we have it."""
    if address is None:
        return dict.fromkeys(FIELDS, "")
    return {name: str(getattr(address, name) or "") for name in FIELDS}


def address_lines(address: Address | None) -> list[str]:
    """The address as the page shows it: line 1, line 2, postcode and city, country."""
    if address is None:
        return []
    place = " ".join(p for p in (address.postcode, address.city) if p)
    return [line for line in (address.address1, address.address2, place, address.country_code) if line]


def one_line(address: Address) -> str:
    """ "Hoofdstraat 12 a, 1234 AB Amsterdam" (the staff note)."""
    place = " ".join(p for p in (address.postcode, address.city) if p)
    return ", ".join(p for p in (address.address1, place) if p)


def problems(
    address: Address | None, lookup: AddressLookup | None, *, split_field_country: bool = False
) -> list[AddressProblem]:
    """``check_address`` with the lookup, or without it when the lookup cannot be reached."""
    try:
        return check_address(address, lookup=lookup, split_field_country=split_field_country)
    except LookupUnavailable:
        return check_address(address, split_field_country=split_field_country)


def shown_problems(order: Order, lookup: AddressLookup | None) -> list[str]:
    """The codes of what is wrong with the order's address now, for "What is wrong"."""
    split = bool(order.extra.get(SPLIT_FIELDS_KEY))
    return [p.code for p in problems(order.shipping_address, lookup, split_field_country=split)]


# --- reading and checking what was typed ----------------------------------------------------------


def read_form(posted: Mapping[str, str]) -> dict[str, str]:
    """The five fields, runs of whitespace collapsed to one space, a missing one empty, the house number split."""
    return split_house_number({name: " ".join(posted.get(name, "").split()) for name in FIELDS})


def split_house_number(values: Mapping[str, str]) -> dict[str, str]:
    """A number with an addition ("12a", "12-2", "12 bis") typed as the house number, the addition left empty:
    the number stays and the rest becomes the addition. Anything else stays as typed."""
    result = dict(values)
    if result["house_number_addition"]:
        return result
    parts = split_address(_STREET_WITHOUT_DIGITS, result["house_number"])
    if parts.house_number is not None and parts.house_number_addition is not None:
        result.update(house_number=parts.house_number, house_number_addition=parts.house_number_addition)
    return result


def length_errors(values: Mapping[str, str]) -> dict[str, str]:
    """ "too_long" for each field longer than ``MAX_LENGTH`` characters."""
    return {name: "too_long" for name, value in values.items() if len(value) > MAX_LENGTH}


def lookup_input_errors(values: Mapping[str, str]) -> dict[str, str]:
    """ "required" for postcode and house number, the two a lookup needs, when empty."""
    return {name: "required" for name in ("postcode", "house_number") if not values[name]}


def problem_errors(found: Iterable[AddressProblem]) -> tuple[dict[str, str], str | None]:
    """The first problem per form field, and the last problem that belongs to no field (for the notice)."""
    errors: dict[str, str] = {}
    notice = None
    for problem in found:
        if problem.field in _FORM_FIELDS:
            errors.setdefault(problem.field, problem.code)
        else:
            notice = problem.code
    return errors, notice


def with_found(values: Mapping[str, str], found: LookupResult, country: str) -> dict[str, str]:
    """The values with street, city and postcode as the lookup knows them."""
    postcode = normalise_postcode(found.postcode, country) or ""
    return {**values, "street": found.street, "city": found.city, "postcode": postcode}


def base_address(order: Order) -> Address:
    """What the new address keeps from the old one (names, phone); the customer's details if there was none."""
    customer = order.customer
    return order.shipping_address or Address(
        first_name=customer.first_name, last_name=customer.last_name, phone=customer.phone
    )


def build_address(base: Address, values: Mapping[str, str], country: str) -> Address:
    """``base`` with the typed street, number, addition, postcode and city; line 1 is "street number addition"."""
    addition = values["house_number_addition"]
    number = values["house_number"] + (f" {addition}" if addition else "")
    return replace(
        base,
        address1=f"{values['street']} {number}".strip() or None,
        address2=None,
        street=values["street"] or None,
        house_number=values["house_number"] or None,
        house_number_addition=addition or None,
        postcode=normalise_postcode(values["postcode"], country),
        city=values["city"] or None,
        country_code=country,
    )


# --- the two buttons ------------------------------------------------------------------------------


def look_up(values: dict[str, str], country: str, lookup: AddressLookup | None, *, explicit: bool) -> FormState:
    """Fill street and city from postcode + house number.

    ``explicit``: the customer pressed "look up", so say what happened ("lookup_done", "not_found" next to
    the postcode); otherwise (filling in on save) only a lookup that is down is worth a notice.
    """
    errors = lookup_input_errors(values)
    if errors or lookup is None:
        return FormState(values, errors)
    try:
        found = lookup.lookup(country, values["postcode"], values["house_number"])
    except LookupUnavailable:
        return FormState(values, notice="lookup_down")
    if found is None:
        return FormState(values, {"postcode": "not_found"} if explicit else {})
    return FormState(with_found(values, found, country), notice="lookup_done" if explicit else None)


def save(
    values: dict[str, str], base: Address, country: str, lookup: AddressLookup | None
) -> tuple[FormState, Address | None]:
    """The address to store, or None and the form with its errors (the notice is "has_errors" unless there is
    something more specific to say). Empty street or city are filled in from the lookup first."""
    state = FormState(values)
    if can_look_up(country) and not (values["street"] and values["city"]):
        state = look_up(values, country, lookup, explicit=False)
    errors = {**state.errors, **length_errors(state.values)}
    if errors:
        return FormState(state.values, errors, state.notice or "has_errors"), None
    address = build_address(base, state.values, country)
    found = problems(address, lookup)
    if not found:
        return state, address
    errors, notice = problem_errors(found)
    return FormState(state.values, errors, notice or state.notice or "has_errors"), None
