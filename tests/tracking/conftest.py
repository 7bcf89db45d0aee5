"""The tracking tests run on the customer-message fixtures: services on a settable clock, a loopback SMTP server."""

from tests.notify.conftest import certificate, clock, env, services, smtp  # noqa: F401  (fixtures)
