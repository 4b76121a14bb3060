"""`greenpark region`: key energy-using units of a region on Spark over a Parquet lake (issue 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from greenpark.cli.app import app
from greenpark.cli.common import Format, FormatOpt, UserError, console, dumps_json, friendly_errors, write_csv

region_app = typer.Typer(rich_markup_mode=None, help="Regions of many key energy-using units on Spark (region file + Parquet lake).",
                         no_args_is_help=True)
app.add_typer(region_app, name="region")

RegionArg = Annotated[Path, typer.Argument(help="The region file (TOML: [region] lake, [[units]] id and park).")]
MasterOpt = Annotated[str | None, typer.Option("--master", envvar="GREENPARK_SPARK_MASTER",
                                               help="Spark master: local[N] (default local[2]), spark://host:port, yarn.")]


def _load(path: Path):
    from greenpark.services import region as region_mod

    try:
        return region_mod.load(path)
    except region_mod.RegionError as exc:
        raise UserError(str(exc)) from None


@region_app.command("ingest")
@friendly_errors
def ingest_cmd(region: RegionArg,
               data: Annotated[str | None, typer.Option(help="Parquet file or folder of readings (meter_id, "
                                                             "timestamp, value); default: data/ beside the region file.")] = None,
               force: Annotated[bool, typer.Option("--force", help="Re-process a batch already imported.")] = False,
               master: MasterOpt = None, format: FormatOpt = Format.table) -> None:
    """Import readings of the region's units into its lake (quarantine and idempotency as every import)."""
    from rich.progress import Progress

    from greenpark.cli.data import reasons_table_of, stage_columns
    from greenpark.services import region as region_mod

    r = _load(region)
    with Progress(*stage_columns(), console=console, disable=format != Format.table) as bar:
        task = bar.add_task("import", total=1.0, stage="")
        res = region_mod.ingest(r, data or str(r.source_path.parent / "data"), force=force, master=master,
                                progress=lambda stage, frac: bar.update(task, completed=frac, stage=stage))
    if format == Format.json:
        typer.echo(dumps_json(res))
        return
    if res["skipped"]:
        console.print(f"already imported as import #{res['import_id']} (same content): nothing changed")
        return
    console.print(f"import #{res['import_id']}: {res['rows_read']:,} rows read, {res['accepted']:,} new, "
                  f"{res['unchanged']:,} unchanged, {res['corrected']:,} corrected, {res['rejected']:,} quarantined "
                  f"in {res['partitions']} partitions of {r.lake}")
    table = reasons_table_of(res["rejected_by_reason"])
    if table is not None:
        console.print(table)


@region_app.command("report")
@friendly_errors
def report_cmd(region: RegionArg, year: Annotated[int, typer.Option(help="Calendar year, e.g. 2025.")],
               daily: Annotated[str | None, typer.Option(help="Also write daily consumption by unit and carrier as "
                                                              "Parquet here (written by Spark).")] = None,
               master: MasterOpt = None, format: FormatOpt = Format.table) -> None:
    """One table of every unit: energy, CO2, completeness and day-versus-month consistency, with flags."""
    from greenpark.findings import label
    from greenpark.services import region as region_mod

    r = _load(region)
    try:
        store = region_mod.open_store(r, master)
        res = region_mod.report(r, year, store=store, daily_out=daily)
    except region_mod.RegionError as exc:
        raise UserError(str(exc)) from None
    if format == Format.json:
        typer.echo(dumps_json(res))
        return
    if format == Format.csv:  # one row per unit and quota-covered product (product columns empty without)
        write_csv(_csv_rows(res))
        return
    t = Table(title=f"{r.name_zh} {r.name_en} — key energy-using units {year} 重点用能单位监测")
    for c in ("unit", "tce", "tCO2 (location)", "completeness min", "months <90%", "day≠month", "no report"):
        t.add_column(c, justify="left" if c == "unit" else "right")
    for u in res["units"]:
        t.add_row(u["unit_id"], f"{u['energy_tce']:,.1f}",
                  "—" if u["co2_location_t"] is None else f"{u['co2_location_t']:,.1f}",
                  "—" if u["completeness_min"] is None else f"{100 * u['completeness_min']:.1f} %",
                  str(u["months_incomplete"]), str(u["months_day_month_fail"]), str(u["months_no_report"]))
    console.print(t)
    if res["products"]:
        console.print(_products_table(res["products"]))
    for f in res["flags"]:
        console.print(f"[yellow]{f['code']}[/] {label('finding', f['code'], 'zh')}: {f['message']}", highlight=False)


#: the product columns of the CSV (prefixed ``product_``) and of the table
_PRODUCT_FIELDS = ("product_id", "unit", "months", "months_incomplete", "output", "energy_kgce", "kgce_per_unit", "grade1", "grade2",
                   "grade", "standard", "quota_source", "note")


def _csv_rows(res: dict) -> list[dict]:
    by_unit: dict[str, list[dict]] = {}
    for p in res["products"]:
        by_unit.setdefault(p["unit_id"], []).append(p)
    rows = []
    for u in res["units"]:
        for p in by_unit.get(u["unit_id"]) or [{}]:
            rows.append({**u, **{("" if k == "product_id" else "product_") + k: p.get(k) for k in _PRODUCT_FIELDS}})
    return rows


def _products_table(products: list[dict]) -> Table:
    from rich.markup import escape

    from greenpark.cli.common import header, lab, lang

    t = Table(title=escape(lab("column", "kgce_per_unit")))
    for code, unit in (("key_unit", None), ("product", None), ("output", None), ("energy_kgce", "kgce"),
                       ("kgce_per_unit", "kgce/unit"), ("grade1", "kgce/unit"), ("grade2", "kgce/unit"),
                       ("grade", None)):
        t.add_column(escape(header(code, unit)), justify="left" if code in ("key_unit", "product", "grade") else "right")

    def num(v, digits: int = 1) -> str:
        return "—" if v is None else f"{v:,.{digits}f}"

    for p in products:
        t.add_row(p["unit_id"], escape(f"{p['product_id']} {p['name_zh'] if lang() == 'zh' else p['name_en']}"),
                  f"{num(p['output'])} {p['unit']}", num(p["energy_kgce"], 0), num(p["kgce_per_unit"], 2),
                  num(p["grade1"], 2), num(p["grade2"], 2),
                  lab("grade", p["grade"]) if p["grade"] else escape(p["note"] or "—"))
    return t
