"""What a customer can report, the incident kind each cause opens, and a stored report as the policy sees it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

WRONG_ITEM, DAMAGED, ITEM_MISSING, NOT_RECEIVED, OTHER = (
    "wrong_item",
    "damaged",
    "item_missing",
    "not_received",
    "other",
)
CAUSES = (WRONG_ITEM, DAMAGED, ITEM_MISSING, NOT_RECEIVED, OTHER)  # in the order the form offers them
ABOUT_ITEMS = frozenset({WRONG_ITEM, DAMAGED, ITEM_MISSING})  # the customer says which items; a replacement follows
CHANNELS = ("email", "tracking", "lookup")  # how the customer reached the form
KIND_PREFIX = "report_"
POLICY = "order_problem"


def incident_kind(cause: str) -> str:
    """The incident a report of ``cause`` opens: ``report_damaged``."""
    return KIND_PREFIX + cause


KINDS = tuple(incident_kind(cause) for cause in CAUSES)


def cause_of(kind: str) -> str | None:
    """The cause behind a report incident kind; None for other kinds."""
    cause = kind[len(KIND_PREFIX) :] if kind.startswith(KIND_PREFIX) else None
    return cause if cause in CAUSES else None


@dataclass(frozen=True)
class ReportView:
    """One stored report (without its text and photo): what the policy decides on."""

    id: int
    cause: str
    channel: str
    submitted_at: datetime
    language: str
    lines: tuple[Mapping[str, Any], ...] = ()
    has_photo: bool = False
    has_text: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return incident_kind(self.cause)
