"""Options and helpers shared by CLI commands: finding park.toml, opening the store, rendering."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from greenpark import park as park_mod

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


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


class UserError(Exception):
    """An error the user can fix; printed without a traceback, exit status 2."""


def friendly_errors(fn: Callable) -> Callable:
    """Print user-fixable errors (bad park.toml, unknown ids, ...) as one clear message, exit 2."""
    from greenpark import reference
    from greenpark.core import units
    from greenpark.services import environment

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (UserError, park_mod.ParkError, reference.ReferenceError, units.UnitError,
                environment.EnvironmentDataError) as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def load_park(path: Path | None) -> park_mod.Park:
    return park_mod.load(park_mod.find_park_file(path))


def dumps_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)


def write_csv(rows: Sequence[dict[str, Any]], columns: Iterable[str] | None = None, out=None) -> None:
    out = out or sys.stdout
    rows = list(rows)
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    w = csv.DictWriter(out, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)


def csv_text(rows: Sequence[dict[str, Any]], columns: Iterable[str] | None = None) -> str:
    buf = io.StringIO()
    write_csv(rows, columns, buf)
    return buf.getvalue()
