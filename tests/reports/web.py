"""Filling in the report page as a browser does: open it, read the form's hidden fields, send it."""

from __future__ import annotations

import io
import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the signature is what counts
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in the form"
    return found.group(1)


def open_form(client: FlaskClient, token: str, via: str = "email") -> TestResponse:
    return client.get(f"/report/{token}?via={via}")


def send(
    client: FlaskClient,
    token: str,
    *,
    form: TestResponse | None = None,
    photo: tuple[bytes, str] | None = None,
    **fields: Any,
) -> TestResponse:
    """Open the form (or use ``form``), then post ``fields`` with its CSRF token and form id."""
    page = form or open_form(client, token)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    data: dict[str, Any] = {
        "csrf_token": hidden(html, "csrf_token"),
        "form_id": hidden(html, "form_id"),
        "via": hidden(html, "via"),
        **fields,
    }
    if photo is not None:
        data["photo"] = (io.BytesIO(photo[0]), photo[1])
    return client.post(f"/report/{token}", data=data, content_type="multipart/form-data")
