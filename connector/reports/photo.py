"""The optional photo of a report: its type read from the first bytes (never from the name or the browser's word).

Only JPEG, PNG and WebP are taken; anything else, or a file over the size limit, is refused with a code the
page turns into words.
"""

from __future__ import annotations

from dataclasses import dataclass

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
TOO_LARGE, NOT_IMAGE = "too_large", "not_image"


def image_type(data: bytes) -> str | None:
    """The image type the bytes begin with: JPEG (FF D8 FF), PNG (its 8-byte signature), WebP (RIFF....WEBP)."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


@dataclass(frozen=True)
class Photo:
    data: bytes
    type: str


class PhotoRefused(ValueError):
    """A photo we do not keep; ``code`` is ``too_large`` or ``not_image``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def check(data: bytes, max_bytes: int) -> Photo | None:
    """The photo if it is one we keep; None for no file at all. Raises ``PhotoRefused``."""
    if not data:
        return None
    if len(data) > max_bytes:
        raise PhotoRefused(TOO_LARGE)
    kind = image_type(data)
    if kind is None:
        raise PhotoRefused(NOT_IMAGE)
    return Photo(data, kind)
