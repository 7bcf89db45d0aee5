"""The outbox: planned actions under idempotency keys (``queue``), the worker's environment (``env``) and
the performers that carry actions out (``performers``, ``notify``)."""
