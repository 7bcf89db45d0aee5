"""Every GraphQL document the Shopify client can send validates against the shipped 2026-10 schema."""

from __future__ import annotations

import gzip
import json
from functools import cache

import pytest
from graphql import GraphQLSchema, build_client_schema, parse, validate

from connector.platforms.shopify.documents import DOCUMENTS
from tests.conftest import FIXTURES


@cache
def schema() -> GraphQLSchema:
    with gzip.open(FIXTURES / "shopify" / "admin_2026-10.introspection.json.gz", "rt", encoding="utf-8") as handle:
        built = build_client_schema(json.load(handle)["data"])
    built._validation_errors = []  # graphql-core refuses the schema over deprecation rules otherwise
    return built


def test_there_are_documents() -> None:
    needed = {"TagsAdd", "OrderUpdate", "DiscountCodeBasicCreate", "FulfillmentOrderHold", "DiscountByCode",
              "FulfillmentOrderReleaseHold", "ReconcileOrders", "WebhookSubscriptionCreate",
              "WebhookSubscriptions"}  # fmt: skip
    assert needed <= set(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid(name: str) -> None:
    errors = validate(schema(), parse(DOCUMENTS[name]))
    assert [e.message for e in errors] == []


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_operation_is_named_after_its_key(name: str) -> None:
    document = parse(DOCUMENTS[name])
    assert [d.name.value for d in document.definitions if d.name] == [name]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ("mutation { tagsAdd(id: \"gid://shopify/Order/1\", tags: [\"a\"]) { node { id } userErrs { message } } }",
         "userErrs"),
        ("mutation($s: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: ORDERS_CREATE, "
         "webhookSubscription: $s) { webhookSubscription { callbackUri } } }", "callbackUri"),
        ("query { orders(first: 1, sortKey: UPDATED) { nodes { id } } }", "UPDATED"),
    ],
)  # fmt: skip
def test_invalid_document_is_rejected(document: str, fragment: str) -> None:
    errors = validate(schema(), parse(document))
    assert errors, "the schema must reject this document"
    assert any(fragment in e.message for e in errors)
