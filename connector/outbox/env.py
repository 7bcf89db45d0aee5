"""The outbox's environment: what the worker hands each performer (services, clients, mailer, performers)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connector import platforms
from connector.actions import ActionKind
from connector.notify.mailer import Mailer, SmtpMailer
from connector.outbox.base import Performer
from connector.outbox.gate import MessageGate
from connector.outbox.performers import standard_performers
from connector.platforms.base import PermanentError, PlatformClient, RetryableError

if TYPE_CHECKING:
    from connector.services import Services
    from connector.shops import Shop


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class OutboxEnv:
    """What the worker and its performers use: the services, the worker's name, the platform clients per
    shop, the mailer, and the performer for each kind of action (the standard set unless given)."""

    services: Services
    worker: str = field(default_factory=worker_name)
    client_factory: Callable[[Shop], PlatformClient] | None = None
    mailer: Mailer | None = None  # None: SMTP as the settings say
    performers: Mapping[ActionKind, Performer] = field(default_factory=dict)  # replaces the standard ones
    _clients: dict[str, PlatformClient] = field(default_factory=dict)
    _standard: dict[ActionKind, Performer] = field(default_factory=dict)
    _gate: MessageGate | None = None

    def performer_for(self, kind: ActionKind) -> Performer:
        performer = self.performers.get(kind)
        if performer is None:
            if not self._standard:
                self._standard = standard_performers()
            performer = self._standard[kind]
        return performer

    def message_gate(self) -> MessageGate:
        """What holds customer messages back (quiet hours, one voice per customer a day)."""
        if self._gate is None:
            self._gate = MessageGate(self.services)
        return self._gate

    def mailer_for(self) -> Mailer:
        return self.mailer or SmtpMailer(self.services.settings.email)

    def shop(self, shop_id: str) -> Shop:
        shop = self.services.shops.get(shop_id)
        if shop is None:
            raise PermanentError(f"shop {shop_id!r} is not known")
        return shop

    def client_for(self, shop_id: str) -> PlatformClient:
        client = self._clients.get(shop_id)
        if client is None:
            shop = self.shop(shop_id)
            if not shop.active:
                raise RetryableError(f"shop {shop_id!r} is {shop.status}; actions wait until it is active again")
            if self.client_factory is not None:
                client = self.client_factory(shop)
            else:
                client = platforms.make_client(shop, self.services.settings, clock=self.services.now)
            self._clients[shop_id] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
