"""Who may get a marketing e-mail (a review request): the one rule the policy and the sender both apply."""

from __future__ import annotations

from typing import Literal

ConsentBasis = Literal["required", "existing_customer"]


def may_market(accepts_marketing: bool | None, basis: str) -> bool:
    """With recorded consent only (``required``: unknown is no), or, on the soft opt-in for one's own
    customers (``existing_customer``), unless the customer objected. A customer who said no never gets one."""
    if accepts_marketing is False:
        return False
    return accepts_marketing is True or basis == "existing_customer"
