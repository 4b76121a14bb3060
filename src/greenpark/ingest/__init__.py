"""Import of meter readings from files (CSV, Excel .xlsx, Parquet) through one validating path.

Columns: ``meter_id, timestamp, value`` and an optional ``unit``. Timestamps carry an offset
(``2025-01-01T00:15:00+08:00``) or are naive and read in park time. Values are converted into the
meter's unit with pint and multiplied by the meter's multiplier (CT ratio etc.). Cumulative
registers become interval consumption (with rollover and explicit replacement events).

Every row ends in exactly one place: a new reading, an unchanged one, a correction (the new value
wins, the old one goes to ``readings_history``) or the quarantine with a stable reason code (see
:data:`REASONS`). An import is one transaction; re-importing a file whose checksum was already
imported changes nothing.

Layer: ingest. May import store, core, park, reference and the base modules; never services
or the edges (tests/test_layers.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import blake3
import duckdb
import pyarrow as pa

from greenpark import __version__, reference
from greenpark.core import units
from greenpark.errors import GreenparkError, InputError
from greenpark.store import Store, fixed_utc_offset

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
    "unknown_station": "station_id is not a station in park.toml",
    "unknown_parameter": "the parameter is not one this kind of station reports (station_parameters.csv)",
    "negative_value": "a negative concentration or other quantity that cannot be below zero",
}

REQUIRED = ("meter_id", "timestamp", "value")
OPTIONAL = ("unit",)

Progress = Callable[[str, float], None]
"""progress(stage, fraction_done) — called as an import moves through its stages."""


class IngestError(InputError, ValueError):
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
    #: "bulk" (clean CSV straight into new hours) or "general" (row-level validation and merge)
    path: str = "general"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def file_checksum(path: Path) -> str:
    return checksum_and_lines(path)[0]


def checksum_and_lines(path: Path, count_lines: bool = True) -> tuple[str, int | None]:
    """Checksum of the file's bytes and its number of lines (a last line without newline counts).

    The checksum is BLAKE3 (a cryptographic hash, about 3x faster than SHA-256 here, which matters
    beside a bulk import), written as ``blake3:<64 hex digits>``.
    """
    h = blake3.blake3()
    lines, last = 0, b"\n"
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
            if count_lines:
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    return "blake3:" + h.hexdigest(), (lines + (last != b"\n")) if count_lines else None


# -- reading: every format becomes _raw(line_no, meter_id, ts_text, value_text, unit, raw) ------
@dataclass(frozen=True)
class Layout:
    """The columns of one kind of input file and the names they get in the staging table ``_raw``."""

    kind: str                      # meter | station
    required: tuple[str, ...]
    optional: tuple[str, ...]
    staged: dict[str, str]         # canonical column -> _raw column
    aliases: dict[str, str] = field(default_factory=dict)  # other header names -> canonical

    def columns(self, names: list[str]) -> list[str]:
        return [self.aliases.get(n, n) for n in names]


METER_LAYOUT = Layout("meter", REQUIRED, OPTIONAL,
                      {"meter_id": "meter_id", "timestamp": "ts_text", "value": "value_text", "unit": "unit"})
STATION_LAYOUT = Layout("station", ("station_id", "timestamp", "parameter", "value"), ("unit",),
                        {"station_id": "station_id", "timestamp": "ts_text", "parameter": "parameter",
                         "value": "value_text", "unit": "unit"},
                        aliases={"date": "timestamp", "section_id": "station_id", "pollutant": "parameter"})


def _layout_for(names: list[str], source: str) -> Layout:
    """Meter readings (meter_id, ...) or station observations (station_id, ...), from the header."""
    names = [n.strip().lower() for n in names]
    layout = STATION_LAYOUT if any(STATION_LAYOUT.aliases.get(n, n) == "station_id" for n in names) else METER_LAYOUT
    cols = layout.columns(names)
    missing = [c for c in layout.required if c not in cols]
    if missing:
        raise IngestError(f"{source}: missing column(s) {', '.join(missing)}; the file needs columns "
                          f"{', '.join(layout.required)} (and optionally unit) for {layout.kind} data. "
                          f"Found: {', '.join(names) or 'none'}")
    return layout


def _staging_select(layout: Layout, col: dict[str, str], line_no: str) -> str:
    """SELECT list that turns the file's columns (``col``: canonical -> source column) into _raw."""
    parts = [f"{line_no} AS line_no"]
    for canon, name in layout.staged.items():
        if canon in col:
            expr = f"trim({col[canon]})"
            parts.append(f"nullif({expr}, '') AS {name}" if canon == "unit" else f"{expr} AS {name}")
        else:
            parts.append(f"NULL::VARCHAR AS {name}")
    fields = ", ".join(f"coalesce({col[c]}, '')" for c in (*layout.required, *layout.optional) if c in col)
    parts.append(f"concat_ws(',', {fields}) AS raw")
    return ", ".join(parts)


def _csv_header(path: Path) -> list[str]:
    import csv

    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return [c.strip().lower() for c in next(csv.reader(fh), None) or []]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise IngestError(f"{path}: not a readable UTF-8 CSV file ({exc})") from None


def _read_csv(con, path: Path) -> Layout:
    header = _csv_header(path)
    layout = _layout_for(header, str(path))
    # positional column names: the header is ours to interpret, not the sniffer's
    spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
    col = {name: f"c{i}" for i, name in enumerate(layout.columns(header))}
    p = str(path).replace("'", "''")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _raw AS
        SELECT {_staging_select(layout, col, "row_number() OVER () + 1")}
        FROM read_csv('{p}', header=true, auto_detect=false, delim=',', quote='"', escape='"',
                      columns={{{spec}}}, store_rejects=true,
                      rejects_table='_rejects', rejects_scan='_rejects_scan')""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _malformed AS
        SELECT DISTINCT ON (line) line AS line_no, csv_line AS raw, error_type || ': ' || error_message AS detail
        FROM _rejects ORDER BY line""")
    if con.execute("SELECT count(*) FROM _malformed").fetchall()[0][0]:
        # rows read are numbered in file order; the k-th of them is on the k-th line not rejected
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _raw AS
            WITH lines AS (
                SELECT l, row_number() OVER (ORDER BY l) + 1 AS k
                FROM range(2, (SELECT count(*) FROM _raw) + (SELECT count(*) FROM _malformed) + 2) t(l)
                WHERE l NOT IN (SELECT line_no FROM _malformed))
            SELECT lines.l AS line_no, _raw.* EXCLUDE (line_no) FROM _raw JOIN lines ON lines.k = _raw.line_no""")
    return layout


def _read_arrow(con, table: pa.Table, source: str) -> Layout:
    names = [c.strip().lower() for c in table.column_names]
    layout = _layout_for(names, source)
    cols = layout.columns(names)
    staged = pa.table({**{f"c{i}": table.column(i).cast(pa.string()) for i in range(len(cols))},
                       "_line": pa.array(range(2, len(table) + 2), pa.int64())})
    col = {name: f"c{i}" for i, name in enumerate(cols)}
    con.register("staged", staged)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _raw AS SELECT {_staging_select(layout, col, '_line')} FROM staged")
    con.unregister("staged")
    con.execute("CREATE OR REPLACE TEMP TABLE _malformed AS SELECT 0::BIGINT AS line_no, ''::VARCHAR AS raw, "
                "''::VARCHAR AS detail WHERE false")
    return layout


def _read_parquet(con, path: Path) -> Layout:
    import pyarrow.compute as pc
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
            col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S%z" if col.type.tz else "%Y-%m-%dT%H:%M:%S")
        elif pa.types.is_date(col.type):
            col = pc.strftime(col, format="%Y-%m-%d")
        cols[name] = col
    return _read_arrow(con, pa.table(cols), str(path))


def _read_xlsx(con, path: Path) -> Layout:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise IngestError(f"{path}: not a readable Excel .xlsx file ({exc})") from None
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise IngestError(f"{path}: the first sheet is empty")
    names = [str(h).strip().lower() if h is not None else f"_blank{i}" for i, h in enumerate(header)]

    def text(v):
        if v is None:
            return None
        return v.isoformat() if isinstance(v, dt.datetime | dt.date) else str(v)

    data = [[text(v) for v in r] for r in rows]  # the sheet's cells, row by row (openpyxl has no columnar API)
    wb.close()
    columns = {n: pa.array([r[i] if i < len(r) else None for r in data], pa.string()) for i, n in enumerate(names)}
    return _read_arrow(con, pa.table(columns), str(path))


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
    uf = pa.Table.from_pylist(rows, schema=pa.schema([("from_unit", pa.string()), ("to_unit", pa.string()),
                                                      ("factor", pa.float64())]))
    con.register("uf", uf)
    con.execute("CREATE OR REPLACE TEMP TABLE _unit_factors AS SELECT * FROM uf")
    con.unregister("uf")


def _validate(con, now: dt.datetime) -> None:
    """_parsed: every raw row with its parsed values and its reason code (NULL = valid so far)."""
    _unit_factors(con)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _parsed AS
        WITH p AS (
            SELECT r.*, timezone('UTC', TRY_CAST(r.ts_text AS TIMESTAMPTZ)) AS ts, TRY_CAST(r.value_text AS DOUBLE) AS v,
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
                    WHEN ts > ? THEN 'timestamp ' || strftime(ts, '%Y-%m-%dT%H:%M:%SZ')
                    WHEN kind = 'interval' AND v < 0 THEN 'value ' || value_text
               END AS detail
        FROM p""", [now, now])
    _mark_duplicates(con, ("meter_id", "ts"))


def _mark_duplicates(con, keys: tuple[str, ...]) -> None:
    """Quarantine repeated keys among the valid rows of _parsed as duplicate_in_file.

    Identical copies keep the first line; conflicting values are all quarantined (the file does not
    say which one is right).
    """
    k = ", ".join(keys)
    on = " AND ".join(f"_parsed.{c} = d.{c}" for c in keys)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _dupkeys AS
        SELECT {k}, min(line_no) AS first_line, min(value) <> max(value) AS conflicting, count(*) AS n
        FROM _parsed WHERE reason IS NULL GROUP BY {k} HAVING count(*) > 1""")
    con.execute(f"""
        UPDATE _parsed SET reason = 'duplicate_in_file',
               detail = CASE WHEN d.conflicting THEN 'conflicting values for the same key (' || d.n
                                 || ' rows); none imported'
                             ELSE 'repeat of line ' || d.first_line END
        FROM _dupkeys d
        WHERE _parsed.reason IS NULL AND {on} AND (d.conflicting OR _parsed.line_no <> d.first_line)""")


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
    segs = pa.Table.from_pylist(rows, schema=pa.schema([
        ("meter_id", pa.string()), ("seg", pa.int64()), ("base", pa.float64()), ("offset", pa.float64())]))
    con.register("segs", segs)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _derived AS
        WITH e AS (
            SELECT u.meter_id, u.ts, u.multiplier, u.u - coalesce(g.base, 0) + coalesce(g."offset", 0) AS e
            FROM _reg_u u LEFT JOIN segs g ON g.meter_id = u.meter_id AND g.seg = u.seg)
        SELECT meter_id, ts, multiplier,
               e - max(e) OVER (PARTITION BY meter_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                 AS delta
        FROM e""")
    con.unregister("segs")
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
    counts = _merge_rows(con, "readings", "readings_history", ("meter_id", "ts"), import_id, now)
    if counts["new"] or counts["corrected"]:
        store.refresh_rollups("(SELECT meter_id, ts FROM _cmp WHERE old_value IS NULL OR old_value <> value)")
    return counts


def _merge_rows(con, target: str, history: str, keys: tuple[str, ...], import_id: int,
                now: dt.datetime) -> dict[str, int]:
    """Merge _new(keys..., value) into ``target``: new rows, unchanged ones, and corrections (the
    new value wins; the old one goes to ``history`` with when and from which import). Leaves the
    comparison in _cmp(keys..., value, old_value, old_import_id)."""
    span = con.execute("SELECT min(ts), max(ts) FROM _new").fetchall()[0]
    if span[0] is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _cmp AS SELECT {', '.join(keys)}, value, value AS old_value, "
                    "0::BIGINT AS old_import_id FROM _new WHERE false")
        return {"new": 0, "unchanged": 0, "corrected": 0}
    k = ", ".join(keys)
    entity = keys[0]
    on = " AND ".join(f"{target}.{c} = c.{c}" for c in keys)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _cmp AS
        SELECT {", ".join(f"n.{c}" for c in keys)}, n.value, o.value AS old_value, o.import_id AS old_import_id
        FROM _new n LEFT JOIN (
            SELECT * FROM {target} WHERE ts BETWEEN ? AND ? AND {entity} IN (SELECT DISTINCT {entity} FROM _new)
        ) o USING ({k})""", list(span))
    con.execute(f"INSERT INTO {target} SELECT {k}, value, ? FROM _cmp WHERE old_value IS NULL", [import_id])
    con.execute(f"""
        INSERT INTO {history}
        SELECT {k}, old_value, old_import_id, value, ?, ? FROM _cmp
        WHERE old_value IS NOT NULL AND old_value <> value""", [import_id, now])
    con.execute(f"""
        UPDATE {target} SET value = c.value, import_id = ?
        FROM (SELECT * FROM _cmp WHERE old_value IS NOT NULL AND old_value <> value) c
        WHERE {on}""", [import_id])
    new, unchanged, corrected = con.execute("""
        SELECT count(*) FILTER (WHERE old_value IS NULL), count(*) FILTER (WHERE old_value = value),
               count(*) FILTER (WHERE old_value <> value) FROM _cmp""").fetchall()[0]
    return {"new": new, "unchanged": unchanged, "corrected": corrected}


def _validate_observations(con, now: dt.datetime) -> None:
    """_parsed for station files: every row with its parsed value (in the parameter's unit) and reason."""
    params = reference.load("station_parameters")
    # every accepted spelling (the parameter and its aliases, lower case) -> the parameter
    pt = pa.Table.from_pylist([{"kind": r["kind"], "name": name, "parameter": r["parameter"], "unit": r["unit"],
                                "allow_negative": r["allow_negative"]} for r in params.rows
                               for name in {r["parameter"], *(a.strip().lower() for a in r["aliases"].split(";") if a.strip())}])
    con.register("_gp_params", pt)
    kinds = sorted({r["kind"] for r in params.rows})
    con.register("_gp_kinds", pa.Table.from_pylist([
        {"kind": k, "article": "an" if k[0] in "aeiou" else "a",
         "valid": ", ".join(r["parameter"] for r in params.rows if r["kind"] == k)} for k in kinds]))
    pairs = con.execute("""
        SELECT DISTINCT coalesce(r.unit, p.unit), p.unit FROM _raw r JOIN stations s USING (station_id)
        JOIN _gp_params p ON p.kind = s.kind AND p.name = lower(trim(r.parameter))""").fetchall()
    rows = []
    for frm, to in pairs:
        try:
            scale, offset = units.conversion_affine(frm, to)
        except units.UnitError:
            scale = offset = None
        rows.append({"from_unit": frm, "to_unit": to, "scale": scale, "offset": offset})
    uf = pa.Table.from_pylist(rows, schema=pa.schema([("from_unit", pa.string()), ("to_unit", pa.string()),
                                                      ("scale", pa.float64()), ("offset", pa.float64())]))
    con.register("_gp_uf", uf)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _parsed AS
        WITH p AS (
            SELECT r.*, coalesce(gp.parameter, lower(r.parameter)) AS param,
                   timezone('UTC', TRY_CAST(r.ts_text AS TIMESTAMPTZ)) AS ts,
                   TRY_CAST(r.value_text AS DOUBLE) AS v, s.station_id IS NOT NULL AS known, s.kind AS skind,
                   gp.parameter IS NOT NULL AS valid_param, gp.allow_negative, uf.scale, uf."offset",
                   gk.article, gk.valid
            FROM _raw r
            LEFT JOIN stations s USING (station_id)
            LEFT JOIN _gp_kinds gk ON gk.kind = s.kind
            LEFT JOIN _gp_params gp ON gp.kind = s.kind AND gp.name = lower(trim(r.parameter))
            LEFT JOIN _gp_uf uf ON uf.from_unit = coalesce(r.unit, gp.unit) AND uf.to_unit = gp.unit)
        SELECT line_no, station_id, ts, param AS parameter, raw, v * scale + "offset" AS value,
               CASE WHEN NOT known THEN 'unknown_station'
                    WHEN NOT valid_param THEN 'unknown_parameter'
                    WHEN ts IS NULL THEN 'unparsable_timestamp'
                    WHEN v IS NULL OR isnan(v) OR isinf(v) THEN 'unparsable_value'
                    WHEN scale IS NULL THEN 'unit_not_convertible'
                    WHEN ts > ? THEN 'timestamp_in_future'
                    WHEN NOT allow_negative AND v < 0 THEN 'negative_value'
               END AS reason,
               CASE WHEN NOT known THEN 'station ''' || coalesce(station_id, '') || ''''
                    WHEN NOT valid_param THEN 'parameter ''' || coalesce(parameter, '') || ''' for ' || article
                         || ' ' || skind || ' station; valid: ' || valid
                    WHEN ts IS NULL THEN 'timestamp ''' || coalesce(ts_text, '') || ''''
                    WHEN v IS NULL OR isnan(v) OR isinf(v) THEN 'value ''' || coalesce(value_text, '') || ''''
                    WHEN scale IS NULL THEN 'unit ''' || coalesce(unit, '') || ''''
                    WHEN ts > ? THEN 'timestamp ' || strftime(ts, '%Y-%m-%dT%H:%M:%SZ')
                    WHEN NOT allow_negative AND v < 0 THEN 'value ' || value_text
               END AS detail
        FROM p""", [now, now])
    con.unregister("_gp_params")
    con.unregister("_gp_kinds")
    con.unregister("_gp_uf")
    _mark_duplicates(con, ("station_id", "ts", "parameter"))


_NAIVE_FORMATS = {  # layout of a naive timestamp -> strptime format for DuckDB's reader
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}": "%Y-%m-%dT%H:%M:%S",
    r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}": "%Y-%m-%d %H:%M:%S",
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}": "%Y-%m-%dT%H:%M",
    r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}": "%Y-%m-%d %H:%M",
}


def _naive_format(text: str) -> str | None:
    import re

    return next((f for pat, f in _NAIVE_FORMATS.items() if re.fullmatch(pat, text)), None)


class _Fallback(GreenparkError):
    """The fast CSV path does not apply to this file; the general path takes it."""


def _sql_list(values) -> str:
    return "[" + ", ".join(repr(float(v)) if isinstance(v, float) else f"'{v}'" for v in values) + "]"


def _csv_fast(con, store: Store, path: Path, import_id: int, now: dt.datetime) -> dict:
    """Bulk path for a clean CSV of interval readings into hours that hold no readings yet.

    Parses, converts and validates in DuckDB's CSV reader (meter ids as an ENUM of the park's
    meters, so an unknown meter is a parse reject with its line number), inserts straight into
    ``readings`` and builds the rollups from one aggregate. Raises :class:`_Fallback` (the caller
    rolls back and takes the general path) when any row would need more than that: a unit
    column, a cumulative meter, an empty/negative/future value, a possible duplicate, readings
    already stored in the same hours. Results are identical to the general path's.
    """
    import csv

    off = fixed_utc_offset(store.timezone)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = csv.reader(fh)
        header = [c.strip().lower() for c in next(rows, [])]
        first = next(rows, None)
    if off is None or first is None or "unit" in header or any(c not in (*REQUIRED, *OPTIONAL) for c in header):
        raise _Fallback("columns or time zone")
    # naive timestamps in one of the common layouts; anything else (an offset, another layout)
    # does not parse with the format and sends the file down the general path
    fmt = _naive_format(first[header.index("timestamp")].strip())
    if fmt is None:
        raise _Fallback("timestamp layout")
    meters = con.execute("SELECT meter_id, kind, multiplier, interval_label FROM meters ORDER BY meter_id").fetchall()
    if not meters or any("'" in m[0] for m in meters):
        raise _Fallback("meters")
    scaled = [m for m in meters if m[2] != 1.0]  # multipliers other than 1 (CT ratios): usually few
    mult = ("CASE c_m " + " ".join(f"WHEN '{m[0]}' THEN {m[2]!r}" for m in scaled) + " ELSE 1.0 END") if scaled else "1.0"
    types = {"meter_id": "VARCHAR", "timestamp": "TIMESTAMP", "value": "DOUBLE"}
    spec = ", ".join(f"'c{i}': '{types[c]}'" for i, c in enumerate(header))
    col = {c: f"c{i}" for i, c in enumerate(header)}
    p = str(path).replace("'", "''")
    con.execute("DROP TABLE IF EXISTS _rejects")
    con.execute("DROP TABLE IF EXISTS _rejects_scan")
    # every parsed row goes in; rows the bulk path cannot take are found below and send the whole
    # file down the general path (the transaction is rolled back): an empty value or timestamp
    # (NOT NULL), NaN or infinity (no decimal sum), a negative or future value, an unknown or a
    # cumulative meter, a possible duplicate, hours that already hold readings
    try:
        inserted = con.execute(f"""
        INSERT INTO readings
        SELECT c_m, c_t, {"c_v" if mult == "1.0" else f"c_v * {mult}"}, {import_id}
        FROM (SELECT {col['meter_id']} AS c_m, {col['timestamp']} - INTERVAL {int(off.total_seconds())} SECOND AS c_t,
                     {col['value']} AS c_v
              FROM read_csv('{p}', header=true, auto_detect=false, delim=',', quote='"', escape='"',
                            columns={{{spec}}}, timestampformat='{fmt}', store_rejects=true,
                            rejects_table='_rejects', rejects_scan='_rejects_scan'))""").fetchall()[0][0]
    except duckdb.ConstraintException:
        raise _Fallback("empty values or timestamps") from None
    rejected_lines, ts_rejects = con.execute(
        f"SELECT count(DISTINCT line), count(*) FILTER (WHERE column_name = '{col['timestamp']}') FROM _rejects").fetchall()[0]
    if ts_rejects:
        raise _Fallback("timestamps in other layouts or with offsets")
    labels = {m[3] for m in meters}
    if len(labels) == 1:  # one label for every meter: no join needed
        adj, source = ("1" if labels.pop() == "end" else "0"), "readings r"
    else:
        # LEFT JOIN: a meter that is not in park.toml still shows up (and sends the file down the general path)
        adj, source = "(CASE m.interval_label WHEN 'start' THEN 0 ELSE 1 END)", "readings r LEFT JOIN meters m USING (meter_id)"
    # the same hours as Store.hour_expr (fixed UTC offset), grouped on the integer hour number first
    us, step = int(off.total_seconds()) * 1_000_000, 3_600_000_000
    sql = f"""
        CREATE OR REPLACE TEMP TABLE _fast_hourly AS
        SELECT meter_id, make_timestamp(h * {step}) AS hour, quantity, n_readings, minutes, min_value, max_ts FROM (
            SELECT r.meter_id, (epoch_us(r.ts) + {us} - {adj}) // {step} AS h,
                   {store.HOUR_SUM_NARROW.format(x="r.value")} AS quantity, count(*) AS n_readings,
                   bit_count(bit_or(CAST(1 AS UBIGINT) << CAST((epoch_us(r.ts) // 60000000) % 60 AS UBIGINT))) AS minutes,
                   min(r.value) AS min_value, max(r.ts) AS max_ts
            FROM {source} WHERE r.import_id = ? GROUP BY r.meter_id, h)"""
    try:
        con.execute(sql, [import_id])
    except (duckdb.ConversionException, duckdb.OutOfRangeException):
        raise _Fallback("NaN, infinite or too large values (no exact decimal sum)") from None
    dup, bad = con.execute("SELECT count(*) FILTER (WHERE minutes < n_readings), "
                           "count(*) FILTER (WHERE min_value < 0 OR max_ts > ?) FROM _fast_hourly", [now]).fetchall()[0]
    if dup or bad:
        raise _Fallback("possible duplicates, negative or future values")
    other, = con.execute("""
        SELECT count(*) FROM (SELECT DISTINCT meter_id FROM _fast_hourly)
        WHERE meter_id NOT IN (SELECT meter_id FROM meters WHERE kind = 'interval')""").fetchall()[0]
    if other:
        raise _Fallback("unknown or cumulative meters")
    old, = con.execute("SELECT count(*) FROM rollup_hourly SEMI JOIN _fast_hourly USING (meter_id, hour)").fetchall()[0]
    if old:
        raise _Fallback("hours already hold readings")
    store.replace_rollups("_fast_hourly", "_fast_hourly", new_hours_only=True)
    con.execute("DROP TABLE IF EXISTS _fast_hourly")
    by_reason = {}
    if rejected_lines:
        reason = (f"CASE column_name WHEN '{col['meter_id']}' THEN 'unknown_meter' "
                  f"WHEN '{col['timestamp']}' THEN 'unparsable_timestamp' "
                  f"WHEN '{col['value']}' THEN 'unparsable_value' END")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _fast_q AS
            SELECT DISTINCT ON (line) line AS line_no,
                   CASE WHEN error_type = 'CAST' THEN {reason} ELSE 'malformed_row' END AS reason,
                   CASE WHEN error_type = 'CAST' THEN
                        CASE column_name WHEN '{col['meter_id']}' THEN 'meter' WHEN '{col['timestamp']}' THEN 'timestamp'
                             ELSE 'value' END || ' ''' || regexp_extract(error_message, 'string "([^"]*)"', 1) || ''''
                        ELSE error_type || ': ' || error_message END AS detail,
                   csv_line AS raw
            FROM _rejects ORDER BY line""")
        con.execute("INSERT INTO quarantine SELECT ?, ?, line_no, reason, detail, raw FROM _fast_q",
                    [import_id, path.name])
        by_reason = dict(con.execute("SELECT reason, count(*) FROM _fast_q GROUP BY 1").fetchall())
        con.execute("DROP TABLE _fast_q")
    return {"rows_read": inserted + rejected_lines, "new": inserted, "by_reason": by_reason}


def _finish(con, result: ImportResult, source: str, import_id: int, counts: dict[str, int],
            reg_counts: tuple[int, int, int], now: dt.datetime, step: Progress) -> ImportResult:
    """Quarantine the rejected rows, count outcomes, record the import, drop staging tables."""
    step("quarantine", 0.9)
    con.execute("""
        INSERT INTO quarantine
        SELECT ?, ?, line_no, reason, detail, raw FROM _parsed WHERE reason IS NOT NULL
        UNION ALL
        SELECT ?, ?, line_no, 'malformed_row', detail, raw FROM _malformed""",
                [import_id, source, import_id, source])
    by_reason = dict(con.execute("""
        SELECT reason, count(*) FROM (SELECT reason FROM _parsed WHERE reason IS NOT NULL
                                      UNION ALL SELECT 'malformed_row' FROM _malformed) GROUP BY 1""").fetchall())
    # (_parsed has one row per row read: its joins are to unique keys)
    result.rows_read = con.execute("SELECT (SELECT count(*) FROM _parsed) + (SELECT count(*) FROM _malformed)").fetchall()[0][0]
    result.accepted = counts["new"] + reg_counts[0]
    result.unchanged = counts["unchanged"] + reg_counts[1]
    result.corrected = counts["corrected"] + reg_counts[2]
    result.rejected = sum(by_reason.values())
    result.rejected_by_reason = dict(sorted(by_reason.items()))
    _record_import(con, result, now)
    for t in ("_raw", "_malformed", "_parsed", "_dupkeys", "_new", "_cmp", "_unit_factors",
              "_reg_new", "_reg_cmp", "_derived", "_reg_u"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    step("done", 1.0)
    return result


def _record_import(con, r: ImportResult, now: dt.datetime) -> None:
    con.execute("INSERT INTO imports VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?, 'complete', ?)",
                [r.import_id, r.source, r.checksum, now, r.rows_read, r.accepted, r.unchanged, r.corrected,
                 r.rejected, __version__])


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
    now_utc = now.astimezone(dt.UTC).replace(tzinfo=None)  # readings are stored as UTC wall clock
    con = store.con
    # the checksum is computed beside the database work (blake3 and DuckDB both release the GIL)
    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(checksum_and_lines, path, False)
        if reader is _read_csv and store.engine == "duckdb":
            step("bulk read", 0.05)
            con.execute("BEGIN TRANSACTION")
            try:
                import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][0]
                fast = _csv_fast(con, store, path, import_id, now_utc)
            except _Fallback:
                con.execute("ROLLBACK")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            else:
                checksum = digest.result()[0]
                earlier = store.find_import(checksum)
                if earlier is not None and not force:
                    con.execute("ROLLBACK")
                    step("done", 1.0)
                    return ImportResult(source=path.name, checksum=checksum, skipped_as_duplicate_of=earlier)
                result = ImportResult(source=path.name, checksum=checksum, import_id=import_id,
                                      rows_read=fast["rows_read"], accepted=fast["new"],
                                      rejected=sum(fast["by_reason"].values()),
                                      rejected_by_reason=dict(sorted(fast["by_reason"].items())), path="bulk")
                _record_import(con, result, now)
                con.execute("COMMIT")
                step("done", 1.0)
                return result
        checksum = digest.result()[0]
    result = ImportResult(source=path.name, checksum=checksum)
    earlier = store.find_import(checksum)
    if earlier is not None and not force:
        result.skipped_as_duplicate_of = earlier
        step("done", 1.0)
        return result
    with store.transaction():
        import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][0]
        result.import_id = import_id
        step("read", 0.05)
        with _staging(store) as stage:
            layout = reader(stage, path)
            return _ingest_staged(store, result, layout, now, step, stage)


@contextmanager
def _staging(store: Store):
    """The connection that reads and validates the rows of an import (tables _raw, _malformed,
    _parsed): the store's own (DuckDB), or for a store on another engine (PostgreSQL) an in-memory
    DuckDB with copies of the park's meters and stations, so that every engine reads and validates
    with the same readers, casts, reasons and line numbers. The merge runs in the store."""
    if store.engine == "duckdb":
        yield store.con
        return
    local = duckdb.connect()
    try:
        local.execute(f"SET TimeZone = '{store.timezone}'")
        for t in ("meters", "stations"):
            local.register("_gp_copy", store.con.execute(f"SELECT * FROM {t}").to_arrow_table())
            local.execute(f"CREATE TABLE {t} AS SELECT * FROM _gp_copy")
            local.unregister("_gp_copy")
        yield local
    finally:
        local.close()


def _ship(stage, con, tables: tuple[str, ...]) -> None:
    """Staged tables from the staging connection into the store's session (no-op when they are one)."""
    if stage is con:
        return
    for t in tables:
        con.register(t, stage.sql(f"SELECT * FROM {t}").to_arrow_table())


def _ingest_staged(store: Store, result: ImportResult, layout: Layout, now: dt.datetime,
                   step: Progress, stage=None) -> ImportResult:
    """Validate the rows staged in ``_raw``/``_malformed`` of ``stage`` (default: the store's
    connection) and merge them into the store (inside the caller's transaction)."""
    con = store.con
    stage = con if stage is None else stage
    import_id, source = result.import_id, result.source
    now_utc = now.astimezone(dt.UTC).replace(tzinfo=None)
    if layout.kind == "station":
        step("validate", 0.35)
        _validate_observations(stage, now_utc)
        _ship(stage, con, ("_parsed", "_malformed"))
        con.execute("CREATE OR REPLACE TEMP TABLE _new AS SELECT station_id, ts, parameter, value "
                    "FROM _parsed WHERE reason IS NULL")
        step("merge", 0.6)
        counts = _merge_rows(con, "observations", "observations_history", ("station_id", "ts", "parameter"),
                             import_id, now_utc)
        return _finish(con, result, source, import_id, counts, (0, 0, 0), now, step)
    step("validate", 0.35)
    _validate(stage, now_utc)
    _ship(stage, con, ("_parsed", "_malformed"))
    con.execute("CREATE OR REPLACE TEMP TABLE _new AS SELECT meter_id, ts, value * multiplier AS value "
                "FROM _parsed WHERE reason IS NULL AND kind = 'interval'")
    n_reg = con.execute("SELECT count(*) FROM _parsed WHERE reason IS NULL AND kind = 'cumulative'").fetchall()[0][0]
    if n_reg:
        _derive_cumulative(con, import_id)
    step("merge", 0.6)
    counts = _merge(con, store, import_id, now)
    # register rows count by their own comparison (a first register yields no reading)
    reg_counts = (0, 0, 0)
    if n_reg:
        reg_counts = con.execute("""
            SELECT count(*) FILTER (WHERE c.old_register IS NULL), count(*) FILTER (WHERE c.old_register = c.register),
                   count(*) FILTER (WHERE c.old_register <> c.register)
            FROM _reg_cmp c JOIN _parsed p USING (meter_id, ts) WHERE p.reason IS NULL""").fetchall()[0]
        interval_counts = con.execute("""
            SELECT count(*) FILTER (WHERE c.old_value IS NULL), count(*) FILTER (WHERE c.old_value = c.value),
                   count(*) FILTER (WHERE c.old_value <> c.value)
            FROM _cmp c JOIN meters m USING (meter_id) WHERE m.kind = 'interval'""").fetchall()[0]
        counts = dict(zip(("new", "unchanged", "corrected"), interval_counts, strict=True))
    return _finish(con, result, source, import_id, counts, reg_counts, now, step)


def table_checksum(table: pa.Table) -> str:
    """BLAKE3 of a table's Arrow IPC stream (the checksum recorded for rows that arrive as a table)."""
    import pyarrow.ipc as ipc

    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return "blake3:" + blake3.blake3(sink.getvalue()).hexdigest()


def ingest_table(store: Store, table: pa.Table, source: str, *, now: dt.datetime | None = None,
                 checksum: str | None = None, before_commit: Callable[[ImportResult], None] | None = None,
                 progress: Progress | None = None) -> ImportResult:
    """Import rows that arrive as an Arrow table (HTTP pushes, quarantine fixes) through the file path.

    ``table`` has the columns of a file (``meter_id, timestamp, value[, unit]`` or the station
    layout), any type (cast to text and validated like a file's cells); row i is recorded as line
    i + 2, as if under a header line. Rows are never skipped as a duplicate checksum (a re-sent
    batch counts as unchanged). ``before_commit(result)`` runs inside the import's transaction
    (e.g. to write an audit record atomically with the import). The park's meters must be synced.
    """
    step = progress or (lambda stage, frac: None)
    now = now or dt.datetime.now(dt.UTC)
    result = ImportResult(source=source, checksum=checksum or table_checksum(table))
    con = store.con
    with store.transaction():
        result.import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][0]
        step("read", 0.05)
        with _staging(store) as stage:
            layout = _read_arrow(stage, table, source)
            _ingest_staged(store, result, layout, now, step, stage)
        if before_commit is not None:
            before_commit(result)
    return result
