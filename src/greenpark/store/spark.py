"""Apache Spark as the engine of province-scale stores (``engine = "spark"``, ``--engine spark``).

greenpark's SQL is written once, in DuckDB's dialect. Here it is one more target of the sqlglot
translation that :mod:`greenpark.store.postgres` uses for PostgreSQL: :func:`translate` parses a
statement as DuckDB and writes it as Spark SQL, plus the few rewrites sqlglot leaves to us
(``epoch_us`` -> ``unix_micros``, ``SEMI JOIN`` -> ``LEFT SEMI JOIN``). What has no faithful Spark
translation raises :class:`TranslationError` -- never a guess: writes (Spark reads the lake's
Parquet files as views; :mod:`greenpark.store.lake` writes them), DuckDB table functions
(``read_csv``), park-time conversions of zones with daylight saving time (``timezone(...)``) and
whatever sqlglot itself reports as unsupported.

A :class:`SparkConnection` stands in for the DuckDB connection (``execute``/``sql``,
``fetchall``/``fetchone``/``description``, ``to_arrow_table``/``df``, ``register`` of Arrow
tables, ``cursor``), so the store's reads (:mod:`greenpark.store.rollups`, the results of
:mod:`greenpark.store.results`) and the services above them run unchanged. Every read the accounts
make returns rows per meter, owner or month: what reaches the driver does not grow with the
number of readings.

The Spark session runs in UTC (``spark.sql.session.timeZone``): the store keeps instants as UTC
wall-clock values and park-time periods as wall-clock values, so no session conversion applies.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from greenpark.errors import InternalError
from greenpark.store import StoreError

#: Spark settings of every greenpark session (a cluster's spark-defaults add to them)
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


class TranslationError(InternalError, ValueError):
    """A statement uses DuckDB SQL that has no Spark SQL translation here."""


class SparkQueryError(InternalError, RuntimeError):
    """Spark rejected a translated statement (a translation gap: a bug to report, not a user error)."""


# -- translation ---------------------------------------------------------------------------------
_WRITES = (exp.Insert, exp.Delete, exp.Update, exp.Merge, exp.Drop, exp.Create, exp.Alter)


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Join) and (node.args.get("kind") or "").upper() in ("SEMI", "ANTI") \
            and not node.args.get("side"):
        node.set("side", "LEFT")
        return node
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "epoch_us":  # the store's TIMESTAMP is Spark's TIMESTAMP_NTZ; the session is in UTC
            return exp.Anonymous(this="UNIX_MICROS", expressions=[
                exp.Cast(this=node.expressions[0], to=exp.DataType.build("TIMESTAMPLTZ"))])
        if name in ("read_csv", "read_parquet", "read_json", "timezone", "to_microseconds", "bit_count"):
            raise TranslationError(f"{name}(...) has no Spark SQL translation here")
    if isinstance(node, exp.UnixToTime):  # make_timestamp(epoch microseconds): a TIMESTAMP (wall clock)
        if node.args.get("scale") is None or node.args["scale"].name != "6":
            raise TranslationError("make_timestamp of parts has no Spark SQL translation here")
        inner = node.this.copy().transform(_rewrite)  # transform does not enter the nodes a rewrite returns
        return exp.Cast(this=exp.Anonymous(this="TIMESTAMP_MICROS", expressions=[inner]),
                        to=exp.DataType.build("TIMESTAMPNTZ"))
    if isinstance(node, exp.ConvertTimezone | exp.AtTimeZone):
        raise TranslationError("park-time conversion of a zone with daylight saving time has no Spark SQL "
                               "translation here: Spark stores need a park time zone with a fixed UTC offset")
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
        raise TranslationError(f"table function {node.this.sql(dialect='duckdb')} has no Spark SQL translation here")
    return node


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """Spark SQL for one DuckDB read statement; :class:`TranslationError` when there is none."""
    trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    if len(trees) != 1:
        raise TranslationError("Spark runs one statement at a time")
    tree = trees[0]
    if isinstance(tree, _WRITES) or tree.find(*_WRITES):
        raise TranslationError(f"{type(tree).__name__.upper()} on the lake: Spark stores are written by "
                               "greenpark.store.lake (Parquet partitions), not by SQL statements")
    tree = tree.transform(_rewrite)
    try:
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise TranslationError(f"no Spark SQL translation: {exc}") from None


# -- session -------------------------------------------------------------------------------------
_SESSION = None


def session(master: str | None = None, conf: dict[str, str] | None = None):
    """The process's Spark session (created once): ``master`` ``local[N]``, ``spark://host:port``
    or ``yarn`` (default ``GREENPARK_SPARK_MASTER`` or ``local[2]``)."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise StoreError(f"Spark stores need greenpark's spark extra ({exc.name} is missing): "
                         "pip install 'greenpark[spark]' (and a Java 17 runtime)") from None
    master = master or os.environ.get("GREENPARK_SPARK_MASTER", "local[2]")
    b = SparkSession.builder.master(master).appName("greenpark")
    settings = {**SESSION_CONF, "spark.sql.shuffle.partitions": os.environ.get("GREENPARK_SPARK_PARTITIONS", "8"),
                **(conf or {})}
    if master.startswith("local"):
        settings.setdefault("spark.ui.enabled", "false")
        settings.setdefault("spark.driver.memory", os.environ.get("GREENPARK_SPARK_MEMORY", "2g"))
    for k, v in settings.items():
        b = b.config(k, v)
    try:
        _SESSION = b.getOrCreate()
    except Exception as exc:  # no Java, bad master URL
        raise StoreError(f"cannot start Spark ({master}): {str(exc).strip().splitlines()[0]}") from None
    _SESSION.sparkContext.setLogLevel("FATAL")  # errors reach the caller as exceptions
    return _SESSION


def stop() -> None:
    """Stop the process's Spark session (tests, benchmarks)."""
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None


# -- connection ----------------------------------------------------------------------------------
def _param(v: Any) -> Any:
    return v  # naive datetimes bind as TIMESTAMP_NTZ (spark.sql.timestampType), the store's TIMESTAMP


def _as_duckdb(t: pa.Table, timezone: str) -> pa.Table:
    """Columns as DuckDB gives them: TIMESTAMPTZ (Spark TIMESTAMP_LTZ, UTC instants) in the session's
    park time zone, wall-clock TIMESTAMP (Spark TIMESTAMP_NTZ) as they are, decimals as doubles."""
    for i, f in enumerate(t.schema):
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            t = t.set_column(i, f.name, t.column(i).cast(pa.timestamp("us", tz=timezone)))
        elif pa.types.is_decimal(f.type):
            t = t.set_column(i, f.name, t.column(i).cast(pa.float64()))
    return t


class SparkResult:
    """The result of one statement, as DuckDB gives it (fetchall, df, to_arrow_table)."""

    def __init__(self, frame, timezone: str = "UTC"):
        self._frame = frame
        self._tz = timezone
        self._table: pa.Table | None = None
        self.description = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]

    def to_arrow_table(self) -> pa.Table:
        if self._table is None:
            self._table = _as_duckdb(self._frame.toArrow(), self._tz)
        return self._table

    arrow = to_arrow_table

    def fetchall(self) -> list[tuple]:
        t = self.to_arrow_table()
        cols = [c.to_pylist() for c in t.columns]
        return list(zip(*cols, strict=True)) if cols else []

    def fetchone(self):
        rows = self.fetchall()
        return rows[0] if rows else None

    def df(self):
        t = self.to_arrow_table()
        for i, f in enumerate(t.schema):  # DuckDB's frames carry DATE as datetime64
            if pa.types.is_date32(f.type):
                t = t.set_column(i, f.name, t.column(i).cast(pa.timestamp("us")))
        return t.to_pandas()

    fetchdf = df


class SparkConnection:
    """A Spark session that runs greenpark's DuckDB SQL (see the module text). Relations are
    session temporary views: the lake's tables (:meth:`greenpark.store.lake.Lake.attach`) and
    the small Arrow tables the reads register."""

    def __init__(self, spark, timezone: str = "UTC"):
        self.spark = spark
        self.timezone = timezone
        self._last: SparkResult | None = None
        #: the store's lake (:class:`greenpark.store.lake.Lake`): where the store's writes go
        #: (:mod:`greenpark.store.results` publishes through it), None for a bare session
        self.lake = None

    def execute(self, sql: str, params: list | tuple | None = None) -> SparkResult:
        from pyspark.errors import AnalysisException

        text = translate(sql)
        try:
            frame = self.spark.sql(text, args=[_param(p) for p in params]) if params else self.spark.sql(text)
        except AnalysisException as exc:
            raise SparkQueryError(f"Spark SQL rejected the translation of a store statement: "
                                  f"{str(exc).splitlines()[0]}\n{text}") from None
        self._last = SparkResult(frame, self.timezone)
        return self._last

    def sql(self, sql: str, params: list | tuple | None = None) -> SparkResult:
        return self.execute(sql, params)

    def fetchall(self) -> list[tuple]:
        return self._last.fetchall() if self._last else []

    def fetchone(self):
        return self._last.fetchone() if self._last else None

    @property
    def description(self):
        return self._last.description if self._last else None

    def cursor(self) -> SparkConnection:
        cur = SparkConnection(self.spark, self.timezone)
        cur.lake = self.lake
        return cur

    connect = cursor

    def register(self, name: str, data: Any) -> None:
        """A temporary view ``name`` of ``data`` (an Arrow table or a pandas frame; small tables)."""
        if not isinstance(data, pa.Table):
            data = pa.Table.from_pandas(data, preserve_index=False)
        for i, f in enumerate(data.schema):  # Spark has no NULL-typed columns
            if pa.types.is_null(f.type):
                data = data.set_column(i, f.name, pa.nulls(len(data), pa.string()))
        self.spark.createDataFrame(data).createOrReplaceTempView(name)

    def register_frame(self, name: str, frame) -> None:
        """A temporary view ``name`` of a Spark DataFrame (the lake's tables)."""
        frame.createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def close(self) -> None:
        """Nothing to close: the session lives as long as the process (:func:`stop`)."""


class SparkStore:
    """A greenpark store on Spark over a Parquet data lake (:mod:`greenpark.store.lake`).

    ``lake`` is a local path or an object-store URL Spark reads (``s3a://...``, ``abfss://...``);
    ``con`` speaks DuckDB's SQL (translated). Only the reads of the accounts and the writes of
    :mod:`greenpark.store.lake` are supported (published carbon results included:
    :mod:`greenpark.store.results` writes them with :meth:`~greenpark.store.lake.Lake.publish_result`);
    the store's other SQL raises TranslationError."""

    engine = "spark"

    def __init__(self, lake: str, timezone: str = "Asia/Shanghai", *, master: str | None = None,
                 read_only: bool = False):
        from greenpark.store import fixed_utc_offset
        from greenpark.store.lake import Lake

        if fixed_utc_offset(timezone) is None:
            raise StoreError(f"Spark stores need a park time zone with a fixed UTC offset; {timezone} has "
                             "daylight saving time")
        self.path = lake
        self.timezone = timezone
        self.read_only = read_only
        self.con = SparkConnection(session(master), timezone)
        self.lake = Lake(lake, self.con)
        self.con.lake = self.lake
        self.lake.attach()

    @contextmanager
    def transaction(self) -> Iterator[SparkConnection]:
        """Lake writes are atomic per partition (:meth:`greenpark.store.lake.Lake.write`); nothing to begin."""
        yield self.con

    def reader(self) -> SparkConnection:
        return self.con.cursor()

    def prepare_reader(self, cur) -> None:
        """Nothing: the Spark session is in UTC and the store's periods are wall-clock values."""

    def sync_park(self, park) -> None:
        """park.toml's meters, meter events and stations as the session's views (as in a DuckDB store)."""
        from greenpark.store.lake import park_tables

        for name, table in park_tables(park).items():
            self.con.register(name, table)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> SparkStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
