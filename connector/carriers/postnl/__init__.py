"""PostNL: polled through the Shippingstatus API with the shop's own key and customer number."""

from connector.carriers.postnl.adapter import ADAPTER, SOURCE
from connector.carriers.postnl.client import make_client

__all__ = ["ADAPTER", "SOURCE", "make_client"]
