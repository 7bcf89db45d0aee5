"""The fix page's form rules, straight on the pure functions: each rule on both sides of its line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from connector.address import form
from connector.address.check import AddressProblem, LookupResult
from connector.model import Address, Customer
from tests.notify.support import FakeLookup, make_order

GOOD = {"postcode": "1234 AB", "house_number": "12", "house_number_addition": "", "street": "Hoofdstraat",
        "city": "Amsterdam"}  # fmt: skip
BASE = Address(first_name="Sanne", last_name="de Vries", address1="Hoofdstraat", address2="achterom", country_code="NL")


def values(**changes: str) -> dict[str, str]:
    return {**GOOD, **changes}


@pytest.fixture
def lookup() -> FakeLookup:
    return FakeLookup({("1234AB", "12"): LookupResult("Hoofdstraat", "Amsterdam", "1234AB")})


def test_the_rules_need_no_flask_and_no_database() -> None:
    code = "import sys, connector.address.form; print(sorted({'flask', 'sqlalchemy'} & set(sys.modules)))"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


# --- reading the form ----------------------------------------------------------------------------


def test_read_form_collapses_whitespace_and_fills_in_missing_fields() -> None:
    posted = {"postcode": " 1234\tab ", "street": "  Lange   Voorhout ", "unrelated": "x"}
    assert form.read_form(posted) == {
        "postcode": "1234 ab",
        "house_number": "",
        "house_number_addition": "",
        "street": "Lange Voorhout",
        "city": "",
    }


@pytest.mark.parametrize(
    ("typed", "number", "addition"),
    [
        ("12a", "12", "a"),
        ("12 a", "12", "a"),
        ("12-2", "12", "2"),
        ("12/3", "12", "3"),
        ("12 3", "12", "3"),
        ("12 bis", "12", "bis"),
        ("12abcdef", "12", "abcdef"),  # six characters: still an addition
        ("12abcdefg", "12abcdefg", ""),  # seven: not one, left as typed
        ("12", "12", ""),
        ("", "", ""),
        ("Hoofdstraat 12", "Hoofdstraat 12", ""),  # a street in the number field is not split
        ("12 a b", "12 a b", ""),
    ],
)
def test_a_house_number_with_an_addition_is_split(typed: str, number: str, addition: str) -> None:
    split = form.split_house_number(values(house_number=typed))
    assert (split["house_number"], split["house_number_addition"]) == (number, addition)


def test_a_filled_in_addition_is_never_overwritten() -> None:
    split = form.split_house_number(values(house_number="12a", house_number_addition="b"))
    assert (split["house_number"], split["house_number_addition"]) == ("12a", "b")
    assert form.read_form(values(house_number="12a"))["house_number_addition"] == "a"


# --- the rules, each on both sides ---------------------------------------------------------------


@pytest.mark.parametrize("name", form.FIELDS)
def test_each_field_holds_at_most_100_characters(name: str) -> None:
    assert form.length_errors(values(**{name: "1" * 100})) == {}
    assert form.length_errors(values(**{name: "1" * 101})) == {name: "too_long"}


def test_a_101_character_street_is_refused_before_anything_is_checked(lookup: FakeLookup) -> None:
    state, address = form.save(values(street="H" * 100), BASE, "NL", lookup)
    assert address is not None
    assert address.street == "H" * 100
    lookup.calls.clear()
    state, address = form.save(values(street="H" * 101), BASE, "NL", lookup)
    assert address is None
    assert (state.errors, state.notice) == ({"street": "too_long"}, "has_errors")
    assert lookup.calls == []


def test_a_lookup_needs_postcode_and_house_number() -> None:
    assert form.lookup_input_errors(values()) == {}
    assert form.lookup_input_errors(values(postcode="", house_number="")) == {
        "postcode": "required",
        "house_number": "required",
    }


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({}, {}),
        ({"house_number": ""}, {"house_number": "missing_house_number"}),
        ({"house_number": "a12"}, {"house_number": "house_number_not_numeric"}),
        ({"postcode": "1234 A"}, {"postcode": "postcode_format"}),
        ({"postcode": ""}, {"postcode": "missing_postcode"}),
        ({"street": "12"}, {"street": "missing_street"}),
    ],
    ids=["good", "no-number", "number-not-numeric", "postcode-format", "no-postcode", "street-only-a-number"],
)
def test_save_refuses_what_check_address_refuses_next_to_its_field(
    changes: dict[str, str], errors: dict[str, str]
) -> None:
    state, address = form.save(values(**changes), BASE, "NL", None)
    assert state.errors == errors
    assert (address is None) == bool(errors)
    assert state.notice == ("has_errors" if errors else None)


def test_a_postcode_that_does_not_match_the_town_is_marked_at_the_town(lookup: FakeLookup) -> None:
    state, address = form.save(values(city="Rotterdam"), BASE, "NL", lookup)
    assert address is None
    assert state.errors == {"city": "postcode_city_mismatch"}
    state, address = form.save(values(city="amsterdam"), BASE, "NL", lookup)
    assert address is not None
    assert state.errors == {}


def test_a_problem_without_a_field_goes_in_the_notice() -> None:
    state, address = form.save(values(), BASE, "XX", None)
    assert address is None
    assert (state.errors, state.notice) == ({}, "unsupported_country")


def test_problem_errors_keep_the_first_problem_per_field() -> None:
    found = [
        AddressProblem("postcode_format", "postcode", ""),
        AddressProblem("postcode_city_mismatch", "postcode", ""),
        AddressProblem("unsupported_country", "country_code", ""),
    ]
    assert form.problem_errors(found) == ({"postcode": "postcode_format"}, "unsupported_country")
    assert form.problem_errors([]) == ({}, None)


# --- the lookup ----------------------------------------------------------------------------------


def test_look_up_fills_street_town_and_the_normalised_postcode(lookup: FakeLookup) -> None:
    typed = values(postcode="1234ab", street="", city="")
    state = form.look_up(typed, "NL", lookup, explicit=True)
    assert state.values == values(postcode="1234 AB")
    assert (state.errors, state.notice) == ({}, "lookup_done")
    assert lookup.calls == [("NL", "1234ab", "12")]
    assert form.look_up(typed, "NL", lookup, explicit=False).notice is None


def test_an_unknown_address_is_marked_only_when_the_customer_asked(lookup: FakeLookup) -> None:
    typed = values(postcode="9999 ZZ")
    assert form.look_up(typed, "NL", lookup, explicit=True).errors == {"postcode": "not_found"}
    assert form.look_up(typed, "NL", lookup, explicit=False) == form.FormState(typed)


def test_a_lookup_that_is_down_says_so_and_leaves_the_values(lookup: FakeLookup) -> None:
    lookup.down = True
    assert form.look_up(values(), "NL", lookup, explicit=True) == form.FormState(values(), notice="lookup_down")


def test_no_lookup_without_postcode_and_number_or_without_a_provider(lookup: FakeLookup) -> None:
    state = form.look_up(values(house_number=""), "NL", lookup, explicit=True)
    assert state.errors == {"house_number": "required"}
    assert lookup.calls == []
    assert form.look_up(values(), "NL", None, explicit=True) == form.FormState(values())


def test_save_fills_an_empty_street_or_town_from_the_lookup_in_the_netherlands_only(lookup: FakeLookup) -> None:
    state, address = form.save(values(street="", city=""), BASE, "NL", lookup)
    assert address is not None
    assert (address.street, address.city) == ("Hoofdstraat", "Amsterdam")
    lookup.calls.clear()
    be = values(postcode="1000", street="", city="")
    state, address = form.save(be, BASE, "BE", lookup)
    assert address is None
    assert state.errors == {"street": "missing_street", "city": "missing_city"}
    assert lookup.calls == []


def test_save_asks_for_postcode_and_number_when_it_has_to_look_up(lookup: FakeLookup) -> None:
    state, address = form.save(values(house_number="", street=""), BASE, "NL", lookup)
    assert address is None
    assert (state.errors, state.notice) == ({"house_number": "required"}, "has_errors")


def test_save_keeps_the_lookup_down_notice_when_something_is_wrong(lookup: FakeLookup) -> None:
    lookup.down = True
    state, address = form.save(values(city=""), BASE, "NL", lookup)
    assert address is None
    assert (state.errors, state.notice) == ({"city": "missing_city"}, "lookup_down")
    state, address = form.save(values(), BASE, "NL", lookup)  # typed in full: saved without the lookup
    assert address is not None
    assert state.notice is None


# --- the address that is stored ------------------------------------------------------------------


def test_build_address_writes_line_one_and_the_parts() -> None:
    address = form.build_address(BASE, values(postcode="1234ab", house_number_addition="a"), "NL")
    assert address == Address(
        first_name="Sanne",
        last_name="de Vries",
        address1="Hoofdstraat 12 a",
        address2=None,
        street="Hoofdstraat",
        house_number="12",
        house_number_addition="a",
        postcode="1234 AB",
        city="Amsterdam",
        country_code="NL",
    )
    bare = form.build_address(BASE, dict.fromkeys(form.FIELDS, ""), "BE")
    assert (bare.address1, bare.street, bare.house_number, bare.postcode, bare.city) == (None, None, None, None, None)


def test_the_base_address_is_the_old_one_or_the_customers_name() -> None:
    assert form.base_address(make_order()).address1 == "Hoofdstraat"
    customer = Customer(first_name="Tom", last_name="Bakker", phone="+31 6 1234 5678")
    assert form.base_address(make_order(customer=customer, shipping_address=None)) == Address(
        first_name="Tom", last_name="Bakker", phone="+31 6 1234 5678"
    )


def test_what_the_page_shows() -> None:
    address = make_order().shipping_address
    assert form.initial_values(address) == values(house_number="")
    assert form.initial_values(None) == dict.fromkeys(form.FIELDS, "")
    assert form.address_lines(address) == ["Hoofdstraat", "1234 AB Amsterdam", "NL"]
    assert form.address_lines(None) == []
    assert form.one_line(form.build_address(BASE, values(), "NL")) == "Hoofdstraat 12, 1234 AB Amsterdam"
    assert (form.country_of(address, "BE"), form.country_of(None, "be")) == ("NL", "BE")
    assert (form.can_look_up("NL"), form.can_look_up("BE")) == (True, False)
    assert (form.postcode_example("NL"), form.postcode_example("FR")) == ("1234 AB", "")


def test_shown_problems_fall_back_to_no_lookup_when_it_is_down(lookup: FakeLookup) -> None:
    order = make_order()
    assert form.shown_problems(order, lookup) == ["missing_house_number"]
    lookup.down = True
    assert form.shown_problems(order, lookup) == ["missing_house_number"]
    split = make_order(shipping_address=Address(address1="Hoofdstraat 12", postcode="1234 AB", city="Amsterdam",
                                                country_code="NL"))  # fmt: skip
    assert form.shown_problems(split, None) == []
    split = split.with_changes(extra={form.SPLIT_FIELDS_KEY: True})
    assert form.shown_problems(split, None) == ["missing_house_number"]
