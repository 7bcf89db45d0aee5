"""The customer's tracking page: signed links, the lookup by order number, and what the page says."""
