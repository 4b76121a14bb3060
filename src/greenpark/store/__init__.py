"""The store: readings, registers, corrections, quarantine, imports and rollups.

One DuckDB file by default. DuckDB allows one writing process, so one process owns writes (the
CLI command while it runs, or the server). Every write that belongs to one import happens in one
transaction: a crash at any point leaves the store as it was before that import.

Relational logic here is plain SQL over the tables of ``migrations/``; ``rollup_*`` tables are
kept consistent with ``readings`` by :func:`greenpark.store.readings.refresh_rollups`, which every
write path calls for exactly the (meter, hour) buckets it touched.

The SQL of each table family lives in its module: :mod:`~greenpark.store.readings` (readings,
registers, corrections, rollups), :mod:`~greenpark.store.imports` (import log, staging and
validation of incoming rows), :mod:`~greenpark.store.quarantine` and
:mod:`~greenpark.store.observations` (station observations).

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

SCHEMA_VERSION = 6


class StoreError(StoreUnavailable, RuntimeError):
    """The store cannot be opened or is of an unknown schema version."""


class StoreLocked(StoreError):
    """Another process holds the DuckDB file (a running ``greenpark serve``, an import). ``pid``:
    that process when DuckDB names it."""

    pid: int | None = None


def _locked(path: str, exc: Exception) -> StoreLocked:
    import re

    m = re.search(r"\(PID (\d+)\)", str(exc))
    pid = int(m[1]) if m else None
    err = StoreLocked.t("store.locked", db=path, holder=f" (pid {pid})" if pid else "")
    err.pid = pid
    return err


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
            if "lock" in str(exc).lower():
                raise _locked(path, exc) from None
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

    def prepare_reader(self, cur) -> None:
        """Set a read cursor's session to the park's time zone (as the store's own connection)."""
        cur.execute(f"SET TimeZone = '{self.timezone}'")

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
            "period": m.interval,
        } for m in park.meters]
        schema = pa.schema([("meter_id", pa.string()), ("owner", pa.string()), ("carrier", pa.string()),
                            ("unit", pa.string()), ("kind", pa.string()), ("interval_minutes", pa.int32()),
                            ("interval_label", pa.string()), ("multiplier", pa.float64()), ("parent", pa.string()),
                            ("end_use", pa.string()), ("building", pa.string()),
                            ("renewable_generation", pa.bool_()), ("export", pa.bool_()),
                            ("register_rollover", pa.float64()), ("period", pa.string())])
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

    # -- rollups (greenpark.store.readings holds the SQL; these are the methods callers know) -------
    #: rollup sums are exact decimal sums of values rounded to 1e-6 of the meter unit, so that the
    #: same readings give bit-identical rollups however the engine parallelises the aggregation
    HOUR_SUM = "CAST(sum(CAST({x} AS DECIMAL(38, 6))) AS DOUBLE)"
    #: the same exact sum in 64-bit decimals (faster; raises on values of 10^12 or more, which the
    #: bulk import path answers by taking the general path)
    HOUR_SUM_NARROW = "CAST(sum(CAST({x} AS DECIMAL(18, 6))) AS DOUBLE)"

    def hour_expr(self, ts: str, label: str) -> str:
        """SQL for the park-time hour of a reading; ``label`` is an SQL expression 'end'/'start'."""
        from greenpark.store import readings

        return readings.hour_expr(self, ts, label)

    def refresh_rollups(self, touched: str) -> None:
        """See :func:`greenpark.store.readings.refresh_rollups`."""
        from greenpark.store import readings

        readings.refresh_rollups(self, touched)

    def replace_rollups(self, touched_hours: str, new_hourly: str, *, new_hours_only: bool = False) -> None:
        """See :func:`greenpark.store.readings.replace_rollups`."""
        from greenpark.store import readings

        readings.replace_rollups(self, touched_hours, new_hourly, new_hours_only=new_hours_only)

    def local_time_sql(self, ts: str) -> str:
        """SQL for the park-time wall clock of a UTC ``ts`` column."""
        return f"timezone('{self.timezone}', timezone('UTC', {ts}))"

    # -- queries ---------------------------------------------------------------------------
    def imports(self, limit: int = 50) -> list[dict]:
        from greenpark.store import imports

        return imports.list_imports(self.con, limit)

    def find_import(self, checksum: str) -> int | None:
        from greenpark.store import imports

        return imports.find_import(self.con, checksum)
