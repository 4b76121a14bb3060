"""Quarantine family: ``quarantine`` (rejected rows with their reason code) and
``quarantine_resolutions`` (rows fixed or re-submitted through a later import).

One listing query (:func:`list_rows`, :func:`count_by_reason`) serves the CLI
(``greenpark quarantine``) and the API (``GET /quarantine``), so both show the same rows: by
default the *open* ones (not resolved by a later import).
"""

from __future__ import annotations

import pyarrow as pa

STATUSES = ("open", "resolved", "all")

#: a quarantined row joined with how it was resolved: by a fix or re-submission through the API or
#: ``greenpark quarantine resubmit`` (``quarantine_resolutions``), or superseded: a later import
#: accepted a reading (or register reading) of the same meter and instant
_RESOLVED = """
    SELECT q.import_id, q.source, q.line_no, q.reason, q.detail, q.raw, q.meter_id, q.ts,
           coalesce(r.resolved_by_import, s.import_id) AS resolved_by_import, r.resolved_at,
           CASE WHEN r.resolved_by_import IS NOT NULL THEN r.action
                WHEN s.import_id IS NOT NULL THEN 'superseded' END AS resolution
    FROM quarantine q
    LEFT JOIN quarantine_resolutions r ON r.import_id = q.import_id AND r.line_no = q.line_no
    LEFT JOIN (SELECT meter_id, ts, import_id FROM readings
               UNION ALL SELECT meter_id, ts, import_id FROM registers) s
           ON s.meter_id = q.meter_id AND s.ts = q.ts AND s.import_id > q.import_id"""

#: one row per quarantined row (a reading and its register reading may both supersede it)
_LISTING = """
    SELECT import_id, source, line_no, reason, detail, raw, meter_id, ts, min(resolved_by_import) AS resolved_by_import,
           min(resolved_at) AS resolved_at, min(resolution) AS resolution
    FROM (""" + _RESOLVED + """ {where}) x
    GROUP BY import_id, source, line_no, reason, detail, raw, meter_id, ts"""

COLUMNS = ("import_id", "source", "line_no", "reason", "detail", "meter_id", "ts", "raw", "resolved_by_import",
           "resolved_at", "resolution")


def _rows(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _where(reason: str | None = None, import_id: int | None = None, source: str | None = None,
           meter: str | None = None, start=None, end=None, meters: list[str] | None = None) -> tuple[str, list]:
    """WHERE clause over the quarantine's own columns (``q.``) and its parameters."""
    where, params = [], []
    for col, val in (("reason", reason), ("import_id", import_id), ("source", source), ("meter_id", meter)):
        if val is not None:
            where.append(f"q.{col} = ?")
            params.append(val)
    if start is not None:
        where.append("q.ts >= ?")
        params.append(start)
    if end is not None:
        where.append("q.ts < ?")
        params.append(end)
    if meters is not None:  # an enterprise's scope: rows of its meters only, never an unattributed row
        if not meters:
            where.append("FALSE")
        else:
            where.append("q.meter_id IN (" + ", ".join("?" * len(meters)) + ")")
            params.extend(meters)
    return ((" WHERE " + " AND ".join(where)) if where else ""), params


def _status(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    return {"open": " WHERE resolution IS NULL", "resolved": " WHERE resolution IS NOT NULL", "all": ""}[status]


def _selection(status: str, **filters) -> tuple[str, list]:
    w, params = _where(**filters)
    return "SELECT * FROM (" + _LISTING.format(where=w) + ") l" + _status(status), params


def list_rows(con, *, status: str = "open", limit: int | None = None, offset: int = 0, **filters) -> list[dict]:
    """Quarantined rows (``COLUMNS``) in import and line order.

    ``status``: ``open`` (neither resolved through a fix or re-submission nor superseded by a
    later accepted reading of the same meter and instant), ``resolved`` (``resolution`` says how:
    fix, resubmit, superseded) or ``all``. ``filters``: ``reason``, ``import_id``, ``source`` (the
    file name or source of the import), ``meter``, ``start``/``end`` (UTC instants, half-open) and
    ``meters`` (only rows of these meters: an enterprise's scope)."""
    sql, params = _selection(status, **filters)
    page = " LIMIT ? OFFSET ?" if limit is not None else ""
    return _rows(con.execute(sql + " ORDER BY import_id, line_no" + page,
                             [*params, *([limit, offset] if limit is not None else [])]))


def count_by_reason(con, *, status: str = "open", **filters) -> dict[str, int]:
    """Rows of the same selection as :func:`list_rows`, counted by reason code."""
    sql, params = _selection(status, **filters)
    return dict(con.execute("SELECT reason, count(*) FROM (" + sql + ") c GROUP BY 1 ORDER BY 1", params).fetchall())


def count_by_status(con, **filters) -> dict[str, int]:
    """Rows of the selection counted as open, resolved (fix, resubmit) and superseded."""
    sql, params = _selection("all", **filters)
    got = dict(con.execute("SELECT coalesce(CASE WHEN resolution = 'superseded' THEN 'superseded' "
                           "ELSE CASE WHEN resolution IS NULL THEN 'open' ELSE 'resolved' END END, 'open'), count(*) "
                           "FROM (" + sql + ") c GROUP BY 1", params).fetchall())
    return {k: int(got.get(k, 0)) for k in ("open", "resolved", "superseded")}


def rows_for_keys(con, keys: list[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    """The quarantined rows (with their resolution, if any) named by (import_id, line_no) keys."""
    tbl = pa.table({"import_id": pa.array([k[0] for k in keys], pa.int64()),
                    "line_no": pa.array([k[1] for k in keys], pa.int64())})
    con.register("_gp_keys", tbl)
    try:
        rows = _rows(con.execute(_LISTING.format(where=" WHERE EXISTS (SELECT 1 FROM _gp_keys k WHERE "
                                                       "k.import_id = q.import_id AND k.line_no = q.line_no)")))
    finally:
        con.unregister("_gp_keys")
    return {(r["import_id"], r["line_no"]): r for r in rows}


def resolve(con, keys: list[tuple[int, int]], resolved_by_import: int, action: str, audit_id: int) -> None:
    """Mark quarantined rows resolved by a later import (inside the caller's transaction)."""
    tbl = pa.table({"import_id": pa.array([k[0] for k in keys], pa.int64()),
                    "line_no": pa.array([k[1] for k in keys], pa.int64())})
    con.register("_gp_keys", tbl)
    try:
        con.execute("INSERT INTO quarantine_resolutions SELECT import_id, line_no, ?, now(), ?, ? FROM _gp_keys",
                    [resolved_by_import, action, audit_id])
    finally:
        con.unregister("_gp_keys")


def rows_of_import(con, import_id: int, limit: int = 1000) -> list[tuple]:
    """(line_no, reason, detail, raw) of one import's quarantined rows, in line order."""
    return con.execute("SELECT line_no, reason, detail, raw FROM quarantine WHERE import_id = ? "
                       "ORDER BY line_no LIMIT ?", [import_id, limit]).fetchall()


def for_meter(cur, meter_id: str):
    """DataFrame of the quarantined rows of ``meter_id`` (by the row's meter; a row without one
    when its original line starts with ``meter_id,``)."""
    return cur.execute("""
        SELECT import_id, source, line_no, reason, detail, raw FROM quarantine
        WHERE meter_id = ? OR (meter_id IS NULL AND substr(raw, 1, ?) = ?)
        ORDER BY import_id, line_no""", [meter_id, len(meter_id) + 1, meter_id + ","]).df()


def add_staged(con, import_id: int, source: str, *, same_as_imports: list[int] | None = None,
               meter_rows: bool = True) -> dict[str, int]:
    """Quarantine the rejected rows of the staged import (``_parsed`` rows with a reason and the
    ``_malformed`` lines); returns the rejected rows counted by reason.

    ``meter_rows``: the staged rows are meter readings (false: station observations).
    ``same_as_imports``: earlier imports of the same bytes (a forced re-import). A row already in
    the quarantine from one of them (same line, reason and original line), still open, is not
    added again: the quarantine is idempotent like the readings."""
    # meter rows (``meter_rows``) name their meter (as given, also an unknown one) and UTC instant;
    # station rows do not
    key = ("left(meter_id, 200) AS meter_id, ts"
           if meter_rows else "CAST(NULL AS VARCHAR) AS meter_id, CAST(NULL AS TIMESTAMP) AS ts")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _rejected AS
        SELECT line_no, reason, detail, raw, {key} FROM _parsed WHERE reason IS NOT NULL
        UNION ALL
        SELECT line_no, 'malformed_row', detail, raw, CAST(NULL AS VARCHAR), CAST(NULL AS TIMESTAMP) FROM _malformed""")
    by_reason = dict(con.execute("SELECT reason, count(*) FROM _rejected GROUP BY 1").fetchall())
    _insert_rejected(con, import_id, source, same_as_imports)
    return by_reason


def _insert_rejected(con, import_id: int, source: str, same_as_imports: list[int] | None) -> None:
    if same_as_imports:
        ids = ", ".join(str(int(i)) for i in same_as_imports)
        con.execute(f"""
            DELETE FROM _rejected x USING (
                SELECT q.line_no, q.reason, q.raw FROM quarantine q
                LEFT JOIN quarantine_resolutions r ON r.import_id = q.import_id AND r.line_no = q.line_no
                WHERE q.import_id IN ({ids}) AND r.resolved_by_import IS NULL) e
            WHERE x.line_no IS NOT DISTINCT FROM e.line_no AND x.reason = e.reason
              AND x.raw IS NOT DISTINCT FROM e.raw""")
    con.execute("INSERT INTO quarantine (import_id, source, line_no, reason, detail, raw, meter_id, ts) "
                "SELECT ?, ?, line_no, reason, detail, raw, meter_id, ts FROM _rejected", [import_id, source])
    con.execute("DROP TABLE IF EXISTS _rejected")


def add_bulk_rejects(con, import_id: int, source: str, col: dict[str, str], *,
                     same_as_imports: list[int] | None = None) -> dict[str, int]:
    """Quarantine the lines DuckDB's CSV reader rejected in a bulk import (``_rejects``): a cast
    error in meter_id, timestamp or value column gets that column's reason; anything else is a
    malformed row. Returns the rejected rows counted by reason."""
    reason = (f"CASE column_name WHEN '{col['meter_id']}' THEN 'unknown_meter' "
              f"WHEN '{col['timestamp']}' THEN 'unparsable_timestamp' "
              f"WHEN '{col['value']}' THEN 'unparsable_value' END")
    # the meter and instant of a line whose value did not parse, from its fields (the bulk file's
    # columns c0, c1... in header order; the session's time zone is the park's)
    meter, ts = (f"left(trim(split_part(csv_line, ',', {int(col[c][1:]) + 1}), ' \"'), 200)"
                 for c in ("meter_id", "timestamp"))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _rejected AS
        SELECT DISTINCT ON (line) line AS line_no,
               CASE WHEN error_type = 'CAST' THEN {reason} ELSE 'malformed_row' END AS reason,
               CASE WHEN error_type = 'CAST' THEN
                    CASE column_name WHEN '{col['meter_id']}' THEN 'meter' WHEN '{col['timestamp']}' THEN 'timestamp'
                         ELSE 'value' END || ' ''' || regexp_extract(error_message, 'string "([^"]*)"', 1) || ''''
                    ELSE error_type || ': ' || error_message END AS detail,
               csv_line AS raw,
               CASE WHEN error_type = 'CAST' THEN {meter} END AS meter_id,
               CASE WHEN error_type = 'CAST' THEN timezone('UTC', TRY_CAST({ts} AS TIMESTAMPTZ)) END AS ts
        FROM _rejects ORDER BY line""")
    by_reason = dict(con.execute("SELECT reason, count(*) FROM _rejected GROUP BY 1").fetchall())
    _insert_rejected(con, import_id, source, same_as_imports)
    return by_reason
