"""Import of meter readings from files (CSV, Excel .xlsx, Parquet) through one validating path.

Columns: ``meter_id, timestamp, value`` and an optional ``unit``. Timestamps carry an offset
(``2025-01-01T00:15:00+08:00``) or are naive and read in park time. Values are converted into the
meter's unit with pint and multiplied by the meter's multiplier (CT ratio etc.). Cumulative
registers become interval consumption (with rollover and explicit replacement events).

Every row ends in exactly one place: a new reading, an unchanged one, a correction (the new value
wins, the old one goes to ``readings_history``) or the quarantine with a stable reason code (see
:data:`REASONS`). An import is one transaction; re-importing a file whose checksum was already
imported changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from . import __version__, units
from .store import Store

#: stable reason codes of rejected rows -> explanation shown to users
REASONS: dict[str, str] = {
    "malformed_row": "the row does not have the file's columns (too many or too few fields)",
    "unknown_meter": "meter_id is not a meter in park.toml",
    "unparsable_timestamp": "timestamp is empty or not a date-time (use ISO 8601, e.g. 2025-01-01T00:15:00+08:00)",
    "unparsable_value": "value is empty, not a number, NaN or infinite",
    "unit_not_convertible": "the row's unit cannot be converted into the meter's unit",
    "timestamp_in_future": "timestamp is later than the time of the import",
    "duplicate_in_file": "the same meter and timestamp appear more than once in the file",
    "negative_consumption": "negative consumption (an interval value below zero, or a register that went "
                            "backwards without a rollover or a replacement event)",
}

REQUIRED = ("meter_id", "timestamp", "value")
OPTIONAL = ("unit",)

Progress = Callable[[str, float], None]
"""progress(stage, fraction_done) — called as an import moves through its stages."""


class IngestError(ValueError):
    """The file cannot be read at all (missing, wrong format, missing required columns)."""


@dataclass
class ImportResult:
    source: str
    checksum: str
    import_id: int | None = None
    skipped_as_duplicate_of: int | None = None
    rows_read: int = 0
    accepted: int = 0
    unchanged: int = 0
    corrected: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def file_checksum(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- reading: every format becomes _raw(line_no, meter_id, ts_text, value_text, unit, raw) ------
def _check_columns(cols: list[str], source: str) -> None:
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise IngestError(f"{source}: missing column(s) {', '.join(missing)}; the file needs columns "
                          f"{', '.join(REQUIRED)} (and optionally unit). Found: {', '.join(cols) or 'none'}")


def _read_csv(con, path: Path) -> None:
    import csv

    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise IngestError(f"{path}: not a readable UTF-8 CSV file ({exc})") from None
    cols = [c.strip().lower() for c in (header or [])]
    _check_columns(cols, str(path))
    # positional column names: the header is ours to interpret, not the sniffer's
    spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(cols)))
    col = {name: f"c{i}" for i, name in enumerate(cols)}
    unit = col.get("unit")
    p = str(path).replace("'", "''")
    fields = ", ".join(f"coalesce({col[c]}, '')" for c in (*REQUIRED, *OPTIONAL) if c in col)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _raw AS
        SELECT row_number() OVER () + 1 AS line_no,
               trim({col['meter_id']}) AS meter_id, trim({col['timestamp']}) AS ts_text,
               trim({col['value']}) AS value_text,
               {f"nullif(trim({unit}), '')" if unit else "NULL::VARCHAR"} AS unit,
               concat_ws(',', {fields}) AS raw
        FROM read_csv('{p}', header=true, auto_detect=false, delim=',', quote='"', escape='"',
                      columns={{{spec}}}, store_rejects=true,
                      rejects_table='_rejects', rejects_scan='_rejects_scan')""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _malformed AS
        SELECT DISTINCT ON (line) line AS line_no, csv_line AS raw, error_type || ': ' || error_message AS detail
        FROM _rejects ORDER BY line""")


def _read_arrow(con, table: pa.Table, source: str) -> None:
    cols = [c.strip().lower() for c in table.column_names]
    _check_columns(cols, source)
    table = table.rename_columns(cols)
    arrays = {c: table[c].cast(pa.string()) if c in table.column_names else pa.nulls(len(table), pa.string())
              for c in (*REQUIRED, *OPTIONAL)}
    staged = pa.table({**arrays, "line_no": pa.array(range(2, len(table) + 2), pa.int64())})  # noqa: F841
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _raw AS
        SELECT line_no, trim(meter_id) AS meter_id, trim("timestamp") AS ts_text, trim("value") AS value_text,
               nullif(trim(unit), '') AS unit,
               concat_ws(',', coalesce(meter_id, ''), coalesce("timestamp", ''), coalesce("value", ''),
                         coalesce(unit, '')) AS raw
        FROM staged""")
    con.execute("CREATE OR REPLACE TEMP TABLE _malformed AS SELECT 0::BIGINT AS line_no, ''::VARCHAR AS raw, "
                "''::VARCHAR AS detail WHERE false")


def _read_parquet(con, path: Path) -> None:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise IngestError(f"{path}: not a readable Parquet file ({exc})") from None
    # timestamps with a time zone keep their instant; naive ones are park time (ISO text either way)
    cols = {}
    for name in table.column_names:
        col = table[name]
        if pa.types.is_timestamp(col.type):
            import pyarrow.compute as pc

            fmt = "%Y-%m-%dT%H:%M:%S%z" if col.type.tz else "%Y-%m-%dT%H:%M:%S"
            col = pc.strftime(col, format=fmt)
        cols[name] = col
    _read_arrow(con, pa.table(cols), str(path))


def _read_xlsx(con, path: Path) -> None:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise IngestError(f"{path}: not a readable Excel .xlsx file ({exc})") from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise IngestError(f"{path}: the first sheet is empty")
    names = [str(h).strip().lower() if h is not None else "" for h in header]

    def text(v):
        if v is None:
            return None
        if isinstance(v, dt.datetime):
            return v.isoformat()
        return str(v)

    data = [[text(v) for v in r] for r in rows]
    wb.close()
    width = len(names)
    columns = {n: pa.array([r[i] if i < len(r) else None for r in data], pa.string())
               for i, n in enumerate(names) if n}
    del width
    _read_arrow(con, pa.table(columns), str(path))


READERS = {".csv": _read_csv, ".txt": _read_csv, ".parquet": _read_parquet, ".pq": _read_parquet, ".xlsx": _read_xlsx}


# -- validation and merge --------------------------------------------------------------------
def _unit_factors(con) -> None:
    pairs = con.execute("""
        SELECT DISTINCT coalesce(r.unit, m.unit) AS from_unit, m.unit AS to_unit
        FROM _raw r JOIN meters m USING (meter_id)""").fetchall()
    rows = []
    for frm, to in pairs:
        try:
            f = units.conversion_factor(frm, to)
        except units.UnitError:
            f = None
        rows.append({"from_unit": frm, "to_unit": to, "factor": f})
    uf = pa.Table.from_pylist(rows, schema=pa.schema([("from_unit", pa.string()), ("to_unit", pa.string()),  # noqa: F841
                                                      ("factor", pa.float64())]))
    con.execute("CREATE OR REPLACE TEMP TABLE _unit_factors AS SELECT * FROM uf")


def _validate(con, now: dt.datetime) -> None:
    """_parsed: every raw row with its parsed values and its reason code (NULL = valid so far)."""
    _unit_factors(con)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _parsed AS
        WITH p AS (
            SELECT r.*, TRY_CAST(r.ts_text AS TIMESTAMPTZ) AS ts, TRY_CAST(r.value_text AS DOUBLE) AS v,
                   m.meter_id IS NOT NULL AS known, m.kind, m.multiplier, uf.factor AS unit_factor
            FROM _raw r
            LEFT JOIN meters m USING (meter_id)
            LEFT JOIN _unit_factors uf ON uf.from_unit = coalesce(r.unit, m.unit) AND uf.to_unit = m.unit)
        SELECT line_no, meter_id, ts, kind, raw,
               v * unit_factor AS value,        -- in the meter's unit, before multiplier
               multiplier,
               CASE WHEN NOT known THEN 'unknown_meter'
                    WHEN ts IS NULL THEN 'unparsable_timestamp'
                    WHEN v IS NULL OR isnan(v) OR isinf(v) THEN 'unparsable_value'
                    WHEN unit_factor IS NULL THEN 'unit_not_convertible'
                    WHEN ts > ? THEN 'timestamp_in_future'
                    WHEN kind = 'interval' AND v < 0 THEN 'negative_consumption'
               END AS reason,
               CASE WHEN NOT known THEN 'meter ''' || coalesce(meter_id, '') || ''''
                    WHEN ts IS NULL THEN 'timestamp ''' || coalesce(ts_text, '') || ''''
                    WHEN v IS NULL OR isnan(v) OR isinf(v) THEN 'value ''' || coalesce(value_text, '') || ''''
                    WHEN unit_factor IS NULL THEN 'unit ''' || coalesce(unit, '') || ''''
                    WHEN ts > ? THEN 'timestamp ' || strftime(ts, '%Y-%m-%dT%H:%M:%S%z')
                    WHEN kind = 'interval' AND v < 0 THEN 'value ' || value_text
               END AS detail
        FROM p""", [now, now])
    # duplicates of (meter, timestamp) among otherwise valid rows: identical copies -> the first line
    # is kept; conflicting values -> every copy is quarantined (the file does not say which is right)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _dupkeys AS
        SELECT meter_id, ts, min(line_no) AS first_line, min(value) <> max(value) AS conflicting, count(*) AS n
        FROM _parsed WHERE reason IS NULL GROUP BY meter_id, ts HAVING count(*) > 1""")
    con.execute("""
        UPDATE _parsed SET reason = 'duplicate_in_file',
               detail = CASE WHEN d.conflicting THEN 'conflicting values for the same meter and timestamp ('
                                 || d.n || ' rows); none imported'
                             ELSE 'repeat of line ' || d.first_line END
        FROM _dupkeys d
        WHERE _parsed.reason IS NULL AND _parsed.meter_id = d.meter_id AND _parsed.ts = d.ts
          AND (d.conflicting OR _parsed.line_no <> d.first_line)""")


def _derive_cumulative(con, import_id: int) -> None:
    """Register rows of this import -> registers table, and derived interval readings into _new.

    Registers are split into segments at replacement events. Within a segment, rollovers are
    unwrapped (a drop from above 90 % of ``register_rollover`` to below 10 % adds the modulus)
    giving ``u``. Segments are chained into one continuous counter ``E = u - base_j + offset_j``:
    at replacement j the old meter's last increment is ``old_final - last register`` (modulo the
    rollover) and the new meter starts at ``new_initial``. Consumption at a register is the rise of
    E over the highest E seen before it; a register that goes backwards is quarantined as
    negative_consumption and does not move the baseline.
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _reg_new AS
        SELECT meter_id, ts, value AS register, line_no, raw FROM _parsed
        WHERE reason IS NULL AND kind = 'cumulative'""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _reg_cmp AS
        SELECT n.meter_id, n.ts, n.register, o.register AS old_register
        FROM _reg_new n LEFT JOIN registers o USING (meter_id, ts)""")
    con.execute("DELETE FROM registers r USING _reg_cmp c WHERE r.meter_id = c.meter_id AND r.ts = c.ts "
                "AND c.old_register IS NOT NULL AND c.old_register <> c.register")
    con.execute("INSERT INTO registers SELECT meter_id, ts, register, ? FROM _reg_cmp "
                "WHERE old_register IS NULL OR old_register <> register", [import_id])
    # 1. segment number (count of replacement events at or before the register) and unwrapped u
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _reg_u AS
        WITH s AS (
            SELECT r.meter_id, r.ts, r.register, m.multiplier, m.register_rollover AS modulus,
                   (SELECT count(*) FROM meter_events e
                    WHERE e.meter_id = r.meter_id AND e.kind = 'replacement' AND e.event_at <= r.ts) AS seg
            FROM registers r JOIN meters m USING (meter_id)
            WHERE r.meter_id IN (SELECT DISTINCT meter_id FROM _reg_new)),
        w AS (
            SELECT *, coalesce(modulus IS NOT NULL
                        AND register < lag(register) OVER seg_w
                        AND lag(register) OVER seg_w > 0.9 * modulus AND register < 0.1 * modulus, false) AS wrapped
            FROM s WINDOW seg_w AS (PARTITION BY meter_id, seg ORDER BY ts))
        SELECT *, register + coalesce(modulus, 0) * sum(wrapped::INTEGER)
                      OVER (PARTITION BY meter_id, seg ORDER BY ts ROWS UNBOUNDED PRECEDING) AS u
        FROM w""")
    # 2. chain segments across replacement events (a loop over configured events, not readings)
    last = {(m, g): (reg, u) for m, g, reg, u in con.execute(
        "SELECT meter_id, seg, arg_max(register, ts), arg_max(u, ts) FROM _reg_u GROUP BY ALL").fetchall()}
    modulus = dict(con.execute("SELECT meter_id, register_rollover FROM meters").fetchall())
    events = con.execute("SELECT meter_id, old_final, new_initial FROM meter_events WHERE kind = 'replacement' "
                         "AND meter_id IN (SELECT DISTINCT meter_id FROM _reg_new) ORDER BY meter_id, event_at").fetchall()
    rows, state = [], {}
    for meter_id, old_final, new_initial in events:
        seg, base, offset = state.get(meter_id, (0, 0.0, 0.0))
        last_reg, last_u = last.get((meter_id, seg), (old_final, old_final))
        step = old_final - last_reg
        if step < 0 and modulus.get(meter_id):
            step %= modulus[meter_id]
        e_at_event = last_u - base + offset + step
        state[meter_id] = (seg + 1, new_initial, e_at_event)
        rows.append({"meter_id": meter_id, "seg": seg + 1, "base": new_initial, "offset": e_at_event})
    segs = pa.Table.from_pylist(rows, schema=pa.schema([  # noqa: F841
        ("meter_id", pa.string()), ("seg", pa.int64()), ("base", pa.float64()), ("offset", pa.float64())]))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _derived AS
        WITH e AS (
            SELECT u.meter_id, u.ts, u.multiplier, u.u - coalesce(g.base, 0) + coalesce(g."offset", 0) AS e
            FROM _reg_u u LEFT JOIN segs g ON g.meter_id = u.meter_id AND g.seg = u.seg)
        SELECT meter_id, ts, multiplier,
               e - max(e) OVER (PARTITION BY meter_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                 AS delta
        FROM e""")
    con.execute("""
        UPDATE _parsed SET reason = 'negative_consumption',
               detail = 'register went backwards by ' || (-d.delta) || ' without a rollover or replacement event'
        FROM _derived d
        WHERE _parsed.reason IS NULL AND _parsed.kind = 'cumulative'
          AND _parsed.meter_id = d.meter_id AND _parsed.ts = d.ts AND d.delta < 0""")
    con.execute("""
        INSERT INTO _new SELECT meter_id, ts, delta * multiplier AS value FROM _derived WHERE delta >= 0""")
    # registers that went backwards stay out of the register series
    con.execute("DELETE FROM registers r USING _parsed p WHERE r.meter_id = p.meter_id AND r.ts = p.ts "
                "AND p.reason = 'negative_consumption' AND p.kind = 'cumulative'")


def _merge(con, store: Store, import_id: int, now: dt.datetime) -> dict[str, int]:
    """Merge _new(meter_id, ts, value) into readings: new, unchanged, corrected; refresh rollups."""
    span = con.execute("SELECT min(ts), max(ts) FROM _new").fetchone()
    if span[0] is None:
        return {"new": 0, "unchanged": 0, "corrected": 0}
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _cmp AS
        SELECT n.meter_id, n.ts, n.value, o.value AS old_value, o.import_id AS old_import_id
        FROM _new n LEFT JOIN (
            SELECT * FROM readings WHERE ts BETWEEN ? AND ? AND meter_id IN (SELECT DISTINCT meter_id FROM _new)
        ) o USING (meter_id, ts)""", list(span))
    con.execute("INSERT INTO readings SELECT meter_id, ts, value, ? FROM _cmp WHERE old_value IS NULL", [import_id])
    con.execute("""
        INSERT INTO readings_history
        SELECT meter_id, ts, old_value, old_import_id, value, ?, ? FROM _cmp
        WHERE old_value IS NOT NULL AND old_value <> value""", [import_id, now])
    con.execute("""
        UPDATE readings SET value = c.value, import_id = ?
        FROM (SELECT * FROM _cmp WHERE old_value IS NOT NULL AND old_value <> value) c
        WHERE readings.meter_id = c.meter_id AND readings.ts = c.ts""", [import_id])
    store.refresh_rollups("(SELECT meter_id, ts FROM _cmp WHERE old_value IS NULL OR old_value <> value)")
    new, unchanged, corrected = con.execute("""
        SELECT count(*) FILTER (WHERE old_value IS NULL), count(*) FILTER (WHERE old_value = value),
               count(*) FILTER (WHERE old_value <> value) FROM _cmp""").fetchone()
    return {"new": new, "unchanged": unchanged, "corrected": corrected}


def ingest_file(store: Store, path: str | Path, *, now: dt.datetime | None = None, force: bool = False,
                progress: Progress | None = None) -> ImportResult:
    """Import one file into ``store`` in one transaction. The park's meters must be synced first."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError(f"{path}: unsupported file type '{path.suffix}'; use .csv, .xlsx or .parquet")
    step = progress or (lambda stage, frac: None)
    now = now or dt.datetime.now(dt.UTC)
    checksum = file_checksum(path)
    result = ImportResult(source=path.name, checksum=checksum)
    earlier = store.find_import(checksum)
    if earlier is not None and not force:
        result.skipped_as_duplicate_of = earlier
        step("done", 1.0)
        return result
    con = store.con
    with store.transaction():
        import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchone()[0]
        result.import_id = import_id
        step("read", 0.05)
        reader(con, path)
        step("validate", 0.35)
        _validate(con, now)
        con.execute("CREATE OR REPLACE TEMP TABLE _new AS SELECT meter_id, ts, value * multiplier AS value "
                    "FROM _parsed WHERE reason IS NULL AND kind = 'interval'")
        n_reg = con.execute("SELECT count(*) FROM _parsed WHERE reason IS NULL AND kind = 'cumulative'").fetchone()[0]
        if n_reg:
            _derive_cumulative(con, import_id)
        step("merge", 0.6)
        counts = _merge(con, store, import_id, now)
        step("quarantine", 0.9)
        con.execute("""
            INSERT INTO quarantine
            SELECT ?, ?, line_no, reason, detail, raw FROM _parsed WHERE reason IS NOT NULL
            UNION ALL
            SELECT ?, ?, line_no, 'malformed_row', detail, raw FROM _malformed""",
                    [import_id, path.name, import_id, path.name])
        by_reason = dict(con.execute("""
            SELECT reason, count(*) FROM (SELECT reason FROM _parsed WHERE reason IS NOT NULL
                                          UNION ALL SELECT 'malformed_row' FROM _malformed) GROUP BY 1""").fetchall())
        rows_read = con.execute("SELECT (SELECT count(*) FROM _raw) + (SELECT count(*) FROM _malformed)").fetchone()[0]
        # register rows count by their own comparison (a first register yields no reading)
        reg_counts = (0, 0, 0)
        if n_reg:
            reg_counts = con.execute("""
                SELECT count(*) FILTER (WHERE c.old_register IS NULL), count(*) FILTER (WHERE c.old_register = c.register),
                       count(*) FILTER (WHERE c.old_register <> c.register)
                FROM _reg_cmp c JOIN _parsed p USING (meter_id, ts) WHERE p.reason IS NULL""").fetchone()
            interval_counts = con.execute("""
                SELECT count(*) FILTER (WHERE c.old_value IS NULL), count(*) FILTER (WHERE c.old_value = c.value),
                       count(*) FILTER (WHERE c.old_value <> c.value)
                FROM _cmp c JOIN meters m USING (meter_id) WHERE m.kind = 'interval'""").fetchone()
            counts = dict(zip(("new", "unchanged", "corrected"), interval_counts, strict=True))
        result.rows_read = rows_read
        result.accepted = counts["new"] + reg_counts[0]
        result.unchanged = counts["unchanged"] + reg_counts[1]
        result.corrected = counts["corrected"] + reg_counts[2]
        result.rejected = sum(by_reason.values())
        result.rejected_by_reason = dict(sorted(by_reason.items()))
        con.execute("""INSERT INTO imports VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?, 'complete', ?)""",
                    [import_id, path.name, checksum, now, result.rows_read, result.accepted, result.unchanged,
                     result.corrected, result.rejected, __version__])
        for t in ("_raw", "_malformed", "_parsed", "_dupkeys", "_new", "_cmp", "_unit_factors",
                  "_reg_new", "_reg_cmp", "_derived", "_reg_u"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        step("done", 1.0)
    return result
