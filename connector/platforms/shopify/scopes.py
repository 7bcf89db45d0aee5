"""The Admin API access scopes ordercare needs: per GraphQL document and per webhook topic, in one table.

Every named document in ``documents.DOCUMENTS`` and every topic the app receives has its entry here;
``REQUIRED_SCOPES`` (what an install requests, what the README and ``shopify.app.toml`` list) is derived
from the table, and ``check(granted)`` tells which of them a shop has not granted and what that stops.

Sources: the 2026-10 schema's ``WebhookSubscriptionTopic`` descriptions ("Requires at least one of the
following scopes: ..."), its ``FulfillmentOrder`` description (order management apps request
``write_merchant_managed_fulfillment_orders`` and ``write_third_party_fulfillment_orders``; without them a
client "will only receive a subset of the fulfillment orders"), the live answers public apps quote
(``Access denied for customer field. Required access: `read_customers` access scope.``, the same for
``product`` with ``read_products``), and https://shopify.dev/docs/api/usage/access-scopes ("Any scope that
writes a resource also grants read access to it").
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# One requirement is a tuple of scopes of which any one is enough; the first is the one ordercare requests.
Need = tuple[str, ...]

ORDERS: Need = ("read_orders",)
WRITE_ORDERS: Need = ("write_orders",)
CUSTOMERS: Need = ("read_customers",)  # Order.customer
PRODUCTS: Need = ("read_products",)  # LineItem.product (the product id a review link names)
# https://shopify.dev/docs/api/usage/access-scopes: read_inventory for inventory items and levels, read_locations
# for locations, write_order_edits for the orderEdit* mutations
INVENTORY: tuple[Need, ...] = (("read_inventory",), ("read_locations",))
ORDER_EDITS: Need = ("write_order_edits",)
DRAFT_ORDERS: Need = ("write_draft_orders",)  # replacements at no cost (draftOrderCreate, draftOrderComplete)
FULFILMENT_ORDERS: tuple[Need, ...] = (
    ("read_merchant_managed_fulfillment_orders",),
    ("read_third_party_fulfillment_orders",),  # without it a 3PL location's fulfilment orders are left out
)
WRITE_FULFILMENT_ORDERS: tuple[Need, ...] = (
    ("write_merchant_managed_fulfillment_orders",),
    ("write_third_party_fulfillment_orders",),
)

# What each named document in ``documents.DOCUMENTS`` needs.
DOCUMENT_SCOPES: dict[str, tuple[Need, ...]] = {
    "OrderTags": (ORDERS,),
    "OrderNote": (ORDERS,),
    "OrderAttributes": (ORDERS,),
    "OrderShippingAddress": (ORDERS,),
    "OrderFulfillmentOrders": (ORDERS, *FULFILMENT_ORDERS),
    "FulfillmentOrderOrder": FULFILMENT_ORDERS,
    "TagsAdd": (WRITE_ORDERS,),
    "OrderUpdate": (WRITE_ORDERS,),
    "DiscountCodeBasicCreate": (("write_discounts",),),
    "DiscountByCode": (("read_discounts",),),
    "FulfillmentOrderHold": WRITE_FULFILMENT_ORDERS,
    "FulfillmentOrderReleaseHold": WRITE_FULFILMENT_ORDERS,
    "ReconcileOrders": (ORDERS, CUSTOMERS, PRODUCTS, *FULFILMENT_ORDERS),
    "OrdersById": (ORDERS, CUSTOMERS, PRODUCTS, *FULFILMENT_ORDERS),
    "OrderStock": (ORDERS, PRODUCTS, *INVENTORY, *FULFILMENT_ORDERS),
    "OrderEditBegin": (ORDER_EDITS,),
    "OrderEditAddVariant": (ORDER_EDITS,),
    "OrderEditSetQuantity": (ORDER_EDITS,),
    "OrderEditCommit": (ORDER_EDITS,),
    "OrderLineVariants": (ORDERS, PRODUCTS),
    # shopify.dev .../mutations/draftOrderCreate and draftOrderComplete: "Requires write_draft_orders"
    "DraftOrderCreate": (DRAFT_ORDERS,),
    "DraftOrderComplete": (DRAFT_ORDERS,),
    "DraftOrdersByTag": (DRAFT_ORDERS,),
    "WebhookSubscriptions": (),
    "WebhookSubscriptionCreate": (),  # each topic needs its own scope (TOPIC_SCOPES)
    "AppAccessScopes": (),
    "FulfillmentEvents": (("read_fulfillments",),),
    # only for shops that write carrier statuses back (OPTIONAL_DOCUMENTS)
    "FulfillmentEventCreate": (("write_fulfillments",),),
}

# Documents only some shops use, with the option that turns each on. Their scopes are not part of
# ``REQUIRED_SCOPES``: a shop that turns the option on grants them too (``required_scopes``). fulfillmentEventCreate
# needs ``write_fulfillments`` (shopify.dev .../mutations/fulfillmentEventCreate, "Requires write_fulfillments").
OPTIONAL_DOCUMENTS: dict[str, str] = {
    "FulfillmentEvents": "carriers.shopify_events",
    "FulfillmentEventCreate": "carriers.shopify_events",
}

_FO_TOPIC: Need = (
    "read_merchant_managed_fulfillment_orders",
    "read_assigned_fulfillment_orders",
    "read_third_party_fulfillment_orders",
    "read_marketplace_fulfillment_orders",
)

# What each topic ordercare receives needs (the schema's WebhookSubscriptionTopic descriptions). The
# compliance topics and app/uninstalled need none.
TOPIC_SCOPES: dict[str, tuple[Need, ...]] = {
    "orders/create": (("read_orders", "read_marketplace_orders"),),
    "orders/updated": (("read_orders", "read_marketplace_orders", "read_buyer_membership_orders"),),
    "orders/paid": (("read_orders", "read_marketplace_orders"),),
    "orders/fulfilled": (("read_orders", "read_marketplace_orders"),),
    "orders/partially_fulfilled": (("read_orders", "read_marketplace_orders"),),
    "orders/cancelled": (("read_orders", "read_marketplace_orders", "read_buyer_membership_orders"),),
    "orders/edited": (("read_orders", "read_marketplace_orders", "read_buyer_membership_orders"),),
    "orders/delete": (("read_orders",),),
    "fulfillments/create": (("read_fulfillments", "read_marketplace_orders"),),
    "fulfillments/update": (("read_fulfillments", "read_marketplace_orders"),),
    "fulfillment_events/create": (("read_fulfillments",),),
    "fulfillment_orders/placed_on_hold": (_FO_TOPIC,),
    "fulfillment_orders/hold_released": (_FO_TOPIC,),
    "app/uninstalled": (),
    "shop/redact": (),
    "customers/redact": (),
    "customers/data_request": (),
}


def _requested(needs: Iterable[Need]) -> list[str]:
    return [need[0] for need in needs if need]


def _ordered(scopes: Iterable[str]) -> tuple[str, ...]:
    """Unique, each read scope next to its write scope: ``read_orders, write_orders, read_customers, ...``."""
    found = dict.fromkeys(scopes)
    for scope in list(found):
        if scope.startswith("write_"):
            found.setdefault("read_" + scope.removeprefix("write_"), None)
    return tuple(sorted(found, key=lambda s: (s.split("_", 1)[1], s.startswith("write_"))))


# What an install requests, in the order the README and shopify.app.toml list them.
REQUIRED_SCOPES: tuple[str, ...] = _ordered(
    [
        *(s for name, needs in DOCUMENT_SCOPES.items() if name not in OPTIONAL_DOCUMENTS for s in _requested(needs)),
        *(s for needs in TOPIC_SCOPES.values() for s in _requested(needs)),
    ]
)


def required_scopes(options: Iterable[str] = ()) -> tuple[str, ...]:
    """What a shop must grant with these options on (``"carriers.shopify_events"``): ``REQUIRED_SCOPES`` plus the
    scopes of the optional documents they turn on."""
    wanted = set(options)
    extra = [name for name, option in OPTIONAL_DOCUMENTS.items() if option in wanted]
    return _ordered([*REQUIRED_SCOPES, *scopes_for(*extra)]) if extra else REQUIRED_SCOPES


def scopes_for(*names: str) -> tuple[str, ...]:
    """The scopes ordercare requests for these documents and topics (``"ReconcileOrders"``, ``"orders/create"``)."""
    needs: list[Need] = []
    for name in names:
        if name in DOCUMENT_SCOPES:
            needs.extend(DOCUMENT_SCOPES[name])
        elif name in TOPIC_SCOPES:
            needs.extend(TOPIC_SCOPES[name])
        else:
            raise KeyError(f"{name!r}: neither a document in documents.DOCUMENTS nor a topic; add it to scopes.py")
    return _ordered(_requested(needs))


def covers(granted: Iterable[str], need: Need) -> bool:
    """Whether one of ``need`` is granted; a write scope grants its read scope too."""
    have = set(granted)
    have |= {"read_" + s.removeprefix("write_") for s in have if s.startswith("write_")}
    return any(scope in have for scope in need)


@dataclass(frozen=True)
class ScopeCheck:
    """A shop's granted scopes against ``REQUIRED_SCOPES``: what is missing and what each missing one stops."""

    granted: tuple[str, ...]
    missing: tuple[str, ...]
    stops: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # missing scope -> documents and topics

    @property
    def ok(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        """One line in words, e.g. for the log and the shop's status."""
        if self.ok:
            return "every scope ordercare needs is granted"
        parts = [
            f"{scope} (needed for {', '.join(self.stops[scope])})" if self.stops.get(scope) else scope
            for scope in self.missing
        ]
        return "missing access scopes: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "granted": list(self.granted),
            "missing": list(self.missing),
            "stops": {k: list(v) for k, v in self.stops.items()},
            "summary": self.describe(),
        }


def check(granted: Iterable[str], required: Iterable[str] = REQUIRED_SCOPES, options: Iterable[str] = ()) -> ScopeCheck:
    """Which required scopes ``granted`` lacks, each with the documents and topics it stops (optional documents
    only when ``options`` turns them on)."""
    have = tuple(sorted(set(granted)))
    missing = tuple(scope for scope in required if not covers(have, (scope,)))
    stops: dict[str, tuple[str, ...]] = {}
    wanted = set(options)
    documents = {k: v for k, v in DOCUMENT_SCOPES.items() if OPTIONAL_DOCUMENTS.get(k, "") in wanted | {""}}
    table = {**documents, **TOPIC_SCOPES}
    for scope in missing:
        stops[scope] = tuple(
            name for name, needs in table.items() if any(scope in need and not covers(have, need) for need in needs)
        )
    return ScopeCheck(granted=have, missing=missing, stops=stops)


def topic_blocked(granted: Iterable[str], topic: str) -> tuple[str, ...]:
    """The scopes (one of each group) a topic still needs: empty when ``granted`` covers it."""
    return tuple(need[0] for need in TOPIC_SCOPES.get(topic, ()) if not covers(granted, need))


# --- what Shopify denied ---------------------------------------------------------------------------------

# Field-level denials come beside the data: ``{"data": {...: null}, "errors": [{"message": "Access denied for
# customer field. Required access: `read_customers` access scope.", "path": [...], "extensions": {"code":
# "ACCESS_DENIED"}}]}``; unapproved protected customer data reads "This app is not approved to use the email
# field." or "... to access the Customer object." (public apps quote both; the protected-data guide is
# https://shopify.dev/docs/apps/launch/protected-customer-data). Shopify stops after a number of such errors
# per request with "Too many execution errors, max error limit reached. Results truncated".
_REQUIRED = re.compile(r"Required access:\s*`?([a-z_]+)`?")
_TRUNCATED = "Too many execution errors"


@dataclass(frozen=True)
class Denial:
    """One field Shopify refused to answer: where (field names, list positions left out) and why."""

    document: str
    path: tuple[str, ...]
    message: str

    @property
    def key(self) -> str:
        return ".".join(self.path)

    @property
    def scope(self) -> str | None:
        """The access scope Shopify names, if it names one."""
        match = _REQUIRED.search(self.message)
        return match.group(1) if match else None

    @property
    def protected(self) -> bool:
        """A protected-customer-data refusal (approval in the Partner or Dev Dashboard, not a scope)."""
        return "not approved" in self.message or "protected-customer-data" in self.message.lower()

    def relative(self, root: tuple[str, ...]) -> str | None:
        """The path below ``root`` (``("orders", "nodes")`` -> ``customer.email``), None if not below it."""
        if self.path[: len(root)] != root or len(self.path) <= len(root):
            return None
        return ".".join(p for p in self.path[len(root) :] if p != "nodes")


def split_denials(document: str, errors: Iterable[Any]) -> tuple[list[Denial], list[Any]]:
    """Shopify's ``errors`` -> (the field denials, everything else). The error-limit notice counts as a denial."""
    denied: list[Denial] = []
    other: list[Any] = []
    for error in errors:
        if not isinstance(error, Mapping):
            other.append(error)
            continue
        message = str(error.get("message") or "")
        extensions = error.get("extensions") if isinstance(error.get("extensions"), Mapping) else {}
        path = tuple(str(p) for p in error.get("path") or () if not isinstance(p, int))
        if message.startswith(_TRUNCATED) and not path:
            continue
        access = (extensions or {}).get("code") == "ACCESS_DENIED" or message.startswith(
            ("Access denied for", "This app is not approved")
        )
        if access and path:
            denied.append(Denial(document, path, message))
        else:
            other.append(error)
    return denied, other


class DenialLog:
    """The denials one shop's client has seen: each logged once (not once per order), all counted."""

    def __init__(self, shop_id: str) -> None:
        self.shop_id = shop_id
        self.first: dict[str, Denial] = {}
        self.counts: Counter[str] = Counter()

    def record(self, denials: Iterable[Denial]) -> None:
        for denial in denials:
            name = f"{denial.document}:{denial.key}"
            if name not in self.first:
                self.first[name] = denial
                how = "approve protected customer data for it" if denial.protected else "grant the scope"
                log.warning(
                    "shop %s: Shopify denied %s in %s: %s The field is kept unknown on the orders read; %s.",
                    self.shop_id,
                    denial.key,
                    denial.document,
                    denial.message,
                    how,
                    extra={"shop": self.shop_id, "document": denial.document, "field": denial.key},
                )
            self.counts[name] += 1

    def report(self) -> list[dict[str, Any]]:
        """What a shop's status shows: each denied field once, with Shopify's words and how often."""
        return [
            {
                "document": d.document,
                "field": d.key,
                "message": d.message,
                "scope": d.scope,
                "protected_customer_data": d.protected,
                "count": self.counts[name],
            }
            for name, d in sorted(self.first.items())
        ]
