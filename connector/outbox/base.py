"""What a performer is and what it may use: the ``Performer`` and ``Environment`` protocols.

Performers depend on these protocols only; the concrete environment (``connector.outbox.env``) is built by
the worker and hands each performer its clients and its mailer, so nothing here imports a performer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from connector.actions import ActionRequest
    from connector.notify.mailer import Mailer
    from connector.platforms.base import PlatformClient
    from connector.services import Services
    from connector.shops import Shop

# An attempt's outcome while a mail server may be accepting its e-mail (``connector.outbox.notify``).
SENDING = "sending"


class Environment(Protocol):
    """What performers may use: the services, the worker's name, a shop, its platform client, the mailer."""

    services: Services
    worker: str

    def shop(self, shop_id: str) -> Shop: ...

    def client_for(self, shop_id: str) -> PlatformClient: ...

    def mailer_for(self) -> Mailer: ...


class Performer(Protocol):
    def perform(self, request: ActionRequest, env: Environment) -> dict[str, Any]:
        """Carry the action out; raise RetryableError or PermanentError on failure."""

    def already_done(self, request: ActionRequest, env: Environment) -> dict[str, Any] | None:
        """After an unfinished attempt: the result if the action already took effect, else None."""
