"""Address checks: every problem code, postcode formats per country, and the PDOK lookup on recorded bodies."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from connector.address.check import AddressProblem, LookupResult, LookupUnavailable, PdokLookup, check_address
from connector.address.split import AddressParts, names_street, split_address
from connector.model import Address

FIXTURES = Path(__file__).parent / "fixtures"


def nl(**changes: Any) -> Address:
    base: dict[str, Any] = {
        "address1": "Hoofdstraat 12",
        "postcode": "1234 AB",
        "city": "Amsterdam",
        "country_code": "NL",
        "street": "Hoofdstraat",
        "house_number": "12",
    }
    base.update(changes)
    return Address(**base)


def codes(address: Address | None, **kwargs: Any) -> list[str]:
    return [p.code for p in check_address(address, **kwargs)]


def test_a_good_dutch_address_has_no_problems() -> None:
    assert check_address(nl()) == []
    assert check_address(nl(postcode="1234ab")) == []
    assert check_address(nl(postcode="1234AB")) == []


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (None, ["missing_address"]),
        (Address(country_code="NL"), ["missing_address"]),
        (nl(street=None, address1="12"), ["missing_street"]),
        (nl(house_number=None, address1="Hoofdstraat"), ["missing_house_number"]),
        (nl(house_number="twaalf", address1="Hoofdstraat twaalf"), ["house_number_not_numeric"]),
        (nl(postcode=None), ["missing_postcode"]),
        (nl(postcode="1234A"), ["postcode_format"]),
        (nl(postcode="0123 AB"), ["postcode_format"]),
        (nl(postcode="1234 SA"), ["postcode_format"]),
        (nl(city=" "), ["missing_city"]),
        (nl(country_code="XX"), ["unsupported_country"]),
        (nl(country_code=None), ["unsupported_country"]),
        (nl(street=None, house_number=None, address1=None, address2="Kerkstraat", postcode="12"), None),
    ],
)
def test_problem_codes(address: Address | None, expected: list[str] | None) -> None:
    if expected is None:
        assert codes(address) == ["missing_house_number", "postcode_format"]
    else:
        assert codes(address) == expected


def test_problem_carries_field_and_detail() -> None:
    assert check_address(nl(postcode="1234A")) == [
        AddressProblem("postcode_format", "postcode", "postcode '1234A' does not match NL format (e.g. '1234 AB')")
    ]


def test_house_number_parsed_from_the_lines_unless_split_fields() -> None:
    one_line = nl(street=None, house_number=None, address1="Laan van Meerdervoort 1001 A")
    assert codes(one_line) == []
    assert codes(nl(house_number=None), split_field_country=True) == ["missing_house_number"]
    assert codes(nl(house_number=None)) == []


def test_other_countries_use_their_own_postcode_rules() -> None:
    assert codes(nl(country_code="BE", postcode="1000", city="Brussel")) == []
    assert codes(nl(country_code="BE", postcode="10000", city="Brussel")) == ["postcode_format"]
    assert codes(nl(country_code="DE", postcode="10115", city="Berlin")) == []
    assert codes(nl(country_code="DE", postcode="1011", city="Berlin")) == ["postcode_format"]
    # no house number needed in the UK
    assert codes(Address(address1="Flat 2, Rose Court", postcode="SW1A 1AA", city="London", country_code="GB")) == []


# --- the missing-street rule: a street part without letters is no street -------------------------

NUMBER_ONLY = ["12", "12a", "12-2", "12 A", " 7 "]
STREETS_WITH_DIGITS = ["Hoofdstraat 12", "Laan 1940-1945 12", "2e Helmersstraat 5"]


@pytest.mark.parametrize(
    ("line", "number", "addition"),
    [("12", "12", None), ("12a", "12", "a"), ("12-2", "12", "2"), ("12 A", "12", "A"), (" 7 ", "7", None)],
)
def test_a_house_number_alone_names_no_street(line: str, number: str, addition: str | None) -> None:
    assert line in NUMBER_ONLY
    assert names_street(line) is False
    assert split_address(line) == AddressParts(None, number, addition)
    assert split_address(None, line).street is None


@pytest.mark.parametrize(
    ("address1", "address2", "number"),
    [("12 --", None, None), (None, "12 3", None), ("-", "12", "12"), ("---", None, None), (None, "- 7 -", None)],
)
def test_the_parser_never_hands_out_a_street_without_letters(
    address1: str | None, address2: str | None, number: str | None
) -> None:
    parts = split_address(address1, address2)
    assert parts.street is None
    assert parts.house_number == number


@pytest.mark.parametrize("line", [*STREETS_WITH_DIGITS, "Hoofdstraat", "2e Helmersstraat", "Flat 2, Rose Court"])
def test_street_names_with_digits_or_without_a_number_name_a_street(line: str) -> None:
    assert names_street(line) is True


@pytest.mark.parametrize("line", NUMBER_ONLY)
def test_number_only_line_is_a_missing_street_from_the_lines(line: str) -> None:
    parts = split_address(line)
    address = nl(address1=line, street=parts.street, house_number=parts.house_number)
    assert codes(address) == ["missing_street"]
    assert codes(nl(address1=line, street=None, house_number=None)) == ["missing_street"]


@pytest.mark.parametrize("line", NUMBER_ONLY)
def test_number_only_line_is_a_missing_street_in_split_fields(line: str) -> None:
    # street field left empty, the plugin wrote the number alone into the line
    assert codes(nl(address1=line, street=None), split_field_country=True) == ["missing_street"]
    # the number typed into the street field itself
    assert codes(nl(address1=line, street=line), split_field_country=True) == ["missing_street"]


@pytest.mark.parametrize("line", STREETS_WITH_DIGITS)
def test_street_names_with_digits_are_not_a_missing_street(line: str) -> None:
    parts = split_address(line)
    assert parts.street is not None
    assert parts.house_number is not None
    assert codes(nl(address1=line, street=parts.street, house_number=parts.house_number)) == []
    assert codes(nl(address1=line, street=None, house_number=None)) == []
    street = line.rsplit(" ", 1)[0]
    assert codes(nl(address1=line, street=street), split_field_country=True) == []
    assert codes(nl(address1=line, street=None), split_field_country=True) == []


class Fixed:
    def __init__(self, result: LookupResult | None) -> None:
        self.result = result

    def lookup(self, country_code: str, postcode: str, house_number: str) -> LookupResult | None:
        return self.result


def test_lookup_mismatch_and_no_such_address() -> None:
    utrecht = Fixed(LookupResult("Hoofdstraat", "Utrecht", "1234AB"))
    assert check_address(nl(), lookup=utrecht) == [
        AddressProblem("postcode_city_mismatch", "city", "postcode '1234 AB' is in 'Utrecht', not 'Amsterdam'")
    ]
    assert codes(nl(), lookup=Fixed(None)) == ["postcode_city_mismatch"]
    assert codes(nl(city="amsterdam"), lookup=Fixed(LookupResult("Hoofdstraat", "Amsterdam", "1234AB"))) == []
    assert codes(nl(city="'s-Gravenhage"), lookup=Fixed(LookupResult("x", "s Gravenhage", "1234AB"))) == []


def test_lookup_is_not_asked_when_the_format_is_already_wrong() -> None:
    class Exploding:
        def lookup(self, *args: str) -> LookupResult | None:
            raise AssertionError("must not be called")

    assert codes(nl(postcode="1234A"), lookup=Exploding()) == ["postcode_format"]


# --- PDOK on recorded responses over loopback -----------------------------------------------------


class _Pdok(BaseHTTPRequestHandler):
    requests: list[dict[str, list[str]]] = []
    status = 200

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        type(self).requests.append({"path": [url.path], **query})
        if type(self).status != 200:
            self.send_response(type(self).status)
            self.end_headers()
            return
        name = "free__1234AB_12.json" if "postcode:1234AB AND huisnummer:12" in query.get("q", [""])[0] else None
        body = (FIXTURES / "pdok" / (name or "free__no_match.json")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pdok() -> Iterator[str]:
    _Pdok.requests = []
    _Pdok.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pdok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bzk/locatieserver/search/v3_1"
    server.shutdown()
    server.server_close()


def test_pdok_finds_the_address(pdok: str) -> None:
    found = PdokLookup(pdok).lookup("NL", "1234 ab", "12a")
    assert found == LookupResult(street="Hoofdstraat", city="Amsterdam", postcode="1234AB")
    (request,) = _Pdok.requests
    assert request == {
        "path": ["/bzk/locatieserver/search/v3_1/free"],
        "q": ["postcode:1234AB AND huisnummer:12"],
        "fq": ["type:adres"],
        "fl": ["straatnaam,woonplaatsnaam,postcode,huisnummer"],
        "rows": ["1"],
    }


def test_pdok_no_match_is_none_and_check_address_reports_it(pdok: str) -> None:
    assert PdokLookup(pdok).lookup("NL", "9999 ZZ", "1") is None
    assert codes(nl(postcode="9999 ZZ"), lookup=PdokLookup(pdok)) == ["postcode_city_mismatch"]
    assert codes(nl(), lookup=PdokLookup(pdok)) == []


def test_pdok_errors_are_unavailable(pdok: str) -> None:
    _Pdok.status = 503
    with pytest.raises(LookupUnavailable, match="503"):
        PdokLookup(pdok).lookup("NL", "1234 AB", "12")
    with pytest.raises(LookupUnavailable, match="unreachable"):
        PdokLookup("http://127.0.0.1:9", timeout_seconds=0.5).lookup("NL", "1234 AB", "12")
    with pytest.raises(LookupUnavailable, match="Dutch"):
        PdokLookup(pdok).lookup("BE", "1000", "1")


def test_pdok_garbage_is_unavailable() -> None:
    class Garbage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(json.dumps({"unexpected": True}).encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(LookupUnavailable, match="not a search result"):
            PdokLookup(f"http://127.0.0.1:{server.server_address[1]}").lookup("NL", "1234 AB", "12")
    finally:
        server.shutdown()
        server.server_close()
