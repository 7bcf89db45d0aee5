"""A shop's ``carriers:`` block: which tracking sources it uses, their keys, their limits and the poll cadence.

Secrets come from the environment like every other string (``${SENDCLOUD_SECRET}``). Limits default to what
each source publishes (sources in ``connector/carriers/<source>/client.py``); a shop with a raised quota says so.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Strict):
    """At most ``calls`` per ``per_seconds`` (a sliding window) and ``daily`` per shop-local day (None: none)."""

    calls: int = Field(ge=1)
    per_seconds: int = Field(ge=1, le=86400)
    daily: int | None = Field(None, ge=1)


class _Source(_Strict):
    api_base_url: str | None = None  # another host: the sandbox, a proxy

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value


class SendcloudSettings(_Source):
    """Sendcloud: the integration's API key pair; webhooks are signed with ``secret_key`` unless the
    integration shows a separate webhook signature key (``webhook_secret``)."""

    public_key: str = Field(min_length=1)
    secret_key: str = Field(min_length=1)
    webhook_secret: str | None = None
    # sendcloud.dev/docs/getting-started/rate-limits: GET 1,000 per minute
    limit: RateLimit = RateLimit(calls=1000, per_seconds=60)

    @property
    def signing_key(self) -> str:
        return self.webhook_secret or self.secret_key


class MyParcelSettings(_Source):
    """MyParcel: the shop's API key (back office: Settings > General > API); webhooks carry it base64-encoded."""

    api_key: str = Field(min_length=1)
    # myparcelnl/developer api-reference 01.requests.md: GET /tracktraces 100 calls per 5 minutes, 429s count
    limit: RateLimit = RateLimit(calls=100, per_seconds=300)
    batch: int = Field(25, ge=1, le=100)  # shipment ids per /tracktraces call


class DhlSettings(_Source):
    """DHL eCommerce NL through DHL's Unified tracking API (``service=parcel-nl``) with the shop's own key."""

    api_key: str = Field(min_length=1)
    # developer.dhl.com shipment-tracking: new keys 250 calls per day, 1 call per second
    limit: RateLimit = RateLimit(calls=1, per_seconds=1, daily=250)
    per_parcel_daily: int = Field(10, ge=1, le=100)  # "up to 10 fetches per shipment per day"


class PostnlSettings(_Source):
    """PostNL Shippingstatus API with the shop's own business key; it shows only the key's own barcodes."""

    api_key: str = Field(min_length=1)
    customer_number: str = Field(pattern=r"^[0-9]{1,10}$")
    customer_code: str | None = Field(None, pattern=r"^[A-Z0-9]{2,8}$")
    # developer.postnl.nl "at what frequency can I call the APIs": 1,000 per minute per key
    limit: RateLimit = RateLimit(calls=1000, per_seconds=60)
    updated_every_minutes: int = Field(10, ge=5, le=120)  # updatedshipments: "call every 5 to 15 minutes"


class PollingSettings(_Strict):
    """How often an open parcel is read, by its status; no reads at night (shop time)."""

    out_for_delivery_minutes: int = Field(45, ge=30, le=60)
    in_transit_hours: float = Field(3.0, ge=1, le=12)
    pending_hours: float = Field(6.0, ge=1, le=24)
    problem_hours: float = Field(2.0, ge=0.5, le=12)  # attempted, delayed, failure, ready for pickup
    repair_hours: float = Field(12.0, ge=1, le=48)  # a source that pushes: a read only if it went quiet
    max_age_days: int = Field(30, ge=1, le=90)  # older parcels are not polled (AfterShip's "expired")
    night_starts: int = Field(22, ge=0, le=23)  # shop-local hour
    night_ends: int = Field(6, ge=0, le=23)
    backoff_minutes: float = Field(5.0, ge=1, le=60)  # first back-off after a failure, doubled up to the cap
    backoff_max_minutes: float = Field(120.0, ge=5, le=1440)


class CarriersSettings(_Strict):
    """``shops[i].carriers``: the sources this shop uses (any of the four) and how they are read."""

    sendcloud: SendcloudSettings | None = None
    myparcel: MyParcelSettings | None = None
    dhl: DhlSettings | None = None
    postnl: PostnlSettings | None = None
    polling: PollingSettings = PollingSettings()
    unmatched_days: int = Field(14, ge=1, le=60)  # how long an event for a parcel we cannot place waits
    # Shopify shops only, opt-in: post each carrier status change to the Shopify fulfilment as a fulfilment event
    # (needs the write_fulfillments scope; Shopify may then send its own shipping e-mails, see the README)
    shopify_events: bool = False

    @model_validator(mode="after")
    def _some_source(self) -> CarriersSettings:
        if not any((self.sendcloud, self.myparcel, self.dhl, self.postnl)):
            raise ValueError("name at least one source: sendcloud, myparcel, dhl or postnl")
        return self

    def source(self, name: str) -> SendcloudSettings | MyParcelSettings | DhlSettings | PostnlSettings | None:
        value: SendcloudSettings | MyParcelSettings | DhlSettings | PostnlSettings | None = getattr(self, name, None)
        return value
