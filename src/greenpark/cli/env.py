"""`greenpark air` and `greenpark water`: the park's air-quality (HJ 663) and water (GB 3838) record.

The records themselves are built in :mod:`greenpark.services.environment`; this module renders them.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from greenpark.cli.app import app
from greenpark.cli.common import (
    DbOpt,
    Format,
    FormatOpt,
    ParkOpt,
    UserError,
    console,
    friendly_errors,
    load_park,
    run,
)
from greenpark.findings import label

STAT_LABEL = {"annual_mean": "annual mean 年均值", "mean": "mean 均值", "p98": "98th pct 第98百分位",
              "p95": "95th pct 第95百分位", "p90": "90th pct 第90百分位"}
POLLUTANT_LABEL = {"so2": "SO₂", "no2": "NO₂", "pm10": "PM10", "pm25": "PM2.5", "co": "CO", "o3": "O₃ (MDA8)"}


def aqi_calendar(days: list[dict]) -> Table:
    """A month x day grid of coloured blocks, one per day, in the HJ 633 level colour."""
    t = Table(title="Daily AQI · 每日AQI (■ in the HJ 633 level colour, · no valid AQI)",
              show_header=True, box=None, padding=(0, 0), title_justify="left")
    t.add_column("month ", justify="left")
    for d in range(1, 32):
        t.add_column(str(d % 10), justify="center")
    by_month: dict[str, dict[int, dict]] = {}
    for x in days:
        by_month.setdefault(x["date"][:7], {})[int(x["date"][8:])] = x
    for m, row in sorted(by_month.items()):
        cells = []
        for d in range(1, 32):
            x = row.get(d)
            if x is None:
                cells.append(Text(" "))
            elif x["aqi"] is None:
                cells.append(Text("·", style="dim"))
            else:
                cells.append(Text("■", style=x["colour"] or "white"))
        t.add_row(m + " ", *cells)
    return t


@app.command()
@friendly_errors
def air(period: Annotated[str, typer.Option(help="2025 or 2025-03 (park time).")],
        station: Annotated[str | None, typer.Option(help="Only this air station.")] = None,
        edition: Annotated[str, typer.Option(help="HJ 633/663 edition: auto (by date), 2012 or 2026.")] = "auto",
        park: ParkOpt = None, db: DbOpt = None, format: FormatOpt = Format.table) -> None:
    """Air-quality record (HJ 663 / GB 3095): annual means, percentiles, good and polluted days."""
    if edition not in ("auto", "2012", "2026"):
        raise UserError("--edition must be auto, 2012 or 2026")
    from greenpark.services.environment import air_record

    def table(rec: dict) -> None:
        head = Table.grid(padding=(0, 3))
        for _ in range(4):
            head.add_column()
        head.add_row("[bold]PM2.5 mean 年均浓度[/]", f"{rec['pm25_annual_mean']} µg/m³",
                     "[bold]Good days 优良天数比例[/]", f"{rec['good_days_ratio']} %")
        head.add_row("[bold]Heavily polluted 重污染天数比例[/]", f"{rec['heavy_pollution_days_ratio']} %",
                     "[bold]Valid days 有效天数[/]", str(rec["valid_days"]))
        head.add_row("[bold]Composite index 综合指数[/]", str(rec["composite_index"]),
                     "[bold]Attains class 2 达标[/]", {True: "yes 达标", False: "no 未达标", None: "—"}[rec["attainment"]])
        console.print(head)
        t = Table(title=f"Air quality {rec['period']} · 环境空气质量 ({rec['edition']['evaluation']})")
        for c in ("pollutant 污染物", "statistic 统计量", "value 浓度", "limit 二级限值", "attains 达标", "days"):
            t.add_column(c, justify="left" if c.startswith(("pollutant", "statistic")) else "right")
        for s in rec["statistics"]:
            t.add_row(POLLUTANT_LABEL.get(s["pollutant"], s["pollutant"]), STAT_LABEL.get(s["statistic"], s["statistic"]),
                      f"{s['value']} {s['unit']}", "—" if s["limit"] is None else f"{s['limit']:g}",
                      {True: "[green]yes[/]", False: "[red]no[/]", None: "—"}[s["attains"]], str(s["n_days"]))
        console.print(t)
        if rec["stations"]:
            st = Table(title="Stations · 监测站")
            for c in ("station", "PM2.5", "good days %", "heavy %", "valid days", "composite"):
                st.add_column(c, justify="left" if c == "station" else "right")
            for s in rec["stations"]:
                st.add_row(s["id"], str(s["pm25_annual_mean"]), str(s["good_days_ratio"]),
                           str(s["heavy_pollution_days_ratio"]), str(s["valid_days"]), str(s["composite_index"]))
            console.print(st)
        console.print(aqi_calendar(rec["daily_aqi"]))
        codes = sorted({f["code"] for f in rec["flags"]})
        console.print(f"[dim]Editions: {rec['edition']['note']}. "
                      f"Flags: {', '.join(c + ' ' + label('finding', c, 'zh') for c in codes) or 'none'} "
                      "(C1/UNVERIFIED reference values are listed in --format json under references).[/]")

    run(park, db, lambda p, store: air_record(store.con, p, period, station, edition), format, table=table,
        rows=lambda rec: rec["statistics"])



@app.command("water")
@friendly_errors
def water_cmd(period: Annotated[str, typer.Option(help="2025, 2025-Q3 or 2025-03 (park time).")],
              park: ParkOpt = None, db: DbOpt = None, format: FormatOpt = Format.table) -> None:
    """Surface-water classes (GB 3838-2002): class per section, exceedances, share of classes I-III."""
    from greenpark.services.environment import water_record

    p = load_park(park)

    def table(rec: dict) -> None:
        names = {s.id: s for s in p.stations}
        t = Table(title=f"Surface water {rec['period']} · 地表水 (GB 3838-2002, single-factor evaluation)")
        for c in ("section 断面", "water body", "samples", "class 类别", "meets III", "above class III (exceedance multiple)"):
            t.add_column(c)
        colour = {1: "cyan", 2: "blue", 3: "green", 4: "yellow", 5: "red", 6: "bold red"}
        for s in rec["sections"]:
            st = names.get(s["section_id"])
            t.add_row(f"{s['section_id']} {st.name_zh if st else ''}", s["water_body"], str(s["n_samples"]),
                      f"[{colour.get(s['class'], 'white')}]{s['class_label']}[/]", "yes" if s["meets_iii"] else "[red]no[/]",
                      s["exceeding"] or "—")
        console.print(t)
        console.print(f"[bold]Share of sections in classes I–III · I–III类水质断面比例: {rec['good_share_pct']} %[/]")
        console.print(f"[dim]Flags: {', '.join(c + ' ' + label('finding', c, 'zh') for c in sorted({f['code'] for f in rec['flags']})) or 'none'}[/]")

    run(p, db, lambda p, store: water_record(store.con, p, period), format, table=table,
        rows=lambda rec: rec["sections"])

