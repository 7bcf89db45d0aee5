"""Carrier names as people write them: one registry from what platforms and plugins send to the display name.

Platforms and tracking plugins spell carriers their own way (Shopify's ``tracking_company`` "PostNL", the
Advanced Shipment Tracking slug "postnl", Sendcloud's "postnl", "DHL Parcel NL", "dhl_parcel"). The mappers
store the display name, so messages, staff notes, the dashboard and the statistics all say "PostNL", and a
carrier counts once. A carrier not listed keeps the shop's own spelling.
"""

from __future__ import annotations

import re

# display name -> the spellings seen for it (compared without case, spaces, dashes, dots or underscores)
CARRIERS: dict[str, tuple[str, ...]] = {
    "PostNL": ("postnl", "post nl", "postnl pakketten", "postnl nl", "postnl-nl", "tnt post"),
    "DHL": ("dhl", "dhl parcel", "dhl parcel nl", "dhl-parcel", "dhl_parcel", "dhlparcel", "dhl for you", "dhl nl"),
    "DHL Express": ("dhl express", "dhl-express", "dhl_express"),
    "DPD": ("dpd", "dpd nl", "dpd-nl", "dpd netherlands", "dpd nederland", "dpd_nl"),
    "GLS": ("gls", "gls nl", "gls netherlands", "gls nederland", "gls-nl"),
    "UPS": ("ups", "ups nl", "united parcel service"),
    "bpost": ("bpost", "bpost be", "bpack"),
    "Budbee": ("budbee",),
    "Homerr": ("homerr",),
    "Trunkrs": ("trunkrs",),
    "DHL eCommerce": ("dhl ecommerce", "dhl e-commerce"),
}

_FOLD = re.compile(r"[\s._\-]+")


def _key(name: str) -> str:
    return _FOLD.sub("", name.casefold())


_BY_KEY: dict[str, str] = {_key(alias): display for display, aliases in CARRIERS.items() for alias in aliases}
_BY_KEY.update({_key(display): display for display in CARRIERS})


def display_name(raw: str | None) -> str | None:
    """The carrier's display name; an unknown carrier as the shop wrote it (trimmed); None for none."""
    if raw is None or not raw.strip():
        return None
    return _BY_KEY.get(_key(raw), raw.strip())
