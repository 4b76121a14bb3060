"""`greenpark indicators`: zero-carbon park indicators (发改环资〔2025〕910号), green-factory indicators
(GB/T 36132-2025) and the park's green-factory programme."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from greenpark.cli.app import app
from greenpark.cli.common import DbOpt, EngineOpt, Format, FormatOpt, ParkOpt, friendly_errors, load_park, run
from greenpark.findings import label

VERDICT_STYLE = {"pass": "green", "fail": "red", "no_threshold": "yellow", "no_data": "dim"}
PARK_COLUMNS = ["id", "kind", "value", "unit", "threshold", "direction", "verdict", "threshold_status", "threshold_id"]
ENTERPRISE_COLUMNS = ["id", "value", "unit", "benchmark", "leading", "meets_benchmark", "meets_leading", "shortfall",
                      "benchmark_source"]


def _n(x: Any, unit: str = "") -> str:
    if x is None:
        return "—"
    if unit == "1":
        return f"{100 * x:.1f} %"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if unit == "count":
        return f"{x:g}"
    if isinstance(x, float):
        return f"{x:,.4f}" if abs(x) < 10 else f"{x:,.1f}"
    return str(x)


def _lbl(kind: str, code: str | None) -> str:
    if code is None:
        return "—"
    return f"{label(kind, code, 'zh')} {label(kind, code, 'en')}"


def _flags(d: dict) -> str:
    counts: dict[str, int] = {}
    for f in d["flags"]:
        counts[f["code"]] = counts.get(f["code"], 0) + 1
    return ("[dim]Flags: " + ", ".join(f"{k} {label('finding', k, 'zh')} x{v}" for k, v in counts.items())
            + " (messages: --format json).[/]") if counts else ""


def _what_if(d: dict) -> Table | None:
    w = d.get("what_if")
    if not w or "after" not in w:
        return None
    a = w["after"]
    t = Table(title=f"What if 情景: +{a['pv_mwh']:g} MWh PV, +{a['green_electricity_mwh']:g} MWh green electricity "
                    f"({w['scope2_method']}-based Scope 2, {a['factor_tco2_per_mwh']:.4f} tCO2/MWh)", title_justify="left")
    for c in ("indicator", "before", "after"):
        t.add_column(c, justify="left" if c == "indicator" else "right")
    t.add_row(_lbl("indicator", "carbon_per_energy"), _n(w["before"]["carbon_per_energy"]), _n(a["carbon_per_energy"]))
    t.add_row(_lbl("indicator", "clean_energy_share"), _n(w["before"]["clean_energy_share"], "1"),
              _n(a["clean_energy_share"], "1"))
    return t


def park_view(d: dict) -> list:
    p = d["park"]
    t = Table(title=f"{p['name_zh']} · {p['name_en']} — zero-carbon park indicators 零碳园区指标 {d['period']['label']} "
                    f"({_n(p['energy_tce'])} tce, {_n(p['co2_t'])} tCO2)", title_justify="left")
    for c in ("indicator 指标", "value 数值", "threshold 阈值", "verdict 结论", "threshold status 阈值来源"):
        t.add_column(c, justify="left" if c.startswith(("indicator", "verdict", "threshold status")) else "right")
    for i in d["indicators"]:
        op = "≤" if i["direction"] == "le" else "≥"
        th = "—" if i["threshold"] is None else f"{op} {_n(i['threshold'], i['unit'])}"
        unit = "" if i["unit"] == "1" else f" {i['unit']}"
        t.add_row(("[bold]" if i["kind"] == "core" else "") + escape(_lbl("indicator", i["id"])),
                  _n(i["value"], i["unit"]) + unit, th,
                  f"[{VERDICT_STYLE[i['verdict']]}]{_lbl('verdict', i['verdict'])}[/]",
                  f"{i['threshold_status']}" + (f" (band {i['band_status']})" if i.get("band_status") else ""))
    traj = Table(title="Monthly 月度轨迹", title_justify="left")
    for c in ("month", "tCO2", "tce", "tCO2/tce", "clean share 清洁能源占比"):
        traj.add_column(c, justify="right")
    for m in d["trajectory"]:
        traj.add_row(m["month"], _n(m["co2_t"]), _n(m["energy_tce"]), _n(m["carbon_per_energy"]),
                     _n(m["clean_energy_share"], "1"))
    pr = d["projection"]
    proj = (f"Year-end projection 年末预测 (as of {pr['as_of']}, {pr.get('method')}): "
            f"{_n(pr['carbon_per_energy'])} tCO2/tce, clean share {_n(pr['clean_energy_share'], '1')}") if pr else ""
    g = d["programme"]
    parts: list[Any] = [t, traj, proj, _what_if(d)]
    if g["target"]:
        tg = g["target"]
        parts.append(f"[bold]Green-factory programme 绿色工厂梯度培育[/]: {tg['achieved']} of {tg['count']} "
                     f"{tg['min_tier']}-or-higher by {tg['by']} ({100 * tg['progress']:.0f} %, {tg['remaining']} to go) "
                     f"[dim]({escape(tg['source'])})[/]")
    c = Table(title="Candidates 候选企业 (closest first; gaps to the entered benchmarks)", title_justify="left")
    for col in ("rank", "enterprise", "met 达标", "gaps 差距"):
        c.add_column(col, justify="right" if col in ("rank", "met 达标") else "left")
    for r in g["candidates"][:10]:
        gaps = "; ".join(f"{x['indicator']} {_n(x['value'])} vs {_n(x['benchmark'])} (+{100 * x['shortfall']:.0f} %)"
                         for x in r["gaps"][:3]) or "—"
        c.add_row(str(r["rank"]), r["enterprise_id"], f"{r['met']}/{r['with_benchmark']}", gaps)
    parts += [c, f"[dim]Lineage: {escape(d['lineage']['energy'])}; {escape(d['lineage']['carbon'])}; clean energy = "
                 f"{escape(d['lineage']['clean_energy_definition'])}.[/]", _flags(d)]
    return [x for x in parts if x]


def enterprise_view(d: dict) -> list:
    e = d["enterprise"]
    t = Table(title=f"{e['id']} {e['name_zh']} · {e['name_en']} — green-factory indicators 绿色工厂指标 "
                    f"{d['period']['label']} ({_n(e['energy_tce'])} tce, band {_lbl('energy_band', e['energy_band'])})",
              title_justify="left")
    for c in ("indicator 指标", "value 数值", "unit", "benchmark 基准值", "leading 引领值", "meets 达到", "source 来源"):
        t.add_column(c, justify="right" if c.startswith(("value", "benchmark", "leading")) else "left")
    for i in d["indicators"]:
        meets = ("leading 引领" if i["meets_leading"] else "benchmark 基准" if i["meets_benchmark"]
                 else "no 未达到" if i["meets_benchmark"] is False else "—")
        t.add_row(escape(_lbl("indicator", i["id"])), _n(i["value"], i["unit"]), "" if i["unit"] == "1" else i["unit"],
                  _n(i["benchmark"], i["unit"]), _n(i["leading"], i["unit"]), meets,
                  escape(i["benchmark_source"] or "—"))
    pf = d["platform"]
    plat = Table(title=f"Energy-and-carbon platform functions 能碳管理平台功能 (GB/T 36132-2025): {pf['count']} of 12",
                 title_justify="left")
    for c in ("function 功能", "greenpark provides 提供", "enterprise declares 企业自有"):
        plat.add_column(c)
    for f in pf["functions"]:
        plat.add_row(f"{f['name_zh']} {f['name_en']}", escape(f["greenpark_how"]) if f["greenpark"] else "—",
                     "yes" if f["declared"] else "—")
    s = d["status"]
    status = (f"Green factory 绿色工厂: {_lbl('tier', s['tier'])} since {s['year_awarded']}, re-evaluation due "
              f"{s['reevaluation_due'] or '—'}") if s["tier"] else "Green factory 绿色工厂: not awarded 未获评"
    cand = d.get("candidate")
    if cand:
        status += f"; candidate rank {cand['rank']} ({cand['met']}/{cand['with_benchmark']} benchmarks met)"
    pr = d.get("projection")
    proj = (f"Year-end projection 年末预测 (as of {pr['as_of']}, {pr.get('method')}): "
            f"{_n(pr['carbon_per_energy'])} tCO2/tce, clean 清洁 {_n(pr['clean_energy_share'], '1')}") if pr else ""
    return [x for x in (t, plat, status, proj, _what_if(d), _flags(d)) if x]


@app.command()
@friendly_errors
def indicators(
    period: Annotated[str, typer.Option(help="Calendar year, e.g. 2025 (park time).")],
    enterprise: Annotated[str | None, typer.Option(help="Green-factory indicators of this enterprise id.")] = None,
    what_if_pv: Annotated[float, typer.Option("--what-if-pv", min=0, help="Add this much on-site PV [MWh/yr].")] = 0.0,
    what_if_green_electricity: Annotated[float, typer.Option(
        "--what-if-green-electricity", min=0, help="Add green-electricity contracts or certificates [MWh/yr].")] = 0.0,
    park: ParkOpt = None,
    db: DbOpt = None,
    engine: EngineOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Zero-carbon park indicators (core and guiding) with thresholds, or an enterprise's green-factory
    indicators against entered benchmarks; monthly trajectory, year-end projection, what-if."""
    from greenpark.services import indicators as si

    p = load_park(park)
    if enterprise:
        p.enterprise(enterprise)

    def compute(p, store):
        if enterprise:
            return si.enterprise_indicators(p, store, period, enterprise, what_if_pv_mwh=what_if_pv,
                                            what_if_green_mwh=what_if_green_electricity)
        return si.park_indicators(p, store, period, what_if_pv_mwh=what_if_pv,
                                  what_if_green_mwh=what_if_green_electricity)

    run(p, db, compute, format, table=enterprise_view if enterprise else park_view,
        rows=lambda d: d["indicators"], columns=ENTERPRISE_COLUMNS if enterprise else PARK_COLUMNS, engine=engine)
