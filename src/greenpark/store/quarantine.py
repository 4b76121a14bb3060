"""Quarantine family: ``quarantine`` (rejected rows with their reason code) and
``quarantine_resolutions`` (rows fixed or re-submitted through a later import).

One listing query (:func:`list_rows`, :func:`count_by_reason`) serves the CLI
(``greenpark quarantine``) and the API (``GET /quarantine``), so both show the same rows: by
default the *open* ones (not resolved by a later import).
"""

from __future__ import annotations

import pyarrow as pa

STATUSES = ("open", "resolved", "all")

_LISTING = """
    SELECT q.import_id, q.source, q.line_no, q.reason, q.detail, q.raw, r.resolved_by_import, r.resolved_at,
           r.action AS resolution
    FROM quarantine q LEFT JOIN quarantine_resolutions r ON r.import_id = q.import_id AND r.line_no = q.line_no"""

COLUMNS = ("import_id", "source", "line_no", "reason", "detail", "raw", "resolved_by_import", "resolved_at",
           "resolution")


def _rows(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _where(reason: str | None, import_id: int | None, status: str) -> tuple[str, list]:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    where, params = [], []
    if reason:
        where.append("q.reason = ?")
        params.append(reason)
    if import_id is not None:
        where.append("q.import_id = ?")
        params.append(import_id)
    if status == "open":
        where.append("r.resolved_by_import IS NULL")
    elif status == "resolved":
        where.append("r.resolved_by_import IS NOT NULL")
    return ((" WHERE " + " AND ".join(where)) if where else ""), params


def list_rows(con, *, reason: str | None = None, import_id: int | None = None, status: str = "open",
              limit: int | None = None, offset: int = 0) -> list[dict]:
    """Quarantined rows (``COLUMNS``) in import and line order; ``status`` open (not resolved by a
    later import), resolved or all."""
    w, params = _where(reason, import_id, status)
    page = " LIMIT ? OFFSET ?" if limit is not None else ""
    return _rows(con.execute(_LISTING + w + " ORDER BY q.import_id, q.line_no" + page,
                             [*params, *([limit, offset] if limit is not None else [])]))


def count_by_reason(con, *, reason: str | None = None, import_id: int | None = None,
                    status: str = "open") -> dict[str, int]:
    """Rows of the same selection as :func:`list_rows`, counted by reason code."""
    w, params = _where(reason, import_id, status)
    return dict(con.execute("SELECT reason, count(*) FROM (" + _LISTING + w + ") GROUP BY 1 ORDER BY 1",
                            params).fetchall())


def rows_for_keys(con, keys: list[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    """The quarantined rows (with their resolution, if any) named by (import_id, line_no) keys."""
    tbl = pa.table({"import_id": pa.array([k[0] for k in keys], pa.int64()),
                    "line_no": pa.array([k[1] for k in keys], pa.int64())})
    con.register("_gp_keys", tbl)
    try:
        rows = _rows(con.execute(_LISTING + " SEMI JOIN _gp_keys k ON k.import_id = q.import_id "
                                            "AND k.line_no = q.line_no"))
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
    """DataFrame of the quarantined rows whose original line starts with ``meter_id,``."""
    return cur.execute("""
        SELECT import_id, source, line_no, reason, detail, raw FROM quarantine
        WHERE substr(raw, 1, ?) = ? ORDER BY import_id, line_no""", [len(meter_id) + 1, meter_id + ","]).df()


def add_staged(con, import_id: int, source: str, *, same_as_imports: list[int] | None = None) -> dict[str, int]:
    """Quarantine the rejected rows of the staged import (``_parsed`` rows with a reason and the
    ``_malformed`` lines); returns the rejected rows counted by reason.

    ``same_as_imports``: earlier imports of the same bytes (a forced re-import). A row already in
    the quarantine from one of them (same line, reason and original line), still open, is not
    added again: the quarantine is idempotent like the readings."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _rejected AS
        SELECT line_no, reason, detail, raw FROM _parsed WHERE reason IS NOT NULL
        UNION ALL
        SELECT line_no, 'malformed_row', detail, raw FROM _malformed""")
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
    con.execute("INSERT INTO quarantine SELECT ?, ?, line_no, reason, detail, raw FROM _rejected",
                [import_id, source])
    con.execute("DROP TABLE IF EXISTS _rejected")


def add_bulk_rejects(con, import_id: int, source: str, col: dict[str, str], *,
                     same_as_imports: list[int] | None = None) -> dict[str, int]:
    """Quarantine the lines DuckDB's CSV reader rejected in a bulk import (``_rejects``): a cast
    error in meter_id, timestamp or value column gets that column's reason; anything else is a
    malformed row. Returns the rejected rows counted by reason."""
    reason = (f"CASE column_name WHEN '{col['meter_id']}' THEN 'unknown_meter' "
              f"WHEN '{col['timestamp']}' THEN 'unparsable_timestamp' "
              f"WHEN '{col['value']}' THEN 'unparsable_value' END")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _rejected AS
        SELECT DISTINCT ON (line) line AS line_no,
               CASE WHEN error_type = 'CAST' THEN {reason} ELSE 'malformed_row' END AS reason,
               CASE WHEN error_type = 'CAST' THEN
                    CASE column_name WHEN '{col['meter_id']}' THEN 'meter' WHEN '{col['timestamp']}' THEN 'timestamp'
                         ELSE 'value' END || ' ''' || regexp_extract(error_message, 'string "([^"]*)"', 1) || ''''
                    ELSE error_type || ': ' || error_message END AS detail,
               csv_line AS raw
        FROM _rejects ORDER BY line""")
    by_reason = dict(con.execute("SELECT reason, count(*) FROM _rejected GROUP BY 1").fetchall())
    _insert_rejected(con, import_id, source, same_as_imports)
    return by_reason
