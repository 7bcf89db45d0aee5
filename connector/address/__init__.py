"""Addresses: splitting street and house number, checking, the postcode lookup, and the customer's fix hand-over."""
