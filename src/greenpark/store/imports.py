"""Imports family: the import log (``imports``) and the staging of an import's rows.

Staging tables (temporary, on the *staging connection*: the store's own for DuckDB, an
in-memory DuckDB for other engines, see :func:`staging`):

- ``_raw(line_no, <staged columns>, raw)``: every row read, as text;
- ``_malformed(line_no, raw, detail)``: lines that do not have the file's columns;
- ``_parsed``: every row of ``_raw`` with its parsed values and its reason code (NULL = valid).

The validation SQL (:func:`validate_readings`, :func:`validate_observations`) applies the reason
codes of :data:`greenpark.ingest.validate.REASONS`; the limits they compare with come in as
Arrow tables from :mod:`greenpark.ingest.validate`.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from greenpark import __version__

_STAGING = ("_raw", "_malformed", "_parsed", "_dupkeys", "_new", "_cmp", "_unit_factors", "_reg_new", "_reg_cmp",
            "_derived", "_reg_u", "_limits", "_rejected", "_rejects", "_rejects_scan")


# -- the import log -----------------------------------------------------------------------------
def _rows(cur) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def next_import_id(con) -> int:
    return con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][0]


def record_import(con, import_id: int, source: str, checksum: str, started: dt.datetime, rows_read: int,
                  accepted: int, unchanged: int, corrected: int, rejected: int) -> None:
    con.execute("INSERT INTO imports VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?, 'complete', ?)",
                [import_id, source, checksum, started, rows_read, accepted, unchanged, corrected, rejected,
                 __version__])


def find_import(con, checksum: str) -> int | None:
    """The first complete import of these bytes, or None."""
    return con.execute("SELECT min(import_id) FROM imports WHERE checksum = ? AND status = 'complete'",
                       [checksum]).fetchall()[0][0]


def imports_of(con, checksum: str) -> list[int]:
    """Every complete import of these bytes, oldest first."""
    return [r[0] for r in con.execute("SELECT import_id FROM imports WHERE checksum = ? AND status = 'complete' "
                                      "ORDER BY import_id", [checksum]).fetchall()]


def list_imports(con, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Imports, newest first."""
    return _rows(con.execute("SELECT * FROM imports ORDER BY import_id DESC LIMIT ? OFFSET ?", [limit, offset]))


def get_import(con, import_id: int) -> dict[str, Any] | None:
    """One import with its quarantined rows counted by reason (``rejected_by_reason``), or None."""
    rows = _rows(con.execute("SELECT * FROM imports WHERE import_id = ?", [import_id]))
    if not rows:
        return None
    by_reason = dict(con.execute("SELECT reason, count(*) FROM quarantine WHERE import_id = ? GROUP BY 1 ORDER BY 1",
                                 [import_id]).fetchall())
    return {**rows[0], "rejected_by_reason": by_reason}


# -- the staging connection ----------------------------------------------------------------------
@contextmanager
def staging(store):
    """The connection that reads and validates the rows of an import (tables _raw, _malformed,
    _parsed): the store's own (DuckDB), or for a store on another engine (PostgreSQL) an in-memory
    DuckDB with copies of the park's meters and stations, so that every engine reads and validates
    with the same readers, casts, reasons and line numbers. The merge runs in the store."""
    if store.engine == "duckdb":
        yield store.con
        return
    with staging_copy(store.con, store.timezone) as local:
        yield local


@contextmanager
def staging_copy(con, timezone: str):
    """An in-memory DuckDB with copies of the meters and stations read through ``con`` (any
    engine's connection or read cursor): an import can be read and validated there without the
    store's writing connection (:func:`greenpark.ingest.prepare_file`)."""
    local = duckdb.connect()
    try:
        local.execute(f"SET TimeZone = '{timezone}'")
        for t in ("meters", "stations"):
            q = f"SELECT * FROM {t}"
            rows = con.sql(q) if isinstance(con, duckdb.DuckDBPyConnection) else con.execute(q)
            local.register("_gp_copy", rows.to_arrow_table())
            local.execute(f"CREATE TABLE {t} AS SELECT * FROM _gp_copy")
            local.unregister("_gp_copy")
        yield local
    finally:
        local.close()


def staged_tables(stage, tables: tuple[str, ...] = ("_parsed", "_malformed")) -> dict[str, pa.Table]:
    """The staged tables of ``stage`` as Arrow tables (to be loaded into the store by :func:`load_staged`)."""
    return {t: stage.sql(f"SELECT * FROM {t}").to_arrow_table() for t in tables}


def load_staged(con, tables: dict[str, pa.Table]) -> None:
    """Staged tables (from :func:`staged_tables`) into temporary tables of the store's session."""
    for name, data in tables.items():
        if isinstance(con, duckdb.DuckDBPyConnection):
            con.register("_gp_staged", data)
            try:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _gp_staged")
            finally:
                con.unregister("_gp_staged")
        else:
            con.register(name, data)


def ship(stage, con, tables: tuple[str, ...] = ("_parsed", "_malformed")) -> None:
    """Staged tables from the staging connection into the store's session (no-op when they are one)."""
    if stage is con:
        return
    for t in tables:
        con.register(t, stage.sql(f"SELECT * FROM {t}").to_arrow_table())


def drop_staging(con) -> None:
    for t in _STAGING:
        con.execute(f"DROP TABLE IF EXISTS {t}")


def _select_list(staged: dict[str, str], required: tuple[str, ...], optional: tuple[str, ...],
                 col: dict[str, str], line_no: str) -> str:
    """SELECT list that turns the file's columns (``col``: canonical -> source column) into _raw."""
    parts = [f"{line_no} AS line_no"]
    for canon, name in staged.items():
        if canon in col:
            expr = f"trim({col[canon]})"
            parts.append(f"nullif({expr}, '') AS {name}" if canon == "unit" else f"{expr} AS {name}")
        else:
            parts.append(f"NULL::VARCHAR AS {name}")
    fields = ", ".join(f"coalesce({col[c]}, '')" for c in (*required, *optional) if c in col)
    parts.append(f"concat_ws(',', {fields}) AS raw")
    return ", ".join(parts)


def stage_csv(con, path: str, n_columns: int, staged: dict[str, str], required: tuple[str, ...],
              optional: tuple[str, ...], col: dict[str, str], max_line_bytes: int, *, delimiter: str = ",",
              line_offset: int = 0) -> None:
    """_raw and _malformed from a CSV file whose header has ``n_columns`` columns (all text);
    ``line_offset``: lines of the original file above this one's header (titles a transcoding dropped)."""
    spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_columns))
    p = str(path).replace("'", "''")
    delim = {",": ",", ";": ";", "\t": "\\t", "|": "|"}[delimiter]
    # DuckDB appends to an existing rejects table: the lines an earlier import on this connection
    # rejected (a server's writer, a demo) would be quarantined again in this one
    con.execute("DROP TABLE IF EXISTS _rejects")
    con.execute("DROP TABLE IF EXISTS _rejects_scan")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _raw AS
        SELECT {_select_list(staged, required, optional, col, "row_number() OVER () + 1")}
        FROM read_csv('{p}', header=true, auto_detect=false, delim='{delim}', quote='"', escape='"',
                      columns={{{spec}}}, store_rejects=true, max_line_size={int(max_line_bytes)},
                      rejects_table='_rejects', rejects_scan='_rejects_scan')""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _malformed AS
        SELECT DISTINCT ON (line) line AS line_no, left(csv_line, 1000) AS raw,
               error_type || ': ' || left(error_message, 300) AS detail
        FROM _rejects ORDER BY line""")
    if con.execute("SELECT count(*) FROM _malformed").fetchall()[0][0]:
        # rows read are numbered in file order; the k-th of them is on the k-th line not rejected
        # (an anti join on sorted line numbers: linear, whatever the number of rejected lines)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _raw AS
            WITH lines AS (
                SELECT l, row_number() OVER (ORDER BY l) + 1 AS k
                FROM range(2, (SELECT count(*) FROM _raw) + (SELECT count(*) FROM _malformed) + 2) t(l)
                ANTI JOIN _malformed m ON m.line_no = t.l)
            SELECT lines.l AS line_no, _raw.* EXCLUDE (line_no) FROM _raw JOIN lines ON lines.k = _raw.line_no""")
    if line_offset:
        con.execute(f"UPDATE _raw SET line_no = line_no + {int(line_offset)}")
        con.execute(f"UPDATE _malformed SET line_no = line_no + {int(line_offset)}")


def annotate_malformed(con, notes: pa.Table) -> None:
    """Set the raw line and detail of malformed lines from ``notes(line_no, raw, detail)``."""
    con.register("_gp_notes", notes)
    try:
        con.execute("UPDATE _malformed SET raw = n.raw, detail = n.detail FROM _gp_notes n "
                    "WHERE _malformed.line_no = n.line_no")
    finally:
        con.unregister("_gp_notes")


def stage_arrow(con, table: pa.Table, staged: dict[str, str], required: tuple[str, ...],
                optional: tuple[str, ...], col: dict[str, str], lines: pa.Array | None = None) -> None:
    """_raw (row i on line i + 2, or on ``lines[i]``) and an empty _malformed from an Arrow table
    of text columns c0..cn."""
    data = table.append_column("_line", lines if lines is not None else pa.array(range(2, len(table) + 2), pa.int64()))
    con.register("staged", data)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _raw AS SELECT "
                f"{_select_list(staged, required, optional, col, '_line')} FROM staged")
    con.unregister("staged")
    con.execute("CREATE OR REPLACE TEMP TABLE _malformed AS SELECT 0::BIGINT AS line_no, ''::VARCHAR AS raw, "
                "''::VARCHAR AS detail WHERE false")


def add_malformed(con, rows: pa.Table) -> None:
    """Add ``rows(line_no, raw, detail)`` to _malformed (rows a reader set aside)."""
    con.register("_gp_bad", rows)
    try:
        con.execute("INSERT INTO _malformed SELECT line_no, raw, detail FROM _gp_bad")
    finally:
        con.unregister("_gp_bad")


def apply_profile(con, *, meters: pa.Table, timestamp_format: str | None, decimal: str, thousands: str,
                  unit: str | None) -> None:
    """An import profile's rewriting of the staged meter rows of _raw, in one statement: meter
    names -> meter ids (``meters(name, meter_id)``), timestamps in ``timestamp_format`` -> ISO text,
    values with the profile's thousands and decimal marks -> plain numbers, a missing unit -> ``unit``."""
    value = "value_text"
    if thousands not in (",", ""):
        value = f"replace({value}, {_lit(thousands)}, '')"
    if decimal == ",":
        value = f"replace({value}, ',', '.')"
    ts = "ts_text"
    if timestamp_format:
        ts = (f"coalesce(strftime(try_strptime(trim(ts_text), {_lit(timestamp_format)}), '%Y-%m-%dT%H:%M:%S'), "
              "ts_text)")
    con.register("_gp_names", meters)
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _raw AS
            SELECT r.line_no, coalesce(n.meter_id, r.meter_id) AS meter_id, {ts} AS ts_text,
                   {value} AS value_text, coalesce(r.unit, {_lit(unit) if unit else 'NULL'}) AS unit, r.raw
            FROM _raw r LEFT JOIN (SELECT DISTINCT ON (name) name, meter_id FROM _gp_names) n ON n.name = r.meter_id""")
    finally:
        con.unregister("_gp_names")


def iso_timestamps(texts: pa.Array) -> pa.Array:
    """Timestamp texts with the period labels and compact layouts the validation reads
    (2025/01/01 00:15, 2025年3月1日, 202501 ...) rewritten as ISO text (naive: park time); others as they are."""
    con = duckdb.connect()
    try:
        con.register("_gp_ts", pa.table({"t": texts}))
        return con.sql(
            "SELECT CASE WHEN regexp_matches(trim(t), '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$') THEN t "
            "ELSE coalesce(strftime(TRY_CAST(trim(t) AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S'), strftime(try_strptime(trim("
            + _FULLWIDTH.format(x="t") + "), " + _LABELS + "), '%Y-%m-%dT%H:%M:%S'), t) END AS t "
            "FROM _gp_ts").to_arrow_table().column("t").combine_chunks()
    finally:
        con.close()


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- validation ---------------------------------------------------------------------------------
def meter_unit_pairs(con) -> list[tuple[str, str, str]]:
    """(unit of the row or the meter, the meter's unit, its carrier) of the staged meter rows."""
    return con.execute("""
        SELECT DISTINCT coalesce(r.unit, m.unit) AS from_unit, m.unit AS to_unit, m.carrier
        FROM _raw r JOIN meters m USING (meter_id)""").fetchall()


def meters_of_park(con) -> list[tuple[str, str, str, str, float]]:
    """(meter_id, carrier, unit, kind, multiplier) of every meter."""
    return con.execute("SELECT meter_id, carrier, unit, kind, multiplier FROM meters").fetchall()


def station_unit_pairs(con, params: pa.Table) -> list[tuple[str, str]]:
    """(unit of the row or the parameter, the parameter's unit) of the staged station rows;
    ``params(kind, parameter, unit, allow_negative, lo, hi)``."""
    con.register("_gp_params", params)
    try:
        return con.execute("""
            SELECT DISTINCT coalesce(r.unit, p.unit), p.unit FROM _raw r JOIN stations s USING (station_id)
            JOIN _gp_params p ON p.kind = s.kind AND p.name = lower(trim(r.parameter))""").fetchall()
    finally:
        con.unregister("_gp_params")


#: the UTC instant of a staged row's timestamp text; NULL when it is no date-time or not finite
#: (DuckDB reads 'infinity', which is no instant and which PostgreSQL's COPY refuses)
#: full-width digits, marks and spaces of Chinese input methods -> ASCII (０-９ ， ． － ＋ ： ／, ideographic
#: and no-break spaces)
_FULLWIDTH = ("translate({x}, '０１２３４５６７８９，．－＋：／　 ', '0123456789,.-+:/  ')")
#: period labels and compact dates of Chinese exports and bills (park time): 2025-01, 2025年1月, 202501,
#: 2025/1, 2025年3月1日, 20250301, 2025/3/1 0:15, 2025年3月1日 8:00 ... (tried when the ISO cast fails)
_LABELS = ("['%Y-%m', '%Y年%m月', '%Y%m', '%Y/%m', '%Y年%m月%d日', '%Y%m%d', '%Y/%m/%d', '%Y.%m.%d', '%Y.%m', "
           "'%Y/%m/%d %H:%M', '%Y/%m/%d %H:%M:%S', '%Y年%m月%d日 %H:%M', '%Y年%m月%d日 %H:%M:%S', "
           "'%Y年%m月%d日%H时', '%Y%m%d %H:%M', '%Y%m%d%H%M', '%Y%m%d%H%M%S']")
_TS_TEXT = "coalesce(TRY_CAST(r.ts_text AS TIMESTAMPTZ), " \
           "CAST(try_strptime(trim(" + _FULLWIDTH.format(x="r.ts_text") + "), " + _LABELS + ") AS TIMESTAMPTZ))"
_PARSED_TS = (f"CASE WHEN isfinite({_TS_TEXT}) THEN timezone('UTC', {_TS_TEXT}) END")
#: a value's number: as it is, else with full-width digits, surrounding spaces, thousands
#: separators (1,234,008.0) and the leading apostrophe with which spreadsheets (and greenpark's own
#: CSV exports, jsonsafe.csv_safe) keep a number as text read; a comma that is not a thousands
#: separator is no number
_V = "ltrim(trim(" + _FULLWIDTH.format(x="value_text") + "), '''')"
_PARSED_VALUE = ("coalesce(TRY_CAST(value_text AS DOUBLE), TRY_CAST(CASE WHEN regexp_full_match(" + _V
                 + ", '[+-]?[0-9]{1,3}(,[0-9]{3})+(\\.[0-9]*)?') THEN replace(" + _V + ", ',', '') ELSE " + _V
                 + " END AS DOUBLE))")

_VALUE_TEXT = "'value ''' || left(coalesce(value_text, ''), 60) || ''''"
#: positive infinity (a DOUBLE) in SQL every engine reads
_INF = "CAST('Infinity' AS DOUBLE)"
#: a UTC wall clock as ISO 8601 text with Z (the letters outside the formats: Spark's patterns take no literals)
_ISO = "strftime({x}, '%Y-%m-%d') || 'T' || strftime({x}, '%H:%M:%S') || 'Z'"


def number_text(x: str) -> str:
    """SQL for a DOUBLE as short text (-2, 0.25, 1000000000, nan, inf), the same on every engine:
    the quarantine's details and raw rows read alike on DuckDB and Spark."""
    return (f"CASE WHEN isnan({x}) THEN 'nan' WHEN {x} = {_INF} THEN 'inf' WHEN {x} = -{_INF} THEN '-inf' "
            f"WHEN {x} = floor({x}) AND abs({x}) < 1e15 THEN CAST(CAST({x} AS BIGINT) AS STRING) "
            f"ELSE CAST({x} AS STRING) END")


def iso_utc(t: dt.datetime) -> str:
    """A UTC wall clock as the ISO text of the validation's details (2000-01-01T00:00:00Z)."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def readings_select(ts: str, v: str, keep: tuple[str, ...] = ()) -> str:
    """The validation of meter rows as one SELECT over ``r`` (``_raw``'s columns: line_no, meter_id,
    ts_text, value_text, unit, raw), written once for every engine: DuckDB staging
    (:func:`validate_readings`: ``ts`` and ``v`` parse the text) and the Spark lake
    (:meth:`greenpark.store.lake.Lake.ingest`: typed Parquet columns). ``ts``: the UTC instant,
    ``v``: the number in the row's unit. Joins the views ``meters``, ``_gp_uf`` and ``_gp_lim``;
    parameters (in order): earliest, now, earliest, now, earliest, earliest as ISO text
    (:func:`iso_utc`). Gives line_no,
    meter_id, ts (UTC; NULL before ``earliest``), kind, raw, value (in the meter's unit, before the
    multiplier), multiplier, reason and detail, and the columns of ``_raw`` named in ``keep``."""
    return """
        WITH p AS (
            SELECT r.*, """ + ts + """ AS ts, """ + v + """ AS v,
                   m.meter_id IS NOT NULL AS known, m.kind, m.multiplier, uf.factor AS unit_factor,
                   m.unit AS meter_unit, a.accepted, l.lo, l.hi
            FROM _raw r
            LEFT JOIN meters m ON m.meter_id = r.meter_id
            LEFT JOIN _gp_uf uf ON uf.from_unit = coalesce(r.unit, m.unit) AND uf.to_unit = m.unit
                               AND uf.carrier = m.carrier
            LEFT JOIN _gp_lim l ON l.meter_id = r.meter_id
            LEFT JOIN (SELECT DISTINCT to_unit, carrier, accepted FROM _gp_uf) a
                   ON a.to_unit = m.unit AND a.carrier = m.carrier),
        q AS (SELECT *, v * unit_factor * multiplier AS stored FROM p)
        SELECT line_no, meter_id, CASE WHEN ts >= ? THEN ts END AS ts, kind, raw,
               v * unit_factor AS value,        -- in the meter's unit, before multiplier
               multiplier,
               CASE WHEN NOT known THEN 'unknown_meter'
                    WHEN ts IS NULL THEN 'unparsable_timestamp'
                    WHEN v IS NULL OR isnan(v) OR abs(v) = """ + _INF + """ THEN 'unparsable_value'
                    WHEN unit_factor IS NULL THEN 'unit_not_convertible'
                    WHEN ts > ? THEN 'timestamp_in_future'
                    WHEN ts < ? THEN 'timestamp_too_early'
                    WHEN kind = 'interval' AND v < 0 THEN 'negative_consumption'
                    WHEN abs(stored) = """ + _INF + """ OR stored > hi OR stored < lo THEN 'value_out_of_range'
               END AS reason,
               CASE WHEN NOT known THEN 'meter ''' || left(coalesce(meter_id, ''), 60) || ''''
                    WHEN ts IS NULL THEN 'timestamp ''' || left(coalesce(ts_text, ''), 60) || ''''
                    WHEN v IS NULL OR isnan(v) OR abs(v) = """ + _INF + """ THEN """ + _VALUE_TEXT + """
                    WHEN unit_factor IS NULL THEN 'unit ''' || left(coalesce(unit, ''), 60) || ''' (meter unit '
                         || coalesce(meter_unit, '') || '; accepted: ' || coalesce(accepted, '') || ')'
                    WHEN ts > ? THEN 'timestamp ' || """ + _ISO.format(x="ts") + """
                    WHEN ts < ? THEN 'timestamp ' || """ + _ISO.format(x="ts") + """ || ' is before '
                         || ?
                    WHEN kind = 'interval' AND v < 0 THEN 'value ' || value_text
                    WHEN abs(stored) = """ + _INF + """ OR stored > hi OR stored < lo THEN """ + _VALUE_TEXT + """
                         || ' outside ' || coalesce(""" + number_text("lo") + """, '-inf') || ' .. '
                         || coalesce(""" + number_text("hi") + """, 'inf') || ' (meter unit, after multiplier)'
               END AS detail""" + "".join(f", {c}" for c in keep) + """
        FROM q"""


def validate_readings(con, now: dt.datetime, earliest: dt.datetime, unit_factors: pa.Table,
                      limits: pa.Table) -> None:
    """_parsed from _raw (meter rows): parsed timestamp (UTC; NULL before ``earliest``, which
    every engine can hold), value in the meter's unit before the multiplier, and the reason code
    (:func:`readings_select`). ``unit_factors(from_unit, to_unit, carrier, factor, accepted)``
    (``accepted``: the spellings a meter of that unit and carrier accepts, named in the detail);
    ``limits(meter_id, lo, hi)``: plausible range of a stored value (after unit and multiplier;
    for registers of the register times multiplier), NULL = no bound."""
    con.register("_gp_uf", unit_factors)
    con.register("_gp_lim", limits)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _parsed AS " + readings_select(_PARSED_TS, _PARSED_VALUE),
                    [earliest, now, earliest, now, earliest, iso_utc(earliest)])
    finally:
        con.unregister("_gp_uf")
        con.unregister("_gp_lim")
    mark_duplicates(con, ("meter_id", "ts"))


def validate_observations(con, now: dt.datetime, earliest: dt.datetime, params: pa.Table,
                          unit_factors: pa.Table) -> None:
    """_parsed from _raw (station rows): parsed timestamp, value in the parameter's unit and the
    reason code. ``params(kind, parameter, unit, allow_negative, lo, hi)`` (range in the
    parameter's unit, NULL = no bound); ``unit_factors(from_unit, to_unit, scale, offset)``."""
    con.register("_gp_params", params)
    con.register("_gp_uf", unit_factors)
    try:
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _parsed AS
            WITH p AS (
                SELECT r.*, coalesce(gp.parameter, lower(r.parameter)) AS param,
                       """ + _PARSED_TS + """ AS ts,
                       """ + _PARSED_VALUE + """ AS v, s.station_id IS NOT NULL AS known, s.kind AS skind,
                       gp.parameter IS NOT NULL AS valid_param, gp.allow_negative, gp.lo, gp.hi, uf.scale, uf."offset",
                       gk.article, gk.valid
                FROM _raw r
                LEFT JOIN stations s USING (station_id)
                LEFT JOIN (SELECT DISTINCT kind, article, valid FROM _gp_params) gk ON gk.kind = s.kind
                LEFT JOIN _gp_params gp ON gp.kind = s.kind AND gp.name = lower(trim(r.parameter))
                LEFT JOIN _gp_uf uf ON uf.from_unit = coalesce(r.unit, gp.unit) AND uf.to_unit = gp.unit),
            q AS (SELECT *, v * scale + "offset" AS conv FROM p)
            SELECT line_no, station_id, CASE WHEN ts >= ? THEN ts END AS ts, param AS parameter, raw,
                   conv AS value,
                   CASE WHEN NOT known THEN 'unknown_station'
                        WHEN NOT valid_param THEN 'unknown_parameter'
                        WHEN ts IS NULL THEN 'unparsable_timestamp'
                        WHEN v IS NULL OR isnan(v) OR isinf(v) THEN 'unparsable_value'
                        WHEN scale IS NULL THEN 'unit_not_convertible'
                        WHEN ts > ? THEN 'timestamp_in_future'
                        WHEN ts < ? THEN 'timestamp_too_early'
                        WHEN NOT allow_negative AND v < 0 THEN 'negative_value'
                        WHEN isinf(conv) OR conv > hi OR conv < lo THEN 'value_out_of_range'
                   END AS reason,
                   CASE WHEN NOT known THEN 'station ''' || left(coalesce(station_id, ''), 60) || ''''
                        WHEN NOT valid_param THEN 'parameter ''' || left(coalesce(parameter, ''), 60) || ''' for ' || article
                             || ' ' || skind || ' station; valid: ' || valid
                        WHEN ts IS NULL THEN 'timestamp ''' || left(coalesce(ts_text, ''), 60) || ''''
                        WHEN v IS NULL OR isnan(v) OR isinf(v) THEN """ + _VALUE_TEXT + """
                        WHEN scale IS NULL THEN 'unit ''' || left(coalesce(unit, ''), 60) || ''''
                        WHEN ts > ? THEN 'timestamp ' || strftime(ts, '%Y-%m-%dT%H:%M:%SZ')
                        WHEN ts < ? THEN 'timestamp ' || strftime(ts, '%Y-%m-%dT%H:%M:%SZ') || ' is before '
                             || strftime(?::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ')
                        WHEN NOT allow_negative AND v < 0 THEN 'value ' || value_text
                        WHEN isinf(conv) OR conv > hi OR conv < lo THEN """ + _VALUE_TEXT + """
                             || ' outside ' || coalesce(""" + number_text("lo") + """, '-inf') || ' .. '
                             || coalesce(""" + number_text("hi") + """, 'inf') || ' (' || param || ')'
                   END AS detail
            FROM q""", [earliest, now, earliest, now, earliest, earliest])
    finally:
        con.unregister("_gp_params")
        con.unregister("_gp_uf")
    mark_duplicates(con, ("station_id", "ts", "parameter"))


def mark_duplicates(con, keys: tuple[str, ...]) -> None:
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


def rows_read(con) -> int:
    """Rows of the staged import: parsed plus malformed (_parsed has one row per row read)."""
    return con.execute("SELECT (SELECT count(*) FROM _parsed) + (SELECT count(*) FROM _malformed)").fetchall()[0][0]
