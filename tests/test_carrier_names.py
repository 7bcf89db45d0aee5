"""Carrier names as people write them: every spelling platforms and plugins send maps to one display name."""

from __future__ import annotations

import pytest

from connector.carriers.names import CARRIERS, display_name


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("postnl", "PostNL"), ("PostNL", "PostNL"), ("POSTNL", "PostNL"), ("Post NL", "PostNL"),
        ("postnl-nl", "PostNL"), ("dhl", "DHL"), ("DHL Parcel NL", "DHL"), ("dhl_parcel", "DHL"),
        ("DHLParcel", "DHL"), ("dhl-express", "DHL Express"), ("dpd", "DPD"), ("DPD NL", "DPD"),
        ("gls", "GLS"), ("ups", "UPS"), ("Bpost", "bpost"), (" budbee ", "Budbee"),
    ],
)  # fmt: skip
def test_every_spelling_of_a_known_carrier_has_one_name(raw: str, shown: str) -> None:
    assert display_name(raw) == shown


UNKNOWN = [("Van Straaten Transport", "Van Straaten Transport"), ("  Eigen bezorging ", "Eigen bezorging"),
           ("postnlx", "postnlx")]  # fmt: skip


@pytest.mark.parametrize(("raw", "shown"), UNKNOWN)
def test_an_unknown_carrier_keeps_the_shops_spelling(raw: str, shown: str) -> None:
    assert display_name(raw) == shown


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_no_carrier_is_none(raw: str | None) -> None:
    assert display_name(raw) is None


def test_no_spelling_belongs_to_two_carriers() -> None:
    seen: dict[str, str] = {}
    for display, aliases in CARRIERS.items():
        for alias in (display, *aliases):
            key = alias.casefold().replace(" ", "").replace("-", "").replace("_", "").replace(".", "")
            assert seen.setdefault(key, display) == display, alias
