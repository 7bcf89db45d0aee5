"""Promises: every date ordercare gives a customer, stored on the order until it is met or followed up."""
