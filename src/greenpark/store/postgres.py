"""PostgreSQL as the store of multi-process deployments (``--db postgresql://...``).

greenpark's SQL is written once, in DuckDB's dialect (the embedded default). On PostgreSQL a
:class:`PgConnection` stands in for the DuckDB connection: it offers the few methods the code
uses (``execute`` with ``?`` parameters, ``fetchall``/``fetchone``/``description``, ``df``,
``to_arrow_table``, ``register`` of Arrow tables, ``cursor``) and translates each statement with
sqlglot (parsed as DuckDB, written as PostgreSQL) plus the handful of rewrites sqlglot leaves to
us (:func:`translate`): ``GROUP BY ALL``, ``SEMI JOIN``, ``CREATE OR REPLACE TEMP TABLE``,
``TRY_CAST``, ``arg_max``, epoch-microsecond arithmetic and ``strftime`` formats. The same
mechanism is the way to other engines (Spark) later: the SQL stays one text, the dialect is data.

Registered Arrow tables become session temporary tables loaded with ``COPY ... FROM STDIN`` (CSV
written by Arrow, no Python loop over rows). Writers of every process are serialised by a
transaction-scoped advisory lock (:data:`WRITE_LOCK`), as DuckDB's single writer is in one file;
each committed write sends ``NOTIFY greenpark_write`` so that servers drop their caches.
"""

from __future__ import annotations

import functools
import io
import itertools
import re
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlglot
from sqlglot import exp

from greenpark.errors import InternalError
from greenpark.store import TextValueError

#: key of the advisory lock every write transaction takes (pg_advisory_xact_lock): one writer at a time
WRITE_LOCK = 0x67726E7061726B  # 'grnpark'
#: channel of the notification each committed write sends
NOTIFY_CHANNEL = "greenpark_write"

_PARAM = "__gp_param__"
_TRY_CAST = {  # DuckDB type of a TRY_CAST -> PostgreSQL function of migrations/postgresql/0001
    exp.DataType.Type.TIMESTAMPTZ: "gp_try_timestamptz",
    exp.DataType.Type.TIMESTAMP: "gp_try_timestamp",
    exp.DataType.Type.DOUBLE: "gp_try_double",
    exp.DataType.Type.DATE: "gp_try_date",
    exp.DataType.Type.BIGINT: "gp_try_bigint",
    exp.DataType.Type.INT: "gp_try_bigint",
}
_alias = itertools.count(1)
_STRFTIME = {"%z": "OF", "%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH24", "%M": "MI", "%S": "SS", "%j": "DDD"}


class TranslationError(InternalError, ValueError):
    """A statement uses DuckDB SQL that has no PostgreSQL translation here."""


def _pg(node: exp.Expression) -> str:
    return node.sql(dialect="postgres")


def _sub(node: exp.Expression) -> str:
    """PostgreSQL text of a sub-expression, itself rewritten first."""
    return _pg(_tree(node))


def _tree(node: exp.Expression) -> exp.Expression:
    """A sub-expression rewritten (sqlglot's transform does not enter the nodes a rewrite returns)."""
    return node.copy().transform(_rewrite)


def _parse_pg(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="postgres")


def _is_aggregate(node: exp.Expression) -> bool:
    return any(not agg.find_ancestor(exp.Window) for agg in node.find_all(exp.AggFunc))


def _group_by_all(select: exp.Select) -> None:
    group = select.args.get("group")
    if not group or not group.args.get("all"):
        return
    keys = [exp.Literal.number(i + 1) for i, e in enumerate(select.expressions) if not _is_aggregate(e)]
    select.set("group", exp.Group(expressions=keys) if keys else None)


def _from_name(select: exp.Select) -> str:
    src = select.args["from_"].this
    return src.alias_or_name


def _semi_joins(select: exp.Select) -> None:
    joins = select.args.get("joins") or []
    keep = []
    for j in joins:
        if (j.args.get("kind") or "").upper() != "SEMI":
            keep.append(j)
            continue
        right = j.this
        rname = right.alias_or_name
        if j.args.get("using"):
            left = _from_name(select)
            cond = exp.and_(*[exp.EQ(this=exp.column(c.name, rname), expression=exp.column(c.name, left))
                              for c in j.args["using"]])
        else:
            cond = j.args["on"]
        sub = exp.select("1").from_(right.copy()).where(cond.copy())
        select.where(exp.Exists(this=sub), copy=False)
    select.set("joins", keep or None)


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Select):
        _group_by_all(node)
        _semi_joins(node)
        return node
    if isinstance(node, exp.Subquery) and not node.alias and isinstance(node.parent, exp.From | exp.Join):
        node.set("alias", exp.TableAlias(this=exp.to_identifier(f"_gp_q{next(_alias)}")))  # PostgreSQL < 16
        return node
    if isinstance(node, exp.Cast) and not isinstance(node, exp.TryCast) and node.to.this == exp.DataType.Type.DECIMAL \
            and not (isinstance(node.this, exp.Cast) and node.this.to.this == exp.DataType.Type.TEXT):
        # double -> numeric in PostgreSQL keeps only 15 significant digits; through text it is exact
        return _parse_pg(f"CAST(CAST({_sub(node.this)} AS TEXT) AS {node.to.sql(dialect='postgres')})")
    if isinstance(node, exp.TryCast):
        fn = _TRY_CAST.get(node.to.this)
        if fn is None:
            raise TranslationError(f"TRY_CAST to {node.to.sql()} has no PostgreSQL function")
        return exp.Anonymous(this=fn, expressions=[exp.cast(_tree(node.this), "text")])
    if isinstance(node, exp.Placeholder):
        return exp.var(_PARAM)
    if isinstance(node, exp.IsNan):
        return exp.paren(exp.EQ(this=_tree(node.this), expression=exp.cast(exp.Literal.string("NaN"), "double")))
    if isinstance(node, exp.IsInf):
        return exp.paren(exp.EQ(this=exp.Abs(this=_tree(node.this)),
                                expression=exp.cast(exp.Literal.string("Infinity"), "double")))
    if isinstance(node, exp.ArgMax | exp.ArgMin):
        order = "DESC" if isinstance(node, exp.ArgMax) else "ASC"
        return _parse_pg(f"(ARRAY_AGG({_sub(node.this)} ORDER BY {_sub(node.expression)} {order}))[1]")
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None:  # PostgreSQL: round(numeric, n)
        return _parse_pg(f"CAST(ROUND(CAST({_sub(node.this)} AS NUMERIC), {_sub(node.args['decimals'])}) "
                         "AS DOUBLE PRECISION)")
    if isinstance(node, exp.IntDiv):
        return _parse_pg(f"CAST(DIV({_sub(node.this)}, {_sub(node.expression)}) AS BIGINT)")
    if isinstance(node, exp.UnixToTime) and node.args.get("scale") is not None \
            and node.args["scale"].name == "6":  # make_timestamp(epoch microseconds)
        return _parse_pg(f"(TIMESTAMP '1970-01-01' + CAST({_sub(node.this)} AS DOUBLE PRECISION) "
                         "* INTERVAL '1 microsecond')")
    if isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
        return _parse_pg(f"CAST(EXTRACT(EPOCH FROM {_sub(node.expressions[0])}) * 1000000 AS BIGINT)")
    if isinstance(node, exp.TimeToStr):
        fmt = node.args["format"].name
        parts = re.split(r"(%[A-Za-z])", fmt)
        unknown = [p for p in parts if p.startswith("%") and len(p) == 2 and p not in _STRFTIME]
        if unknown:
            raise TranslationError(f"strftime format {unknown} has no PostgreSQL to_char pattern here")
        out = "".join(_STRFTIME.get(p, f'"{p}"' if p else "") for p in parts)
        return _parse_pg(f"TO_CHAR({_sub(node.this)}, '{out}')")
    return node


@functools.lru_cache(maxsize=4096)
def translate(sql: str, with_params: bool) -> tuple[tuple[str, bool], ...]:
    """PostgreSQL statements for one DuckDB statement (or script), each with whether it takes the
    parameters; ``with_params``: ``?`` become ``%s`` and literal ``%`` are doubled for psycopg."""
    out = []
    for tree in sqlglot.parse(sql, read="duckdb"):
        if tree is None:
            continue
        tree = tree.transform(_rewrite)
        if isinstance(tree, exp.Create) and tree.args.get("replace") and tree.kind == "TABLE":
            out.append((f"DROP TABLE IF EXISTS {_pg(tree.this)}", False))
            tree.set("replace", False)
        text = _pg(tree)
        takes = _PARAM in text
        if with_params:
            text = text.replace("%", "%%").replace(_PARAM, "%s")
        out.append((text, takes))
        if isinstance(tree, exp.Create) and tree.kind == "TABLE" and tree.expression is not None:
            # a table made from a query has no statistics until analysed: without them the planner
            # guesses (nested loops over staged imports)
            out.append((f"ANALYZE {_pg(tree.this)}", False))
    return tuple(out)


_PG_TYPES = {  # Arrow type id -> PostgreSQL column type of a registered table
    pa.types.is_string: "text", pa.types.is_large_string: "text", pa.types.is_boolean: "boolean",
    pa.types.is_int8: "smallint", pa.types.is_int16: "smallint", pa.types.is_int32: "integer",
    pa.types.is_int64: "bigint", pa.types.is_uint8: "smallint", pa.types.is_uint16: "integer",
    pa.types.is_uint32: "bigint", pa.types.is_uint64: "numeric", pa.types.is_float32: "real", pa.types.is_float64: "double precision",
    pa.types.is_date32: "date", pa.types.is_decimal: "numeric", pa.types.is_null: "text",
}


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    for test, name in _PG_TYPES.items():
        if test(t):
            return name
    raise TypeError(f"cannot register an Arrow column of type {t} in PostgreSQL")


# PostgreSQL type oids -> Arrow types of the frames/tables built from results
_OID_ARROW = {16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 700: pa.float32(),
              701: pa.float64(), 1700: pa.float64(), 25: pa.string(), 1043: pa.string(), 1042: pa.string(),
              19: pa.string(), 1082: pa.date32(), 1114: pa.timestamp("us")}


class PgResult:
    """The result of one statement: rows as DuckDB gives them (fetchall), a pandas frame (df)
    or an Arrow table (to_arrow_table) with DuckDB's column types."""

    def __init__(self, cur, timezone: str):
        self._cur = cur
        self._tz = timezone
        self.description = cur.description

    def fetchall(self) -> list[tuple]:
        return self._cur.fetchall() if self.description else []

    def fetchone(self):
        return self._cur.fetchone() if self.description else None

    def to_arrow_table(self) -> pa.Table:
        rows = self.fetchall()
        cols = {}
        for i, d in enumerate(self.description):
            values = [r[i] for r in rows]
            t = pa.timestamp("us", tz=self._tz) if d.type_code == 1184 else _OID_ARROW.get(d.type_code)
            if t is None:
                arr = pa.array(values)
            elif d.type_code == 1700:
                arr = pa.array([None if v is None else float(v) for v in values], t)
            else:
                arr = pa.array(values, t)
            cols[d.name] = arr
        return pa.table(cols) if cols else pa.table({})

    arrow = to_arrow_table

    def df(self):
        t = self.to_arrow_table()
        # DuckDB's frames carry DATE as datetime64 (as TIMESTAMP)
        for i, f in enumerate(t.schema):
            if pa.types.is_date32(f.type):
                t = t.set_column(i, f.name, t.column(i).cast(pa.timestamp("us")))
        return t.to_pandas()

    fetchdf = df


class PgConnection:
    """A psycopg connection that runs greenpark's DuckDB SQL on PostgreSQL (see the module text)."""

    def __init__(self, dsn: str, timezone: str):
        import psycopg

        self.dsn = dsn
        self.timezone = timezone
        self._conn = psycopg.connect(dsn, autocommit=True)
        self._conn.adapters.register_loader("numeric", _NumericLoader)
        self._conn.execute(f"SET TimeZone = '{timezone}'")
        self._conn.execute("SET client_min_messages = warning")
        self._last: PgResult | None = None
        self._shared = False

    # -- DuckDB connection surface ---------------------------------------------------------------
    def execute(self, sql: str, params: list | tuple | None = None) -> PgResult:
        if params and any(isinstance(p, str) and "\x00" in p for p in params):
            raise TextValueError("text values may not contain the NUL character (\\x00)")
        statements = translate(sql, bool(params))
        cur = self._conn.cursor()
        for s, takes in statements:
            cur.execute(s, list(params) if params and takes else None)
        self._last = PgResult(cur, self.timezone)
        return self._last

    def sql(self, sql: str) -> PgResult:
        return self.execute(sql)

    def fetchall(self) -> list[tuple]:
        return self._last.fetchall() if self._last else []

    def fetchone(self):
        return self._last.fetchone() if self._last else None

    @property
    def description(self):
        return self._last.description if self._last else None

    def cursor(self) -> PgConnection:
        """A handle on this same session (its transaction and temporary tables); closing it
        leaves the session open. The core takes cursors to register relations of its own; a new
        session for another thread is :meth:`connect`."""
        child = object.__new__(PgConnection)
        child.__dict__.update(self.__dict__)
        child._last = None
        child._shared = True
        return child

    def connect(self) -> PgConnection:
        """A new session on the same database (for another thread)."""
        return PgConnection(self.dsn, self.timezone)

    def register(self, name: str, data: Any) -> None:
        """A temporary table ``name`` holding ``data`` (an Arrow table or a pandas frame)."""
        if not isinstance(data, pa.Table):
            data = pa.Table.from_pandas(data, preserve_index=False)
        ident = _quote(name)
        cols = ", ".join(f"{_quote(f.name)} {_pg_type(f.type)}" for f in data.schema)
        with self._conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {ident}")
            cur.execute(f"CREATE TEMP TABLE {ident} ({cols})")
            if data.num_rows:
                buf = io.BytesIO()
                pacsv.write_csv(_csv_ready(data), buf, pacsv.WriteOptions(include_header=False))
                with cur.copy(f"COPY {ident} FROM STDIN (FORMAT csv)") as cp:
                    cp.write(buf.getvalue())
                cur.execute(f"ANALYZE {ident}")

    def unregister(self, name: str) -> None:
        self._conn.execute(f"DROP TABLE IF EXISTS {_quote(name)}")

    def close(self) -> None:
        if not self._shared:
            self._conn.close()

    # -- PostgreSQL only -------------------------------------------------------------------------
    def execute_native(self, sql: str, params: list | tuple | None = None):
        """Run PostgreSQL SQL as it is (migrations of migrations/postgresql, locks, notifications)."""
        return self._conn.execute(sql, params)

    @property
    def raw(self):
        return self._conn


def _load_numeric(text: str) -> int | float:
    d = Decimal(text)
    return int(d) if d.is_finite() and d == d.to_integral_value() else float(d)


try:
    from psycopg.adapt import Loader as _Loader

    class _NumericLoader(_Loader):
        """numeric results as DuckDB gives its sums: integers as int (sum of BIGINT), others as float."""

        def load(self, data) -> int | float:
            return _load_numeric(bytes(data).decode())
except ImportError:  # psycopg is needed only for PostgreSQL stores
    _NumericLoader = None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _csv_ready(t: pa.Table) -> pa.Table:
    """Columns as PostgreSQL's COPY reads them: null-typed columns as text, and NUL characters
    (which PostgreSQL text cannot hold; DuckDB keeps them) as U+FFFD in staged text, e.g. the raw
    line of a quarantined row."""
    import pyarrow.compute as pc

    out = t
    for i, f in enumerate(t.schema):
        if pa.types.is_null(f.type):
            out = out.set_column(i, f.name, pa.nulls(len(t), pa.string()))
        elif pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            out = out.set_column(i, f.name, pc.replace_substring(t.column(i), "\x00", "\ufffd"))
    return out


def wait_for_changes(url: str, on_change, closed) -> None:
    """Call ``on_change()`` once connected and whenever any process commits a write to the
    PostgreSQL store at ``url`` (the notification of :meth:`Store.transaction`), until
    ``closed()``. Connection errors propagate (psycopg.Error): the caller reconnects."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        on_change()  # writes while we were not listening
        while not closed():
            for _ in conn.notifies(timeout=0.5, stop_after=1):
                on_change()
