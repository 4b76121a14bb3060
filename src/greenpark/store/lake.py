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

Ingest (:meth:`Lake.ingest`, called by :func:`greenpark.ingest.ingest_lake`) applies the store's
rules on Spark: a batch whose content checksum was imported already changes nothing; rows are
validated by the store's own validation SQL (:func:`greenpark.store.imports.readings_select`,
translated), so the reason codes and details are those of a DuckDB import (unknown_meter,
unparsable_timestamp, unparsable_value, unit_not_convertible, timestamp_in_future,
timestamp_too_early, negative_consumption, value_out_of_range; then duplicate_in_file) and the
rejected rows are quarantined; a new value for a stored (meter, ts) wins and the old one goes to
``readings_history``; equal values count as unchanged and keep their import; a forced re-import
never overrides what a later import wrote (``kept``). Cumulative registers are not taken on Spark
(an error, not a guess): import them into a DuckDB or PostgreSQL store.

Nothing that grows with the readings reaches the driver: the batch is validated and merged by
the executors (checkpointed, spilled to disk when large); the driver gets counts per reason and
partition.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from greenpark import __version__
from greenpark.errors import InputError
from greenpark.store import Store, exact_sum, fixed_utc_offset, readings
from greenpark.store.imports import imports_of, iso_utc, number_text, readings_select

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
    #: rows of a forced re-import whose stored value a later import wrote: left as they are
    kept: int = 0
    partitions: int = 0
    #: seconds of each step (checksum, validate, merge, write readings, rollups, quarantine)
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def skipped_as_duplicate_of(self) -> int | None:
        """The import this batch repeats (as :class:`greenpark.ingest.ImportResult`)."""
        return self.import_id if self.skipped else None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    as_dict = to_dict


class _Clock:
    """Seconds per step of an import, and the progress callback told of each step."""

    def __init__(self, progress=None):
        self.progress = progress
        self.steps: dict[str, float] = {}
        self._name: str | None = None
        self._t = time.perf_counter()

    def step(self, name: str, fraction: float) -> None:
        self._close()
        self._name = name
        if self.progress:
            self.progress(name, fraction)

    def _close(self) -> None:
        t = time.perf_counter()
        if self._name:
            self.steps[self._name] = round(self.steps.get(self._name, 0.0) + t - self._t, 3)
        self._t = t

    def done(self) -> dict[str, float]:
        self._close()
        self._name = None
        if self.progress:
            self.progress("done", 1.0)
        return self.steps


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
        """Replace the partitions of ``table`` that ``frame`` holds (Spark's dynamic partition
        overwrite: tasks write into a staging folder and the job's commit swaps the partitions in,
        so a failed job leaves the lake as it was). A frame that reads the table it replaces is
        written to a staging copy first (Spark cannot overwrite what it is reading); checkpointed
        frames read no files and are written once."""
        parts = list(PARTITIONED[table])
        target = self.path(table)
        if not any(f.startswith(target + "/") or f.startswith("file:" + target + "/") for f in frame.inputFiles()):
            # one file per partition folder and task: the lake's folders hold few, large files
            frame.repartition(*parts).write.mode("overwrite").partitionBy(*parts).parquet(target)
            return
        stage = f"{self.root}/_staging/{uuid.uuid4().hex}/{table}"
        frame.repartition(*parts).write.mode("overwrite").partitionBy(*parts).parquet(stage)
        staged = self.spark.read.schema(frame.schema).option("basePath", stage).parquet(stage)
        staged.write.mode("overwrite").partitionBy(*parts).parquet(target)
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

    def ingest(self, store, batch, *, source: str, rules, earliest: dt.datetime, now: dt.datetime | None = None,
               force: bool = False, progress=None) -> LakeImport:
        """Import a batch of interval readings (a Spark DataFrame, or the path of Parquet files) with
        the columns ``meter_id, timestamp, value[, unit]``: ``timestamp`` an instant (Parquet
        timestamp with UTC adjustment) or park time (without). See the module text for the rules.
        ``store``: the :class:`~greenpark.store.spark.SparkStore` whose views the SQL reads (meters
        synced). ``rules(con, has_unit)`` -> (unit_factors, limits): the tables of
        :func:`greenpark.store.imports.validate_readings`, built by the ingest layer once the batch is
        the view ``_raw``; ``earliest``: the earliest plausible instant (UTC);
        ``progress(stage, fraction)`` as :data:`greenpark.ingest.Progress`. Every step's seconds are in
        ``LakeImport.steps``."""
        con = self.con
        clock = _Clock(progress)
        if isinstance(batch, str):
            batch = self.spark.read.parquet(batch)
        missing = {"meter_id", "timestamp", "value"} - set(batch.columns)
        if missing:
            raise LakeError(f"{source}: the batch lacks the column(s) {', '.join(sorted(missing))} "
                            "(meter_id, timestamp, value)")
        now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
        clock.step("checksum", 0.0)
        checksum = self.checksum(batch)
        with store.transaction():
            earlier = [int(i) for i in imports_of(con, checksum)]
        if earlier and not force:
            return LakeImport(import_id=earlier[0], source=source, checksum=checksum, skipped=True,
                              steps=clock.done())
        import_id = int(con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchone()[0])
        started = dt.datetime.now(dt.UTC)
        off = fixed_utc_offset(store.timezone)
        ttype = dict(batch.dtypes)["timestamp"]
        if ttype == "timestamp_ntz":  # park time
            ts = f"make_timestamp(epoch_us(r.ts_in) - {int(off.total_seconds()) * 1_000_000})"
        elif ttype == "timestamp":  # an instant: its UTC wall clock (the session is in UTC)
            ts = "CAST(r.ts_in AS TIMESTAMP)"
        else:
            raise LakeError(f"{source}: column timestamp is {ttype}; a Parquet timestamp is needed")
        has_unit = "unit" in batch.columns
        # the batch as the store's staging table _raw (text columns for the quarantine's details)
        con.register_frame("_raw", batch.selectExpr(
            "CAST(NULL AS BIGINT) AS line_no", "CAST(meter_id AS STRING) AS meter_id",
            "CAST(timestamp AS STRING) AS ts_text", f"{number_text('value')} AS value_text",
            "CAST(unit AS STRING) AS unit" if has_unit else "CAST(NULL AS STRING) AS unit",
            "CAST(NULL AS STRING) AS raw", "timestamp AS ts_in", "CAST(value AS DOUBLE) AS v_in"))
        unit_factors, limits = rules(con, has_unit)
        con.register("_gp_uf", unit_factors)
        con.register("_gp_lim", limits)
        clock.step("validate", 0.1)
        # the store's validation (written once: greenpark.store.imports.readings_select), then repeated
        # keys among valid rows: identical copies keep one, conflicting values are all quarantined
        con.register_frame("_gp_parsed", con.execute(
            readings_select(ts, "r.v_in", keep=("ts_in", "v_in", "unit")), [earliest, now, earliest, now, earliest, iso_utc(earliest)])._frame)
        hour = readings.hour_expr(store, "p.ts", "m.interval_label")
        checked = con.execute(f"""
            SELECT meter_id, ts, value, hour, owner, registers, why,
                   CASE WHEN why IS NOT NULL THEN why_detail END AS why_detail,
                   CASE WHEN why IS NOT NULL THEN ts_in END AS ts_in,
                   CASE WHEN why IS NOT NULL THEN v_in END AS v_in,
                   CASE WHEN why IS NOT NULL THEN unit END AS unit
            FROM (SELECT p.meter_id, p.ts, p.value * p.multiplier AS value, p.ts_in, p.v_in, p.unit,
                         {hour} AS hour, m.owner, p.kind <> 'interval' AS registers,
                         CASE WHEN p.reason IS NOT NULL THEN p.reason
                              WHEN min(p.value) OVER k <> max(p.value) OVER k THEN 'duplicate_in_file'
                              WHEN row_number() OVER (PARTITION BY p.meter_id, p.ts, p.reason IS NULL ORDER BY p.value) > 1
                                   THEN 'duplicate_in_file' END AS why,
                         CASE WHEN p.reason IS NOT NULL THEN p.detail
                              WHEN min(p.value) OVER k <> max(p.value) OVER k
                                   THEN 'conflicting values for the same key (' || count(*) OVER k || ' rows); none imported'
                              ELSE 'repeat of an earlier row of the batch' END AS why_detail
                  FROM _gp_parsed p LEFT JOIN meters m ON m.meter_id = p.meter_id
                  WINDOW k AS (PARTITION BY p.meter_id, p.ts, p.reason IS NULL)) c""")._frame.localCheckpoint()
        con.register_frame("_gp_checked", checked)
        # one pass: rows per reason and partition, and any cumulative register
        stats = con.execute("""
            SELECT why, CAST(year(hour) AS VARCHAR) AS year, CAST(month(hour) AS VARCHAR) AS month, owner,
                   count(*) AS n, count_if(why IS NULL AND registers) AS registers
            FROM _gp_checked GROUP BY ALL""").fetchall()
        if any(r[5] for r in stats):
            self._drop_views()
            raise LakeError(f"{source}: cumulative registers are not imported on Spark; import them into a "
                            "DuckDB or PostgreSQL store (rollover and replacement need the register series)")
        touched = sorted({(r[1], r[2], r[3]) for r in stats if r[0] is None})
        by_reason: dict[str, int] = {}
        for r in stats:
            if r[0] is not None:
                by_reason[r[0]] = by_reason.get(r[0], 0) + int(r[4])
        result = LakeImport(import_id=import_id, source=source, checksum=checksum, partitions=len(touched),
                            rows_read=sum(int(r[4]) for r in stats), rejected=sum(by_reason.values()),
                            rejected_by_reason=dict(sorted(by_reason.items())))
        clock.step("merge", 0.4)
        where = self._partition_filter(touched, ("year", "month", "enterprise"))
        old = self.frame("readings", partitions=True).where(where)
        con.register_frame("_gp_old", old)
        protect = earlier[0] if earlier else None  # a forced re-import never overrides a later import's values
        kept = "FALSE" if protect is None else f"coalesce(o.import_id > {protect} AND o.value <> n.value, FALSE)"
        new = """SELECT meter_id, ts, value, CAST(year(hour) AS VARCHAR) AS year, CAST(month(hour) AS VARCHAR) AS month,
                         owner FROM _gp_checked WHERE why IS NULL"""
        if not old.inputFiles():  # nothing stored in these partitions yet: every valid row is new, and
            # the checkpointed rows are read as they are (no second copy, no count)
            merged = con.execute(f"""
                SELECT meter_id, ts, value, {import_id} AS import_id, 'new' AS state, CAST(NULL AS DOUBLE) AS old_value,
                       CAST(NULL AS BIGINT) AS old_import_id, year, month, owner AS enterprise FROM ({new}) n""")._frame
            con.register_frame("_gp_merged", merged)
            counts = {"new": result.rows_read - result.rejected}
        else:
            merged = con.execute(f"""
                SELECT coalesce(n.meter_id, o.meter_id) AS meter_id, coalesce(n.ts, o.ts) AS ts,
                       CASE WHEN n.meter_id IS NULL OR {kept} THEN o.value ELSE n.value END AS value,
                       CASE WHEN n.meter_id IS NULL OR o.value = n.value OR {kept} THEN o.import_id
                            ELSE {import_id} END AS import_id,
                       CASE WHEN n.meter_id IS NULL THEN 'stored' WHEN o.meter_id IS NULL THEN 'new'
                            WHEN {kept} THEN 'kept' WHEN o.value = n.value THEN 'unchanged' ELSE 'corrected' END AS state,
                       o.value AS old_value, o.import_id AS old_import_id,
                       coalesce(n.year, o.year) AS year, coalesce(n.month, o.month) AS month,
                       coalesce(n.owner, o.enterprise) AS enterprise
                FROM ({new}) n FULL JOIN _gp_old o ON n.meter_id = o.meter_id AND n.ts = o.ts""")._frame.localCheckpoint()
            con.register_frame("_gp_merged", merged)
            counts = dict(con.execute("SELECT state, count(*) FROM _gp_merged GROUP BY state").fetchall())
        result.accepted, result.unchanged = counts.get("new", 0), counts.get("unchanged", 0)
        result.corrected, result.kept = counts.get("corrected", 0), counts.get("kept", 0)
        if result.accepted or result.corrected:
            clock.step("write readings", 0.55)
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
            clock.step("rollups", 0.75)
            self.rebuild_rollups(store, touched, merged)
        if result.rejected:
            clock.step("quarantine", 0.95)
            self._write("quarantine", con.execute(f"""
                SELECT {import_id} AS import_id, '{_q(source)}' AS source, CAST(NULL AS BIGINT) AS line_no,
                       why AS reason, why_detail AS detail,
                       concat_ws(',', coalesce(meter_id, ''), coalesce(strftime(ts_in, '%Y-%m-%d %H:%M:%S.%f'), ''),
                                 coalesce({number_text('v_in')}, ''), coalesce(unit, '')) AS raw
                FROM _gp_checked WHERE why IS NOT NULL""")._frame)
        finished = dt.datetime.now(dt.UTC)
        row = pa.table({"import_id": [import_id], "source": [source], "checksum": [checksum],
                        "started_at": pa.array([started], pa.timestamp("us", tz="UTC")),
                        "finished_at": pa.array([finished], pa.timestamp("us", tz="UTC")),
                        "rows_read": [result.rows_read], "accepted": [result.accepted],
                        "unchanged": [result.unchanged], "corrected": [result.corrected],
                        "rejected": [result.rejected], "status": ["complete"], "greenpark_version": [__version__]})
        self._write("imports", self.spark.createDataFrame(row))
        self._drop_views()
        checked.unpersist()
        merged.unpersist()
        self.attach()
        result.steps = clock.done()
        return result

    def _drop_views(self) -> None:
        for v in ("_raw", "_gp_uf", "_gp_lim", "_gp_parsed", "_gp_checked", "_gp_old", "_gp_merged", "_gp_hist_old"):
            self.con.unregister(v)

    def rebuild_rollups(self, store, touched: list[tuple], rows=None) -> None:
        """Hourly and daily rollups of the partitions ``touched`` (year, month, enterprise) from their
        readings (``rows``: a frame holding exactly those partitions' readings, with the columns
        meter_id, ts, value, year, month, enterprise; default: read from the lake); monthly rollups
        of their (year, enterprise) from the daily ones -- the exact sums of
        :mod:`greenpark.store.readings`, so the figures equal a DuckDB store's to the last digit."""
        con = self.con
        if rows is None:
            rows = self.frame("readings", partitions=True).where(
                self._partition_filter(touched, ("year", "month", "enterprise")))
        con.register_frame("_gp_r", rows)
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
        years = sorted({(y, e) for y, _, e in touched})
        con.register_frame("_gp_d", self.frame("rollup_daily", partitions=True)
                           .where(self._partition_filter(years, ("year", "enterprise"))))
        self._write("rollup_monthly", con.execute(f"""
            SELECT meter_id, CAST(date_trunc('month', day) AS DATE) AS month,
                   {Store.HOUR_SUM.format(x="quantity")} AS quantity, sum(n_readings) AS n_readings, year, enterprise
            FROM _gp_d GROUP BY ALL""")._frame)
        for v in ("_gp_r", "_gp_h", "_gp_d"):
            con.unregister(v)
        hourly.unpersist()
        self.attach()

    # -- published carbon results (greenpark.store.results) ----------------------------------------
    def _typed(self, table: str, data: pa.Table):
        """A Spark DataFrame of ``data`` with the store's columns and types of ``table``."""
        schema = schemas()[table]
        return self.spark.createDataFrame(data.select(schema.names).cast(schema)).selectExpr(
            *[f"CAST(`{f.name}` AS {_spark_type(f.type)}) AS `{f.name}`" for f in schema])

    def publish_result(self, row: dict[str, Any]) -> None:
        """Add a published result (a ``carbon_results`` row) to its ``period=`` partition; when it
        ``restates`` a row, that row gets ``superseded_by`` = the new ``result_id`` (the same key,
        so the same partition). The partition is rewritten (staged, :meth:`_write`) and the views
        re-attached."""
        from pyspark.sql import functions as F

        new = self._typed("carbon_results", pa.Table.from_pylist([row], schema=schemas()["carbon_results"]))
        old = self.frame("carbon_results").where(F.col("period") == int(row["period"]))
        if row.get("restates") is not None:
            old = old.withColumn("superseded_by", F.when(F.col("result_id") == int(row["restates"]),
                                                         F.lit(int(row["result_id"])).cast("bigint"))
                                 .otherwise(F.col("superseded_by")))
        self._write("carbon_results", old.unionByName(new))
        self.attach()

    def add_uses(self, uses) -> None:
        """Add certificate uses (a pandas frame of ``carbon_certificate_uses`` columns) to their
        ``period=`` partitions (rewritten, staged) and re-attach the views."""
        from pyspark.sql import functions as F

        schema = schemas()["carbon_certificate_uses"]
        new = self._typed("carbon_certificate_uses", pa.Table.from_pandas(uses[schema.names], schema=schema,
                                                                          preserve_index=False))
        periods = sorted({int(p) for p in uses["period"]})
        old = self.frame("carbon_certificate_uses").where(F.col("period").isin(periods))
        self._write("carbon_certificate_uses", old.unionByName(new))
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
