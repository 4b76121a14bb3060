"""`greenpark air` and `greenpark water`: the park's air-quality (HJ 663) and water (GB 3838) record.

The records themselves are built in :mod:`greenpark.services.environment`; this module renders them.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
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
    header,
    lab,
    lang,
    load_park,
    msg,
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
        h = lambda code: f"[bold]{escape(header(code))}[/]"  # noqa: E731
        head.add_row(h("pm25_annual_mean"), f"{rec['pm25_annual_mean']} µg/m³",
                     h("good_days_ratio"), f"{rec['good_days_ratio']} %")
        head.add_row(h("heavy_pollution_days_ratio"), f"{rec['heavy_pollution_days_ratio']} %",
                     h("valid_days"), str(rec["valid_days"]))
        head.add_row(h("composite_index"), str(rec["composite_index"]),
                     h("attainment"), {True: msg("cli.yes"), False: msg("cli.no"), None: "—"}[rec["attainment"]])
        console.print(head)
        t = Table(title=escape(msg("cli.air.title", period=rec["period"], evaluation=rec["edition"]["evaluation"])))
        for c in ("pollutant", "statistic", "value", "limit_class2", "attains", "n_days"):
            t.add_column(escape(header(c)), justify="left" if c in ("pollutant", "statistic") else "right")
        yes, no = msg("cli.yes"), msg("cli.no")
        for s in rec["statistics"]:
            t.add_row(escape(lab("pollutant", s["pollutant"])), escape(lab("statistic", s["statistic"])),
                      escape(f"{s['value']} {lab('unit', s['unit'])}"), "—" if s["limit"] is None else f"{s['limit']:g}",
                      {True: f"[green]{yes}[/]", False: f"[red]{no}[/]", None: "—"}[s["attains"]], str(s["n_days"]))
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
        t = Table(title=escape(msg("cli.water.title", period=rec["period"])))
        for c in ("section", "water_body", "n_samples", "class", "meets_iii", "exceeding"):
            t.add_column(escape(header(c)))
        colour = {1: "cyan", 2: "blue", 3: "green", 4: "yellow", 5: "red", 6: "bold red"}
        for s in rec["sections"]:
            st = names.get(s["section_id"])
            name = (st.name_zh if lang() == "zh" else st.name_en) if st else ""
            t.add_row(escape(f"{s['section_id']} {name}"), escape(lab("water_body", s["water_body"])), str(s["n_samples"]),
                      f"[{colour.get(s['class'], 'white')}]{s['class_label']}[/]",
                      msg("cli.yes") if s["meets_iii"] else f"[red]{msg('cli.no')}[/]",
                      s["exceeding"] or "—")
        console.print(t)
        console.print(f"[bold]Share of sections in classes I–III · I–III类水质断面比例: {rec['good_share_pct']} %[/]")
        console.print(f"[dim]Flags: {', '.join(c + ' ' + label('finding', c, 'zh') for c in sorted({f['code'] for f in rec['flags']})) or 'none'}[/]")

    run(p, db, lambda p, store: water_record(store.con, p, period), format, table=table,
        rows=lambda rec: rec["sections"])

