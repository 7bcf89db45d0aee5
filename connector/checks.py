"""What ``check-config`` warns about: a configuration that validates but will not work, or not safely, in production.

Each warning names the key and says why, with the platform rule behind it. They are warnings, not errors:
a sandbox or a test set-up may want exactly what a real shop refuses; ``check-config --strict`` makes them fail.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from connector.config import Settings

# WordPress delivers webhooks only to these ports: wp_http_validate_url() in wp-includes/http.php, filter
# ``http_allowed_safe_ports`` (../shared/platforms/woocommerce.md §1.8); any other port fails as "Delivery URL
# cannot be reached" while the webhook still shows active.
WORDPRESS_DELIVERY_PORTS = (80, 443, 8080)

# Why each platform needs an https public_url. Shopify delivers webhooks over HTTPS only and requires https app
# and redirect URLs (../shared/platforms/shopify.md §1.1); WooCommerce's key exchange refuses an http callback
# (wc-auth, ../shared/platforms/woocommerce-real-2026-12.md).
_HTTPS_RULES = {
    "shopify": "Shopify delivers webhooks and redirects installs to https URLs only",
    "woocommerce": 'WooCommerce\'s key exchange refuses an http callback ("The callback_url needs to be over SSL")',
}
_PRIVATE_RULES = {
    "shopify": "Shopify cannot reach it",
    "woocommerce": "WordPress refuses to deliver webhooks to it unless the shop runs on the same host",
}

MIN_SECRET_KEY_LENGTH = 32  # 32 random characters: well beyond guessing for the HMAC keys derived from it
MIN_SECRET_KEY_DISTINCT = 10  # "aaaa…" or "0123456789abcdef0123…"-style keys have few distinct characters
KEY_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'  # how to make a good secret_key


def _private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def _loopback_host(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _platforms(settings: Settings) -> list[str]:
    """The platforms that must reach ``public_url``: the configured shops', and Shopify's with an install app."""
    found = {shop.platform for shop in settings.shops}
    if settings.shopify_app is not None:
        found.add("shopify")
    return sorted(found)


def public_url_warnings(settings: Settings) -> list[str]:
    """Why the shops could not reach ``public_url``: not https, a port WordPress will not use, a private host."""
    platforms = _platforms(settings)
    if not platforms:
        return []
    url = urlsplit(settings.public_url)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    found = []
    if url.scheme != "https":
        why = "; ".join(_HTTPS_RULES[p] for p in platforms)
        found.append(
            f"public_url: {settings.public_url} is not https; {why}, and webhook bodies would travel unencrypted"
        )
    if "woocommerce" in platforms and port not in WORDPRESS_DELIVERY_PORTS:
        found.append(
            f"public_url: port {port}; WordPress delivers webhooks only to ports 80, 443 and 8080, so every "
            'delivery would fail as "Delivery URL cannot be reached" while the webhook still shows active'
        )
    if _private_host(host):
        why = "; ".join(_PRIVATE_RULES[p] for p in platforms)
        found.append(f"public_url: {host} is a loopback or private address; {why}")
    return found


def woocommerce_warnings(settings: Settings) -> list[str]:
    """Why WooCommerce shops could not reach ``public_url`` (only when a WooCommerce shop is configured)."""
    if not any(shop.platform == "woocommerce" for shop in settings.shops):
        return []
    return public_url_warnings(settings)


def sender_warnings(settings: Settings) -> list[str]:
    """With several shops, each one without a sender of its own: its customers would get another's voice."""
    if len(settings.shops) < 2:
        return []
    return [
        f"shops[{index}].sender: not set; {shop.id}'s customers get mail from the global email.sender "
        f"({settings.email.sender}) and their replies go there"
        for index, shop in enumerate(settings.shops)
        if shop.sender is None
    ]


def smtp_warnings(settings: Settings) -> list[str]:
    """Customer e-mail to a mail server on another host without TLS or without signing in."""
    email = settings.email
    if _loopback_host(email.smtp_host):
        return []  # a relay on this host (postfix, a test server): it does the TLS and authentication onward
    found = []
    if email.security == "none":
        found.append(
            f"email.security: none for {email.smtp_host}:{email.smtp_port}; customers' names, addresses and fix "
            "links would cross the network unencrypted (use starttls or ssl)"
        )
    if not email.username:
        found.append(
            f"email.username: not set for {email.smtp_host}; a mail server that relays without signing in is an "
            "open relay, and mail from it lands in spam"
        )
    return found


def secret_key_warnings(settings: Settings) -> list[str]:
    """A ``secret_key`` too short or too regular to keep fix links, sessions and sealed tokens safe."""
    key = settings.secret_key
    weak = []
    if len(key) < MIN_SECRET_KEY_LENGTH:
        weak.append(f"{len(key)} characters, fewer than {MIN_SECRET_KEY_LENGTH}")
    if len(set(key)) < MIN_SECRET_KEY_DISTINCT:
        distinct = len(set(key))
        weak.append(
            f"only {distinct} different character{'' if distinct == 1 else 's'}, fewer than {MIN_SECRET_KEY_DISTINCT}"
        )
    if not weak:
        return []
    return [
        f"secret_key: {' and '.join(weak)}; it signs fix links and sessions and seals stored tokens, so use at "
        f"least {MIN_SECRET_KEY_LENGTH} random characters ({KEY_RECIPE})"
    ]


def database_warnings(settings: Settings, web_processes: int) -> list[str]:
    """SQLite behind several web processes: every webhook write waits for one file lock."""
    if web_processes > 1 and settings.database_url.startswith("sqlite"):
        return [
            f"database_url: SQLite with {web_processes} web processes; they queue for one write lock and "
            "deliveries time out at peaks (use PostgreSQL, or one web process)"
        ]
    return []


def config_warnings(settings: Settings, *, web_processes: int = 1) -> list[str]:
    """Every warning for a configuration that validated."""
    return (
        public_url_warnings(settings)
        + sender_warnings(settings)
        + smtp_warnings(settings)
        + secret_key_warnings(settings)
        + database_warnings(settings, web_processes)
    )
