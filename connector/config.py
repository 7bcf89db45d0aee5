"""Configuration: YAML in, validated and typed settings out.

Every string may read ``${VAR}`` (or ``${VAR:-default}``) from the environment. Problems are collected,
not raised one at a time: ``load_settings`` raises ``ConfigError`` listing each bad key with its path,
e.g. ``shops[1].timezone: unknown time zone 'Europe/Amsterdm'``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from connector.branding import Brand, BrandSettings
from connector.carriers.config import CarriersSettings
from connector.platforms.shopify.scopes import REQUIRED_SCOPES
from connector.policies.config import PoliciesConfig, merge_policy_overrides
from connector.problems import ConfigError as ConfigError  # re-exported: the stable surface

DiscountClass = Literal["order", "product", "shipping"]
DEFAULT_COMBINES_WITH: tuple[DiscountClass, ...] = ("shipping",)
_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SHOP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_timezone)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchedulerSettings(_Strict):
    tick_seconds: int = Field(60, ge=1, le=3600)
    reconcile_minutes: int = Field(15, ge=1, le=1440)
    outbox_poll_seconds: float = Field(1.0, gt=0, le=60)
    outbox_batch: int = Field(50, ge=1, le=1000)
    # actions performed at once (each order's in its planned order; ``connector.outbox.lanes``)
    outbox_concurrency: int = Field(4, ge=1, le=32)
    lease_seconds: int = Field(120, ge=5, le=3600)
    tick_batch: int = Field(500, ge=1, le=100000)
    max_attempts: int = Field(12, ge=1, le=100)


class EmailSettings(_Strict):
    smtp_host: str = "localhost"
    smtp_port: int = Field(25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: str | None = None
    sender: str = "ordercare <ordercare@localhost>"
    reply_to: str | None = None
    timeout_seconds: float = Field(10.0, gt=0, le=120)


@dataclass(frozen=True)
class ShopVoice:
    """A shop's sender, reply-to address and signature for customer e-mail."""

    sender: str
    reply_to: str | None
    signature: str | None


class ShopifyAppSettings(_Strict):
    """The public/custom app used for the OAuth install flow (optional: config shops need none)."""

    api_key: str
    api_secret: str
    previous_api_secret: str | None = None
    # what the install requests: every scope the code needs (connector.platforms.shopify.scopes)
    scopes: list[str] = Field(default_factory=lambda: list(REQUIRED_SCOPES))
    api_version: str = "2026-10"
    # "api": ordercare creates its webhook subscriptions; "declared": shopify.app.toml declares them, and
    # ordercare only checks that the granted scopes cover each topic
    subscriptions: Literal["api", "declared"] = "api"


class ShopSettings(_Strict):
    id: str
    platform: Literal["shopify", "woocommerce"]
    shop_domain: str | None = None
    url: str | None = None
    api_base_url: str | None = None
    api_version: str | None = None
    access_token: str | None = None  # Shopify legacy custom app: its static Admin API token
    client_id: str | None = None  # Shopify Dev Dashboard app on its own store: the client credentials grant
    client_secret: str | None = None  # also signs its webhooks (the default webhook_secret)
    consumer_key: str | None = None
    consumer_secret: str | None = None
    webhook_secret: str | None = None
    previous_webhook_secret: str | None = None
    subscriptions: Literal["api", "declared"] | None = None  # Shopify; unset: the app's setting, else "api"
    # Shopify vouchers: the discount classes they combine with (DiscountCombinesWithInput; Shopify's default: none)
    voucher_combines_with: list[DiscountClass] = Field(default_factory=lambda: list(DEFAULT_COMBINES_WITH))
    timezone: TimeZoneName = "Europe/Amsterdam"
    locale: Literal["nl", "en"] = "nl"
    country: str = Field("NL", min_length=2, max_length=2)
    name: str | None = None  # shown to customers; defaults to the id
    customer_channel: Literal["email", "platform_note"] = "email"
    # observe: decide as usual and record what would be done, write nothing to the shop and send nothing
    mode: Literal["observe", "act"] = "act"
    # the shop's own voice in customer e-mail; unset: the global ``email`` block
    sender: str | None = None  # "Fietsenwinkel <service@fietsenwinkel.nl>"
    reply_to: str | None = None
    signature: str | None = Field(None, max_length=500)  # replaces "Hartelijke groet, <shop name>"
    brand: BrandSettings | None = None  # the shop's colours on the tracking, fix and report pages
    policies: dict[str, Any] = Field(default_factory=dict)
    carriers: CarriersSettings | None = None  # parcel tracking sources (connector.carriers.config)

    @field_validator("sender", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and "@" not in parseaddr(value)[1]:
            raise ValueError(f"expected an e-mail address, e.g. 'Shop <service@shop.nl>', got {value!r}")
        return value

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _SHOP_ID.match(value):
            raise ValueError("use lower-case letters, digits, '-' and '_' (at most 63), e.g. 'my-shop'")
        return value

    @field_validator("shop_domain")
    @classmethod
    def _myshopify(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]*\.myshopify\.com", value.lower()):
            raise ValueError(f"expected '<name>.myshopify.com', got {value!r}")
        return value.lower() if value else value

    @field_validator("url", "api_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value

    @field_validator("country")
    @classmethod
    def _upper_country(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _platform_fields(self) -> ShopSettings:
        if self.platform == "shopify":
            return self._shopify_credentials()
        needed = ("url", "consumer_key", "consumer_secret", "webhook_secret")
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"a {self.platform} shop needs " + ", ".join(missing))
        stray = [name for name in ("client_id", "client_secret") if getattr(self, name)]
        if stray:
            raise ValueError(", ".join(stray) + ": only for a shopify shop (a Dev Dashboard app)")
        return self

    @model_validator(mode="after")
    def _carrier_write_back(self) -> ShopSettings:
        if self.carriers is not None and self.carriers.shopify_events and self.platform != "shopify":
            raise ValueError(
                "carriers.shopify_events: only for a shopify shop (WooCommerce has no fulfilment events to write to)"
            )
        return self

    def _shopify_credentials(self) -> ShopSettings:
        """Either ``access_token`` + ``webhook_secret`` (a legacy custom app), or ``client_id`` + ``client_secret``
        (a Dev Dashboard app on its own store; its webhooks are signed with the client secret, so
        ``webhook_secret`` may be left out), never both."""
        if not self.shop_domain:
            raise ValueError("a shopify shop needs shop_domain")
        app = [name for name in ("client_id", "client_secret") if getattr(self, name)]
        if self.access_token and app:
            raise ValueError(
                "access_token and " + ", ".join(app) + ": give either access_token (a legacy custom app) "
                "or client_id and client_secret (a Dev Dashboard app), not both"
            )
        if len(app) == 1:
            other = "client_secret" if app[0] == "client_id" else "client_id"
            raise ValueError(f"{app[0]} without {other}: a Dev Dashboard app needs both")
        if not self.access_token and not app:
            raise ValueError(
                "a shopify shop needs client_id and client_secret (a Dev Dashboard app) "
                "or access_token (a legacy custom app)"
            )
        if self.access_token and not self.webhook_secret:
            raise ValueError("a shopify shop with access_token needs webhook_secret (the app's API secret key)")
        return self

    @model_validator(mode="before")
    @classmethod
    def _client_secret_signs_webhooks(cls, data: Any) -> Any:
        """A Dev Dashboard app's webhooks are signed with its client secret: the default ``webhook_secret``."""
        if isinstance(data, Mapping) and data.get("client_secret") and not data.get("webhook_secret"):
            return {**data, "webhook_secret": data["client_secret"]}
        return data

    @property
    def key(self) -> str:
        """How webhooks name this shop: the myshopify domain, or the normalised site URL."""
        if self.platform == "shopify":
            assert self.shop_domain
            return self.shop_domain
        assert self.url
        return normalise_site_url(self.url)

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Settings(_Strict):
    database_url: str = "sqlite:///ordercare.db"
    secret_key: str = Field(min_length=16)
    public_url: str = "http://127.0.0.1:8000"
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    shopify_app: ShopifyAppSettings | None = None
    shops: list[ShopSettings] = Field(default_factory=list)
    policies: dict[str, Any] = Field(default_factory=dict)
    templates_dir: str | None = None
    max_webhook_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    raw_event_max_bytes: int = Field(256 * 1024, ge=1024)
    raw_event_retention_days: int = Field(30, ge=1)
    sent_message_retention_days: int = Field(180, ge=1)  # what a sent message said (``connector.notify.sent``)
    fix_link_days: int = Field(7, ge=1, le=60)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value

    _policies: dict[str | None, PoliciesConfig] = PrivateAttr(default_factory=dict)

    def shop(self, shop_id: str) -> ShopSettings:
        for shop in self.shops:
            if shop.id == shop_id:
                return shop
        raise KeyError(shop_id)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Settings:
        """A copy (e.g. with other policies) that merges its own policies rather than sharing the cache."""
        copied = super().model_copy(update=update, deep=deep)
        copied._policies = {}
        return copied

    def configured_shop(self, shop_id: str) -> ShopSettings | None:
        """The shop's entry in the configuration file, or None for a shop installed through an app flow."""
        return next((shop for shop in self.shops if shop.id == shop_id), None)

    def voice_for(self, shop_id: str) -> ShopVoice:
        """Who a shop's customer e-mail comes from, where replies go, and how it is signed."""
        shop = self.configured_shop(shop_id)
        if shop is None:
            return ShopVoice(self.email.sender, self.email.reply_to, None)
        sender = shop.sender or self.email.sender
        reply_to = shop.reply_to or (None if shop.sender else self.email.reply_to)
        return ShopVoice(sender, reply_to, shop.signature)

    def brand_for(self, shop_id: str | None) -> Brand:
        """The colours of a shop's customer pages: its ``brand``, else ordercare's own."""
        shop = self.configured_shop(shop_id) if shop_id else None
        return Brand.of(shop.brand if shop is not None else None)

    def policies_for(self, shop_id: str | None) -> PoliciesConfig:
        """The shop's effective policies: the defaults with its overrides laid over them.

        Every shop-scoped lookup goes through here. A shop that came in through the Shopify install or
        the WooCommerce key exchange has no entry in the file and gets the defaults; ``None`` asks for the
        defaults too. Merged once per shop and settings object (the cache lives and dies with it).
        """
        cached = self._policies.get(shop_id)
        if cached is None:
            configured = self.configured_shop(shop_id) if shop_id else None
            overrides = configured.policies if configured is not None else {}
            cached = PoliciesConfig.model_validate(merge_policy_overrides(self.policies, overrides))
            self._policies[shop_id] = cached
        return cached


def normalise_site_url(url: str) -> str:
    """WooCommerce names its site with a trailing slash; compare URLs without scheme case or it."""
    url = url.strip()
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest.rstrip('/').lower()}/" if rest else url.lower().rstrip("/") + "/"


# --- loading -------------------------------------------------------------------------------------


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _expand_env(node: Any, loc: tuple[int | str, ...], env: Mapping[str, str], problems: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _expand_env(v, (*loc, k), env, problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_env(v, (*loc, i), env, problems) for i, v in enumerate(node)]
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{_path(loc)}: environment variable {name} is not set")
            return ""

        return _ENV_PATTERN.sub(substitute, node)
    return node


def _describe(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    return message


def _validation_problems(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = _describe(error)
        # model-level validators report "shops[1].id: ..." themselves
        if not loc and re.match(r"^[\w\[\].]+: ", message):
            problems.append(message)
            continue
        problems.append(f"{_path((*prefix, *loc))}: {message}")
    return problems


def settings_from_mapping(raw: Any, env: Mapping[str, str] | None = None) -> Settings:
    """Validate an already-parsed document; raise ``ConfigError`` with every problem found."""
    if not isinstance(raw, dict):
        raise ConfigError(["(top level): expected a mapping of settings"])
    problems: list[str] = []
    expanded = _expand_env(raw, (), os.environ if env is None else env, problems)
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(expanded)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc))
    shops_raw = expanded.get("shops")
    seen: dict[object, int] = {}
    for index, shop in enumerate(shops_raw if isinstance(shops_raw, list) else []):
        shop_id = shop.get("id") if isinstance(shop, dict) else None
        if isinstance(shop_id, str) and shop_id in seen:
            problems.append(f"shops[{index}].id: {shop_id!r} is already used by shops[{seen[shop_id]}]")
        elif isinstance(shop_id, str):
            seen[shop_id] = index
    # policies: the defaults alone, then each shop with its overrides, each under its own key path
    policy_defaults = expanded.get("policies") or {}
    if isinstance(policy_defaults, dict):
        default_problems: list[str] = []
        try:
            PoliciesConfig.model_validate(policy_defaults)
        except ValidationError as exc:
            default_problems = _validation_problems(exc, ("policies",))
            problems.extend(default_problems)
        shops = expanded.get("shops") or []
        for index, shop in enumerate(shops if isinstance(shops, list) else []):
            overrides = shop.get("policies") if isinstance(shop, dict) else None
            if not isinstance(overrides, dict) or not overrides:
                continue
            try:
                PoliciesConfig.model_validate(merge_policy_overrides(policy_defaults, overrides))
            except ValidationError as exc:
                for problem in _validation_problems(exc, ("shops", index, "policies")):
                    if problem.split(".", 1)[1] not in default_problems:  # said once, under policies
                        problems.append(problem)
    if problems or settings is None:
        raise ConfigError(sorted(set(problems), key=problems.index))
    return settings


def load_settings(path: str | Path, env: Mapping[str, str] | None = None) -> Settings:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the file ({exc.strerror})"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}"]) from None
    return settings_from_mapping(raw if raw is not None else {}, env)


def load_for_command(path: str | None) -> Settings:
    """The settings a command runs with: the ``--config`` file, else ``$ORDERCARE_CONFIG``."""
    path = path or os.environ.get("ORDERCARE_CONFIG")
    if not path:
        raise ConfigError(["--config: give a configuration file (or set ORDERCARE_CONFIG)"])
    return load_settings(path)
