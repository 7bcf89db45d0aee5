"""The ``policies:`` block of the configuration: defaults for every shop, overridden per shop.

Each policy owns one sub-block (``address``, ``stale``, ...); its pydantic model names the thresholds
so that a typo in a merchant's YAML is reported with its key path. Durations are written as
``2 working days``, ``4 working hours``, ``3 days`` or ``36 hours``; times of day as ``"18:00"``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, field_validator, model_validator

from connector.calendar import WEEKDAYS, BusinessCalendar, Duration, parse_time_of_day, supported_country


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    return Duration.parse(value)


def _time_of_day(value: Any) -> time:
    if isinstance(value, time):
        return value
    return parse_time_of_day(value)


ConfigDuration = Annotated[Duration, PlainValidator(_duration), PlainSerializer(str, return_type=str)]
TimeOfDay = Annotated[
    time, PlainValidator(_time_of_day), PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _country(value: str) -> str:
    code = value.upper()
    if not supported_country(code):
        raise ValueError(f"no public holidays known for country {value!r} (use an ISO code such as NL, BE, DE)")
    return code


def _days(*days: Weekday) -> list[Weekday]:
    return list(days)


class CalendarConfig(_Block):
    country: str | None = None  # None: the shop's own country (NL unless the shop says otherwise)
    subdivision: str | None = None
    working_days: list[Weekday] = Field(default_factory=lambda: _days("mon", "tue", "wed", "thu", "fri"), min_length=1)
    delivery_days: list[Weekday] = Field(
        default_factory=lambda: _days("mon", "tue", "wed", "thu", "fri", "sat"), min_length=1
    )
    work_start: TimeOfDay = time(9, 0)
    work_end: TimeOfDay = time(17, 0)
    closed_days: list[date] = Field(default_factory=list)  # the shop's own closing days, beside public holidays

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        return None if value is None else _country(value)

    @model_validator(mode="after")
    def _hours(self) -> CalendarConfig:
        if self.work_end <= self.work_start:
            raise ValueError("work_end must be later than work_start")
        return self

    def build(self, timezone: str, shop_country: str) -> BusinessCalendar:
        return BusinessCalendar(
            timezone,
            country=(self.country or shop_country).upper(),
            subdivision=self.subdivision,
            working_days=[WEEKDAYS[d] for d in self.working_days],
            delivery_days=[WEEKDAYS[d] for d in self.delivery_days],
            work_start=self.work_start,
            work_end=self.work_end,
            closed_days=self.closed_days,
        )


class LookupConfig(_Block):
    provider: Literal["pdok"] | None = None  # None: no postcode/city check against a register
    base_url: str = "https://api.pdok.nl/bzk/locatieserver/search/v3_1"
    timeout_seconds: float = Field(3.0, gt=0, le=30)


class AddressConfig(_Block):
    enabled: bool = True
    countries: list[str] = Field(default_factory=lambda: ["NL", "BE", "DE"])
    hold_fulfillment: bool = True
    ask_customer: bool = True
    lookup: LookupConfig = Field(default_factory=LookupConfig)
    retry_lookup_after: ConfigDuration = Duration.parse("1 hour")

    @field_validator("countries")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if len(c) != 2 or not c.isalpha()]
        if bad:
            raise ValueError(f"expected two-letter country codes, got {bad}")
        return [c.upper() for c in value]


class StaleConfig(_Block):
    enabled: bool = True
    unshipped_after: ConfigDuration = Duration.parse("2 working days")
    on_hold_after: ConfigDuration = Duration.parse("2 working days")
    pending_after: ConfigDuration = Duration.parse("1 working day")
    call_task_after: ConfigDuration = Duration.parse("4 working days")
    notify_customer: bool = True


# The next-day method names ordercare knows without configuration (Dutch and English), as phrases.
NEXT_DAY_PHRASES = ("morgen in huis", "morgen bezorgd", "morgen geleverd", "volgende dag", "next day")

_WORD = re.compile(r"[^\W_]+")  # a run of letters and digits
_BETWEEN_WORDS = r"[\s_\-\u2010-\u2015]*"  # spaces, underscores, dashes (hyphen, en/em dash), or nothing
_GLOB = re.compile(r"[*?\[\]]")


@lru_cache(maxsize=64)
def phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for ``phrases``: each phrase as whole words anywhere in a name, any case.

    A phrase's words must stand in the name in that order, separated by spaces, dashes or underscores
    or by nothing ("Next day", "Next-day", "Nextday"), and the phrase must not be glued to a letter or
    digit on either side ("Morgenster", "'s morgens", "volgende dagen" do not count). Dashes, brackets,
    commas and spaces all end a word, so "Nextday-ish" holds the phrase "next day". None: no phrases.
    """
    if not phrases:
        return None
    alternatives = [_BETWEEN_WORDS.join(re.escape(w) for w in _WORD.findall(p.casefold())) for p in phrases]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + r")(?![^\W_])", re.IGNORECASE)


class NextDayConfig(_Block):
    """Next-day promises: which shipping methods promise delivery tomorrow, and the deadlines.

    A method is next-day when its name holds one of ``method_phrases`` as whole words anywhere
    ("PostNL - Morgen in huis", "DHL (Morgen bezorgd)", "DPD Next Day", see ``phrase_pattern``), or when
    it matches one of the merchant's ``methods`` globs. The globs mean what they always meant: fnmatch
    over the whole name, any case, ``*`` for anything ("Express*" matches "Express levering", not
    "DHL Express"). ``method_phrases: []`` leaves only the globs.
    """

    enabled: bool = True
    cutoff: TimeOfDay = time(18, 0)
    method_phrases: list[str] = Field(default_factory=lambda: list(NEXT_DAY_PHRASES))
    methods: list[str] = Field(default_factory=list)
    dispatch_by: TimeOfDay = time(21, 0)
    voucher: bool = True
    notify_customer: bool = True

    @field_validator("method_phrases")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        for phrase in value:
            if _GLOB.search(phrase):
                raise ValueError(f"phrase {phrase!r} has a wildcard; write globs under `methods`")
            if not _WORD.search(phrase):
                raise ValueError(f"phrase {phrase!r} has no words")
        return value

    @model_validator(mode="after")
    def _order(self) -> NextDayConfig:
        if self.dispatch_by < self.cutoff:
            raise ValueError("dispatch_by must not be earlier than cutoff")
        return self

    def matches(self, method: str | None) -> bool:
        """Whether the shipping method named ``method`` promises next-day delivery."""
        if not method:
            return False
        name = method.casefold()
        phrases = phrase_pattern(tuple(self.method_phrases))
        if phrases is not None and phrases.search(name):
            return True
        return any(fnmatch.fnmatchcase(name, glob.casefold()) for glob in self.methods)


LadderDo = Literal["notify", "voucher", "call_task"]

# parcel statuses (``ShipmentStatus`` values) a travelling parcel can have, and the working days it usually still
# needs from its last scan in that status (a label: transit plus one; out for delivery: that day)
REMAINING_STATUSES = (
    "pending", "carrier_picked_up", "in_transit", "out_for_delivery", "attempted_delivery", "delayed", "failure",
    "unknown",
)  # fmt: skip
REMAINING_WORKING_DAYS = {
    "pending": 2,
    "carrier_picked_up": 2,
    "in_transit": 1,
    "out_for_delivery": 0,
    "attempted_delivery": 1,
}


class LadderStep(_Block):
    late: ConfigDuration
    do: list[LadderDo] = Field(min_length=1)


class ShipmentDelayConfig(_Block):
    enabled: bool = True
    no_scan_for: ConfigDuration = Duration.parse("2 working days")
    ladder: list[LadderStep] = Field(
        default_factory=lambda: [
            LadderStep(late=Duration.parse("1 working day"), do=["notify"]),
            LadderStep(late=Duration.parse("2 working days"), do=["notify", "voucher"]),
            LadderStep(late=Duration.parse("3 working days"), do=["call_task"]),
        ],
        min_length=1,
    )
    # a failed delivery attempt waits until the end of this many working days after it for the next move
    attempt_wait_working_days: int = Field(1, ge=0, le=10)
    # the new date when the carrier gives none and no promise is open: the day of the last scan (today, if that
    # is earlier) plus these working days for the parcel's status; a status not listed gets no date, only
    # "you will hear from us by"
    remaining_working_days: dict[str, int] = Field(default_factory=lambda: dict(REMAINING_WORKING_DAYS))

    @field_validator("remaining_working_days")
    @classmethod
    def _known_statuses(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(REMAINING_STATUSES))
        if unknown:
            raise ValueError(f"unknown parcel status {unknown}; known: {', '.join(REMAINING_STATUSES)}")
        bad = sorted(k for k, days in value.items() if isinstance(days, bool) or not 0 <= days <= 20)
        if bad:
            raise ValueError(f"{', '.join(bad)}: expected a number of working days from 0 to 20")
        return value


REVIEW_LINK_FIELDS = ("order_number", "order_id", "product_id")


class ReviewConfig(_Block):
    """Review requests are marketing. ``consent`` is the legal basis the merchant chooses: ``required`` sends
    only to customers whose consent the platform records (unknown is no); ``existing_customer`` is the
    soft opt-in for one's own customers (Telecommunicatiewet art. 11.7 lid 3, GDPR recital 47): every
    customer who did not object, with a footer that says so and how to object."""

    enabled: bool = True
    consent: Literal["required", "existing_customer"] = "required"
    after_delivery: ConfigDuration = Duration.parse("3 days")
    only_if_no_incident: bool = True
    give_up_after: ConfigDuration = Duration.parse("30 days")
    # no request while the customer's other order is in trouble, or within this many days of an apology
    quiet_after_apology_days: int = Field(14, ge=0, le=365)
    # where the button leads (Kiyoh, Trustpilot, Google, the product page); without one, no button: the
    # customer is asked to reply. Placeholders: {order_number} (without "#"), {order_id}, {product_id}
    link: str | None = None

    @field_validator("link")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^https://[^/\s]+", value):
            raise ValueError(f"expected an https URL, got {value!r}")
        for name in re.findall(r"{([^{}]*)}", value):
            if name not in REVIEW_LINK_FIELDS:
                known = ", ".join("{" + f + "}" for f in REVIEW_LINK_FIELDS)
                raise ValueError(f"unknown placeholder {{{name}}}; known: {known}")
        return value

    def link_for(self, order_number: str, order_id: str, product_id: str | None) -> str | None:
        """The review link of one order, its placeholders filled in (URL-quoted); None without a link."""
        if self.link is None:
            return None
        values = {"order_number": order_number.lstrip("#"), "order_id": order_id, "product_id": product_id or ""}
        return self.link.format(**{name: quote(value, safe="") for name, value in values.items()})


class VoucherConfig(_Block):
    kind: Literal["percentage", "fixed"] = "percentage"
    value: Decimal = Field(Decimal("10"), gt=0)
    valid_days: int = Field(90, ge=1, le=3650)

    @model_validator(mode="after")
    def _percentage(self) -> VoucherConfig:
        if self.kind == "percentage" and self.value > 100:
            raise ValueError("a percentage voucher cannot exceed 100")
        return self


class PerCustomerBudget(_Block):
    count: int = Field(1, ge=0)
    days: int = Field(90, ge=1)


class BudgetConfig(_Block):
    per_order: int = Field(1, ge=0)
    per_shop_per_day: Decimal = Field(Decimal("250.00"), ge=0)
    per_customer_per_days: PerCustomerBudget = Field(default_factory=PerCustomerBudget)
    max_share_of_order: Decimal = Field(Decimal("0.5"), ge=0, le=1)


class CompensationConfig(_Block):
    voucher: VoucherConfig = Field(default_factory=VoucherConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)


class MessagesConfig(_Block):
    """When customer e-mail may go (the outbox applies it when it sends, retries included): nothing in the
    quiet hours (shop time), it waits for ``quiet_until``; equal times switch the quiet hours off. At most
    ``per_customer_per_day`` messages a shop day to one customer (shop + e-mail); more wait for the next
    morning (``connector.outbox.gate`` names the exempt messages)."""

    quiet_from: TimeOfDay = time(21, 0)
    quiet_until: TimeOfDay = time(8, 0)
    per_customer_per_day: int = Field(1, ge=1, le=100)

    def send_at(self, now: datetime, tz: tzinfo) -> datetime:
        """``now``, or the end of the quiet hours ``now`` falls in."""
        local = now.astimezone(tz)
        start, end = self.quiet_from, self.quiet_until
        clock = local.time()
        if start == end:
            return now
        quiet = start <= clock or clock < end if start > end else start <= clock < end
        if not quiet:
            return now
        day = local.date() if clock < end else local.date() + timedelta(days=1)
        return datetime.combine(day, end, tzinfo=tz).astimezone(now.tzinfo)


class PromiseFollowupConfig(_Block):
    """Follow-ups before a promised date passes (shop time). "You will hear from us by" is answered on its day
    at ``hear_from_us_at``; a delivery date, when the order has not shipped by the dispatch deadline
    (``next_day.dispatch_by``) of the last working day before it, or when the parcel is still on its way at
    ``not_delivered_at`` on the day. Without an honest new date the customer hears when we will write again
    (``hear_again_after_working_days``); ``call_task`` says when staff get a call task too."""

    enabled: bool = True
    hear_from_us_at: TimeOfDay = time(12, 0)
    not_delivered_at: TimeOfDay = time(18, 0)
    hear_again_after_working_days: int = Field(1, ge=1, le=10)
    call_task: Literal["never", "no_date", "always"] = "no_date"


class StockAlternative(_Block):
    """One item the merchant offers instead of an out-of-stock one: a Shopify variant or WooCommerce product
    (or variation) id, with the title the customer sees."""

    variant_id: str | None = None
    product_id: str | None = None
    title: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _names_an_item(self) -> StockAlternative:
        if not (self.variant_id or self.product_id):
            raise ValueError("an alternative needs a variant_id or a product_id")
        return self


class OutOfStockConfig(_Block):
    """Lines the shop cannot fulfil (``connector.policies.out_of_stock``). Staff get a call task first; the
    customer an e-mail with a signed choice page: wait until a date, take an alternative, or cancel the item.

    ``back_in_stock`` names the date an item is expected again, per SKU (fnmatch globs, any case); without one,
    the date is ``wait_working_days`` working days out (0: no waiting offered without a date). ``alternatives``
    lists what the merchant offers per SKU glob; in-stock variants of the same product (Shopify) are offered too
    when ``offer_other_variants``. A cancelled item's refund is a call task for staff: ordercare moves no money."""

    enabled: bool = True
    act_after: ConfigDuration = Duration.parse("0 hours")  # after payment: stock that comes back in time is quiet
    call_task: bool = True
    notify_customer: bool = True
    back_in_stock: dict[str, date] = Field(default_factory=dict)
    wait_working_days: int = Field(10, ge=0, le=120)
    alternatives: dict[str, list[StockAlternative]] = Field(default_factory=dict)
    offer_other_variants: bool = True
    max_alternatives: int = Field(3, ge=0, le=10)
    voucher: bool = True
    link_valid_days: int = Field(14, ge=1, le=90)

    @field_validator("back_in_stock", "alternatives")
    @classmethod
    def _skus(cls, value: dict[str, Any]) -> dict[str, Any]:
        blank = [key for key in value if not key.strip()]
        if blank:
            raise ValueError("a SKU pattern cannot be empty")
        return value

    def _match(self, patterns: Mapping[str, Any], sku: str | None) -> Any:
        if not sku:
            return None
        name = sku.casefold()
        exact = next((v for k, v in patterns.items() if k.casefold() == name), None)
        if exact is not None:
            return exact
        return next((v for k, v in patterns.items() if fnmatch.fnmatchcase(name, k.casefold())), None)

    def back_on(self, sku: str | None) -> date | None:
        """The date the merchant expects ``sku`` back, if they named one."""
        found: date | None = self._match(self.back_in_stock, sku)
        return found

    def alternatives_for(self, sku: str | None) -> list[StockAlternative]:
        found: list[StockAlternative] | None = self._match(self.alternatives, sku)
        return list(found or [])


ReportCause = Literal["wrong_item", "damaged", "item_missing", "not_received", "other"]
_REPLACED_CAUSES: list[ReportCause] = ["wrong_item", "damaged", "item_missing"]


class OrderProblemConfig(_Block):
    """What the customer reports on the report page (``connector.policies.order_problem``): the customer hears at
    once what happens next and by when (``answer_within``, a promise), staff get a call task, and for a wrong,
    damaged or missing item a replacement waits for staff's one click (``replacement``); a voucher for the
    ``voucher_for`` causes, within the compensation budget. ``photo_max_kb`` limits the optional photo;
    ``per_order_per_day`` and ``per_shop_per_hour`` stop a flood of reports."""

    enabled: bool = True
    answer_within: ConfigDuration = Duration.parse("1 working day")
    call_task: bool = True
    replacement: bool = True
    voucher_for: list[ReportCause] = Field(default_factory=lambda: _REPLACED_CAUSES.copy())
    photo_max_kb: int = Field(5120, ge=100, le=20480)
    per_order_per_day: int = Field(3, ge=1, le=50)
    per_shop_per_hour: int = Field(60, ge=1, le=10000)


class ShopifyEventsConfig(_Block):
    """Carrier status changes written to Shopify fulfilments, for shops that opt in (``carriers.shopify_events``):
    changes older than ``max_age_days`` are not written (a shop that turns it on does not get a month's history)."""

    enabled: bool = True
    max_age_days: int = Field(7, ge=1, le=60)


class CallsConfig(_Block):
    """What recording a call's outcome does beyond the task (``connector.admin.calls``): with
    ``confirm_agreed_date`` a delivery day agreed on the phone is confirmed to the customer by e-mail, through
    the outbox like every message (quiet hours, one voice a day; never for an order awaiting payment or a
    customer without an e-mail address), once the outcome can no longer be undone."""

    confirm_agreed_date: bool = True


class PoliciesConfig(BaseModel):
    """All policy settings of one shop (defaults merged with its overrides)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    address: AddressConfig = Field(default_factory=AddressConfig)
    stale: StaleConfig = Field(default_factory=StaleConfig)
    next_day: NextDayConfig = Field(default_factory=NextDayConfig)
    shipment_delay: ShipmentDelayConfig = Field(default_factory=ShipmentDelayConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    compensation: CompensationConfig = Field(default_factory=CompensationConfig)
    messages: MessagesConfig = Field(default_factory=MessagesConfig)
    promise_followup: PromiseFollowupConfig = Field(default_factory=PromiseFollowupConfig)
    shopify_events: ShopifyEventsConfig = Field(default_factory=ShopifyEventsConfig)
    out_of_stock: OutOfStockConfig = Field(default_factory=OutOfStockConfig)
    order_problem: OrderProblemConfig = Field(default_factory=OrderProblemConfig)
    calls: CallsConfig = Field(default_factory=CallsConfig)
    retry_after_error: ConfigDuration = Duration.parse("1 hour")


def merge_policy_overrides(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` over ``defaults``: mappings merge key by key, anything else replaces."""
    merged: dict[str, Any] = dict(defaults)
    for key, value in overrides.items():
        base = merged.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_policy_overrides(base, value)
        else:
            merged[key] = value
    return merged
