"""A shop's colours on the customer's pages: checked as ``#rrggbb``, with a text colour that stays readable on them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, field_validator

DEFAULT_COLOUR = "#1f6f43"  # buttons and the latest step of the parcel's timeline
DEFAULT_ACCENT = "#1f5fa8"  # links and the box with the date we promise
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
AA_CONTRAST = 4.5  # WCAG 2.x level AA for body text


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """The relative luminance of ``#rrggbb`` (WCAG 2.x)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two colours, from 1 (none) to 21 (black on white)."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_on(colour: str) -> str:
    """White or near-black, whichever reads better on ``colour``."""
    return "#ffffff" if contrast(colour, "#ffffff") >= contrast(colour, "#1d1d1b") else "#1d1d1b"


class BrandSettings(BaseModel):
    """``shops[].brand``: the shop's own colours; the text on them is chosen to stay readable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    colour: str = DEFAULT_COLOUR
    accent: str = DEFAULT_ACCENT

    @field_validator("colour", "accent")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not isinstance(value, str) or not _HEX.fullmatch(value):
            raise ValueError(f"expected a colour as #rrggbb, e.g. '#1f6f43', got {value!r}")
        return value.lower()

    @field_validator("accent")
    @classmethod
    def _readable(cls, value: str) -> str:
        # links in this colour sit on the page's white: below AA, customers cannot read them
        if contrast(value, "#ffffff") < AA_CONTRAST:
            raise ValueError(
                f"{value} is too light for links on white (contrast {contrast(value, '#ffffff'):.2f}:1, "
                f"needs {AA_CONTRAST}:1); pick a darker shade"
            )
        return value


@dataclass(frozen=True)
class Brand:
    """The colours a customer page is drawn in."""

    colour: str = DEFAULT_COLOUR
    on_colour: str = "#ffffff"  # text on a ``colour`` background
    ink: str = DEFAULT_COLOUR  # ``colour`` as text on white, or the accent when ``colour`` is too light for that
    accent: str = DEFAULT_ACCENT

    @classmethod
    def of(cls, settings: BrandSettings | None) -> Brand:
        chosen = settings or BrandSettings()
        readable = contrast(chosen.colour, "#ffffff") >= AA_CONTRAST
        return cls(
            colour=chosen.colour,
            on_colour=text_on(chosen.colour),
            ink=chosen.colour if readable else chosen.accent,
            accent=chosen.accent,
        )
