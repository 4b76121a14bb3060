"""Options and helpers shared by CLI commands: finding park.toml, opening the store, rendering.

:func:`run` is the one path of a command that reads the accounts: load park.toml -> open the store
-> compute -> close -> render as a table, JSON or CSV. Heavy modules (pandas, numpy, pint, duckdb,
pyarrow, fastapi, matplotlib, scipy) are imported inside the command functions, never at module
level, so that ``greenpark --help`` and argument errors answer at once (tests/test_cli_startup.py).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from greenpark.errors import GreenparkError, InputError
from greenpark.jsonsafe import csv_safe

if TYPE_CHECKING:
    from greenpark.park import Park
    from greenpark.store import Store

# piped or redirected output (logs, CI) gets a wide page instead of rich's 80-column default
console = Console(width=None if sys.stdout.isatty() else 132)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 132)

ParkOpt = Annotated[
    Path | None,
    typer.Option("--park", envvar="GREENPARK_PARK", help="park.toml to use (default: ./park.toml)."),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", envvar="GREENPARK_DB", help="Store: a DuckDB file path (default: park.toml's db) or postgresql://..."),
]

EngineOpt = Annotated[
    str | None,
    typer.Option("--engine", envvar="GREENPARK_ENGINE",
                 help="duckdb (default: park.toml's engine) or spark (Parquet lake at --db or park.toml's lake)."),
]


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


class UserError(InputError):
    """An error the user can fix; printed without a traceback, exit status 2."""


def friendly_errors(fn: Callable) -> Callable:
    """Print every :class:`~greenpark.errors.GreenparkError` (bad park.toml, unknown ids, a store that
    cannot be opened...) as one clear message and exit with the error's own ``exit_status``."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GreenparkError as exc:
            from greenpark.i18n import text

            err_console.print(f"[bold red]{text('cli.error_prefix')}[/] {escape(exc.localized())}",
                              highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_status) from None

    return wrapper


class _LazyModule:
    """A module imported on first attribute access (keeps heavy imports out of start-up)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._name), attr)


def lazy_module(name: str) -> Any:
    return _LazyModule(name)


def load_park(path: Path | None) -> Park:
    from greenpark import park as park_mod

    return park_mod.load(park_mod.find_park_file(path))


def open_store(park: Park, db: str | None, read_only: bool = False, engine: str | None = None) -> Store:
    """The store of ``park`` (``--db`` or park.toml's db); its errors as a :class:`UserError`.
    ``engine`` "spark" (or park.toml's engine): the Parquet lake at ``--db`` or park.toml's lake.

    A DuckDB file held by a running ``greenpark serve``: opened for reading, the store is a
    snapshot the server takes for this command (:func:`_snapshot_of_server`); opened for writing,
    the error names the server and what to do."""
    from greenpark.store import Store, StoreError, StoreLocked

    engine = engine or park.park.engine
    if engine not in ("duckdb", "spark"):
        raise UserError(f"--engine {engine}: use duckdb or spark")
    try:
        if engine == "spark":
            from greenpark.store.spark import SparkStore

            store = SparkStore(db or park.lake_path, park.park.timezone, master=park.park.spark_master,
                               read_only=read_only)
            store.sync_park(park)
            return store
        path = db or park.db_path
        try:
            return Store(path, park.park.timezone, read_only=read_only)
        except StoreLocked as exc:
            return _snapshot_of_server(path, park.park.timezone, read_only, exc)
    except StoreError as exc:
        raise UserError(str(exc)) from None


def _snapshot_of_server(path: str, timezone: str, read_only: bool, locked: Exception) -> Store:
    """A read-only store on a snapshot of the store ``path`` from the ``greenpark serve`` that
    holds it (found through its discovery file); a clear error when there is none, it does not
    answer, or the command writes."""
    from greenpark import discovery
    from greenpark.store import Store
    from greenpark.store import snapshot as store_snapshot

    server = discovery.find(path)
    if server is None or (getattr(locked, "pid", None) not in (None, server.pid)):
        err = UserError(str(locked))  # another process, or a server of an older greenpark: wait or stop it
        err.message_code, err.message_params = locked.message_code, locked.message_params  # type: ignore[attr-defined]
        raise err from None
    if not read_only:
        raise UserError.t("server.write_blocked", pid=server.pid, url=server.url, db=path) from None
    try:
        snap = discovery.request_snapshot(server)
    except discovery.DiscoveryError as exc:
        raise UserError.t("server.snapshot_failed", pid=server.pid, url=server.url, db=path, error=str(exc)) from None
    try:
        store = Store(snap, timezone, read_only=True)
    finally:
        store_snapshot.remove(snap)  # the open store keeps reading it (POSIX); nothing is left behind
    from greenpark.i18n import text

    err_console.print(text("server.reading_snapshot", pid=server.pid, url=server.url), style="dim", highlight=False)
    return store


@contextmanager
def park_store(park: Park | Path | None, db: str | None, *, read_only: bool = True,
               hint: str | None = None, engine: str | None = None) -> Iterator[tuple[Park, Store]]:
    """park.toml loaded (unless given loaded) and its store open, closed on the way out (also after
    an error); ``hint`` is added to the message when the store cannot be opened."""
    p = load_park(park) if park is None or isinstance(park, str | Path) else park
    try:
        store = open_store(p, db, read_only=read_only, engine=engine)
    except UserError as exc:
        if hint is None:
            raise
        raise UserError(f"{exc}\n{hint}") from None
    try:
        yield p, store
    finally:
        store.close()


def render(result: Any, format: Enum | str, *, table: Callable[[Any], Any] | None = None,
           rows: Callable[[Any], Sequence[dict[str, Any]]] | None = None, columns: Iterable[str] | None = None,
           to_json: Callable[[Any], Any] | None = None) -> None:
    """Print ``result`` as JSON (``to_json(result)``, default the result itself), CSV (``rows(result)``
    under ``columns``) or a table (``table(result)``: one rich renderable, or a list of them; None
    entries are skipped)."""
    fmt = format.value if isinstance(format, Enum) else str(format)
    if fmt == "json":
        typer.echo(dumps_json(to_json(result) if to_json else result))
    elif fmt == "csv":
        if rows is None:
            raise UserError("this command has no CSV output; use --format json or table")
        typer.echo(csv_text(rows(result), columns), nl=False)
    elif table is not None:
        out = table(result)
        for part in out if isinstance(out, list | tuple) else [out]:
            if part is not None:
                console.print(part)


def run(park: Park | Path | None, db: str | None, compute: Callable[[Park, Store], Any], format: Enum | str, *,
        read_only: bool = True, table: Callable[[Any], Any] | None = None,
        rows: Callable[[Any], Sequence[dict[str, Any]]] | None = None, columns: Iterable[str] | None = None,
        to_json: Callable[[Any], Any] | None = None, engine: str | None = None) -> Any:
    """The one path of a command: load park.toml -> open the store -> ``compute(park, store)`` ->
    close the store -> :func:`render`. Returns the result."""
    with park_store(park, db, read_only=read_only, engine=engine) as (p, store):
        result = compute(p, store)
    render(result, format, table=table, rows=rows, columns=columns, to_json=to_json)
    return result


# -- the language of tables: headers, ids and messages from the one catalogue -----------------
#: table column -> the catalogue kind of its values (ids shown as their label)
VALUE_KINDS = {"carrier": "carrier", "end_use": "end_use", "industry": "industry", "unit": "unit",
               "reason": "reason", "statistic": "statistic", "pollutant": "pollutant", "role": "role",
               "status": "status", "severity": "severity", "verdict": "verdict", "meter_role": "meter_role",
               "parameter": "parameter", "metric": "metric", "flag": "finding", "code": "finding"}


def lang() -> str:
    """The language of this command (``--lang``, ``GREENPARK_LANG``, the locale)."""
    from greenpark.i18n import current_lang

    return current_lang()


def lab(kind: str, code: Any) -> str:
    """The label of ``code`` (kind ``kind``) in the command's language; the code itself if unknown."""
    from greenpark.findings import label

    return "—" if code is None else label(kind, str(code), lang())


def msg(code: str, **params: Any) -> str:
    """A catalogue message (kind ``message``) in the command's language."""
    from greenpark.i18n import text

    return text(code, **params)


def header(code: str, unit: str | None = None) -> str:
    """A table header: the ``column`` label of ``code`` (else its carrier label, else the code), and
    the unit's label in brackets."""
    from greenpark.findings import lookup

    kind = "column" if lookup("column", code) else "carrier" if lookup("carrier", code) else None
    head = lab(kind, code) if kind else code
    return f"{head} [{lab('unit', unit)}]" if unit else head


def _cell(col: str, v: Any, digits: int, kinds: dict[str, str]) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return msg("cli.yes") if v else msg("cli.no")
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if col in kinds:
        return lab(kinds[col], v)
    return str(v)


def code_table(rows: Sequence[dict[str, Any]], *, title: str = "", columns: Iterable[str] | None = None,
               units: dict[str, str] | None = None, kinds: dict[str, str] | None = None, digits: int = 3):
    """A rich table of ``rows`` (dicts keyed by stable codes, the same keys as the JSON/CSV) with
    headers, ids and units labelled in the command's language. Columns: ``columns`` or the union of
    the rows' keys in first-seen order (never only the first row's: a missing value is "—")."""
    from rich.table import Table

    kinds = {**VALUE_KINDS, **(kinds or {})}
    units = units or {}
    if columns is None:
        cols: list[str] = []
        for r in rows:
            cols.extend(k for k in r if k not in cols)
    else:
        cols = list(columns)
    t = Table(title=title or None, title_justify="left")
    for c in cols:
        numeric = any(isinstance(r.get(c), int | float) and not isinstance(r.get(c), bool) for r in rows)
        t.add_column(escape(header(c, units.get(c))), justify="right" if numeric else "left")
    for r in rows:
        t.add_row(*[escape(_cell(c, r.get(c), digits, kinds)) for c in cols])
    return t


def dumps_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)


def write_csv(rows: Sequence[dict[str, Any]], columns: Iterable[str] | None = None, out=None) -> None:
    out = out or sys.stdout
    rows = list(rows)
    if columns is not None:
        cols = list(columns)
    else:  # the union of the rows' keys in first-seen order (a key missing from the first row stays)
        cols = []
        for r in rows:
            cols.extend(k for k in r if k not in cols)
    w = csv.DictWriter(out, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: csv_safe(v) for k, v in r.items()})


def csv_text(rows: Sequence[dict[str, Any]], columns: Iterable[str] | None = None) -> str:
    buf = io.StringIO()
    write_csv(rows, columns, buf)
    return buf.getvalue()
