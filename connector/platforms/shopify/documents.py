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
      variant { id inventoryQuantity }
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
    # the stock of one order's lines where it is fulfilled (mapper.stock_from_graphql): read for an order whose
    # listing shows a fulfilment order held as out of stock or a variant sold below zero (mapper.needs_stock_read)
    "OrderStock": """
query OrderStock($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 2) {
      nodes {
        id
        status
        assignedLocation { location { id } }
        fulfillmentHolds { id reason }
        lineItems(first: 10) {
          nodes {
            lineItem { id }
            remainingQuantity
            variant {
              id
              product { variants(first: 5) { nodes { id displayName sku availableForSale inventoryQuantity } } }
              inventoryItem {
                tracked
                inventoryLevels(first: 5) {
                  nodes { location { id } quantities(names: ["available"]) { name quantity } }
                }
              }
            }
          }
        }
      }
    }
  }
}""",
    # order editing (https://shopify.dev/docs/apps/build/orders-fulfillment/order-management-apps/edit-orders):
    # begin a session, stage changes on the calculated order, commit
    "OrderEditBegin": f"""
mutation OrderEditBegin($id: ID!) {{
  orderEditBegin(id: $id) {{
    calculatedOrder {{ id lineItems(first: 50) {{ nodes {{ id quantity variant {{ id }} }} }} }}
    {_USER_ERRORS}
  }}
}}""",
    "OrderEditAddVariant": f"""
mutation OrderEditAddVariant($id: ID!, $variantId: ID!, $quantity: Int!, $locationId: ID) {{
  orderEditAddVariant(id: $id, variantId: $variantId, quantity: $quantity, locationId: $locationId) {{
    calculatedLineItem {{ id quantity }}
    {_USER_ERRORS}
  }}
}}""",
    "OrderEditSetQuantity": f"""
mutation OrderEditSetQuantity($id: ID!, $lineItemId: ID!, $quantity: Int!, $restock: Boolean) {{
  orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity, restock: $restock) {{
    calculatedLineItem {{ id quantity }}
    {_USER_ERRORS}
  }}
}}""",
    "OrderEditCommit": f"""
mutation OrderEditCommit($id: ID!, $notifyCustomer: Boolean, $staffNote: String) {{
  orderEditCommit(id: $id, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {{
    order {{ id updatedAt }}
    {_USER_ERRORS}
  }}
}}""",
    # a replacement at no cost (``connector.reports.replacement``): the draft order, completed into an order; a
    # replay finds the draft by the action's tag
    "DraftOrderCreate": f"""
mutation DraftOrderCreate($input: DraftOrderInput!) {{
  draftOrderCreate(input: $input) {{
    draftOrder {{ id name status totalPriceSet {{ shopMoney {{ amount currencyCode }} }} }}
    {_USER_ERRORS}
  }}
}}""",
    "DraftOrderComplete": f"""
mutation DraftOrderComplete($id: ID!) {{
  draftOrderComplete(id: $id, paymentPending: false) {{
    draftOrder {{ id name status order {{ id name }} }}
    {_USER_ERRORS}
  }}
}}""",
    "DraftOrdersByTag": """
query DraftOrdersByTag($query: String!) {
  draftOrders(first: 5, query: $query) { nodes { id name status tags order { id name } } }
}""",
    "OrderLineVariants": """
query OrderLineVariants($id: ID!) {
  order(id: $id) { id lineItems(first: 50) { nodes { id currentQuantity variant { id } } } }
}""",
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
    # carrier status write-back (``carriers.shopify_events``): what a fulfilment already carries, and a new event
    "FulfillmentEvents": """
query FulfillmentEvents($id: ID!) {
  fulfillment(id: $id) {
    id
    events(first: 100, sortKey: HAPPENED_AT) { nodes { id status happenedAt message } pageInfo { hasNextPage } }
  }
}""",
    "FulfillmentEventCreate": f"""
mutation FulfillmentEventCreate($event: FulfillmentEventInput!) {{
  fulfillmentEventCreate(fulfillmentEvent: $event) {{
    fulfillmentEvent {{ id status happenedAt message }}
    {_USER_ERRORS}
  }}
}}""",
}
