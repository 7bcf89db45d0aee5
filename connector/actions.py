"""Planned actions: what policies ask for and the outbox performs, one idempotency key each.

The key ``shop:order:policy:step`` is unique in the outbox table, so planning the same step twice is
a no-op and no e-mail, voucher or note can be sent twice. Each part is percent-escaped (``%`` and ``:``),
so two different (shop, order, policy, step) tuples can never give the same key. Payloads are plain JSON so they survive
a restart; the comment on each kind says what its payload holds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class ActionKind(enum.StrEnum):
    ADD_TAGS = "add_tags"  # {"tags": [str, ...]}
    ADD_NOTE = "add_note"  # {"text": str}  staff note, appended to the order's note
    SET_ATTRIBUTES = "set_attributes"  # {"attributes": {str: str}}  our state on the order
    NOTIFY_CUSTOMER = "notify_customer"  # {"template": str, "context": {...}, "marketing": bool}
    CREATE_VOUCHER = "create_voucher"  # {"code", "kind": "percentage"|"fixed", "value", "currency", "ends_at", ...}
    HOLD_FULFILLMENT = "hold_fulfillment"  # {"reason": str, "note": str}
    RELEASE_HOLD = "release_hold"  # {}  releases only the holds ordercare placed
    UPDATE_ADDRESS = "update_address"  # {"address": {Address fields}}
    CREATE_CALL_TASK = "create_call_task"  # {"reason": str, "due_at": iso}  kept in our database
    # {"set": [{"line_id", "quantity"}], "add": [{"variant_id", "product_id", "quantity", "title"}], "note": str}
    # the order's lines changed in the shop (Shopify order editing, WooCommerce line items)
    EDIT_ORDER_LINES = "edit_order_lines"
    # {"fulfillment_id", "status": FulfillmentEventStatus, "happened_at": iso, "estimated_delivery_at": iso | None,
    #  "message": str, "city", "country"}  a carrier status change posted to a Shopify fulfilment
    CREATE_FULFILLMENT_EVENT = "create_fulfillment_event"
    # {"original_id", "original_number", "cause", "lines": [{"title", "quantity", "sku", "product_id", "variant_id"}],
    #  "address": {Address fields}, "email", "note"}  a replacement at no cost (``connector.reports.replacement``)
    CREATE_REPLACEMENT = "create_replacement"


# Actions the outbox performs against the shop platform; the others are local or go to the notifier.
PLATFORM_ACTIONS = frozenset(
    {
        ActionKind.ADD_TAGS,
        ActionKind.ADD_NOTE,
        ActionKind.SET_ATTRIBUTES,
        ActionKind.CREATE_VOUCHER,
        ActionKind.HOLD_FULFILLMENT,
        ActionKind.RELEASE_HOLD,
        ActionKind.UPDATE_ADDRESS,
        ActionKind.EDIT_ORDER_LINES,
        ActionKind.CREATE_REPLACEMENT,
    }
)

# Actions planned as ``proposed``: the worker leaves them until staff confirm them with one click on the dashboard.
CONFIRMED_BY_STAFF = frozenset({ActionKind.CREATE_REPLACEMENT})
PROPOSED = "proposed"  # the state of such an action before staff confirm it


# A follower that also runs after its predecessor failed (``after_even_if_failed``) may carry, under this
# key, payload values for that case; "{error}" in them is replaced with the predecessor's error. The outbox
# applies them when it hands the action to its performer (a staff note that says the e-mail did not go).
IF_AFTER_FAILED = "if_after_failed"


def _escape(part: str) -> str:
    return part.replace("%", "%25").replace(":", "%3A")


def _unescape(part: str) -> str:
    return part.replace("%3A", ":").replace("%25", "%")


def idempotency_key(shop_id: str, order_external_id: str, policy: str, step: str) -> str:
    """``shop:order:policy:step`` with each part escaped: injective, and readable for plain ids."""
    return ":".join(_escape(part) for part in (shop_id, order_external_id, policy, step))


def key_parts(key: str) -> tuple[str, str, str, str]:
    """The (shop, order, policy, step) an ``idempotency_key`` was built from."""
    parts = key.split(":")
    if len(parts) != 4:
        raise ValueError(f"not an idempotency key: {key!r}")
    shop_id, order_external_id, policy, step = (_unescape(part) for part in parts)
    return shop_id, order_external_id, policy, step


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """One step a policy wants done; ``step`` makes the idempotency key unique within the policy."""

    kind: ActionKind
    policy: str
    step: str
    payload: dict[str, Any] = field(default_factory=dict)
    after_step: str | None = None  # a step of the same policy and order that must be performed first
    # Only after ``after_step`` is done (its failure cancels this one), unless this is set: then also
    # after it failed (a message that drops the voucher code the shop refused to create).
    after_even_if_failed: bool = False


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """What the outbox hands a performer: the action and the order it is about."""

    action_id: int
    shop_id: str
    kind: ActionKind
    idempotency_key: str
    payload: dict[str, Any]
    order_external_id: str | None
    attempt: int
