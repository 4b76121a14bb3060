"""Readings family: ``readings``, ``readings_history`` (corrections), ``registers``,
``meter_events`` and the ``rollup_*`` tables kept consistent with ``readings``.

Every function takes the :class:`~greenpark.store.Store` (or its connection) and runs inside the
caller's transaction (:meth:`Store.transaction`); none of them begins or ends one. Staging
tables of an import (``_parsed``, ``_new``, ``_cmp``...) are named in the docstrings.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from greenpark.errors import GreenparkError
from greenpark.store import Store, fixed_utc_offset

HOUR_SUM = Store.HOUR_SUM
HOUR_SUM_NARROW = Store.HOUR_SUM_NARROW


# -- park-time periods ---------------------------------------------------------------------------
def local_period(store: Store, ts_expr: str, adj_expr: str, unit: str) -> str:
    """SQL for the park-time period (hour or day) a reading belongs to.

    ``adj_expr`` is 1 microsecond for timestamps that label the *end* of their interval (the
    reading stamped 01:00 belongs to hour 00:00) and 0 for those that label the start.
    """
    off = fixed_utc_offset(store.timezone)
    step = {"hour": 3_600_000_000, "day": 86_400_000_000}[unit]
    if off is not None:  # no DST: integer arithmetic on epoch microseconds (fast)
        us = int(off.total_seconds()) * 1_000_000
        expr = f"make_timestamp(((epoch_us({ts_expr}) + {us} - {adj_expr}) // {step}) * {step})"
    else:
        expr = (f"date_trunc('{unit}', timezone('{store.timezone}', timezone('UTC', {ts_expr})) "
                f"- to_microseconds({adj_expr}))")
    return expr if unit == "hour" else f"CAST({expr} AS DATE)"


def hour_expr(store: Store, ts: str, label: str) -> str:
    """SQL for the park-time hour of a reading; ``label`` is an SQL expression 'end'/'start'."""
    return local_period(store, ts, f"(CASE {label} WHEN 'end' THEN 1 ELSE 0 END)", "hour")


# -- rollups -------------------------------------------------------------------------------------
def refresh_rollups(store: Store, touched: str) -> None:
    """Recompute the rollups for the readings named by the relation ``touched(meter_id, ts)``.

    Hourly buckets touched are recomputed from ``readings``; daily from hourly; monthly from
    daily. Runs inside the caller's transaction.
    """
    con = store.con
    hour = hour_expr(store, "t.ts", "m.interval_label")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _touched_hours AS
        SELECT DISTINCT t.meter_id, {hour} AS hour
        FROM {touched} t JOIN meters m USING (meter_id)""")
    span = con.execute("SELECT min(hour), max(hour) FROM _touched_hours").fetchall()[0]
    if span[0] is None:
        return
    # hours are park time and readings UTC: a margin wider than any UTC offset bounds the scan
    lo = span[0] - dt.timedelta(hours=40)
    hi = span[1] + dt.timedelta(hours=40)
    rhour = hour_expr(store, "r.ts", "m.interval_label")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _new_hourly AS
        SELECT r.meter_id, {rhour} AS hour, {HOUR_SUM.format(x="r.value")} AS quantity,
               count(*) AS n_readings
        FROM readings r JOIN meters m USING (meter_id)
        WHERE r.ts BETWEEN ? AND ?
          AND r.meter_id IN (SELECT DISTINCT meter_id FROM _touched_hours)
        GROUP BY ALL""", [lo, hi])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _new_hourly_t AS
        SELECT n.* FROM _new_hourly n SEMI JOIN _touched_hours t USING (meter_id, hour)""")
    replace_rollups(store, "_touched_hours", "_new_hourly_t")


def replace_rollups(store: Store, touched_hours: str, new_hourly: str, *, new_hours_only: bool = False) -> None:
    """Replace the hourly rollups of ``touched_hours(meter_id, hour)`` by ``new_hourly`` and
    rebuild the daily and monthly rollups of the days and months they fall in.

    ``new_hours_only``: the caller guarantees that no touched hour had a rollup before (bulk
    import into new hours), which saves the deletes and, for new days, the rebuild."""
    con = store.con
    if not new_hours_only:  # new hours have no rows to replace (the caller checked)
        con.execute(f"DELETE FROM rollup_hourly h USING {touched_hours} t "
                    "WHERE h.meter_id = t.meter_id AND h.hour = t.hour")
    con.execute(f"INSERT INTO rollup_hourly SELECT meter_id, hour, quantity, n_readings FROM {new_hourly}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _touched_days AS
        SELECT DISTINCT meter_id, CAST(hour AS DATE) AS day FROM {touched_hours}""")
    if new_hours_only and not con.execute(
            "SELECT count(*) FROM rollup_daily SEMI JOIN _touched_days USING (meter_id, day)").fetchall()[0][0]:
        # new hours of days that held nothing before (a bulk import): days straight from the new
        # hours -- the same hourly rows, so the same exact sums as rebuilding from rollup_hourly
        con.execute(f"""
            INSERT INTO rollup_daily
            SELECT meter_id, CAST(hour AS DATE) AS day, {HOUR_SUM.format(x="quantity")}, sum(n_readings)
            FROM {new_hourly} GROUP BY ALL""")
        rebuild_months(con)
        return
    con.execute("DELETE FROM rollup_daily d USING _touched_days t WHERE d.meter_id = t.meter_id AND d.day = t.day")
    con.execute(f"""
        INSERT INTO rollup_daily
        SELECT h.meter_id, CAST(h.hour AS DATE) AS day, {HOUR_SUM.format(x="h.quantity")}, sum(h.n_readings)
        FROM rollup_hourly h SEMI JOIN _touched_days t ON h.meter_id = t.meter_id AND CAST(h.hour AS DATE) = t.day
        WHERE h.hour >= (SELECT min(day) FROM _touched_days)
          AND h.hour < (SELECT max(day) FROM _touched_days) + INTERVAL 1 DAY
        GROUP BY ALL""")
    rebuild_months(con)


def rebuild_months(con) -> None:
    """Rebuild the monthly rollups of the months of _touched_days from rollup_daily."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _touched_months AS
        SELECT DISTINCT meter_id, CAST(date_trunc('month', day) AS DATE) AS month FROM _touched_days""")
    con.execute("DELETE FROM rollup_monthly x USING _touched_months t WHERE x.meter_id = t.meter_id AND x.month = t.month")
    con.execute(f"""
        INSERT INTO rollup_monthly
        SELECT d.meter_id, CAST(date_trunc('month', d.day) AS DATE) AS month, {HOUR_SUM.format(x="d.quantity")},
               sum(d.n_readings)
        FROM rollup_daily d SEMI JOIN _touched_months t
             ON d.meter_id = t.meter_id AND CAST(date_trunc('month', d.day) AS DATE) = t.month
        GROUP BY ALL""")
    for t in ("_touched_hours", "_new_hourly", "_new_hourly_t", "_touched_days", "_touched_months"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


# -- merge of an import's rows ------------------------------------------------------------------
def merge_rows(con, target: str, history: str, keys: tuple[str, ...], import_id: int,
               now: dt.datetime, *, protect_after: int | None = None) -> dict[str, int]:
    """Merge _new(keys..., value) into ``target``: new rows, unchanged ones, and corrections (the
    new value wins; the old one goes to ``history`` with when and from which import). Leaves the
    comparison in _cmp(keys..., value, old_value, old_import_id, kept).

    ``protect_after``: a forced re-import of a file first imported as import ``protect_after``
    does not override a value that a later import (id above ``protect_after``) wrote: such rows
    keep their value and count as ``kept`` (see README, "Importing readings")."""
    span = con.execute("SELECT min(ts), max(ts) FROM _new").fetchall()[0]
    if span[0] is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _cmp AS SELECT {', '.join(keys)}, value, value AS old_value, "
                    "0::BIGINT AS old_import_id, false AS kept FROM _new WHERE false")
        return {"new": 0, "unchanged": 0, "corrected": 0, "kept": 0}
    k = ", ".join(keys)
    entity = keys[0]
    on = " AND ".join(f"{target}.{c} = c.{c}" for c in keys)
    kept = "false" if protect_after is None else f"coalesce(o.import_id > {int(protect_after)} AND o.value <> n.value, false)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _cmp AS
        SELECT {", ".join(f"n.{c}" for c in keys)},
               CASE WHEN {kept} THEN o.value ELSE n.value END AS value, o.value AS old_value,
               o.import_id AS old_import_id, {kept} AS kept
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
    new, unchanged, corrected, n_kept = con.execute("""
        SELECT count(*) FILTER (WHERE old_value IS NULL), count(*) FILTER (WHERE old_value = value AND NOT kept),
               count(*) FILTER (WHERE old_value <> value), count(*) FILTER (WHERE kept) FROM _cmp""").fetchall()[0]
    return {"new": new, "unchanged": unchanged, "corrected": corrected, "kept": n_kept}


def stage_interval_rows(con) -> int:
    """_new(meter_id, ts, value) from the valid interval rows of _parsed (value x multiplier);
    returns the number of valid register (cumulative) rows still to derive."""
    con.execute("CREATE OR REPLACE TEMP TABLE _new AS SELECT meter_id, ts, value * multiplier AS value "
                "FROM _parsed WHERE reason IS NULL AND kind = 'interval'")
    return con.execute("SELECT count(*) FROM _parsed WHERE reason IS NULL AND kind = 'cumulative'").fetchall()[0][0]


def merge_readings(store: Store, import_id: int, now: dt.datetime, *,
                   protect_after: int | None = None) -> dict[str, int]:
    """Merge _new(meter_id, ts, value) into readings (new, unchanged, corrected, kept) and refresh
    the rollups of the hours that changed."""
    counts = merge_rows(store.con, "readings", "readings_history", ("meter_id", "ts"), import_id, now,
                        protect_after=protect_after)
    if counts["new"] or counts["corrected"]:
        refresh_rollups(store, "(SELECT meter_id, ts FROM _cmp WHERE old_value IS NULL OR old_value <> value)")
    return counts


def register_outcomes(con) -> tuple[tuple[int, int, int], dict[str, int]]:
    """After a merge with registers: (new, unchanged, corrected) of the register rows, and the
    outcome counts of the interval rows alone."""
    reg = con.execute("""
        SELECT count(*) FILTER (WHERE c.old_register IS NULL), count(*) FILTER (WHERE c.old_register = c.register),
               count(*) FILTER (WHERE c.old_register <> c.register)
        FROM _reg_cmp c JOIN _parsed p USING (meter_id, ts) WHERE p.reason IS NULL""").fetchall()[0]
    iv = con.execute("""
        SELECT count(*) FILTER (WHERE c.old_value IS NULL), count(*) FILTER (WHERE c.old_value = c.value AND NOT c.kept),
               count(*) FILTER (WHERE c.old_value <> c.value), count(*) FILTER (WHERE c.kept)
        FROM _cmp c JOIN meters m USING (meter_id) WHERE m.kind = 'interval'""").fetchall()[0]
    return tuple(reg), dict(zip(("new", "unchanged", "corrected", "kept"), iv, strict=True))


# -- registers (cumulative meters) --------------------------------------------------------------
def stage_registers(con, import_id: int) -> None:
    """Register rows of _parsed -> ``registers`` (new or changed), the comparison in _reg_cmp and
    each stored register of the meters concerned, unwrapped across rollovers, in _reg_u
    (meter_id, ts, register, multiplier, modulus, seg, wrapped, u)."""
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


def register_segments(con) -> tuple[dict, dict, list]:
    """(last register and u of each (meter, segment), rollover modulus per meter, replacement
    events (meter_id, old_final, new_initial) of the meters staged in _reg_new, in order)."""
    last = {(m, g): (reg, u) for m, g, reg, u in con.execute(
        "SELECT meter_id, seg, arg_max(register, ts), arg_max(u, ts) FROM _reg_u GROUP BY ALL").fetchall()}
    modulus = dict(con.execute("SELECT meter_id, register_rollover FROM meters").fetchall())
    events = con.execute("SELECT meter_id, old_final, new_initial FROM meter_events WHERE kind = 'replacement' "
                         "AND meter_id IN (SELECT DISTINCT meter_id FROM _reg_new) ORDER BY meter_id, event_at").fetchall()
    return last, modulus, events


def derive_register_intervals(con, segs: pa.Table) -> None:
    """Interval readings from the chained registers: ``segs(meter_id, seg, base, offset)`` chains
    segment j as ``E = u - base_j + offset_j``; consumption is the rise of E over the highest E
    before it. Backward registers are quarantined (negative_consumption) and leave ``registers``;
    the others' consumption is appended to _new."""
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


# -- bulk path ------------------------------------------------------------------------------------
class BulkNotApplicable(GreenparkError):
    """The bulk CSV path cannot take this file (the caller rolls back and takes the general path)."""


def bulk_load_csv(store: Store, path: str, header: list[str], timestamp_format: str, import_id: int,
                  now: dt.datetime, source: str) -> dict:
    """Insert a clean CSV of interval readings straight into ``readings`` and build the rollups of
    its (new) hours from one aggregate; quarantine its unparsable lines. Raises
    :class:`BulkNotApplicable` when any row needs more (see greenpark.ingest.bulk)."""
    con = store.con
    off = fixed_utc_offset(store.timezone)
    meters = con.execute("SELECT meter_id, kind, multiplier, interval_label FROM meters ORDER BY meter_id").fetchall()
    if off is None or not meters or any("'" in m[0] for m in meters):
        raise BulkNotApplicable("meters or time zone")
    scaled = [m for m in meters if m[2] != 1.0]  # multipliers other than 1 (CT ratios): usually few
    mult = ("CASE c_m " + " ".join(f"WHEN '{m[0]}' THEN {m[2]!r}" for m in scaled) + " ELSE 1.0 END") if scaled else "1.0"
    types = {"meter_id": "VARCHAR", "timestamp": "TIMESTAMP", "value": "DOUBLE"}
    spec = ", ".join(f"'c{i}': '{types[c]}'" for i, c in enumerate(header))
    col = {c: f"c{i}" for i, c in enumerate(header)}
    p = str(path).replace("'", "''")
    con.execute("DROP TABLE IF EXISTS _rejects")
    con.execute("DROP TABLE IF EXISTS _rejects_scan")
    import duckdb

    try:
        inserted = con.execute(f"""
        INSERT INTO readings
        SELECT c_m, c_t, {"c_v" if mult == "1.0" else f"c_v * {mult}"}, {import_id}
        FROM (SELECT {col['meter_id']} AS c_m, {col['timestamp']} - INTERVAL {int(off.total_seconds())} SECOND AS c_t,
                     {col['value']} AS c_v
              FROM read_csv('{p}', header=true, auto_detect=false, delim=',', quote='"', escape='"',
                            columns={{{spec}}}, timestampformat='{timestamp_format}', store_rejects=true,
                            rejects_table='_rejects', rejects_scan='_rejects_scan'))""").fetchall()[0][0]
    except duckdb.ConstraintException:
        raise BulkNotApplicable("empty values or timestamps") from None
    rejected_lines, ts_rejects = con.execute(
        f"SELECT count(DISTINCT line), count(*) FILTER (WHERE column_name = '{col['timestamp']}') FROM _rejects").fetchall()[0]
    if ts_rejects:
        raise BulkNotApplicable("timestamps in other layouts or with offsets")
    labels = {m[3] for m in meters}
    if len(labels) == 1:  # one label for every meter: no join needed
        adj, src = ("1" if labels.pop() == "end" else "0"), "readings r"
    else:
        # LEFT JOIN: a meter that is not in park.toml still shows up (and sends the file down the general path)
        adj, src = "(CASE m.interval_label WHEN 'start' THEN 0 ELSE 1 END)", "readings r LEFT JOIN meters m USING (meter_id)"
    # the same hours as hour_expr (fixed UTC offset), grouped on the integer hour number first
    us, step = int(off.total_seconds()) * 1_000_000, 3_600_000_000
    sql = f"""
        CREATE OR REPLACE TEMP TABLE _fast_hourly AS
        SELECT meter_id, make_timestamp(h * {step}) AS hour, quantity, n_readings, minutes, min_value, max_value,
               min_ts, max_ts FROM (
            SELECT r.meter_id, (epoch_us(r.ts) + {us} - {adj}) // {step} AS h,
                   {HOUR_SUM_NARROW.format(x="r.value")} AS quantity, count(*) AS n_readings,
                   bit_count(bit_or(CAST(1 AS UBIGINT) << CAST((epoch_us(r.ts) // 60000000) % 60 AS UBIGINT))) AS minutes,
                   min(r.value) AS min_value, max(r.value) AS max_value, min(r.ts) AS min_ts, max(r.ts) AS max_ts
            FROM {src} WHERE r.import_id = ? GROUP BY r.meter_id, h)"""
    try:
        con.execute(sql, [import_id])
    except (duckdb.ConversionException, duckdb.OutOfRangeException):
        raise BulkNotApplicable("NaN, infinite or too large values (no exact decimal sum)") from None
    dup, bad = con.execute("SELECT count(*) FILTER (WHERE minutes < n_readings), "
                           "count(*) FILTER (WHERE min_value < 0 OR max_ts > ?) FROM _fast_hourly", [now]).fetchall()[0]
    if dup or bad:
        raise BulkNotApplicable("possible duplicates, negative or future values")
    other, = con.execute("""
        SELECT count(*) FROM (SELECT DISTINCT meter_id FROM _fast_hourly)
        WHERE meter_id NOT IN (SELECT meter_id FROM meters WHERE kind = 'interval')""").fetchall()[0]
    if other:
        raise BulkNotApplicable("unknown or cumulative meters")
    old, = con.execute("SELECT count(*) FROM rollup_hourly SEMI JOIN _fast_hourly USING (meter_id, hour)").fetchall()[0]
    if old:
        raise BulkNotApplicable("hours already hold readings")
    return {"inserted": inserted, "rejected_lines": rejected_lines, "col": col}


def bulk_value_span(con) -> list[tuple]:
    """Rows ``carrier, unit, min value, max value, min ts, max ts`` per carrier and meter unit of
    the bulk rows staged in _fast_hourly (values after multiplier)."""
    return con.execute("""
        SELECT m.carrier, m.unit, min(f.min_value), max(f.max_value), min(f.min_ts), max(f.max_ts)
        FROM _fast_hourly f JOIN meters m USING (meter_id) GROUP BY 1, 2""").fetchall()


def bulk_finish(store: Store) -> None:
    """The rollups of the bulk rows' hours (all new) from _fast_hourly."""
    replace_rollups(store, "_fast_hourly", "_fast_hourly", new_hours_only=True)
    store.con.execute("DROP TABLE IF EXISTS _fast_hourly")


# -- reads -----------------------------------------------------------------------------------
def _iso_utc_offset(ts: str) -> str:
    return (f"regexp_replace(strftime(timezone('UTC', {ts}), '%Y-%m-%dT%H:%M:%S%z'), "
            "'([+-][0-9][0-9])$', '\\1:00')")


def meter_readings_reader(store: Store, meter_id: str, lo: dt.datetime, hi: dt.datetime,
                          batch_rows: int = 65_536) -> pa.RecordBatchReader:
    """A meter's readings in [lo, hi] (UTC wall clock) as Arrow batches, in time order:
    ``time_local`` (park time text), ``value``, ``import_id``, ``source``, ``corrections``."""
    sql = f"""
        SELECT strftime({store.local_time_sql('r.ts')}, '%Y-%m-%d %H:%M:%S') AS time_local, r.value,
               r.import_id, i.source, coalesce(h.n, 0) AS corrections
        FROM readings r JOIN imports i USING (import_id)
        LEFT JOIN (SELECT ts, count(*) AS n FROM readings_history WHERE meter_id = ? GROUP BY ts) h USING (ts)
        WHERE r.meter_id = ? AND r.ts BETWEEN ? AND ?
        ORDER BY r.ts"""
    params = [meter_id, meter_id, lo, hi]
    if store.engine == "duckdb":
        return store.con.sql(sql, params=params).to_arrow_reader(batch_rows)  # streamed, no copy
    table = store.con.execute(sql, params).to_arrow_table()
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch_rows))


def query_readings(cur, meter_id: str, expected_sql: str | None, resolution: str, start, end,
                   limit: int) -> list[dict]:
    """Rows ``meter_id, time, value[, n_readings, expected]`` of one meter: raw readings (``start``,
    ``end`` as UTC wall clock; time with its UTC offset) or an hour/day/month rollup (park time).
    ``expected_sql``: SQL for readings expected per period (the word ``period`` names the period)."""
    params: list = [meter_id]
    where = ""
    if resolution == "raw":
        if start is not None:
            where += " AND ts >= ?"
            params.append(start)
        if end is not None:
            where += " AND ts < ?"
            params.append(end)
        sql = f"""
            SELECT meter_id, {_iso_utc_offset('ts')} AS time, value
            FROM readings WHERE meter_id = ? {where} ORDER BY ts LIMIT ?"""
    else:
        table, col = {"hour": ("rollup_hourly", "hour"), "day": ("rollup_daily", "day"),
                      "month": ("rollup_monthly", "month")}[resolution]
        fmt = {"hour": "%Y-%m-%dT%H:%M", "day": "%Y-%m-%d", "month": "%Y-%m"}[resolution]
        if start is not None:
            where += f" AND {col} >= ?"
            params.append(start if resolution == "hour" else start.date())
        if end is not None:
            where += f" AND {col} < ?"
            params.append(end if resolution == "hour" else end.date())
        sql = f"""
            SELECT meter_id, strftime({col}, '{fmt}') AS time, quantity AS value, n_readings,
                   {(expected_sql or 'NULL').replace('period', col)} AS expected
            FROM {table} WHERE meter_id = ? {where} ORDER BY {col} LIMIT ?"""
    params.append(limit)
    c = cur.execute(sql, params)
    cols = [d[0] for d in c.description]
    return [dict(zip(cols, r, strict=True)) for r in c.fetchall()]


def _half_open(col: str, start, end) -> tuple[str, list]:
    """SQL conditions ``AND col >= start AND col < end`` (each only when given) and their params."""
    where, params = "", []
    if start is not None:
        where += f" AND {col} >= ?"
        params.append(start)
    if end is not None:
        where += f" AND {col} < ?"
        params.append(end)
    return where, params


def hourly_counts(cur, meter_id: str, start: dt.datetime | None, end: dt.datetime | None):
    """DataFrame ``hour, n_readings`` of a meter's hourly rollups (park time) in [start, end)."""
    where, params = _half_open("hour", start, end)
    return cur.execute(f"SELECT hour, n_readings FROM rollup_hourly WHERE meter_id = ? {where} ORDER BY hour",
                       [meter_id, *params]).df()


def corrections(cur, meter_id: str, start: dt.datetime | None, end: dt.datetime | None):
    """DataFrame of a meter's corrected readings in [start, end) (UTC wall clock): ``time`` (with
    UTC offset), old_value, new_value, old_import_id, new_import_id, replaced_at."""
    where, params = _half_open("ts", start, end)
    return cur.execute(f"""
        SELECT {_iso_utc_offset('ts')} AS time, old_value, new_value, old_import_id, new_import_id, replaced_at
        FROM readings_history WHERE meter_id = ? {where} ORDER BY ts""", [meter_id, *params]).df()

