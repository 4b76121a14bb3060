"""`greenpark ingest`, `greenpark imports`, `greenpark quarantine`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import ingest as ingest_mod
from ..store import Store, StoreError
from .app import app
from .common import (
    DbOpt,
    Format,
    FormatOpt,
    ParkOpt,
    UserError,
    console,
    dumps_json,
    friendly_errors,
    load_park,
    write_csv,
)


def open_store(park, db: str | None, read_only: bool = False) -> Store:
    try:
        return Store(db or park.db_path, park.park.timezone, read_only=read_only)
    except StoreError as exc:
        raise UserError(str(exc)) from None


def run_ingest(store: Store, park, files: list[Path], force: bool = False, quiet: bool = False) -> list:
    """Import files with a progress bar; returns the ImportResults (IngestError for unreadable files)."""
    with store.transaction():
        store.sync_park(park)
    results = []
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[stage]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=quiet, transient=False) as bar:
        total = bar.add_task("import", total=len(files), stage="")
        for f in files:
            def step(stage: str, frac: float, _f=f) -> None:
                bar.update(total, stage=f"{_f.name}: {stage}")

            try:
                results.append(ingest_mod.ingest_file(store, f, force=force, progress=step))
            except ingest_mod.IngestError as exc:
                results.append(exc)
            bar.advance(total)
    return results


def summary_table(results: list) -> Table:
    t = Table(title="Import summary · 导入汇总")
    for col in ("file 文件", "import", "read 读取", "accepted 新增", "unchanged 未变", "corrected 更正", "rejected 拒收"):
        t.add_column(col, justify="left" if col.startswith("file") else "right", overflow="fold")
    for r in results:
        if isinstance(r, Exception):
            t.add_row(f"[red]{r}[/]", "-", "-", "-", "-", "-", "-")
        elif r.skipped_as_duplicate_of is not None:
            t.add_row(f"{r.source}: already imported (import {r.skipped_as_duplicate_of}), nothing changed; "
                      "--force re-processes it", "-", "-", "-", "-", "-", "-")
        else:
            t.add_row(r.source, str(r.import_id), f"{r.rows_read:,}", f"{r.accepted:,}", f"{r.unchanged:,}",
                      f"{r.corrected:,}", f"{r.rejected:,}")
    return t


def reasons_table(results: list) -> Table | None:
    totals: dict[str, int] = {}
    for r in results:
        if not isinstance(r, Exception):
            for k, v in r.rejected_by_reason.items():
                totals[k] = totals.get(k, 0) + v
    if not totals:
        return None
    t = Table(title="Rejected rows by reason · 拒收原因 (greenpark quarantine lists them)")
    t.add_column("reason code")
    t.add_column("rows", justify="right")
    t.add_column("meaning", overflow="fold")
    for k, v in sorted(totals.items()):
        t.add_row(k, f"{v:,}", ingest_mod.REASONS.get(k, ""))
    return t


@app.command()
@friendly_errors
def ingest(
    files: Annotated[list[Path], typer.Argument(help="CSV, Excel (.xlsx) or Parquet files with meter_id, timestamp, value[, unit].")],
    park: ParkOpt = None,
    db: DbOpt = None,
    force: Annotated[bool, typer.Option(help="Re-process files whose checksum was already imported.")] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Import meter readings; bad rows go to the quarantine with a reason code.

    Exit status is non-zero only when no file could be read.
    """
    p = load_park(park)
    store = open_store(p, db)
    results = run_ingest(store, p, files, force=force, quiet=format != Format.table)
    store.close()
    if format == Format.json:
        console.print_json(dumps_json([{"error": str(r)} if isinstance(r, Exception) else r.as_dict() for r in results]))
    elif format == Format.csv:
        write_csv([{"error": str(r)} if isinstance(r, Exception) else
                   {k: v for k, v in r.as_dict().items() if k != "rejected_by_reason"} for r in results])
    else:
        console.print(summary_table(results))
        if (rt := reasons_table(results)) is not None:
            console.print(rt)
    if all(isinstance(r, Exception) for r in results):
        raise typer.Exit(1)


@app.command()
@friendly_errors
def imports(park: ParkOpt = None, db: DbOpt = None, format: FormatOpt = Format.table,
            limit: Annotated[int, typer.Option(help="How many of the latest imports.")] = 50) -> None:
    """List imports: source, checksum, row counts by outcome."""
    p = load_park(park)
    store = open_store(p, db, read_only=True)
    rows = store.imports(limit)
    store.close()
    if format == Format.json:
        console.print_json(dumps_json(rows))
    elif format == Format.csv:
        write_csv(rows)
    else:
        t = Table(title="Imports · 导入记录")
        for c in ("import_id", "source", "started_at", "rows_read", "accepted", "unchanged", "corrected", "rejected", "checksum"):
            t.add_column(c)
        for r in rows:
            t.add_row(*[str(r[c])[:16] if c == "checksum" else str(r[c]) for c in
                        ("import_id", "source", "started_at", "rows_read", "accepted", "unchanged", "corrected",
                         "rejected", "checksum")])
        console.print(t)


@app.command()
@friendly_errors
def quarantine(park: ParkOpt = None, db: DbOpt = None, format: FormatOpt = Format.table,
               reason: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
               limit: Annotated[int, typer.Option(help="At most this many rows (table format).")] = 50) -> None:
    """Rejected rows with their reason code, detail and original line."""
    p = load_park(park)
    store = open_store(p, db, read_only=True)
    where, params = ("WHERE reason = ?", [reason]) if reason else ("", [])
    if reason and reason not in ingest_mod.REASONS:
        raise UserError(f"unknown reason '{reason}'; reason codes: {', '.join(ingest_mod.REASONS)}")
    cur = store.con.execute(f"SELECT * FROM quarantine {where} ORDER BY import_id, line_no", params)
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    counts = store.con.execute("SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 1").fetchall()
    store.close()
    if format == Format.json:
        console.print_json(dumps_json(rows))
    elif format == Format.csv:
        write_csv(rows, cols)
    else:
        t = Table(title=f"Quarantine · 隔离区 ({len(rows)} rows; " + ", ".join(f"{k} {v}" for k, v in counts) + ")")
        for c in ("import_id", "source", "line_no", "reason", "detail", "raw"):
            t.add_column(c, overflow="fold")
        for r in rows[:limit]:
            t.add_row(*[str(r[c]) for c in ("import_id", "source", "line_no", "reason", "detail", "raw")])
        console.print(t)
