"""MyParcel: ``shipment_status_change`` webhooks, and batched ``/tracktraces`` reads for their details."""

from connector.carriers.myparcel.adapter import ADAPTER, SOURCE
from connector.carriers.myparcel.client import make_client

__all__ = ["ADAPTER", "SOURCE", "make_client"]
