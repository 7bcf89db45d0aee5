"""The outbox's environment: what the worker hands each performer (services, clients, mailer, performers)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connector import platforms
from connector.actions import ActionKind
from connector.notify.mailer import Mailer, SmtpMailer
from connector.outbox.base import Performer
from connector.outbox.gate import MessageGate
from connector.outbox.lanes import Lanes, bucket_share
from connector.outbox.performers import standard_performers
from connector.platforms.base import PermanentError, PlatformClient, RetryableError

if TYPE_CHECKING:
    from connector.services import Services
    from connector.shops import Shop


log = logging.getLogger(__name__)


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
    _lanes: Lanes | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)  # the lanes share the clients

    def performer_for(self, kind: ActionKind) -> Performer:
        performer = self.performers.get(kind)
        if performer is None:
            with self._lock:
                if not self._standard:
                    self._standard = standard_performers()
            performer = self._standard[kind]
        return performer

    def lanes(self) -> Lanes:
        """The pool that performs a claimed batch, ``scheduler.outbox_concurrency`` actions at a time."""
        with self._lock:
            if self._lanes is None:
                concurrency = self.services.settings.scheduler.outbox_concurrency
                self._lanes = Lanes(concurrency, lambda shop_id: bucket_share(self._clients.get(shop_id)))
            return self._lanes

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
            with self._lock:  # one client per shop (its pacing), however many lanes asked at once
                kept = self._clients.setdefault(shop_id, client)
            if kept is not client:
                client.close()
            client = kept
        return client

    def prepare_clients(self, shop_ids: Collection[str]) -> None:
        """Make these shops' clients before lanes run, so each lane sees its shop's bucket from the start."""
        for shop_id in shop_ids:
            try:
                self.client_for(shop_id)
            except Exception as exc:  # the action's own attempt meets the same error and records it
                log.debug("no client for shop %s yet: %s", shop_id, exc, exc_info=True)

    def close(self) -> None:
        if self._lanes is not None:
            self._lanes.close()
            self._lanes = None
        for client in self._clients.values():
            client.close()
        self._clients.clear()
