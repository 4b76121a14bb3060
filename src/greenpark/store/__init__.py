"""The store: readings, registers, corrections, quarantine, imports and rollups.

One DuckDB file by default. DuckDB allows one writing process, so one process owns writes (the
CLI command while it runs, or the server). Every write that belongs to one import happens in one
transaction: a crash at any point leaves the store as it was before that import.

Relational logic here is plain SQL over the tables of ``migrations/``; ``rollup_*`` tables are
kept consistent with ``readings`` by :meth:`Store.refresh_rollups`, which every write path calls
for exactly the (meter, hour) buckets it touched.

Layer: store, the only package that speaks SQL. May import core, reference and the base
modules; never ingest, services or the edges (tests/test_layers.py).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from greenpark import __version__
from greenpark.errors import InputError, StoreUnavailable

SCHEMA_VERSION = 4


class StoreError(StoreUnavailable, RuntimeError):
    """The store cannot be opened or is of an unknown schema version."""


class TextValueError(InputError, ValueError):
    """A text value the store's engine cannot hold (PostgreSQL: a NUL character)."""


def _migrations(folder: str = "migrations") -> list[tuple[int, str]]:
    files = resources.files(__package__).joinpath(folder)
    out = []
    for f in files.iterdir():
        if f.name.endswith(".sql"):
            out.append((int(f.name.split("_", 1)[0]), f.read_text(encoding="utf-8")))
    return sorted(out)


def is_postgres(db: str) -> bool:
    """``db`` names a PostgreSQL database (a ``postgresql://`` or ``postgres://`` URL)."""
    return db.startswith(("postgresql://", "postgres://"))


def fixed_utc_offset(tz: str) -> dt.timedelta | None:
    """The zone's UTC offset if it has been constant since 2000 (no DST), else None."""
    zone = zoneinfo.ZoneInfo(tz)
    offsets = {dt.datetime(y, m, 15, 12, tzinfo=zone).utcoffset() for y in range(2000, 2041) for m in (1, 7)}
    return offsets.pop() if len(offsets) == 1 else None


def exact_sum(expr: str, scale: int = 6) -> str:
    """SQL for the sum of ``expr`` rounded to ``10^-scale`` and added exactly (DECIMAL), as a DOUBLE.

    Floating-point sums depend on the order of the terms, which a parallel engine does not fix: the
    same readings could give figures that differ in the last digit from run to run or between
    DuckDB and PostgreSQL. Exact decimal sums give the same double every time. Terms must stay
    below 10^9 in magnitude for every engine to round them identically (PostgreSQL casts a
    double to numeric through its 15 significant digits; greenpark casts through text)."""
    return f"CAST(sum(CAST({expr} AS DECIMAL(38, {scale}))) AS DOUBLE)"


def _safe_url(url: str) -> str:
    """``url`` without its password (for messages)."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class Store:
    """A greenpark store in one DuckDB file (``path``), in memory (``":memory:"``) or in a
    PostgreSQL database (``postgresql://user@host/db``, see :mod:`greenpark.store.postgres`).

    ``engine`` is ``"duckdb"`` or ``"postgresql"``; ``con`` speaks DuckDB's SQL on either."""

    def __init__(self, path: str, timezone: str = "Asia/Shanghai", read_only: bool = False):
        self.path = path
        self.timezone = timezone
        self.read_only = read_only
        self.engine = "postgresql" if is_postgres(path) else "duckdb"
        if self.engine == "postgresql":
            self._open_postgres()
            return
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if read_only and not Path(path).exists():
                raise StoreError(f"{path}: no store yet. Import data first with 'greenpark ingest FILE' or 'greenpark demo'.")
        try:
            self.con = duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            raise StoreError(f"{path}: cannot open the store ({exc}). Another greenpark process may be writing "
                             "to it: only one process writes at a time.") from None
        self.con.execute(f"SET TimeZone = '{timezone}'")
        if not read_only:
            self.migrate()
        else:
            v = self.schema_version()
            if v != SCHEMA_VERSION:
                raise StoreError(f"{path}: schema version {v}, this greenpark needs {SCHEMA_VERSION}; open it once "
                                 "for writing (e.g. 'greenpark ingest') to migrate")

    def _open_postgres(self) -> None:
        try:
            from greenpark.store.postgres import PgConnection
        except ImportError as exc:
            raise StoreError(f"PostgreSQL stores need greenpark's postgresql extra ({exc.name} is missing): "
                             "pip install 'greenpark[postgresql]'") from None

        try:
            self.con = PgConnection(self.path, self.timezone)
        except Exception as exc:  # psycopg.OperationalError: server down, no such database, bad password
            raise StoreError(f"{_safe_url(self.path)}: cannot connect to PostgreSQL ({str(exc).strip()})") from None
        if not self.read_only:
            self.migrate()
        else:
            v = self.schema_version()
            if v != SCHEMA_VERSION:
                raise StoreError(f"{_safe_url(self.path)}: schema version {v}, this greenpark needs {SCHEMA_VERSION}; "
                                 "open it once for writing (e.g. 'greenpark ingest') to create or migrate it")

    # -- schema --------------------------------------------------------------------------
    def schema_version(self) -> int:
        has = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version' "
            "AND table_schema = current_schema()").fetchall()[0][0]
        if not has:
            return 0
        return self.con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]

    def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; returns the schema version."""
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {current} is newer than this greenpark ({SCHEMA_VERSION})")
        native = dict(_migrations("migrations/postgresql")) if self.engine == "postgresql" else {}
        for version, sql in _migrations():
            if version <= current:
                continue
            with self.transaction():
                if self.schema_version() >= version:  # another process migrated while we waited for the lock
                    continue
                if version == 1:
                    self.con.execute("CREATE TABLE IF NOT EXISTS schema_version "
                                     "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL, greenpark_version VARCHAR)")
                self.con.execute(sql)
                if version in native:  # PostgreSQL's own additions: functions, indexes
                    self.con.execute_native(native[version])
                self.con.execute("INSERT INTO schema_version VALUES (?, now(), ?)", [version, __version__])
        return self.schema_version()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction; on PostgreSQL also the write lock (one writer at a time across all
        processes, as in a DuckDB file) and, at commit, the notification that data changed."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            if self.engine == "postgresql":
                from greenpark.store.postgres import NOTIFY_CHANNEL, WRITE_LOCK

                self.con.execute_native("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            yield self.con
            if self.engine == "postgresql":
                self.con.execute_native(f"NOTIFY {NOTIFY_CHANNEL}")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def reader(self):
        """A new connection for reads from another thread: a cursor of the same DuckDB database,
        or a new PostgreSQL session. It sees every committed write."""
        return self.con.connect() if self.engine == "postgresql" else self.con.cursor()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- park metadata -------------------------------------------------------------------
    def sync_park(self, park) -> None:
        """Mirror park.toml's meters and meter events into the store (inside the caller's transaction)."""
        import pyarrow as pa

        rows = [{
            "meter_id": m.id, "owner": m.owner, "carrier": m.carrier, "unit": m.unit, "kind": m.kind,
            "interval_minutes": m.interval_minutes, "interval_label": m.interval_label or park.park.interval_label,
            "multiplier": m.multiplier, "parent": m.parent, "end_use": m.end_use, "building": m.building,
            "renewable_generation": m.renewable_generation, "export": m.export, "register_rollover": m.register_rollover,
        } for m in park.meters]
        schema = pa.schema([("meter_id", pa.string()), ("owner", pa.string()), ("carrier", pa.string()),
                            ("unit", pa.string()), ("kind", pa.string()), ("interval_minutes", pa.int32()),
                            ("interval_label", pa.string()), ("multiplier", pa.float64()), ("parent", pa.string()),
                            ("end_use", pa.string()), ("building", pa.string()),
                            ("renewable_generation", pa.bool_()), ("export", pa.bool_()),
                            ("register_rollover", pa.float64())])
        meters_tbl = pa.Table.from_pylist(rows, schema=schema)
        tz = park.tz
        ev = [{"meter_id": m.id, "kind": e.kind,
               "event_at": (e.at if e.at.tzinfo else e.at.replace(tzinfo=tz)).astimezone(dt.UTC).replace(tzinfo=None),
               "old_final": e.old_final, "new_initial": e.new_initial, "note": e.note}
              for m in park.meters for e in m.events]
        ev_schema = pa.schema([("meter_id", pa.string()), ("kind", pa.string()), ("event_at", pa.timestamp("us")),
                               ("old_final", pa.float64()), ("new_initial", pa.float64()), ("note", pa.string())])
        events_tbl = pa.Table.from_pylist(ev, schema=ev_schema)
        self.con.register("meters_tbl", meters_tbl)
        self.con.register("events_tbl", events_tbl)
        self.con.execute("DELETE FROM meters")
        self.con.execute("INSERT INTO meters SELECT * FROM meters_tbl")
        self.con.execute("DELETE FROM meter_events")
        self.con.execute("INSERT INTO meter_events SELECT * FROM events_tbl")
        st = pa.Table.from_pylist(
            [{"station_id": x.id, "kind": x.kind, "water_body": x.water_body, "name_zh": x.name_zh,
              "name_en": x.name_en} for x in park.stations],
            schema=pa.schema([("station_id", pa.string()), ("kind", pa.string()), ("water_body", pa.string()),
                              ("name_zh", pa.string()), ("name_en", pa.string())]))
        self.con.register("stations_tbl", st)
        self.con.execute("DELETE FROM stations")
        self.con.execute("INSERT INTO stations SELECT * FROM stations_tbl")
        self.con.unregister("stations_tbl")
        self.con.unregister("meters_tbl")
        self.con.unregister("events_tbl")

    # -- rollups -------------------------------------------------------------------------
    def _local(self, ts_expr: str, adj_expr: str, unit: str) -> str:
        """SQL for the park-time period (hour or day) a reading belongs to.

        ``adj_expr`` is 1 microsecond for timestamps that label the *end* of their interval (the
        reading stamped 01:00 belongs to hour 00:00) and 0 for those that label the start.
        """
        off = fixed_utc_offset(self.timezone)
        step = {"hour": 3_600_000_000, "day": 86_400_000_000}[unit]
        if off is not None:  # no DST: integer arithmetic on epoch microseconds (fast)
            us = int(off.total_seconds()) * 1_000_000
            expr = f"make_timestamp(((epoch_us({ts_expr}) + {us} - {adj_expr}) // {step}) * {step})"
        else:
            expr = (f"date_trunc('{unit}', timezone('{self.timezone}', timezone('UTC', {ts_expr})) "
                    f"- to_microseconds({adj_expr}))")
        return expr if unit == "hour" else f"CAST({expr} AS DATE)"

    #: rollup sums are exact decimal sums of values rounded to 1e-6 of the meter unit, so that the
    #: same readings give bit-identical rollups however the engine parallelises the aggregation
    HOUR_SUM = "CAST(sum(CAST({x} AS DECIMAL(38, 6))) AS DOUBLE)"
    #: the same exact sum in 64-bit decimals (faster; raises on values of 10^12 or more, which the
    #: bulk import path answers by taking the general path)
    HOUR_SUM_NARROW = "CAST(sum(CAST({x} AS DECIMAL(18, 6))) AS DOUBLE)"

    def hour_expr(self, ts: str, label: str) -> str:
        """SQL for the park-time hour of a reading; ``label`` is an SQL expression 'end'/'start'."""
        return self._local(ts, f"(CASE {label} WHEN 'end' THEN 1 ELSE 0 END)", "hour")

    def refresh_rollups(self, touched: str) -> None:
        """Recompute the rollups for the readings named by the relation ``touched(meter_id, ts)``.

        Hourly buckets touched are recomputed from ``readings``; daily from hourly; monthly from
        daily. Runs inside the caller's transaction.
        """
        con = self.con
        hour = self.hour_expr("t.ts", "m.interval_label")
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
        rhour = self.hour_expr("r.ts", "m.interval_label")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _new_hourly AS
            SELECT r.meter_id, {rhour} AS hour, {self.HOUR_SUM.format(x="r.value")} AS quantity,
                   count(*) AS n_readings
            FROM readings r JOIN meters m USING (meter_id)
            WHERE r.ts BETWEEN ? AND ?
              AND r.meter_id IN (SELECT DISTINCT meter_id FROM _touched_hours)
            GROUP BY ALL""", [lo, hi])
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _new_hourly_t AS
            SELECT n.* FROM _new_hourly n SEMI JOIN _touched_hours t USING (meter_id, hour)""")
        self.replace_rollups("_touched_hours", "_new_hourly_t")

    def replace_rollups(self, touched_hours: str, new_hourly: str, *, new_hours_only: bool = False) -> None:
        """Replace the hourly rollups of ``touched_hours(meter_id, hour)`` by ``new_hourly`` and
        rebuild the daily and monthly rollups of the days and months they fall in.

        ``new_hours_only``: the caller guarantees that no touched hour had a rollup before (bulk
        import into new hours), which saves the deletes and, for new days, the rebuild."""
        con = self.con
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
                SELECT meter_id, CAST(hour AS DATE) AS day, {self.HOUR_SUM.format(x="quantity")}, sum(n_readings)
                FROM {new_hourly} GROUP BY ALL""")
            self._rebuild_months()
            return
        con.execute("DELETE FROM rollup_daily d USING _touched_days t WHERE d.meter_id = t.meter_id AND d.day = t.day")
        con.execute(f"""
            INSERT INTO rollup_daily
            SELECT h.meter_id, CAST(h.hour AS DATE) AS day, {self.HOUR_SUM.format(x="h.quantity")}, sum(h.n_readings)
            FROM rollup_hourly h SEMI JOIN _touched_days t ON h.meter_id = t.meter_id AND CAST(h.hour AS DATE) = t.day
            WHERE h.hour >= (SELECT min(day) FROM _touched_days)
              AND h.hour < (SELECT max(day) FROM _touched_days) + INTERVAL 1 DAY
            GROUP BY ALL""")
        self._rebuild_months()

    def _rebuild_months(self) -> None:
        """Rebuild the monthly rollups of the months of _touched_days from rollup_daily."""
        con = self.con
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _touched_months AS
            SELECT DISTINCT meter_id, CAST(date_trunc('month', day) AS DATE) AS month FROM _touched_days""")
        con.execute("DELETE FROM rollup_monthly x USING _touched_months t WHERE x.meter_id = t.meter_id AND x.month = t.month")
        con.execute(f"""
            INSERT INTO rollup_monthly
            SELECT d.meter_id, CAST(date_trunc('month', d.day) AS DATE) AS month, {self.HOUR_SUM.format(x="d.quantity")},
                   sum(d.n_readings)
            FROM rollup_daily d SEMI JOIN _touched_months t
                 ON d.meter_id = t.meter_id AND CAST(date_trunc('month', d.day) AS DATE) = t.month
            GROUP BY ALL""")
        for t in ("_touched_hours", "_new_hourly", "_new_hourly_t", "_touched_days", "_touched_months"):
            con.execute(f"DROP TABLE IF EXISTS {t}")

    def local_time_sql(self, ts: str) -> str:
        """SQL for the park-time wall clock of a UTC ``ts`` column."""
        return f"timezone('{self.timezone}', timezone('UTC', {ts}))"

    # -- queries ---------------------------------------------------------------------------
    def imports(self, limit: int = 50) -> list[dict]:
        cur = self.con.execute("SELECT * FROM imports ORDER BY import_id DESC LIMIT ?", [limit])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def find_import(self, checksum: str) -> int | None:
        row = self.con.execute("SELECT min(import_id) FROM imports WHERE checksum = ? AND status = 'complete'",
                               [checksum]).fetchall()[0]
        return row[0]
