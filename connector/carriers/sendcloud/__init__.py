"""Sendcloud: signed ``parcel_status_changed`` webhooks, and the tracking read to fill gaps."""

from connector.carriers.sendcloud.adapter import ADAPTER, SOURCE
from connector.carriers.sendcloud.client import make_client

__all__ = ["ADAPTER", "SOURCE", "make_client"]
