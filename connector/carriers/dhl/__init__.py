"""DHL eCommerce NL: polled through DHL's Unified tracking API (``service=parcel-nl``) with the shop's key."""

from connector.carriers.dhl.adapter import ADAPTER, SOURCE
from connector.carriers.dhl.client import make_client

__all__ = ["ADAPTER", "SOURCE", "make_client"]
