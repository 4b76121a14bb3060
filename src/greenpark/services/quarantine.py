"""The quarantine workflow (issue 15 item 7): list rejected rows, export them for fixing, resubmit.

One selection serves the CLI (``greenpark quarantine``), the API (``GET /api/v1/quarantine``) and
the dashboard: filters by import, file (the import's source), meter, reason and period, and a
scope (an enterprise user sees the rows of its own meters only, never an unattributed row). By
default only *open* rows are listed: a row is resolved when a fix or re-submission replaced it,
and superseded when a later import accepted a reading of the same meter and instant (the file
was re-imported corrected).

Export (:func:`export_rows`) writes the rows in the file layout ``meter_id, timestamp, value,
unit`` followed by the reason columns and the row's key (``import_id, line_no``). Such a file,
corrected, goes back in two ways: ``greenpark import FIXED.csv`` (the extra columns are ignored;
a fixed row supersedes its quarantined original when meter and time match), or
:func:`resubmit` (``greenpark quarantine resubmit FIXED.csv``, ``POST /api/v1/quarantine/resubmit``
with rows), which marks every named original resolved by the new import even when the fix
changed its meter or time, and skips originals already resolved: a second resubmit of the same
file changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from greenpark import ingest
from greenpark.core.energy import parse_period
from greenpark.errors import ForbiddenError, InputError, NotFoundError
from greenpark.jsonsafe import _FORMULA_START
from greenpark.services import users
from greenpark.store import quarantine as store_quarantine

__all__ = ["EXPORT_COLUMNS", "FILE_LAYOUT", "Selection", "export_rows", "listing", "parse_fix_csv", "read_fix_file",
           "resubmit"]

#: the columns of a file of meter readings, then what explains the row and names it
FILE_LAYOUT = ("meter_id", "timestamp", "value", "unit")
EXPORT_COLUMNS = (*FILE_LAYOUT, "reason", "detail", "import_id", "line_no", "source", "raw")


@dataclass
class Selection:
    """Which quarantined rows: filters and an enterprise scope (``meters``: None = the whole park)."""

    reason: str | None = None
    import_id: int | None = None
    source: str | None = None
    meter: str | None = None
    period: str | None = None
    meters: list[str] | None = None
    status: str = "open"
    _bounds: tuple[dt.datetime, dt.datetime] | None = field(default=None, repr=False)

    def check(self, park) -> Selection:
        """Refuse an unknown reason or period with a clear message; resolve the period to UTC."""
        if self.reason is not None and self.reason not in ingest.REASONS:
            raise InputError.t("quarantine.unknown_reason", reason=self.reason, reasons=", ".join(ingest.REASONS))
        if self.status not in store_quarantine.STATUSES:
            raise InputError(f"status '{self.status}': use one of {', '.join(store_quarantine.STATUSES)}")
        if self.period is not None:
            p = parse_period(self.period)
            tz = park.tz

            def utc(d: dt.date) -> dt.datetime:
                return dt.datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)

            self._bounds = (utc(p.start), utc(p.end))
        return self

    def filters(self) -> dict[str, Any]:
        start, end = self._bounds or (None, None)
        return {"reason": self.reason, "import_id": self.import_id, "source": self.source, "meter": self.meter,
                "start": start, "end": end, "meters": self.meters}


def listing(con, sel: Selection, *, limit: int | None = None, offset: int = 0) -> dict[str, Any]:
    """The selected rows (one page), their total, counts by reason and the whole selection's
    counts by status (open, resolved, superseded) so that a person sees what is hidden."""
    f = sel.filters()
    counts = store_quarantine.count_by_reason(con, status=sel.status, **f)
    return {"total": sum(counts.values()), "by_reason": counts,
            "by_status": store_quarantine.count_by_status(con, **f),
            "rows": store_quarantine.list_rows(con, status=sel.status, limit=limit, offset=offset, **f)}


def _fields(raw: str | None) -> list[str] | None:
    """The meter_id, timestamp, value, unit of a quarantined row's original line (the store keeps
    it in that order), or None when it has no such shape."""
    try:
        fields = next(csv.reader([raw or ""]), [])
    except csv.Error:
        return None
    if len(fields) not in (3, 4):
        return None
    return [f.strip() for f in (fields + [""])[:4]]


def export_rows(rows: list[dict], tz=None) -> list[dict]:
    """Quarantined rows in the file layout plus the reason columns (:data:`EXPORT_COLUMNS`). A row
    whose original line has another shape (a wide file: a time and one column per meter; a
    malformed line) gets its meter and its time in park time (``tz``) when the row named them,
    and the rest empty to fill in; ``raw`` keeps the original line."""
    out = []
    for r in rows:
        f = _fields(r["raw"])
        if f is None:
            ts = r.get("ts")
            local = (ts.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None).isoformat()
                     if ts is not None and tz is not None else "")
            f = [r.get("meter_id") or "", local, "", ""]
        out.append({**dict(zip(FILE_LAYOUT, f, strict=True)), "reason": r["reason"], "detail": r["detail"],
                    "import_id": r["import_id"], "line_no": r["line_no"], "source": r["source"],
                    "raw": r["raw"]})
    return out


def _unquote(cell: str) -> str:
    """A cell as written before the export neutralised it for spreadsheets ('-3 -> -3)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) else cell


def read_fix_file(path) -> list[dict]:
    """The rows of a corrected export file (:func:`parse_fix_csv`)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError.t("quarantine.fix_file_unreadable", path=str(path), error=exc.strerror or str(exc)) from None
    return parse_fix_csv(data, str(path))


def parse_fix_csv(data: bytes, name: str) -> list[dict]:
    """The rows of a corrected export (UTF-8, with or without BOM): the file layout plus
    ``import_id`` and ``line_no``; cells the export neutralised for spreadsheets read back as
    they were; a clear error when the text or those columns are missing."""
    try:
        text = data.decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        cols = [c.strip() for c in reader.fieldnames or []]
        rows = [{(k or "").strip(): _unquote((v or "").strip()) for k, v in r.items() if k is not None}
                for r in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError.t("quarantine.fix_file_unreadable", path=name, error=str(exc)) from None
    missing = [c for c in ("meter_id", "timestamp", "value", "import_id", "line_no") if c not in cols]
    if missing:
        raise InputError.t("quarantine.fix_file_columns", path=name, missing=", ".join(missing))
    return rows


def _key(r: dict) -> tuple[int, int]:
    try:
        return int(r["import_id"]), int(r["line_no"])
    except (TypeError, ValueError):
        raise InputError.t("quarantine.bad_key", import_id=r.get("import_id"), line_no=r.get("line_no")) from None


def resubmit(store, park, rows: list[dict], who: users.Principal, *, meters: list[str] | None = None,
             remote: str | None = None, source: str | None = None) -> dict[str, Any]:
    """Import corrected rows (``meter_id, timestamp, value[, unit], import_id, line_no``) as one
    new import through the usual path and mark each named quarantined row resolved by it
    (``resubmit``). Rows whose original is already resolved or superseded are skipped, so the same
    file twice changes nothing. ``meters``: the enterprise scope (the original row and the
    corrected one must both be of these meters). Returns ``{resolved, skipped, import}``."""
    keyed = [(_key(r), r) for r in rows]
    keys = list(dict.fromkeys(k for k, _ in keyed))
    found = store_quarantine.rows_for_keys(store.con, keys) if keys else {}
    missing = [k for k in keys if k not in found or (meters is not None and found[k]["meter_id"] not in meters)]
    if missing:  # out of scope reads as absent: nothing about other enterprises leaks
        raise NotFoundError.t("quarantine.no_row", rows=", ".join(f"({i}, {n})" for i, n in missing[:5]))
    if meters is not None:
        foreign = sorted({r["meter_id"] for _, r in keyed if r["meter_id"] not in meters})
        if foreign:
            raise ForbiddenError.t("quarantine.foreign_meter", meters=", ".join(foreign[:5]))
    todo = [(k, r) for k, r in keyed if found[k]["resolution"] is None]
    todo = list({k: (k, r) for k, r in todo}.values())  # one corrected row per original
    skipped = [k for k in keys if found[k]["resolution"] is not None]
    if not todo:
        return {"resolved": [], "skipped": [{"import_id": i, "line_no": n} for i, n in skipped], "import": None}
    table = pa.table({c: pa.array([r.get(c) or None for _, r in todo], pa.string()) for c in FILE_LAYOUT})
    ks = [k for k, _ in todo]

    def done(result):
        aid = users.audit(store.con, who, "quarantine.resubmit", f"{len(ks)} row(s)", before=[found[k] for k in ks],
                          after={"import_id": result.import_id, "accepted": result.accepted + result.unchanged
                                 + result.corrected, "rejected": result.rejected},
                          import_id=result.import_id, remote=remote)
        store_quarantine.resolve(store.con, ks, result.import_id, "resubmit", aid)

    result = ingest.ingest_batch(store, park, table, source=source or f"resubmit:{who.username}", before_commit=done)
    return {"resolved": [{"import_id": i, "line_no": n} for i, n in ks],
            "skipped": [{"import_id": i, "line_no": n} for i, n in skipped], "import": result}
