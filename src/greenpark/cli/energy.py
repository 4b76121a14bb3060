"""`greenpark energy`: comprehensive energy consumption (GB/T 2589-2020) with lineage."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from greenpark.cli.app import app
from greenpark.cli.common import (
    DbOpt,
    Format,
    FormatOpt,
    ParkOpt,
    UserError,
    friendly_errors,
    load_park,
    run,
)
from greenpark.findings import label


class By(str, Enum):
    """The breakdowns of :class:`greenpark.core.energy.By` (declared here: the CLI starts without pandas)."""

    carrier = "carrier"
    enterprise = "enterprise"
    building = "building"
    end_use = "end-use"
    month = "month"


def _n(x, digits=2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f} %"


def scorecard(result: dict) -> Group:
    p = result["park"]
    head = Table.grid(padding=(0, 3))
    for _ in range(4):
        head.add_column()
    head.add_row("[bold]Comprehensive energy 综合能耗[/]", f"[bold green]{_n(p['tce'])} tce[/]",
                 "[bold]Equal value 等价值[/]", f"{_n(p['tce_equal_value'])} tce")
    head.add_row("[bold]Renewable share 可再生能源占比[/]", _pct(p["renewable_share"]),
                 "[bold]Electricity 电力[/]", f"{_n(p['electricity_kwh'] / 1e4)} 万kWh")
    it = p.get("intensity") or {}
    head.add_row("[bold]tce / 10k CNY value added 万元增加值能耗[/]", _n(it.get("tce_per_10k_cny_value_added"), 4),
                 "[bold]tce / 10k CNY output 万元产值能耗[/]", _n(it.get("tce_per_10k_cny_output"), 4))
    carriers = Table(title="By carrier · 分品种", title_justify="left")
    for c in ("carrier 品种", "quantity 实物量", "unit", "coefficient 折标系数", "tce"):
        carriers.add_column(c, justify="right" if c != "carrier 品种" else "left")
    for c in p["carriers"]:
        carriers.add_row(f"{c['name_zh']} {c['name_en']}", _n(c["quantity"], 1), c["unit"],
                         f"{c['coefficient']} kgce/{c['unit']}", _n(c["tce"]) if c["counted_in_total"] else "not counted")
    ents = Table(title="Enterprises · 企业 (top 15 by tce)", title_justify="left")
    for c in ("id", "name 名称", "industry", "tce", "renewable 可再生", "tce/10k CNY VA"):
        ents.add_column(c, justify="left" if c in ("id", "name 名称", "industry") else "right")
    for e in sorted(result["enterprises"], key=lambda e: -e["tce"])[:15]:
        ents.add_row(e["id"], e["name_zh"], label("industry", e["industry"], "zh"), _n(e["tce"]), _pct(e["renewable_share"]),
                     _n((e.get("intensity") or {}).get("tce_per_10k_cny_value_added"), 4))
    return Group(Panel(head, title=f"{p['name_zh']} · {p['name_en']} — energy {result['period']['label']}",
                       subtitle="GB/T 2589-2020"), carriers, ents, footnote(result))


def footnote(result: dict) -> str:
    lin = result["lineage"]
    coefs = "; ".join(f"{c['id']} {c['value']} {c['unit']} [{c['status']}] ({c['source']})"
                      for c in lin["coefficients"] if any(m["coefficient_id"] == c["id"] for m in lin["meters"]))
    n_meters = len(lin["meters"])
    readings = sum(m["readings"] for m in lin["meters"])
    comp = [m["completeness_pct"] for m in lin["meters"] if m["completeness_pct"] is not None and m["role"] != "sub-meter"]
    lines = [f"[dim]Lineage: {n_meters} meters, {readings:,} readings via monthly rollups; top-level data completeness "
             f"min {min(comp) if comp else 0:.2f} %. Coefficients: {coefs}."]
    if lin.get("equal_value_coal_rate"):
        r = lin["equal_value_coal_rate"]
        lines.append(f"Equal value: coal rate {r['value']} {r['unit']} [{r['status']}] ({r['source']}).")
    codes = {}
    for f in result["flags"]:
        codes[f["code"]] = codes.get(f["code"], 0) + 1
    if codes:
        lines.append("Flags: " + ", ".join(f"{k} {label('finding', k, 'zh')} x{v}" for k, v in codes.items())
                     + " (see --format json).")
    return "\n".join(lines) + "[/]"


@app.command()
@friendly_errors
def energy(
    period: Annotated[str, typer.Option(help="2025, 2025-Q1 or 2025-03 (park time).")],
    enterprise: Annotated[str | None, typer.Option(help="Only this enterprise id.")] = None,
    by: Annotated[By | None, typer.Option(help="Break down by carrier, enterprise, building, end-use or month.")] = None,
    park: ParkOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Comprehensive energy consumption in tce (GB/T 2589-2020), renewable share and intensity."""
    from greenpark.core import energy as core_energy
    from greenpark.services import energy as energy_mod

    p = load_park(park)
    if enterprise:
        p.enterprise(enterprise)
    try:
        per = core_energy.parse_period(period)
    except core_energy.PeriodError as exc:
        raise UserError(str(exc)) from None
    breakdown = core_energy.By(by.value) if by is not None else None

    def table(result: dict) -> list:
        if breakdown is None and enterprise is None:
            return [scorecard(result)]
        rows = core_energy.rows_for(result, breakdown or core_energy.By.carrier)
        t = Table(title=f"Energy {per.label} by {(breakdown or core_energy.By.carrier).value}"
                  + (f" — {enterprise}" if enterprise else ""))
        cols = list(rows[0]) if rows else []
        for c in cols:
            t.add_column(c, justify="right" if rows and isinstance(rows[0][c], float) else "left")
        for r in rows:
            t.add_row(*[_n(v, 3) if isinstance(v, float) else ("—" if v is None else str(v)) for v in r.values()])
        return [t, footnote(result)]

    run(p, db, lambda p, store: energy_mod.compute(store.con, p, per, enterprise=enterprise), format, table=table,
        rows=lambda result: core_energy.rows_for(result, breakdown or core_energy.By.enterprise))
