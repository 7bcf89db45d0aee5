"""PostNL over HTTP against the stand-in: local timestamps without an offset, own barcodes only,
updatedshipments windows, 429, garbage, unpublished codes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connector.carriers.base import CarrierContext, Parcel, RetryableError
from connector.carriers.config import PostnlSettings, RateLimit
from connector.carriers.postnl.client import PostnlClient, make_client
from connector.carriers.postnl.sandbox import API_KEY, CUSTOMER_NUMBER, UNPUBLISHED, PostnlSandbox
from connector.model import ShipmentStatus
from tests.carriers.support import SimClock

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
OWN = "3SDEVC288882229"
CONTEXT = CarrierContext(shop_id="fietsen", timezone="Europe/Amsterdam", received_at=NOW)


@pytest.fixture
def postnl() -> Iterator[tuple[PostnlSandbox, SimClock, PostnlClient]]:
    clock = SimClock(NOW)
    box = PostnlSandbox(clock, limit=RateLimit(calls=3, per_seconds=60))
    with box.serve() as server:
        yield (
            box,
            clock,
            make_client(PostnlSettings(api_key=API_KEY, customer_number=CUSTOMER_NUMBER, api_base_url=server.url)),
        )


def test_a_local_timestamp_is_read_as_amsterdam_time(postnl: tuple[PostnlSandbox, SimClock, PostnlClient]) -> None:
    box, _, client = postnl
    box.move(OWN, "7", datetime(2026, 11, 24, 9, 13, 20, tzinfo=UTC))  # sent as "24-11-2026 10:13:20"
    (event,) = client.track([Parcel("postnl", OWN)], CONTEXT)
    assert event.event.happened_at == datetime(2026, 11, 24, 9, 13, 20, tzinfo=UTC)
    assert (event.event.status, event.event.raw_code) == (ShipmentStatus.OUT_FOR_DELIVERY, "7")


def test_labels_of_another_customer_code_are_not_shown(postnl: tuple[PostnlSandbox, SimClock, PostnlClient]) -> None:
    box, _, client = postnl
    box.move("3SMYPA749883621", "11", NOW)
    assert client.track([Parcel("postnl", "3SMYPA749883621")], CONTEXT) == ()


def test_updated_shipments_reads_one_window_of_at_most_two_hours(
    postnl: tuple[PostnlSandbox, SimClock, PostnlClient],
) -> None:
    box, _, client = postnl
    box.move(OWN, UNPUBLISHED, NOW - timedelta(hours=3))
    events, until = client.updated(NOW - timedelta(hours=4), CONTEXT)
    assert until == NOW - timedelta(hours=2)
    (event,) = events
    assert (event.event.status, event.event.raw_code) == (ShipmentStatus.UNKNOWN, UNPUBLISHED)
    # asking further back than 48 hours starts at 48 hours
    assert client.updated(NOW - timedelta(days=5), CONTEXT)[1] == NOW - timedelta(hours=46)


def test_the_limit_is_429_with_retry_after_and_garbage_is_retryable(
    postnl: tuple[PostnlSandbox, SimClock, PostnlClient],
) -> None:
    box, clock, client = postnl
    box.move(OWN, "5", NOW)
    for _ in range(3):
        client.track([Parcel("postnl", OWN)], CONTEXT)
    with pytest.raises(RetryableError) as refused:
        client.track([Parcel("postnl", OWN)], CONTEXT)
    assert (refused.value.status, refused.value.retry_after) == (429, 60.0)
    clock.advance(seconds=60)
    box.garbage = True
    with pytest.raises(RetryableError, match="not JSON"):
        client.track([Parcel("postnl", OWN)], CONTEXT)
