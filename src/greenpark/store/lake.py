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
from greenpark.store import Store, fixed_utc_offset

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
        if self.exists(table):
            df = self.spark.read.option("basePath", self.path(table)).parquet(self.path(table))
        else:
            ddl = ", ".join([f"`{f.name}` {_spark_type(f.type)}" for f in schema]
                            + [f"`{p}` STRING" for p in parts if p not in schema.names])
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
        frame.write.mode("overwrite").partitionBy(*parts).parquet(stage)
        staged = self.spark.read.option("basePath", stage).parquet(stage)
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
