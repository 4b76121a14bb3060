"""Rendering helpers: CSV exports and JSON-safe values."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

from greenpark.jsonsafe import csv_safe


def csv_text(rows: Sequence[dict[str, Any]], columns: Iterable[str] | None = None) -> str:
    rows = list(rows)
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: csv_safe(v) for k, v in r.items()})  # no formulas for spreadsheets (CSV injection)
    return buf.getvalue()


def csv_response(rows: Sequence[dict[str, Any]], columns: Iterable[str] | None, filename: str) -> Response:
    return Response(csv_text(rows, columns), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
