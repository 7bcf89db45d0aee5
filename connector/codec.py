"""JSON form of the domain objects (for the store, pending events and action payloads).

pydantic's TypeAdapter does the work from the dataclass type hints: enums as values, ``Decimal`` as
strings, datetimes as ISO 8601; reading back validates and rebuilds the frozen objects.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter

from connector.model import Address, Order, OrderEvent

T = TypeVar("T")


@cache
def _adapter(kind: type[T]) -> TypeAdapter[T]:
    return TypeAdapter(kind)


def dump(value: Any) -> dict[str, Any]:
    data: dict[str, Any] = _adapter(type(value)).dump_python(value, mode="json")
    return data


def load(kind: type[T], data: Any) -> T:
    return _adapter(kind).validate_python(data)


def dump_order(order: Order) -> dict[str, Any]:
    return dump(order)


def load_order(data: Any) -> Order:
    return load(Order, data)


def dump_event(event: OrderEvent) -> dict[str, Any]:
    return dump(event)


def load_event(data: Any) -> OrderEvent:
    return load(OrderEvent, data)


def load_address(data: Any) -> Address:
    return load(Address, data)
