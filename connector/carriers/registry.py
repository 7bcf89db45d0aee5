"""The carrier source registry: one line per source.

Each source package (same file names in each: adapter.py, mapper.py, client.py, sandbox.py) exposes ``ADAPTER``
(a ``CarrierAdapter``) and ``make_client(settings, *, http=None)`` (a ``CarrierClient``) from its ``__init__``.
Modules are imported on first use.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from connector.carriers.base import CarrierAdapter, CarrierClient

_PACKAGES: dict[str, str] = {
    "sendcloud": "connector.carriers.sendcloud",
    "myparcel": "connector.carriers.myparcel",
    "dhl": "connector.carriers.dhl",
    "postnl": "connector.carriers.postnl",
}

SOURCES = frozenset(_PACKAGES)


def package(source: str) -> ModuleType:
    return importlib.import_module(_PACKAGES[source])


def adapter(source: str) -> CarrierAdapter:
    found: CarrierAdapter = package(source).ADAPTER
    return found


def make_client(source: str, settings: Any, *, http: Any = None) -> CarrierClient:
    """The source's client for one shop's settings (``connector.carriers.config``)."""
    client: CarrierClient = package(source).make_client(settings, http=http)
    return client
