"""WooCommerce webhooks that keep working: each with a secret of its own, repaired once, then reported.

WooCommerce never returns a webhook's secret over REST, disables a webhook on the 7th failed delivery in a row
and keeps its ``failure_count`` when it is re-enabled, so one more failure disables it again
(../shared/platforms/woocommerce.md §1.7, woocommerce-real-2026-12.md "wrong webhook secret"). So:

- every webhook ordercare creates gets a freshly generated secret, kept sealed with the shop per webhook id
  (``connector.shops.WebhookState``) before the create is sent, so a create whose answer was lost (a proxy
  timing out while WooCommerce pings the new webhook, §1.3) is signed with a secret ordercare already accepts;
- before creating, the webhooks of ours (named ``ordercare <topic>``, to our delivery URL) are looked for, and
  one found is adopted instead of a second one made; extra ones of ours for a topic are deleted;
- a disabled webhook is re-enabled once; disabled again, or failing the signature check
  (``SIGNATURE_FAILURES_TO_REPLACE`` deliveries since the last check), it is replaced: created anew with a
  fresh secret, then the old one deleted;
- a webhook that is itself a replacement is not replaced again, and one made by hand in the shop is never
  deleted: their trouble is logged once and shown on the dashboard's Shops page (bounded: no loop).

Without a ``webhook_keys`` store on the shop nothing can be kept: webhooks are created with the configured
secret and a disabled one is re-enabled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from secrets import token_urlsafe
from typing import Any, Protocol

from connector.platforms.base import PermanentError, RetryableError
from connector.platforms.woocommerce.adapter import SUBSCRIBED_TOPICS
from connector.shops import Shop, SignatureFailures, WebhookState

log = logging.getLogger("connector.platforms.woocommerce.client")

MARKER = "ordercare"  # the name of every webhook ordercare creates starts with this: "ordercare order.created"
SIGNATURE_FAILURES_TO_REPLACE = 3  # deliveries naming one webhook that fail the signature check, since the last check
SECRET_BYTES = 32

# why a webhook was replaced or is reported (the dashboard says each in words)
SIGNATURE, DISABLED = "signature", "disabled"
STILL_SIGNATURE, STILL_DISABLED = "still_signature", "still_disabled"  # a replacement in the same trouble
NOT_OURS_SIGNATURE, NOT_OURS_DISABLED = "not_ours_signature", "not_ours_disabled"  # made by hand in the shop


class Rest(Protocol):
    def _json(self, method: str, endpoint: str, data: Any = None, params: Mapping[str, Any] | None = None) -> Any: ...

    def paged(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Iterable[dict[str, Any]]: ...


def is_ours(hook: Mapping[str, Any]) -> bool:
    return str(hook.get("name") or "").startswith(MARKER + " ")


def webhook_name(topic: str) -> str:
    return f"{MARKER} {topic}"


class WebhookKeeper:
    """``ensure_webhooks`` for one shop: one run over its webhooks to ``callback_url``."""

    def __init__(
        self,
        rest: Rest,
        shop: Shop,
        clock: Callable[[], datetime],
        *,
        failures_to_replace: int = SIGNATURE_FAILURES_TO_REPLACE,
    ) -> None:
        self.rest, self.shop, self.clock = rest, shop, clock
        self.store = shop.webhook_keys
        self.failures_to_replace = failures_to_replace
        self.state = WebhookState()

    def ensure(self, callback_url: str) -> list[str]:
        """The changes made, in words (``created``, ``adopted``, ``re-enabled``, ``replaced``, ``removed``)."""
        if not self.shop.webhook_secrets and self.store is None:
            raise PermanentError(f"shop {self.shop.id!r} has no webhook secret")
        now = self.clock()
        self.state = WebhookState.of(self.store.load()) if self.store is not None else WebhookState()
        before = self.state.dump()
        failures = self.store.signature_failures(self.state.checked_at) if self.store is not None else {}
        every = list(self.rest.paged("webhooks"))
        changed: list[str] = []
        for topic in SUBSCRIBED_TOPICS:
            hooks = [h for h in every if h.get("delivery_url") == callback_url and h.get("topic") == topic]
            changed += self._topic(topic, callback_url, hooks, failures, now)
        listed = list(self.rest.paged("webhooks")) if changed else every
        self._forget_gone(listed)
        self.state.hooks = [self._summary(h) for h in listed if h.get("delivery_url") == callback_url]
        self.state.checked_at = now
        if self.store is not None and self.state.dump() != before:
            self.store.save(self.state.dump())
        return changed

    # --- one topic -------------------------------------------------------------------------------

    def _topic(
        self,
        topic: str,
        url: str,
        hooks: list[dict[str, Any]],
        failures: Mapping[str, SignatureFailures],
        now: datetime,
    ) -> list[str]:
        ours = [h for h in hooks if is_ours(h)]
        theirs = [h for h in hooks if not is_ours(h)]
        changed: list[str] = []
        if not ours and not theirs:
            created = self._create(topic, url, now)
            return [f"created {topic} (webhook {created['id']})"]
        if ours:
            hook, extra = self._keep(topic, ours, now, changed)
            for other in extra:
                self.rest._json("DELETE", f"webhooks/{other['id']}", params={"force": "true"})
                self.state.note(now, "removed", topic, str(other["id"]), why="duplicate")
                changed.append(f"removed {topic} (webhook {other['id']}: a second one of ours)")
            changed += self._check(topic, url, hook, failures, now, ours=True)
        for hook in theirs:
            changed += self._check(topic, url, hook, failures, now, ours=False)
        return changed

    def _keep(
        self, topic: str, ours: list[dict[str, Any]], now: datetime, changed: list[str]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The webhook of ours to keep for ``topic`` (one whose secret we know first), and the extra ones.

        A webhook of ours whose secret we do not know, while a create for its topic went unanswered, is the one
        that create made: it is adopted with that secret."""
        known = [h for h in ours if str(h["id"]) in self.state.secrets]
        pending = self.state.pending.pop(topic, None)
        if not known and pending is not None:
            adopted = ours[-1]
            self.state.secrets[str(adopted["id"])] = pending
            self.state.note(now, "adopted", topic, str(adopted["id"]))
            log.warning(
                "adopted webhook %s (%s) of shop %s: created by ordercare, the answer to the create was lost",
                adopted["id"],
                topic,
                self.shop.id,
                extra={"shop": self.shop.id, "topic": topic},
            )
            changed.append(f"adopted {topic} (webhook {adopted['id']})")
            known = [adopted]
        keep = (known or ours)[0]
        return keep, [h for h in ours if h is not keep]

    def _check(
        self,
        topic: str,
        url: str,
        hook: dict[str, Any],
        failures: Mapping[str, SignatureFailures],
        now: datetime,
        *,
        ours: bool,
    ) -> list[str]:
        hook_id = str(hook["id"])
        status = hook.get("status")
        failed = failures.get(hook_id)
        bad_signature = failed is not None and failed.count >= self.failures_to_replace
        if status == "active" and hook.get("failure_count") == 0 and not bad_signature:
            self.state.reenabled.discard(hook_id)  # it delivered since our re-enable: the next disable is a first
            self.state.reported.pop(hook_id, None)
        if bad_signature:
            assert failed is not None
            why = SIGNATURE if ours else NOT_OURS_SIGNATURE
            if ours and hook_id not in self.state.replaced:
                return [self._replace(topic, url, hook, SIGNATURE, now, failed.count)]
            return self._report(topic, hook_id, STILL_SIGNATURE if ours else why, now)
        if status != "disabled":
            return []
        if hook_id not in self.state.reenabled or self.store is None:
            self.rest._json("PUT", f"webhooks/{hook_id}", {"status": "active"})
            if self.store is not None:
                self.state.reenabled.add(hook_id)
            self.state.note(now, "reenabled", topic, hook_id)
            return [f"re-enabled {topic} (webhook {hook_id})"]
        if not ours:
            return self._report(topic, hook_id, NOT_OURS_DISABLED, now)
        if hook_id in self.state.replaced:
            return self._report(topic, hook_id, STILL_DISABLED, now)
        return [self._replace(topic, url, hook, DISABLED, now)]

    def _report(self, topic: str, hook_id: str, why: str, now: datetime) -> list[str]:
        """Trouble ordercare does not act on again: logged once, kept for the dashboard. Not a change."""
        if self.state.reported.get(hook_id, {}).get("why") != why:
            self.state.reported[hook_id] = {"why": why, "at": now.isoformat(), "topic": topic}
            self.state.note(now, "reported", topic, hook_id, why=why)
            log.warning(
                "webhook %s (%s) of shop %s keeps failing (%s); ordercare leaves it as it is: see the Shops page",
                hook_id,
                topic,
                self.shop.id,
                why.replace("_", " "),
                extra={"shop": self.shop.id, "topic": topic, "why": why},
            )
        return []

    # --- create and replace ----------------------------------------------------------------------

    def _create(
        self, topic: str, url: str, now: datetime, *, instead_of: str | None = None, why: str = ""
    ) -> dict[str, Any]:
        """A webhook of ours with a fresh secret, kept before it is sent. When the answer is lost, the webhooks
        are read again: one of ours for the topic that was not there before is the one just created."""
        if self.store is None:
            secret = self.shop.webhook_secrets[0]
        else:
            secret = token_urlsafe(SECRET_BYTES)
            self.state.pending[topic] = secret
            self.store.save(self.state.dump())
        body = {"name": webhook_name(topic), "topic": topic, "delivery_url": url, "secret": secret}
        try:
            created: dict[str, Any] = self.rest._json("POST", "webhooks", {**body, "status": "active"})
        except RetryableError:
            if self.store is None:
                raise
            found = [
                h
                for h in self.rest.paged("webhooks")
                if is_ours(h)
                and h.get("topic") == topic
                and h.get("delivery_url") == url
                and str(h["id"]) not in self.state.secrets
                and str(h["id"]) != instead_of
            ]
            if not found:
                raise  # not created after all (or not yet listed): the secret stays pending for the next run
            created = found[-1]
            log.warning(
                "the answer to creating webhook %s of shop %s was lost; found it as webhook %s",
                topic,
                self.shop.id,
                created["id"],
                extra={"shop": self.shop.id, "topic": topic},
            )
        if self.store is not None:
            self.state.secrets[str(created["id"])] = self.state.pending.pop(topic)
        if instead_of is None:
            self.state.note(now, "created", topic, str(created["id"]))
        else:
            self.state.note(now, "replaced", topic, str(created["id"]), old=instead_of, why=why)
        return created

    def _replace(
        self, topic: str, url: str, hook: Mapping[str, Any], why: str, now: datetime, failures: int = 0
    ) -> str:
        old = str(hook["id"])
        created = self._create(topic, url, now, instead_of=old, why=why)
        new = str(created["id"])
        self.rest._json("DELETE", f"webhooks/{old}", params={"force": "true"})
        for kept in (self.state.secrets, self.state.replaced, self.state.reported):
            kept.pop(old, None)
        self.state.reenabled.discard(old)
        self.state.replaced[new] = {"old": old, "topic": topic, "at": now.isoformat(), "why": why}
        reason = "disabled again after a re-enable"
        if why == SIGNATURE:
            reason = f"{failures} deliveries failed the signature check"
        log.warning(
            "replaced webhook %s of shop %s (webhook %s by %s): %s",
            topic,
            self.shop.id,
            old,
            new,
            reason,
            extra={"shop": self.shop.id, "topic": topic, "why": why},
        )
        return f"replaced {topic} (webhook {old} by {new}: {reason})"

    # --- bookkeeping -----------------------------------------------------------------------------

    def _forget_gone(self, listed: Iterable[Mapping[str, Any]]) -> None:
        """A generated secret stays accepted while its webhook exists (deleted in the shop: dropped here)."""
        existing = {str(h.get("id")) for h in listed}
        state = self.state
        state.secrets = {k: v for k, v in state.secrets.items() if k in existing}
        state.reenabled &= existing
        state.replaced = {k: v for k, v in state.replaced.items() if k in existing}
        state.reported = {k: v for k, v in state.reported.items() if k in existing}

    def _summary(self, hook: Mapping[str, Any]) -> dict[str, Any]:
        hook_id = str(hook.get("id"))
        return {
            "id": hook_id,
            "topic": str(hook.get("topic") or ""),
            "status": str(hook.get("status") or ""),
            "failure_count": int(hook.get("failure_count") or 0),
            "ours": is_ours(hook),
            "own_secret": hook_id in self.state.secrets,
        }
