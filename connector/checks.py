"""What ``check-config`` warns about: a configuration that validates but will not work against a real shop.

Each warning names the key and says why, with the platform rule behind it. They are warnings, not errors:
a sandbox or a test set-up may want exactly what a real shop refuses.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from connector.config import Settings

# WordPress delivers webhooks only to these ports: wp_http_validate_url() in wp-includes/http.php, filter
# ``http_allowed_safe_ports`` (../shared/platforms/woocommerce.md §1.8); any other port fails as "Delivery URL
# cannot be reached" while the webhook still shows active.
WORDPRESS_DELIVERY_PORTS = (80, 443, 8080)


def _private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def woocommerce_warnings(settings: Settings) -> list[str]:
    """Why WooCommerce shops could not reach ``public_url`` (only when a WooCommerce shop is configured)."""
    if not any(shop.platform == "woocommerce" for shop in settings.shops):
        return []
    url = urlsplit(settings.public_url)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    found = []
    if url.scheme != "https":
        found.append(
            f"public_url: {settings.public_url} is not https; WooCommerce's key exchange refuses an http callback "
            '("The callback_url needs to be over SSL"), and webhook bodies would travel unencrypted'
        )
    if port not in WORDPRESS_DELIVERY_PORTS:
        found.append(
            f"public_url: port {port}; WordPress delivers webhooks only to ports 80, 443 and 8080, so every "
            'delivery would fail as "Delivery URL cannot be reached" while the webhook still shows active'
        )
    if _private_host(host):
        found.append(
            f"public_url: {host} is a loopback or private address; WordPress refuses to deliver webhooks to it "
            "unless the shop runs on the same host"
        )
    return found


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


def config_warnings(settings: Settings) -> list[str]:
    """Every warning for a configuration that validated."""
    return woocommerce_warnings(settings) + sender_warnings(settings)
