"""Fixtures for the customer-message tests: services on a settable clock, a loopback SMTP server, an outbox env."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connector.config import Settings
from connector.outbox.env import OutboxEnv
from connector.services import Services
from tests.conftest import make_settings
from tests.notify.support import CapturingHandler, Certificate, Clock, self_signed, smtp_server


def notify_settings(db_url: str, smtp_port: int, **changes: Any) -> Settings:
    """The test shops with customer-facing names, and e-mail through the loopback server."""
    shops = changes.pop("shops", None)
    if shops is None:
        shops = [shop.model_dump(exclude_none=True) for shop in make_settings(db_url).shops]
        shops[0]["name"] = "Fietsenwinkel Één"
        shops[1]["name"] = "Theewinkel"
    email = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "sender": "service@fietsenwinkel.example",
        "reply_to": "Klantenservice <help@fietsenwinkel.example>",
        "timeout_seconds": 5,
    }
    email.update(changes.pop("email", {}))
    return make_settings(db_url, shops=shops, email=email, **changes)


@pytest.fixture
def clock(now: datetime) -> Clock:
    return Clock(now)


@pytest.fixture
def smtp() -> Iterator[CapturingHandler]:
    with smtp_server() as (controller, handler):
        handler.port = controller.port  # type: ignore[attr-defined]
        yield handler


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def services(db_url: str, engine: Engine, clock: Clock, smtp: CapturingHandler) -> Services:
    settings = notify_settings(db_url, smtp.port)  # type: ignore[attr-defined]
    return Services.build(settings, engine=engine, clock=clock)


@pytest.fixture
def env(services: Services) -> Iterator[OutboxEnv]:
    env = OutboxEnv(services=services, worker="test-worker")
    yield env
    env.close()
