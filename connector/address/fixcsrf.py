"""The fix form's CSRF check: a random nonce in a signed cookie, and a form token that binds it to one link.

Pure: the page puts ``cookie_value`` in its cookie and ``form_token`` in the form; a POST is genuine when
the form token matches the cookie's nonce for this link (``form_token_ok``). A missing, foreign or
tampered cookie has no nonce, so nothing matches it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "ordercare.fix-csrf"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def cookie_value(secret_key: str, nonce: str) -> str:
    return str(_serializer(secret_key).dumps(nonce))


def nonce_of(secret_key: str, cookie: str | None) -> str | None:
    """The nonce in a cookie we signed; None for no cookie or one we did not sign."""
    if not cookie:
        return None
    try:
        value = _serializer(secret_key).loads(cookie)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def form_token(secret_key: str, nonce: str, token_id: str) -> str:
    return hmac.new(secret_key.encode(), f"{nonce}:{token_id}".encode(), hashlib.sha256).hexdigest()


def form_token_ok(secret_key: str, cookie: str | None, sent: str, token_id: str) -> bool:
    nonce = nonce_of(secret_key, cookie)
    expected = form_token(secret_key, nonce, token_id) if nonce is not None else ""
    # compared as bytes: a token with characters outside ASCII is simply wrong, not an error
    return nonce is not None and hmac.compare_digest(sent.encode(), expected.encode())
