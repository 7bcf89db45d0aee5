"""Encryption at rest for platform credentials and tokens (Fernet, key derived from ``secret_key``)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"ordercare-credentials\x00" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(data, sort_keys=True).encode()).decode("ascii")

    def open(self, token: str) -> dict[str, Any]:
        try:
            value = json.loads(self._fernet.decrypt(token.encode("ascii")))
        except InvalidToken:
            raise ValueError("credentials cannot be decrypted with this secret_key") from None
        if not isinstance(value, dict):
            raise ValueError("sealed credentials are not a mapping")
        return value
