"""The bulk path: a clean CSV of interval readings into hours that hold no readings yet.

DuckDB's CSV reader parses, converts and inserts straight into ``readings``, and the rollups of
the new hours come from one aggregate (:func:`greenpark.store.readings.bulk_load_csv`). When any
row would need more -- a unit column, a cumulative or unknown meter, an empty, negative, future,
too early or implausible value, a possible duplicate, hours already holding readings -- the
caller rolls the transaction back and the file takes the general path. Results are identical to
the general path's.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

from greenpark.ingest.readers import OPTIONAL, REQUIRED
from greenpark.ingest.validate import Plausibility
from greenpark.store import Store
from greenpark.store import quarantine as store_quarantine
from greenpark.store import readings as store_readings
from greenpark.store.readings import BulkNotApplicable

_NAIVE_FORMATS = {  # layout of a naive timestamp -> strptime format for DuckDB's reader
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}": "%Y-%m-%dT%H:%M:%S",
    r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}": "%Y-%m-%d %H:%M:%S",
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}": "%Y-%m-%dT%H:%M",
    r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}": "%Y-%m-%d %H:%M",
}


def naive_format(text: str) -> str | None:
    return next((f for pat, f in _NAIVE_FORMATS.items() if re.fullmatch(pat, text)), None)


def _plausible(con, limits: Plausibility, tz: str) -> bool:
    """Every bulk row within the earliest date and its carrier's range."""
    earliest = limits.earliest_utc(tz)
    from greenpark import reference
    from greenpark.core import units

    carrier_unit = {r["id"]: r["unit"] for r in reference.load("carriers").rows}
    for carrier, unit, lo_v, hi_v, lo_t, _hi_t in store_readings.bulk_value_span(con):
        if lo_t < earliest:
            return False
        lo, hi = limits.carrier(carrier)
        try:
            f = units.conversion_factor(carrier_unit.get(carrier, unit), unit)
        except units.UnitError:
            f = 1.0
        if (hi is not None and hi_v > hi * f) or (lo is not None and lo_v < lo * f):
            return False
    return True


def load(store: Store, path: Path, source: str, import_id: int, now: dt.datetime, limits: Plausibility,
         same_as_imports: list[int] | None = None) -> dict:
    """Bulk-load ``path`` inside the caller's transaction; raises BulkNotApplicable."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = csv.reader(fh)
        header = [c.strip().lower() for c in next(rows, [])]
        first = next(rows, None)
    if first is None or "unit" in header or any(c not in (*REQUIRED, *OPTIONAL) for c in header) \
            or len(first) != len(header):
        raise BulkNotApplicable("columns")
    # naive timestamps in one of the common layouts; anything else (an offset, another layout)
    # does not parse with the format and sends the file down the general path
    fmt = naive_format(first[header.index("timestamp")].strip())
    if fmt is None:
        raise BulkNotApplicable("timestamp layout")
    out = store_readings.bulk_load_csv(store, str(path), header, fmt, import_id, now, source)
    if not _plausible(store.con, limits, store.timezone):
        raise BulkNotApplicable("implausible values or timestamps")
    store_readings.bulk_finish(store)
    by_reason = {}
    if out["rejected_lines"]:
        by_reason = store_quarantine.add_bulk_rejects(store.con, import_id, source, out["col"],
                                                      same_as_imports=same_as_imports)
    return {"rows_read": out["inserted"] + out["rejected_lines"], "new": out["inserted"], "by_reason": by_reason}
