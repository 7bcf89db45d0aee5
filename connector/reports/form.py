"""Reading the report form: the cause, the items it is about, the text; pure, with a code for what is missing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connector.model import Order, OrderLine
from connector.reports.model import ABOUT_ITEMS, CAUSES
from connector.reports.photo import Photo

MAX_TEXT = 2000  # characters kept of the customer's own words
NO_CAUSE, NO_ITEMS = "no_cause", "no_items"


class FormProblem(ValueError):
    """The form cannot be taken as sent; ``code`` names what the customer must fix."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Draft:
    """A report ready to store."""

    cause: str
    lines: tuple[dict[str, Any], ...]
    text: str | None
    photo: Photo | None


def line_record(line: OrderLine) -> dict[str, Any]:
    """What a report keeps of an order line: enough to count by product and to prepare a replacement."""
    return {
        "line_id": line.external_id,
        "title": line.title,
        "quantity": line.quantity,
        "sku": line.sku,
        "product_id": line.product_id,
        "variant_id": line.variant_id,
    }


def shipped_lines(order: Order) -> list[OrderLine]:
    """The order's lines a customer can report about (the ones that travel in a parcel)."""
    return [line for line in order.lines if line.requires_shipping and line.quantity > 0]


def read(cause: str | None, chosen: Iterable[str], text: str | None, order: Order, photo: Photo | None) -> Draft:
    """The report the form describes. An item problem names its items; an order of one item needs no choice."""
    if cause not in CAUSES:
        raise FormProblem(NO_CAUSE)
    lines = shipped_lines(order)
    picked: list[OrderLine] = []
    if cause in ABOUT_ITEMS:
        wanted = set(chosen)
        picked = [line for line in lines if line.external_id in wanted]
        if not picked and len(lines) == 1:
            picked = lines
        if not picked:
            raise FormProblem(NO_ITEMS)
    words = " ".join((text or "").split())[:MAX_TEXT] or None
    return Draft(cause, tuple(line_record(line) for line in picked), words, photo)
