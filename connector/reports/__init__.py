"""The customer's own report that something is wrong with an order: causes, form, photo, storage, replacement."""
