"""Where the report page is: the order's signed tracking token (``connector.tracking.links``) under ``/report/``.

The same token, so the report page works exactly as long as the order's tracking page does and dies with the
customer's data erasure; ``via`` says how the customer came (counted on the patterns page).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from connector.model import Order
from connector.tracking import links

EMAIL, TRACKING, LOOKUP = "email", "tracking", "lookup"


def page_url(public_url: str, token: str, via: str = EMAIL) -> str:
    return f"{public_url.rstrip('/')}/report/{token}?via={via}"


def report_url(secret_key: str, public_url: str, order: Order, now: datetime, via: str = EMAIL) -> str | None:
    """The link to ``order``'s report page for a message sent at ``now``; None when the page would not open."""
    if links.state(order, now) is not links.LinkState.VALID:
        return None
    return page_url(public_url, links.token_for(secret_key, order.shop_id, order.external_id), via)


def lookup_url(public_url: str, shop_id: str) -> str:
    """The shop's report lookup form: order number plus postcode or e-mail."""
    return f"{public_url.rstrip('/')}/report/lookup/{quote(shop_id, safe='')}"
