"""`greenpark quarantine` (list, filter), `quarantine export` and `quarantine resubmit`.

The listing is :func:`greenpark.services.quarantine.listing`, the same selection as
``GET /api/v1/quarantine``: by default the open rows, without those a later accepted reading of
the same meter and instant superseded (``--all`` shows every row, marked).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from greenpark.cli.app import app
from greenpark.cli.common import (
    DbOpt,
    Format,
    FormatOpt,
    ParkOpt,
    console,
    dumps_json,
    friendly_errors,
    lazy_module,
    park_store,
    write_csv,
)
from greenpark.findings import label
from greenpark.i18n import current_lang, text

service = lazy_module("greenpark.services.quarantine")  # pyarrow, duckdb: on first use only

quarantine_app = typer.Typer(rich_markup_mode=None, help="Rejected rows: list and filter them, export them for fixing, resubmit the fixes.",
                             invoke_without_command=True)
app.add_typer(quarantine_app, name="quarantine")


class Status(str, Enum):
    open = "open"
    resolved = "resolved"
    all = "all"


ImportOpt = Annotated[int | None, typer.Option("--import", help="Only rows of this import (greenpark imports).")]
FileOpt = Annotated[str | None, typer.Option("--file", help="Only rows of imports of this file (its name as imported).")]
MeterOpt = Annotated[str | None, typer.Option("--meter", help="Only rows of this meter id.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Only this reason code.")]
PeriodOpt = Annotated[str | None, typer.Option("--period", help="Only readings of this period: 2025, 2025-Q1, 2025-03.")]
StatusOpt = Annotated[Status, typer.Option(help="open (default: neither fixed nor superseded by a later accepted "
                                                "reading), resolved or all.")]
AllOpt = Annotated[bool, typer.Option("--all", help="Every row, resolved and superseded ones too (= --status all).")]


def _selection(park, import_id, file, meter, reason, period, status: Status, show_all: bool):
    # imports record a file by its name: --file data/x.csv finds the rows of x.csv
    source = Path(file).name if file and "/" in file.replace("\\", "/") else file
    return service.Selection(reason=reason, import_id=import_id, source=source, meter=meter, period=period,
                             status="all" if show_all else status.value).check(park)


def _export(rows: list[dict], out: Path | None, tz=None) -> None:
    """CSV in the file layout (meter_id, timestamp, value, unit) plus the reason and key columns."""
    data = service.export_rows(rows, tz)
    for d, r in zip(data, rows, strict=True):
        d["resolution"], d["resolved_by_import"] = r["resolution"], r["resolved_by_import"]
    cols = [*service.EXPORT_COLUMNS, "resolution", "resolved_by_import"]
    if out is None:
        write_csv(data, cols)
        return
    with out.open("w", encoding="utf-8", newline="") as fh:
        write_csv(data, cols, fh)
    console.print(text("quarantine.exported", n=f"{len(data):,}", path=str(out)), highlight=False)


def _table(page: dict, status: str, limit: int) -> list:
    lang = current_lang()
    s = page["by_status"]
    title = text("quarantine.title", shown=f"{min(limit, page['total']):,}", total=f"{page['total']:,}",
                 status=label("status", status, lang) if status != "all" else text("quarantine.every"))
    rows = Table(title=title)
    for c in ("import_id", "source", "line_no", "meter_id", "reason", "detail", "raw", *(
            ("resolution",) if status != "open" else ())):
        rows.add_column(c, overflow="fold")
    for r in page["rows"][:limit]:
        cells = [r["import_id"], r["source"], r["line_no"], r["meter_id"] or "", r["reason"], r["detail"], r["raw"]]
        if status != "open":
            res = r["resolution"]
            cells.append(f"{label('status', res, lang)} ({r['resolved_by_import']})" if res else "")
        rows.add_row(*[escape(str(c if c is not None else "")) for c in cells])
    reasons = Table(title=text("quarantine.by_reason"))
    reasons.add_column("reason")
    reasons.add_column(text("quarantine.meaning"))
    reasons.add_column("rows", justify="right")
    for code, n in page["by_reason"].items():
        reasons.add_row(code, label("reason", code, lang), f"{n:,}")
    hidden = None
    if status == "open" and (s["superseded"] or s["resolved"]):
        hidden = text("quarantine.hidden", superseded=f"{s['superseded']:,}", resolved=f"{s['resolved']:,}")
    return [rows, reasons if page["by_reason"] else None, hidden]


@quarantine_app.callback()
@friendly_errors
def quarantine(ctx: typer.Context, park: ParkOpt = None, db: DbOpt = None, format: FormatOpt = Format.table,
               import_id: ImportOpt = None, file: FileOpt = None, meter: MeterOpt = None, reason: ReasonOpt = None,
               period: PeriodOpt = None, status: StatusOpt = Status.open, show_all: AllOpt = False,
               output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the CSV (file layout, "
                                                           "for fixing) to this file.")] = None,
               limit: Annotated[int, typer.Option(help="At most this many rows (table format).")] = 50) -> None:
    """Rejected rows with their reason code, detail and original line; the same rows as
    GET /api/v1/quarantine. Rows superseded by a later accepted reading of the same meter and time
    are hidden unless --all. --format csv (-o FILE) writes them in the file layout for fixing."""
    if ctx.invoked_subcommand is not None:
        return
    with park_store(park, db) as (p, store):
        sel = _selection(p, import_id, file, meter, reason, period, status, show_all)
        page = service.listing(store.con, sel)
    if format == Format.json:
        typer.echo(dumps_json(page))
    elif format == Format.csv or output is not None:
        _export(page["rows"], output, p.tz)
    else:
        for part in _table(page, sel.status, limit):
            if part is not None:
                console.print(part, highlight=False)


@quarantine_app.command("export")
@friendly_errors
def export(output: Annotated[Path, typer.Argument(help="CSV file to write.")], park: ParkOpt = None, db: DbOpt = None,
           import_id: ImportOpt = None, file: FileOpt = None, meter: MeterOpt = None, reason: ReasonOpt = None,
           period: PeriodOpt = None, status: StatusOpt = Status.open, show_all: AllOpt = False) -> None:
    """Write the selected rows (default: the open ones) to a CSV in the file layout
    (meter_id, timestamp, value, unit) with reason, detail, import_id and line_no columns: correct
    the first four columns, then 'greenpark quarantine resubmit FILE'."""
    with park_store(park, db) as (p, store):
        sel = _selection(p, import_id, file, meter, reason, period, status, show_all)
        page = service.listing(store.con, sel)
    _export(page["rows"], output, p.tz)


@quarantine_app.command("resubmit")
@friendly_errors
def resubmit(fixed: Annotated[Path, typer.Argument(help="A corrected export (greenpark quarantine export).")],
             park: ParkOpt = None, db: DbOpt = None, format: FormatOpt = Format.table) -> None:
    """Import the corrected rows of an export as one new import and mark each original row
    resolved by it; rows already resolved are skipped (the same file twice changes nothing)."""
    from greenpark.services.users import cli_principal

    rows = service.read_fix_file(fixed)
    with park_store(park, db, read_only=False) as (p, store):
        with store.transaction():
            store.sync_park(p)
        out = service.resubmit(store, p, rows, cli_principal(), source=f"resubmit:{fixed.name}")
    result = out["import"]
    if format == Format.json:
        typer.echo(dumps_json({**out, "import": result.as_dict() if result is not None else None}))
        return
    if result is None:
        console.print(text("quarantine.nothing_to_resubmit", skipped=len(out["skipped"]), path=str(fixed)),
                      highlight=False)
        return
    console.print(text("quarantine.resubmitted", import_id=result.import_id, resolved=len(out["resolved"]),
                       accepted=result.accepted + result.unchanged + result.corrected, rejected=result.rejected,
                       skipped=len(out["skipped"])), highlight=False)
