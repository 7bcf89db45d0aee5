"""Out of stock: which lines the shop cannot fulfil, what the customer may choose, the signed choice page's
links and the hand-over of a choice to the outbox (the policy is ``connector.policies.out_of_stock``)."""
