"""The one way carrier clients call their APIs: a GET that answers JSON, or says why not in the client errors.

404 is "the source does not know this parcel" (None); 429 and 5xx, network trouble and an answer that is not
JSON are retryable (``retry_after`` from the ``Retry-After`` header, in seconds or as an HTTP date); any other
4xx is permanent. Error messages name the source and the status, never a key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from connector import __version__
from connector.carriers.base import PermanentError, RetryableError

USER_AGENT = f"ordercare/{__version__} (parcel tracking)"  # MyParcel asks every caller to name itself
TIMEOUT_SECONDS = 15.0


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.replace(".", "", 1).isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - now).total_seconds())


def get_json(
    http: requests.Session,
    source: str,
    url: str,
    now: datetime,
    *,
    headers: Mapping[str, str],
    params: Any = None,
    auth: tuple[str, str] | None = None,
) -> Any | None:
    """The decoded JSON answer of a GET, None for 404; ``RetryableError`` / ``PermanentError`` otherwise."""
    try:
        response = http.get(
            url,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers},
            params=params,
            auth=auth,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise RetryableError(f"{source}: {type(exc).__name__} while reading tracking") from None
    status = response.status_code
    if status == 404:
        return None
    if status == 429 or status >= 500:
        raise RetryableError(
            f"{source}: HTTP {status}",
            retry_after=retry_after_seconds(response.headers.get("Retry-After"), now),
            status=status,
            platform_message=response.text[:200],
        )
    if status != 200:
        raise PermanentError(f"{source}: HTTP {status}", status=status, platform_message=response.text[:200])
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise RetryableError(f"{source}: the answer is not JSON", status=status) from None
