"""Every GraphQL Admin API document the Shopify client sends, by name.

Keeping them in one dict lets a test validate each against the shipped 2026-10 schema, and lets the
sandbox shop recognise them. Documents use variables only; nothing is spliced into the text.
"""

from __future__ import annotations

_USER_ERRORS = "userErrors { field message }"

ORDER_FIELDS = """
  id
  name
  createdAt
  updatedAt
  processedAt
  cancelledAt
  displayFinancialStatus
  displayFulfillmentStatus
  tags
  note
  email
  phone
  sourceName
  test
  customerLocale
  customerAcceptsMarketing
  currencyCode
  totalPriceSet { shopMoney { amount currencyCode } }
  customAttributes { key value }
  customer { id firstName lastName email phone emailMarketingConsent { marketingState } }
  shippingAddress { firstName lastName company address1 address2 zip city provinceCode countryCodeV2 phone }
  shippingLine { title code }
  lineItems(first: 10) {
    nodes {
      id name quantity currentQuantity sku requiresShipping
      product { id }
      originalUnitPriceSet { shopMoney { amount currencyCode } }
    }
  }
  fulfillments(first: 5) {
    id status displayStatus createdAt updatedAt estimatedDeliveryAt deliveredAt
    trackingInfo(first: 1) { company number url }
  }
  fulfillmentOrders(first: 5) {
    nodes { id status deliveryMethod { methodType } fulfillmentHolds { id handle reason heldByRequestingApp } }
    pageInfo { hasNextPage }
  }
"""

DOCUMENTS: dict[str, str] = {
    "OrderTags": """
query OrderTags($id: ID!) {
  order(id: $id) { id tags }
}""",
    "OrderNote": """
query OrderNote($id: ID!) {
  order(id: $id) { id note }
}""",
    "OrderAttributes": """
query OrderAttributes($id: ID!) {
  order(id: $id) { id customAttributes { key value } }
}""",
    "OrderShippingAddress": """
query OrderShippingAddress($id: ID!) {
  order(id: $id) {
    id
    shippingAddress { firstName lastName company address1 address2 zip city provinceCode countryCodeV2 phone }
  }
}""",
    "OrderFulfillmentOrders": """
query OrderFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 20) {
      nodes {
        id
        status
        supportedActions { action }
        fulfillmentHolds { id handle reason heldByRequestingApp }
      }
    }
  }
}""",
    "FulfillmentOrderOrder": """
query FulfillmentOrderOrder($id: ID!) {
  fulfillmentOrder(id: $id) { id orderId }
}""",
    "TagsAdd": f"""
mutation TagsAdd($id: ID!, $tags: [String!]!) {{
  tagsAdd(id: $id, tags: $tags) {{ node {{ id }} {_USER_ERRORS} }}
}}""",
    "OrderUpdate": f"""
mutation OrderUpdate($input: OrderInput!) {{
  orderUpdate(input: $input) {{ order {{ id updatedAt }} {_USER_ERRORS} }}
}}""",
    "DiscountCodeBasicCreate": """
mutation DiscountCodeBasicCreate($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}""",
    "DiscountByCode": """
query DiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount { __typename ... on DiscountCodeBasic { title status endsAt } }
  }
}""",
    "FulfillmentOrderHold": f"""
mutation FulfillmentOrderHold($id: ID!, $hold: FulfillmentOrderHoldInput!) {{
  fulfillmentOrderHold(id: $id, fulfillmentHold: $hold) {{
    fulfillmentHold {{ id handle }}
    fulfillmentOrder {{ id status }}
    {_USER_ERRORS}
  }}
}}""",
    "FulfillmentOrderReleaseHold": f"""
mutation FulfillmentOrderReleaseHold($id: ID!, $holdIds: [ID!]) {{
  fulfillmentOrderReleaseHold(id: $id, holdIds: $holdIds) {{
    fulfillmentOrder {{ id status }}
    {_USER_ERRORS}
  }}
}}""",
    "ReconcileOrders": f"""
query ReconcileOrders($query: String!, $first: Int!, $after: String) {{
  orders(query: $query, sortKey: UPDATED_AT, first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ORDER_FIELDS} }}
  }}
}}""",
    "OrdersById": f"""
query OrdersById($ids: [ID!]!) {{
  nodes(ids: $ids) {{ ... on Order {{ {ORDER_FIELDS} }} }}
}}""",
    "AppAccessScopes": """
query AppAccessScopes {
  currentAppInstallation { id accessScopes { handle } }
}""",
    "WebhookSubscriptions": """
query WebhookSubscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri }
  }
}""",
    "WebhookSubscriptionCreate": f"""
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!) {{
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {{
    webhookSubscription {{ id topic uri }}
    {_USER_ERRORS}
  }}
}}""",
}
