"""A shop's colours: checked as #rrggbb, links readable on white, and text on the colour chosen to stay readable."""

from __future__ import annotations

from typing import Any

import pytest

from connector.branding import Brand, BrandSettings, contrast, text_on
from connector.config import ConfigError, settings_from_mapping

SHOP: dict[str, Any] = {
    "id": "fietsen",
    "platform": "shopify",
    "shop_domain": "fietsen.myshopify.com",
    "access_token": "shpat_x",
    "webhook_secret": "whsec",
}


def settings(**shop: Any) -> Any:
    raw = {"database_url": "sqlite://", "secret_key": "k" * 40, "shops": [{**SHOP, **shop}]}
    return settings_from_mapping(raw, env={})


def problems(**shop: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings(**shop)
    return caught.value.problems


def test_contrast_is_wcag_s_ratio() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the lightest grey that passes AA on white
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48


def test_text_on_a_dark_colour_is_white_and_on_a_light_one_near_black() -> None:
    assert text_on("#1f6f43") == "#ffffff"
    assert text_on("#ffd400") == "#1d1d1b"


def test_a_shop_without_colours_gets_ordercare_s_own() -> None:
    assert settings().brand_for("fietsen") == Brand("#1f6f43", "#ffffff", "#1f6f43", "#1f5fa8")
    assert settings().brand_for("nosuchshop") == Brand()


def test_a_shop_s_colours_are_used_and_lower_cased() -> None:
    brand = settings(brand={"colour": "#8B0000", "accent": "#00457C"}).brand_for("fietsen")
    assert brand == Brand(colour="#8b0000", on_colour="#ffffff", ink="#8b0000", accent="#00457c")


@pytest.mark.parametrize(("colour", "ink"), [("#767676", "#767676"), ("#777777", "#1f5fa8"), ("#ffd400", "#1f5fa8")])
def test_a_colour_too_light_for_text_on_white_leaves_text_to_the_accent(colour: str, ink: str) -> None:
    assert Brand.of(BrandSettings(colour=colour)).ink == ink


def test_a_colour_that_is_no_hex_colour_is_named() -> None:
    assert problems(brand={"colour": "green"}) == [
        "shops[0].brand.colour: expected a colour as #rrggbb, e.g. '#1f6f43', got 'green'"
    ]
    assert problems(brand={"colour": "#1f6f4"}) == [
        "shops[0].brand.colour: expected a colour as #rrggbb, e.g. '#1f6f43', got '#1f6f4'"
    ]


def test_an_accent_too_light_for_links_on_white_is_named_and_one_just_dark_enough_is_not() -> None:
    assert problems(brand={"accent": "#777777"}) == [
        "shops[0].brand.accent: #777777 is too light for links on white (contrast 4.48:1, needs 4.5:1); "
        "pick a darker shade"
    ]
    assert settings(brand={"accent": "#767676"}).brand_for("fietsen").accent == "#767676"


def test_an_unknown_brand_key_is_named() -> None:
    assert problems(brand={"colour": "#000000", "font": "Comic Sans"}) == ["shops[0].brand.font: unknown key"]
