"""A customer's reports go with their data erasure (text and photo), the report page dies with it, and the
replacement's draft order input is valid for the shipped 2026-10 schema."""

from __future__ import annotations

import gzip
import json

from graphql import GraphQLError, GraphQLInputObjectType, build_client_schema
from graphql.utilities import validate_input_value
from sqlalchemy import select

from connector.platforms.shopify.client import mailing_address
from connector.platforms.shopify.documents import DOCUMENTS
from connector.reports import replacement
from connector.store.tables import ActionRow, ProblemReport
from tests.builders import order as build_order
from tests.conftest import FIXTURES
from tests.platforms.shopify.conftest import signed_headers
from tests.reports.conftest import DOMAIN, SECRET, World
from tests.reports.web import PNG, send


def test_the_customers_erasure_removes_their_reports_and_photos(world: World) -> None:
    placed = world.shop.create_order()
    world.shop.fulfil(placed["id"], shipment_status="delivered")
    world.run()
    token = world.token("fietsen", str(placed["id"]))
    assert send(world.client, token, cause="damaged", text="Deuk", photo=(PNG, "bel.png")).status_code == 200
    world.tick()

    body = json.dumps({"shop_id": 1, "shop_domain": DOMAIN, "customer": {"id": 7300000000000000123,
                       "email": "sanne.devries@example.nl"}, "orders_to_redact": [placed["id"]]}).encode()  # fmt: skip
    headers = signed_headers("customers/redact", body, secret=SECRET, domain=DOMAIN, webhook_id="wh-redact-1")
    assert world.client.post("/webhooks/shopify", data=body, headers=headers).status_code == 200

    with world.services.sessions() as session:
        assert session.scalars(select(ProblemReport)).all() == []
        proposed = session.scalars(select(ActionRow).where(ActionRow.kind == "create_replacement")).one()
        assert proposed.state == "cancelled"  # a replacement staff did not confirm goes too
    assert world.client.get(f"/report/{token}").status_code == 404


def test_the_replacement_draft_order_input_is_valid_for_the_schema() -> None:
    with gzip.open(FIXTURES / "shopify" / "admin_2026-10.introspection.json.gz", "rt", encoding="utf-8") as handle:
        schema = build_client_schema(json.load(handle)["data"])
    order = build_order("1001")
    lines = [{"title": "Fietsbel", "quantity": 2, "sku": "BEL", "product_id": "1", "variant_id": "44"},
             {"title": "Bidon", "quantity": 1, "sku": None, "product_id": None, "variant_id": None}]  # fmt: skip
    data = replacement.payload(order, "damaged", lines, "note")
    address = data["address"]
    draft = replacement.shopify_draft_input(data, 7, mailing_address(address) if address else None)
    draft_type = schema.get_type("DraftOrderInput")
    assert isinstance(draft_type, GraphQLInputObjectType)
    errors: list[str] = []

    def note(error: GraphQLError, path: list[str | int]) -> None:
        errors.append(f"{path}: {error.message}")

    validate_input_value(draft, draft_type, note)
    assert errors == []
    broken = {
        **draft,
        "lineItems": [{**draft["lineItems"][0], "appliedDiscount": {"valueType": "PERCENT", "value": 1}}],
    }
    validate_input_value(broken, draft_type, note)
    assert len(errors) == 1  # the check itself catches a wrong input
    assert draft["lineItems"][0]["appliedDiscount"] == {
        "valueType": "PERCENTAGE",
        "value": 100.0,
        "title": "Replacement",
    }
    assert draft["lineItems"][1]["originalUnitPrice"] == "0.00"
    assert draft["tags"] == ["ordercare:replacement", "ordercare:replacement-7"]
    assert all(len(tag) <= 40 for tag in draft["tags"])  # Shopify's limit for a tag
    assert {"DraftOrderCreate", "DraftOrderComplete", "DraftOrdersByTag"} <= set(DOCUMENTS)
