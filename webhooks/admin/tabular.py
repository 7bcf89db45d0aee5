"""Tables shown on dashboard pages, and their CSV export (``?format=csv&table=NAME``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response, abort, request


@dataclass
class Table:
    name: str
    title: str
    columns: Sequence[str]
    rows: Iterable[Sequence[Any]]


def wants_csv() -> bool:
    return request.args.get("format") == "csv"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, Decimal)):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    text = str(value)
    # a spreadsheet would run a cell starting with these as a formula
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _lines(table: Table) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([cell(value) for value in row])
        if buffer.tell() > 16_384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(tables: Sequence[Table], prefix: str) -> Response:
    """The table named by ``?table=`` (the first one when not given) as a CSV download."""
    wanted = request.args.get("table") or tables[0].name
    table = next((t for t in tables if t.name == wanted), None)
    if table is None:
        abort(
            404,
            description=f"table: no table named {wanted!r} here; choose one of " + ", ".join(t.name for t in tables),
        )
    # the rows are consumed while the response streams: produce the whole text now, inside the request
    body = "".join(_lines(table))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{prefix}-{table.name}.csv"'
    return response
