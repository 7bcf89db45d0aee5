"""Performing a claimed batch several actions at a time, while each order's actions keep their planned order.

A batch is split into lanes, one per order (shop + order), each holding that order's actions in the order the
claim returned them (due time, then id: the order they were planned in). The lanes run on a pool of
``scheduler.outbox_concurrency`` threads, so one order's actions never overlap or overtake each other while
different orders' actions go at once. An action that follows another is never in the same batch as the one it
follows: ``claim`` leaves it until that one is done.

A shop's rate limit stays with its platform client: a second action of a shop starts beside others of that shop
only while the client reports at least half of its rate-limit bucket available (``HEADROOM_SHARE``); below that
the shop's actions go one at a time, paced by the client exactly as with a single thread. A client that reports
no bucket (WooCommerce has no rate limit of its own) is limited by the pool only.

Outcomes are recorded in groups (``Recorder``): a lane that has an outcome writes every outcome waiting at that
moment in one transaction, unless another lane is writing, which then takes it along; the batch ends once every
outcome is written. Crash safety is unchanged: an outcome not yet written is an attempt left unfinished, and the
next claim of that action asks the performer whether it already took effect before repeating it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar, runtime_checkable

from connector.actions import ActionRequest


@dataclass(frozen=True)
class Claimed:
    """An action this worker claimed, until ``lease_until`` (``connector.outbox.queue.claim``)."""

    request: ActionRequest
    lease_until: datetime
    resumed: bool  # an earlier attempt did not finish: check before repeating


HEADROOM_SHARE = 0.5  # a shop's actions overlap only while its bucket is at least this full

T = TypeVar("T")


@runtime_checkable
class CostBucket(Protocol):
    """What a client knows of the shop's rate-limit bucket (``connector.platforms.shopify.client.CostBucket``)."""

    maximum: float

    def predicted(self, now: float) -> float: ...


@runtime_checkable
class PacedClient(Protocol):
    """A platform client that paces itself by a cost bucket, on its own monotonic clock."""

    bucket: CostBucket

    def monotonic(self) -> float: ...


def bucket_share(client: object | None) -> float | None:
    """The share of the shop's bucket its client predicts available now; None if the client reports no bucket."""
    if not isinstance(client, PacedClient) or not isinstance(client.bucket, CostBucket):
        return None
    bucket = client.bucket
    if bucket.maximum <= 0:
        return 0.0
    return bucket.predicted(client.monotonic()) / bucket.maximum


class ShopTurns:
    """How many actions of each shop are in flight; a further one waits while its shop's bucket is low."""

    def __init__(self, share: Callable[[str], float | None], limit: int) -> None:
        self._share = share
        self._limit = limit
        self._changed = threading.Condition()
        self._in_flight: Counter[str] = Counter()
        self.most = 0  # the most actions of one shop that were in flight together, for the tests

    def _may_start(self, shop_id: str) -> bool:
        running = self._in_flight[shop_id]
        if running == 0:
            return True
        if running >= self._limit:
            return False
        share = self._share(shop_id)
        return share is None or share >= HEADROOM_SHARE

    @contextmanager
    def turn(self, shop_id: str) -> Iterator[None]:
        """Hold one of the shop's places while an action of it is performed."""
        with self._changed:
            while not self._may_start(shop_id):
                self._changed.wait()  # an action of this shop ends and notifies; no timed wait
            self._in_flight[shop_id] += 1
            self.most = max(self.most, self._in_flight[shop_id])
        try:
            yield
        finally:
            with self._changed:
                self._in_flight[shop_id] -= 1
                self._changed.notify_all()


class Recorder(Generic[T]):
    """Writes outcomes in groups: whoever finds nobody writing writes everything waiting (group commit)."""

    def __init__(self, write: Callable[[list[T]], object]) -> None:
        self._write = write
        self._waiting: list[T] = []
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self.writes = 0  # transactions written, for the tests

    def add(self, outcome: T) -> None:
        with self._lock:
            self._waiting.append(outcome)
        self._write_waiting(block=False)

    def flush(self) -> None:
        """Write what is still waiting (after the last lane ended)."""
        self._write_waiting(block=True)

    def _write_waiting(self, *, block: bool) -> None:
        if not self._writing.acquire(blocking=block):
            return  # the lane writing now, or the batch's final flush, takes this outcome along
        try:
            while True:
                with self._lock:
                    group, self._waiting = self._waiting, []
                if not group:
                    return
                try:
                    self._write(group)
                except BaseException:
                    with self._lock:  # not written: the final flush tries again, or the attempt stays unfinished
                        self._waiting[:0] = group
                    raise
                self.writes += 1
        finally:
            self._writing.release()


def lanes_of(batch: Sequence[Claimed]) -> list[list[Claimed]]:
    """The batch split per order, each lane in claim order, the lanes in the order of their first action."""
    lanes: dict[tuple[str, str | None], list[Claimed]] = {}
    for claimed in batch:
        request = claimed.request
        lanes.setdefault((request.shop_id, request.order_external_id), []).append(claimed)
    return list(lanes.values())


class Lanes:
    """The worker's pool of ``concurrency`` threads that performs a claimed batch lane by lane."""

    def __init__(self, concurrency: int, share: Callable[[str], float | None]) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.concurrency = concurrency
        self.turns = ShopTurns(share, concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="ordercare-outbox")
            return self._pool

    def run(
        self,
        batch: Sequence[Claimed],
        attempt: Callable[[Claimed], T],
        write: Callable[[list[T]], object],
        expired: Callable[[Claimed], bool],
    ) -> list[T]:
        """Perform the batch: ``attempt`` each action (no database write), ``write`` the outcomes in groups.

        A lane stops at an action whose lease ran out (``expired``): it goes back to the queue when the lease
        ends. Returns the outcomes, once all are written; an error in a lane is raised after every lane ended.
        """
        recorder: Recorder[T] = Recorder(write)
        outcomes: list[T] = []
        collected = threading.Lock()

        def lane(claims: list[Claimed]) -> None:
            for claimed in claims:
                if expired(claimed):
                    return
                with self.turns.turn(claimed.request.shop_id):
                    outcome = attempt(claimed)
                with collected:
                    outcomes.append(outcome)
                recorder.add(outcome)

        lanes = lanes_of(batch)
        if self.concurrency == 1 or len(lanes) == 1:
            for claims in lanes if self.concurrency > 1 else [list(batch)]:
                lane(claims)  # one at a time in claim order, in this thread
        else:
            pool = self._executor()
            futures: list[Future[None]] = [pool.submit(lane, claims) for claims in lanes]
            errors = [error for future in futures if (error := future.exception()) is not None]
            if errors:
                recorder.flush()
                raise errors[0]
        recorder.flush()
        return outcomes

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
