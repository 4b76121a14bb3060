"""The data-lake store: a park's readings, rollups, quarantine and imports as Parquet files.

Layout under the lake root (a local path, or an object-store URL that Spark reads and writes:
``s3a://bucket/park``, ``abfss://...``), Hive-style partitions::

    readings/        year=2025/month=3/enterprise=E01/part-*.parquet   meter_id, ts, value, import_id
    readings_history/year=.../month=.../enterprise=.../                 corrections (old and new values)
    rollup_hourly/   year=.../month=.../enterprise=.../                 meter_id, hour, quantity, n_readings
    rollup_daily/    year=.../month=.../enterprise=.../                 meter_id, day, quantity, n_readings
    rollup_monthly/  year=.../enterprise=.../                           meter_id, month, quantity, n_readings
    quarantine/      import_id=N/                                        rejected rows and their reason codes
    imports/         import_id=N/                                        one row per import

``year``/``month`` are those of the park-time hour a reading belongs to (its rollup hour), and
``enterprise`` the meter's owner, so a month of one enterprise is one folder of every table:
rebuilding a partition's rollups reads that partition's readings only, and a re-import replaces
whole partitions (Spark's dynamic partition overwrite) -- never appends twice.

The columns are those of the store's tables (``migrations/``), so the store's SQL reads the lake
unchanged (:class:`greenpark.store.spark.SparkStore` attaches each table as a view). Statements
are written in DuckDB's SQL and translated (:func:`greenpark.store.spark.translate`).

Ingest (:meth:`Lake.ingest`) applies the store's rules on Spark: a batch whose content checksum
was imported already changes nothing; rows are validated with the store's reason codes
(unknown_meter, unparsable_timestamp, unparsable_value, timestamp_in_future,
timestamp_too_early, duplicate_in_file, negative_consumption) and the rejected ones quarantined;
a new value for a stored (meter, ts) wins and the old one goes to ``readings_history``; equal
values count as unchanged and keep their import. Cumulative registers are not taken on Spark
(an error, not a guess): import them into a DuckDB or PostgreSQL store.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from greenpark import __version__
from greenpark.errors import InputError
from greenpark.store import Store, exact_sum, fixed_utc_offset, readings

#: tables of the lake and their partition columns
PARTITIONED = {
    "readings": ("year", "month", "enterprise"),
    "readings_history": ("year", "month", "enterprise"),
    "rollup_hourly": ("year", "month", "enterprise"),
    "rollup_daily": ("year", "month", "enterprise"),
    "rollup_monthly": ("year", "enterprise"),
    "quarantine": ("import_id",),
    "imports": ("import_id",),
    "carbon_results": ("period",),
    "carbon_certificate_uses": ("period",),
}
#: the park's own tables (from park.toml, registered per session, never stored in the lake)
PARK_TABLES = ("meters", "meter_events", "stations")
#: the earliest plausible reading (as ``[plausibility] earliest`` defaults in greenpark.ingest)
EARLIEST = dt.datetime(2000, 1, 1)


class LakeError(InputError, ValueError):
    """A batch or lake the Spark store cannot take."""


@functools.lru_cache(maxsize=1)
def schemas() -> dict[str, pa.Schema]:
    """Arrow schemas of every store table, from the migrations (an in-memory DuckDB store)."""
    with Store(":memory:") as s:
        names = [r[0] for r in s.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()]
        return {n: s.con.sql(f'SELECT * FROM "{n}" LIMIT 0').to_arrow_table().schema for n in names}


def park_tables(park) -> dict[str, pa.Table]:
    """park.toml's meters, meter events and stations as the store's tables (:meth:`Store.sync_park`)."""
    with Store(":memory:", park.park.timezone) as s:
        with s.transaction():
            s.sync_park(park)
        return {n: s.con.sql(f"SELECT * FROM {n}").to_arrow_table() for n in PARK_TABLES}


def _is_local(root: str) -> bool:
    return "://" not in root or root.startswith("file://")


def _local(root: str) -> str:
    return root[len("file://"):] if root.startswith("file://") else root


def _spark_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "STRING"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP_LTZ" if t.tz else "TIMESTAMP_NTZ"
    return {pa.int32(): "INT", pa.int64(): "BIGINT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN",
            pa.date32(): "DATE"}.get(t, "STRING")


@dataclass
class LakeImport:
    """What one Spark import did (the counts of :class:`greenpark.ingest.ImportResult`)."""

    import_id: int | None
    source: str
    checksum: str
    skipped: bool = False
    rows_read: int = 0
    accepted: int = 0
    unchanged: int = 0
    corrected: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    partitions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Lake:
    """A park's lake at ``root`` read and written through a :class:`~greenpark.store.spark.SparkConnection`."""

    def __init__(self, root: str, con):
        self.root = root.rstrip("/")
        self.con = con
        self.spark = con.spark

    def path(self, table: str) -> str:
        return f"{self.root}/{table}"

    def exists(self, table: str) -> bool:
        p = self.path(table)
        if _is_local(p):
            return os.path.isdir(_local(p)) and any(
                f.endswith(".parquet") for _, _, fs in os.walk(_local(p)) for f in fs)
        try:
            self.spark.read.parquet(p).schema  # noqa: B018  (lists the folder)
            return True
        except Exception:  # PATH_NOT_FOUND on the object store
            return False

    # -- reading ---------------------------------------------------------------------------------
    def frame(self, table: str, *, partitions: bool = False):
        """The table as a Spark DataFrame with the store's columns and types (plus its partition
        columns when ``partitions``); an empty frame when the lake has none yet."""
        schema = schemas()[table]
        parts = PARTITIONED.get(table, ())
        cols = [f"CAST(`{f.name}` AS {_spark_type(f.type)}) AS `{f.name}`" for f in schema]
        extra = [f"CAST(`{p}` AS STRING) AS `{p}`" for p in parts if p not in schema.names] if partitions else []
        ddl = ", ".join([f"`{f.name}` {_spark_type(f.type)}" for f in schema]
                        + [f"`{p}` STRING" for p in parts if p not in schema.names])
        if self.exists(table):  # the schema given: no inference job over the files
            df = self.spark.read.schema(ddl).option("basePath", self.path(table)).parquet(self.path(table))
        else:
            df = self.spark.createDataFrame([], ddl)
        return df.selectExpr(*cols, *extra)

    def attach(self) -> None:
        """Every store table as a view of the session: the lake's Parquet (or empty)."""
        for name in schemas():
            if name in PARK_TABLES:
                continue
            if name in PARTITIONED:
                self.con.register_frame(name, self.frame(name))
            else:  # tables the lake does not keep (registers, users, carbon results...): empty
                schema = schemas()[name]
                ddl = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in schema)
                self.con.register_frame(name, self.spark.createDataFrame([], ddl))
        for name in PARK_TABLES:
            if not self.spark.catalog.tableExists(name):
                schema = schemas()[name]
                ddl = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in schema)
                self.con.register_frame(name, self.spark.createDataFrame([], ddl))

    # -- writing ---------------------------------------------------------------------------------
    def _write(self, table: str, frame) -> None:
        """Replace the partitions of ``table`` that ``frame`` holds (dynamic partition overwrite):
        staged first, so that a failure leaves the lake as it was and no partition is read while
        it is overwritten."""
        parts = list(PARTITIONED[table])
        stage = f"{self.root}/_staging/{uuid.uuid4().hex}/{table}"
        # one file per partition folder and task: the lake's folders hold few, large files
        frame.repartition(*parts).write.mode("overwrite").partitionBy(*parts).parquet(stage)
        staged = self.spark.read.schema(frame.schema).option("basePath", stage).parquet(stage)
        staged.write.mode("overwrite").partitionBy(*parts).parquet(self.path(table))
        if _is_local(stage):
            shutil.rmtree(_local(stage).rsplit("/", 1)[0], ignore_errors=True)
        else:
            jvm = self.spark.sparkContext._jvm
            p = jvm.org.apache.hadoop.fs.Path(stage.rsplit("/", 1)[0])
            p.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()).delete(p, True)

    def export_store(self, store: Store, tables: tuple[str, ...] | None = None) -> dict[str, int]:
        """Copy a DuckDB store's readings, history, rollups, quarantine, imports and published
        carbon results into the lake (partitioned as above), e.g. to open a park's store on Spark;
        ``tables``: only these. Returns rows per table."""
        import tempfile

        hour = store.hour_expr("r.ts", "m.interval_label")
        part = "year({p}) AS year, month({p}) AS month, m.owner AS enterprise"
        sources = {
            "readings": f"SELECT r.*, {part.format(p=hour)} FROM readings r JOIN meters m USING (meter_id)",
            "readings_history": f"SELECT r.*, {part.format(p=hour)} FROM readings_history r JOIN meters m USING (meter_id)",
            "rollup_hourly": f"SELECT r.*, {part.format(p='hour')} FROM rollup_hourly r JOIN meters m USING (meter_id)",
            "rollup_daily": f"SELECT r.*, {part.format(p='day')} FROM rollup_daily r JOIN meters m USING (meter_id)",
            "rollup_monthly": "SELECT r.*, year(r.month) AS year, m.owner AS enterprise "
                              "FROM rollup_monthly r JOIN meters m USING (meter_id)",
            "quarantine": "SELECT * FROM quarantine",
            "imports": "SELECT * FROM imports",
            "carbon_results": "SELECT * FROM carbon_results",
            "carbon_certificate_uses": "SELECT * FROM carbon_certificate_uses",
        }
        counts = {}
        with tempfile.TemporaryDirectory() as tmp:
            for table, sql in sources.items():
                if tables is not None and table not in tables:
                    continue
                n = store.con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
                counts[table] = n
                if not n:
                    continue
                out = f"{tmp}/{table}.parquet"
                store.con.execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")
                self._write(table, self.spark.read.parquet(out))
        self.attach()
        return counts

    # -- ingest ----------------------------------------------------------------------------------
    def _partition_filter(self, touched: list[tuple], cols: tuple[str, ...]) -> str:
        """SQL condition selecting the partitions ``touched`` (tuples of ``cols`` values)."""
        if not touched:
            return "FALSE"
        return " OR ".join("(" + " AND ".join(f"{c} = '{str(v)}'" for c, v in zip(cols, t, strict=True)) + ")"
                           for t in touched)

    def checksum(self, batch) -> str:
        """A content checksum of a batch computed where the rows are (count and sum of 64-bit row
        hashes, order-free): the same rows give the same checksum, whatever their files."""
        from pyspark.sql import functions as F

        row = batch.select(F.count(F.lit(1)).alias("n"), F.sum(F.xxhash64("meter_id", "timestamp", "value")
                                                               .cast("decimal(38,0)")).alias("h")).first()
        return f"spark-xxhash64:{row['n']}:{row['h'] or 0}"

    def ingest(self, store, park, batch, *, source: str, now: dt.datetime | None = None,
               force: bool = False) -> LakeImport:
        """Import a batch of interval readings (a Spark DataFrame, or the path of Parquet files) with
        the columns ``meter_id, timestamp, value``: ``timestamp`` an instant (Parquet timestamp with
        UTC adjustment) or park time (without). See the module text for the rules. ``store``: the
        :class:`~greenpark.store.spark.SparkStore` whose views the SQL reads (meters synced)."""
        con = self.con
        if isinstance(batch, str):
            batch = self.spark.read.parquet(batch)
        missing = {"meter_id", "timestamp", "value"} - set(batch.columns)
        if missing:
            raise LakeError(f"{source}: the batch lacks the column(s) {', '.join(sorted(missing))} "
                            "(meter_id, timestamp, value)")
        now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
        checksum = self.checksum(batch)
        with store.transaction():
            found = con.execute("SELECT min(import_id) FROM imports WHERE checksum = ?", [checksum]).fetchone()[0]
        if found is not None and not force:
            return LakeImport(import_id=int(found), source=source, checksum=checksum, skipped=True)
        import_id = int(con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchone()[0])
        started = dt.datetime.now(dt.UTC)
        off = fixed_utc_offset(store.timezone)
        ttype = dict(batch.dtypes)["timestamp"]
        if ttype == "timestamp_ntz":  # park time
            ts = f"make_timestamp(epoch_us(b.timestamp) - {int(off.total_seconds()) * 1_000_000})"
        elif ttype == "timestamp":  # an instant: its UTC wall clock (the session is in UTC)
            ts = "CAST(b.timestamp AS TIMESTAMP)"
        else:
            raise LakeError(f"{source}: column timestamp is {ttype}; a Parquet timestamp is needed")
        con.register_frame("_gp_batch", batch.selectExpr("CAST(meter_id AS STRING) AS meter_id", "timestamp",
                                                         "CAST(value AS DOUBLE) AS value"))
        if con.execute("SELECT count(*) FROM _gp_batch b JOIN meters m USING (meter_id) "
                       "WHERE m.kind <> 'interval'").fetchone()[0]:
            raise LakeError(f"{source}: cumulative registers are not imported on Spark; import them into a "
                            "DuckDB or PostgreSQL store (rollover and replacement need the register series)")
        hour = readings.hour_expr(store, "p.ts", "p.interval_label")
        con.register_frame("_gp_parsed", con.execute(f"""
            SELECT b.meter_id, {ts} AS ts, b.value * m.multiplier AS value, b.timestamp AS raw_ts, b.value AS raw_value,
                   m.owner, m.interval_label,
                   CASE WHEN m.meter_id IS NULL THEN 'unknown_meter'
                        WHEN b.timestamp IS NULL THEN 'unparsable_timestamp'
                        WHEN b.value IS NULL OR isnan(b.value) OR abs(b.value) = CAST('Infinity' AS DOUBLE)
                             THEN 'unparsable_value'
                        WHEN {ts} > CAST('{now.isoformat(sep=' ')}' AS TIMESTAMP) THEN 'timestamp_in_future'
                        WHEN {ts} < CAST('{EARLIEST.isoformat(sep=' ')}' AS TIMESTAMP) THEN 'timestamp_too_early'
                        WHEN b.value < 0 THEN 'negative_consumption' END AS reason
            FROM _gp_batch b LEFT JOIN meters m USING (meter_id)""")._frame)
        # repeated keys among valid rows: identical copies keep one, conflicting values are all quarantined
        con.register_frame("_gp_checked", con.execute(f"""
            SELECT p.*, {hour} AS hour,
                   CASE WHEN p.reason IS NOT NULL THEN p.reason
                        WHEN min(p.value) OVER k <> max(p.value) OVER k THEN 'duplicate_in_file'
                        WHEN row_number() OVER (PARTITION BY p.meter_id, p.ts, p.reason IS NULL ORDER BY p.value) > 1
                             THEN 'duplicate_in_file' END AS why
            FROM _gp_parsed p
            WINDOW k AS (PARTITION BY p.meter_id, p.ts, p.reason IS NULL)""")._frame.localCheckpoint())
        touched = [tuple(r) for r in con.execute(
            "SELECT DISTINCT CAST(year(hour) AS VARCHAR), CAST(month(hour) AS VARCHAR), owner FROM _gp_checked "
            "WHERE why IS NULL ORDER BY 1, 2, 3").fetchall()]
        where = self._partition_filter(touched, ("year", "month", "enterprise"))
        con.register_frame("_gp_old", self.frame("readings", partitions=True).where(where))
        merged = con.execute(f"""
            SELECT coalesce(n.meter_id, o.meter_id) AS meter_id, coalesce(n.ts, o.ts) AS ts,
                   coalesce(n.value, o.value) AS value,
                   CASE WHEN n.meter_id IS NULL OR o.value = n.value THEN o.import_id ELSE {import_id} END AS import_id,
                   CASE WHEN n.meter_id IS NULL THEN 'kept' WHEN o.meter_id IS NULL THEN 'new'
                        WHEN o.value = n.value THEN 'unchanged' ELSE 'corrected' END AS state,
                   o.value AS old_value, o.import_id AS old_import_id,
                   coalesce(n.year, o.year) AS year, coalesce(n.month, o.month) AS month,
                   coalesce(n.owner, o.enterprise) AS enterprise
            FROM (SELECT meter_id, ts, value, CAST(year(hour) AS VARCHAR) AS year,
                         CAST(month(hour) AS VARCHAR) AS month, owner FROM _gp_checked WHERE why IS NULL) n
            FULL JOIN _gp_old o ON n.meter_id = o.meter_id AND n.ts = o.ts""")._frame.localCheckpoint()
        con.register_frame("_gp_merged", merged)
        counts = dict(con.execute("SELECT state, count(*) FROM _gp_merged GROUP BY state").fetchall())
        result = LakeImport(import_id=import_id, source=source, checksum=checksum, partitions=len(touched),
                            accepted=counts.get("new", 0), unchanged=counts.get("unchanged", 0),
                            corrected=counts.get("corrected", 0))
        by_reason = dict(con.execute("SELECT why, count(*) FROM _gp_checked WHERE why IS NOT NULL GROUP BY why")
                         .fetchall())
        result.rejected_by_reason = dict(sorted(by_reason.items()))
        result.rejected = sum(by_reason.values())
        result.rows_read = int(con.execute("SELECT count(*) FROM _gp_checked").fetchone()[0])
        if result.accepted or result.corrected:
            if result.corrected:
                con.register_frame("_gp_hist_old", self.frame("readings_history", partitions=True).where(where))
                self._write("readings_history", con.execute(f"""
                    SELECT meter_id, ts, old_value, old_import_id, new_value, new_import_id, replaced_at,
                           year, month, enterprise FROM _gp_hist_old
                    UNION ALL
                    SELECT meter_id, ts, old_value, old_import_id, value, {import_id},
                           CAST('{started.isoformat()}' AS TIMESTAMPTZ), year, month, enterprise
                    FROM _gp_merged WHERE state = 'corrected'""")._frame)
            self._write("readings", merged.selectExpr("meter_id", "ts", "value", "import_id", "year", "month",
                                                      "enterprise"))
            self.attach()
            self.rebuild_rollups(store, touched)
        if result.rejected:
            self._write("quarantine", con.execute(f"""
                SELECT {import_id} AS import_id, '{_q(source)}' AS source, CAST(NULL AS BIGINT) AS line_no,
                       why AS reason, CAST(NULL AS VARCHAR) AS detail,
                       concat_ws(',', coalesce(meter_id, ''), coalesce(CAST(raw_ts AS VARCHAR), ''),
                                 coalesce(CAST(raw_value AS VARCHAR), '')) AS raw
                FROM _gp_checked WHERE why IS NOT NULL""")._frame)
        finished = dt.datetime.now(dt.UTC)
        row = pa.table({"import_id": [import_id], "source": [source], "checksum": [checksum],
                        "started_at": pa.array([started], pa.timestamp("us", tz="UTC")),
                        "finished_at": pa.array([finished], pa.timestamp("us", tz="UTC")),
                        "rows_read": [result.rows_read], "accepted": [result.accepted],
                        "unchanged": [result.unchanged], "corrected": [result.corrected],
                        "rejected": [result.rejected], "status": ["complete"], "greenpark_version": [__version__]})
        self._write("imports", self.spark.createDataFrame(row))
        for v in ("_gp_batch", "_gp_parsed", "_gp_checked", "_gp_old", "_gp_merged", "_gp_hist_old"):
            con.unregister(v)
        self.attach()
        return result

    def rebuild_rollups(self, store, touched: list[tuple]) -> None:
        """Hourly and daily rollups of the partitions ``touched`` (year, month, enterprise) from their
        readings; monthly rollups of their (year, enterprise) from the daily ones -- the exact sums of
        :mod:`greenpark.store.readings`, so the figures equal a DuckDB store's to the last digit."""
        con = self.con
        where = self._partition_filter(touched, ("year", "month", "enterprise"))
        con.register_frame("_gp_r", self.frame("readings", partitions=True).where(where))
        hour = readings.hour_expr(store, "r.ts", "m.interval_label")
        hourly = con.execute(f"""
            SELECT r.meter_id, {hour} AS hour, {Store.HOUR_SUM.format(x="r.value")} AS quantity,
                   count(*) AS n_readings, r.year, r.month, r.enterprise
            FROM _gp_r r JOIN meters m USING (meter_id) GROUP BY ALL""")._frame.localCheckpoint()
        self._write("rollup_hourly", hourly)
        con.register_frame("_gp_h", hourly)
        self._write("rollup_daily", con.execute(f"""
            SELECT meter_id, CAST(hour AS DATE) AS day, {Store.HOUR_SUM.format(x="quantity")} AS quantity,
                   sum(n_readings) AS n_readings, year, month, enterprise
            FROM _gp_h GROUP BY ALL""")._frame)
        self.attach()
        years = sorted({(y, e) for y, _, e in touched})
        con.register_frame("_gp_d", self.frame("rollup_daily", partitions=True)
                           .where(self._partition_filter(years, ("year", "enterprise"))))
        self._write("rollup_monthly", con.execute(f"""
            SELECT meter_id, CAST(date_trunc('month', day) AS DATE) AS month,
                   {Store.HOUR_SUM.format(x="quantity")} AS quantity, sum(n_readings) AS n_readings, year, enterprise
            FROM _gp_d GROUP BY ALL""")._frame)
        for v in ("_gp_r", "_gp_h", "_gp_d"):
            con.unregister(v)
        self.attach()


def _q(s: str) -> str:
    return s.replace("'", "''")



# -- key-unit monitoring reads (any engine; the region's units are the owners of ``meters``) ---------
def unit_completeness(con, calendar_: pa.Table) -> pa.Table:
    """Per owner and month of ``calendar_(month, minutes)``: readings stored and readings expected
    (every meter, minutes / interval), from the monthly rollups."""
    cur = con.cursor()
    cur.register("_gp_calendar", calendar_)
    try:
        return cur.execute("""
            SELECT m.owner, k.month, CAST(COALESCE(sum(r.n_readings), 0) AS BIGINT) AS n_readings,
                   CAST(sum(k.minutes / m.interval_minutes) AS DOUBLE) AS expected
            FROM meters m CROSS JOIN _gp_calendar k
            LEFT JOIN rollup_monthly r ON r.meter_id = m.meter_id AND r.month = k.month
            GROUP BY m.owner, k.month ORDER BY m.owner, k.month""").to_arrow_table()
    finally:
        cur.unregister("_gp_calendar")


def last_day(con, start: dt.date, end: dt.date) -> dt.date | None:
    """The last day in [start, end) with a daily rollup (the "as of" of monitoring checks)."""
    return con.execute(f"SELECT max(day) FROM rollup_daily WHERE day >= DATE '{start.isoformat()}' "
                       f"AND day < DATE '{end.isoformat()}'").fetchone()[0]


def _daily_sql(start: dt.date, end: dt.date, group: str) -> str:
    from greenpark.store.rollups import KGCE, SIGNED_QUANTITY, TOP_LEVEL

    return f"""
        SELECT {group}, {exact_sum(SIGNED_QUANTITY + ' * c.to_coef_unit')} AS quantity, {exact_sum(KGCE)} AS kgce
        FROM rollup_daily r JOIN meters m ON m.meter_id = r.meter_id JOIN _gp_coef c ON c.meter_id = m.meter_id
        WHERE {TOP_LEVEL} AND r.day >= DATE '{start.isoformat()}' AND r.day < DATE '{end.isoformat()}'
        GROUP BY ALL"""


def unit_day_sums(con, coefficients: pa.Table, start: dt.date, end: dt.date) -> pa.Table:
    """Per owner and month: the sum of the daily comprehensive energy figures [kgce] and the days
    with data (GB/T 2589, top-level meters, as :func:`greenpark.store.rollups.monthly_energy`)."""
    from greenpark.store.rollups import KGCE, TOP_LEVEL

    cur = con.cursor()
    cur.register("_gp_coef", coefficients)
    try:
        return cur.execute(f"""
            SELECT owner, month, {exact_sum('kgce')} AS day_kgce, count(*) AS days FROM (
                SELECT m.owner, r.day, CAST(date_trunc('month', r.day) AS DATE) AS month,
                       {exact_sum(KGCE)} AS kgce
                FROM rollup_daily r JOIN meters m ON m.meter_id = r.meter_id JOIN _gp_coef c ON c.meter_id = m.meter_id
                WHERE {TOP_LEVEL} AND r.day >= DATE '{start.isoformat()}' AND r.day < DATE '{end.isoformat()}'
                GROUP BY m.owner, r.day) d
            GROUP BY owner, month ORDER BY owner, month""").to_arrow_table()
    finally:
        cur.unregister("_gp_coef")


def write_daily(con, coefficients: pa.Table, start: dt.date, end: dt.date, out: str) -> None:
    """Daily consumption by owner and carrier [coefficient unit, kgce] over [start, end) written as
    Parquet at ``out`` by the engine (Spark: by its executors; nothing passes through the driver).
    The day column is the start of the period (00:00 park time), the monitoring time label."""
    cur = con.cursor()
    cur.register("_gp_coef", coefficients)
    try:
        res = cur.execute(_daily_sql(start, end, "m.owner, m.carrier, r.day"))
        if hasattr(res, "_frame"):
            res._frame.write.mode("overwrite").parquet(out)
        else:
            import pyarrow.parquet as pq

            pq.write_table(res.to_arrow_table(), out)
    finally:
        cur.unregister("_gp_coef")
