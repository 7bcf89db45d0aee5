"""JSON form of the domain objects (for the store, pending events and action payloads).

pydantic's TypeAdapter does the work from the dataclass type hints: enums as values, ``Decimal`` as
strings, datetimes as ISO 8601; reading back validates and rebuilds the frozen objects.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter

from connector.model import Address, Order, OrderEvent

T = TypeVar("T")


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: type[T]) -> TypeAdapter[T]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def dump(value: Any) -> dict[str, Any]:
    data: dict[str, Any] = _adapter(type(value)).dump_python(value, mode="json")
    return data


def load(kind: type[T], data: Any) -> T:
    value: T = _adapter(kind).validate_python(data)
    return value


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
