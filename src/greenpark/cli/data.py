"""`greenpark ingest`, `greenpark imports`, `greenpark readings` (`greenpark quarantine`: cli/quarantine.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from greenpark.cli.app import app
from greenpark.cli.common import (
    DbOpt,
    EngineOpt,
    Format,
    FormatOpt,
    ParkOpt,
    UserError,
    console,
    csv_safe,
    dumps_json,
    friendly_errors,
    lazy_module,
    load_park,
    open_store,
    write_csv,
)
from greenpark.findings import label

if TYPE_CHECKING:
    from greenpark.store import Store

ingest_mod = lazy_module("greenpark.ingest")  # imported on first use: `greenpark --help` stays fast
store_readings = lazy_module("greenpark.store.readings")


def stage_columns() -> tuple:
    """The columns of an import's progress bar: name, bar, percentage, current stage, time."""
    return (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[stage]}"), TimeElapsedColumn())


def run_ingest(store: Store, park, files: list[Path], force: bool = False, quiet: bool = False,
               profile: str | None = None, encoding: str | None = None) -> list:
    """Import files with a progress bar; returns the ImportResults (IngestError for unreadable files)."""
    with store.transaction():
        store.sync_park(park)
    results = []
    with Progress(*stage_columns(), console=console, disable=quiet, transient=False) as bar:
        total = bar.add_task("import", total=len(files), stage="")
        for f in files:
            def step(stage: str, frac: float, _f=f) -> None:
                bar.update(total, stage=f"{_f.name}: {stage}")

            try:
                results.append(ingest_mod.ingest_file(store, f, force=force, progress=step, park=park,
                                                      profile=profile, encoding=encoding))
            except ingest_mod.IngestError as exc:
                results.append(exc)
            bar.advance(total)
    return results


def run_lake_ingest(store, park, files: list[Path], force: bool = False, quiet: bool = False) -> list:
    """Import Parquet files or folders into a Spark store's lake with a progress bar (stage by stage)."""
    out = []
    with Progress(*stage_columns(), console=console, disable=quiet, transient=False) as bar:
        for f in files:
            task = bar.add_task(f.name, total=1.0, stage="")

            def step(stage: str, frac: float, _t=task) -> None:
                bar.update(_t, completed=frac, stage=stage)

            out.append(ingest_mod.ingest_lake(store, park, str(f), source=f.name, force=force, progress=step))
    return out


def summary_table(results: list) -> Table:
    t = Table(title="Import summary · 导入汇总")
    for col in ("file 文件", "import", "read 读取", "accepted 新增", "unchanged 未变", "corrected 更正", "rejected 拒收"):
        t.add_column(col, justify="left" if col.startswith("file") else "right", overflow="fold")
    for r in results:
        if isinstance(r, Exception):
            t.add_row(f"[red]{escape(r.localized() if hasattr(r, 'localized') else str(r))}[/]",
                      "-", "-", "-", "-", "-", "-")
        elif r.skipped_as_duplicate_of is not None:
            t.add_row(f"{r.source}: already imported (import {r.skipped_as_duplicate_of}), nothing changed; "
                      "--force re-processes it", "-", "-", "-", "-", "-", "-")
        else:
            t.add_row(r.source, str(r.import_id), f"{r.rows_read:,}", f"{r.accepted:,}", f"{r.unchanged:,}",
                      f"{r.corrected:,}" + (f" (+{r.kept:,} kept)" if r.kept else ""), f"{r.rejected:,}")
    return t


def reasons_table(results: list) -> Table | None:
    """Rejected rows by reason (code, zh label, rows, meaning) of import results; None when none."""
    totals: dict[str, int] = {}
    for r in results:
        if not isinstance(r, Exception):
            for k, v in r.rejected_by_reason.items():
                totals[k] = totals.get(k, 0) + v
    return reasons_table_of(totals)


def reasons_table_of(totals: dict[str, int]) -> Table | None:
    """Rejected rows by reason, from counts per reason code; None when there are none."""
    if not totals:
        return None
    t = Table(title="Rejected rows by reason · 拒收原因 (greenpark quarantine lists them)")
    t.add_column("reason code")
    t.add_column("原因")
    t.add_column("rows", justify="right")
    t.add_column("meaning", overflow="fold")
    for k, v in sorted(totals.items()):
        t.add_row(k, label("reason", k, "zh"), f"{v:,}", ingest_mod.REASONS.get(k, ""))
    return t


@app.command()
@friendly_errors
def ingest(
    files: Annotated[list[Path], typer.Argument(help="CSV (any encoding), Excel (.xlsx, .xls, HTML saved as .xls) or "
                                                     "Parquet files with meter_id, timestamp, value[, unit] or their "
                                                     "Chinese headers (表计编号, 采集时间, 读数, 单位 ...).")],
    park: ParkOpt = None,
    db: DbOpt = None,
    force: Annotated[bool, typer.Option(help="Re-process files whose checksum was already imported.")] = False,
    format: FormatOpt = Format.table,
    profile: Annotated[str | None, typer.Option(help="Import profile [profiles.NAME] of park.toml: column and meter "
                                                     "maps, header row, sheet, wide layout, number marks.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of CSV files (e.g. gb18030, utf-8); "
                                                      "default: detected.")] = None,
    engine: EngineOpt = None,
) -> None:
    """Import meter readings; bad rows go to the quarantine with a reason code.

    Exit status is non-zero only when no file could be read.
    """
    p = load_park(park)
    store = open_store(p, db, engine=engine)
    if store.engine == "spark":  # the Parquet lake (greenpark.store.lake): Parquet batches only
        bad = [f for f in files if f.suffix.lower() != ".parquet" and not f.is_dir()]
        if bad:
            raise UserError(f"{bad[0]}: Spark imports take Parquet files or folders (meter_id, timestamp, value)")
        out = run_lake_ingest(store, p, files, force=force, quiet=format != Format.table)
        if format == Format.json:
            console.print_json(dumps_json([r.to_dict() for r in out]))
        elif format == Format.csv:
            write_csv([{k: v for k, v in r.to_dict().items() if k not in ("rejected_by_reason", "steps")} for r in out])
        else:
            console.print(summary_table(out))
            reasons = reasons_table(out)
            if reasons is not None:
                console.print(reasons)
        return
    results = run_ingest(store, p, files, force=force, quiet=format != Format.table, profile=profile,
                         encoding=encoding)
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
def readings(meter: Annotated[str, typer.Argument(help="Meter id.")],
             start: Annotated[str | None, typer.Option("--from", help="First park-time instant, e.g. 2025-03-01.")] = None,
             end: Annotated[str | None, typer.Option("--to", help="Last park-time instant (inclusive).")] = None,
             park: ParkOpt = None, db: DbOpt = None, format: FormatOpt = Format.table,
             limit: Annotated[int, typer.Option(help="At most this many rows (table format).")] = 200) -> None:
    """A meter's readings in park time, with the import each came from and any corrections."""
    import datetime as dt

    p = load_park(park)
    try:
        m = p.meter(meter)
    except KeyError:
        raise UserError(f"no meter '{meter}' in the park; see park.toml [[meters]]") from None

    def bound(text: str | None, default: str) -> dt.datetime:
        try:
            t = dt.datetime.fromisoformat(text or default)
        except ValueError:
            raise UserError(f"'{text}' is not a date or date-time (use 2025-03-01 or 2025-03-01T08:00)") from None
        t = t if t.tzinfo else t.replace(tzinfo=p.tz)
        return t.astimezone(dt.UTC).replace(tzinfo=None)

    lo, hi = bound(start, "1900-01-01"), bound(end, "2200-01-01")
    store = open_store(p, db, read_only=True)
    try:
        reader = store_readings.meter_readings_reader(store, meter, lo, hi)
        if format == Format.json:
            _stream_json(reader, {"meter": meter, "unit": m.unit, "timezone": p.park.timezone}, "readings")
            return
        if format == Format.csv:
            _stream_csv(reader)
            return
        rows, n = [], 0
        for batch in reader:
            n += batch.num_rows
            if len(rows) < limit:
                rows.extend(batch.slice(0, limit - len(rows)).to_pylist())
    finally:
        store.close()
    t = Table(title=f"{meter} · {m.carrier} [{m.unit}] — park time {p.park.timezone} ({n} readings)")
    for c in ("time_local", "value", "import_id", "source", "corrections"):
        t.add_column(c, justify="right" if c in ("value", "import_id", "corrections") else "left")
    for r in rows:
        t.add_row(r["time_local"], f"{r['value']:,.3f}", str(r["import_id"]), escape(r["source"]),
                  str(r["corrections"]) if r["corrections"] else "")
    console.print(t)


def _stream_json(reader, head: dict, key: str, out=None) -> None:
    """``head`` as a JSON object with ``key`` holding the reader's rows, one per line, written
    batch by batch (no pretty printer: 30k rows take a fraction of a second)."""
    import json

    out = out or sys.stdout
    text = json.dumps(head, ensure_ascii=False)
    out.write(text[:-1] + (", " if head else "") + json.dumps(key) + ": [")
    first = True
    for batch in reader:
        for row in batch.to_pylist():
            out.write(("\n  " if first else ",\n  ") + json.dumps(row, ensure_ascii=False, default=str))
            first = False
    out.write("\n]}\n" if not first else "]}\n")
    out.flush()


def _stream_csv(reader, out=None) -> None:
    """The reader's rows as CSV (header first), written batch by batch; text cells that a
    spreadsheet would run as formulas are neutralised."""
    import csv

    out = out or sys.stdout
    w = csv.writer(out, lineterminator="\n")
    w.writerow(reader.schema.names)
    for batch in reader:
        cols = [c.to_pylist() for c in batch.columns]
        w.writerows([csv_safe(v) for v in row] for row in zip(*cols, strict=True))
    out.flush()
