"""`greenpark mv list|fit|savings`: measurement & verification of the [[mv_projects]] of park.toml.

IPMVP Option B/C (EVO 10000-1:2022) with the baseline statistics and savings uncertainty of
ASHRAE Guideline 14-2014; the computation is :func:`greenpark.services.mv_projects.run` over the store.
The M&V modules are imported inside the commands, so that other commands start fast.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from greenpark.cli.app import app
from greenpark.cli.common import (
    DbOpt,
    ParkOpt,
    UserError,
    console,
    dumps_json,
    err_console,
    friendly_errors,
    load_park,
    park_store,
)
from greenpark.findings import label

mv_app = typer.Typer(help="Measurement & verification of energy savings (IPMVP Option B/C, ASHRAE Guideline 14-2014).",
                     no_args_is_help=True)
app.add_typer(mv_app, name="mv")


class MVFormat(str, Enum):
    table = "table"
    json = "json"


MVFormatOpt = Annotated[MVFormat, typer.Option("--format", "-f", help="Output format.")]
ConfidenceOpt = Annotated[float | None, typer.Option(
    min=0.5, max=0.999, help="Two-sided confidence of the savings uncertainty (default: ASHRAE G14's 68 %).")]


# --------------------------------------------------------------------------------------------
# formatting helpers


def _n(x, digits: int = 0) -> str:
    """A number with thousands separators, or an em dash for None."""
    return "—" if x is None else f"{x:,.{digits}f}"


def _pct(x, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f} %"


def _period(p: dict | None) -> str:
    return "—" if not p else f"{p['start']} … {p['end']} ({p['days']} d)"


def _status(row: dict) -> str:
    s = row.get("status", "")
    return f"[red]{s}[/]" if s == "UNVERIFIED" else f"[yellow]{s}[/]" if s == "C1" else s


def _evaluate(project: str, park, db, *, savings: bool, plot: Path | None = None, confidence=None,
              model_path: Path | None = None) -> tuple[Any, dict]:
    from greenpark.core import mv
    from greenpark.services import mv_projects

    p = load_park(park)
    p.mv_project(project)
    model_dict = None
    if model_path is not None:
        try:
            d = json.loads(Path(model_path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"--model {model_path}: cannot read a model JSON file ({exc}); write one with "
                            f"'greenpark mv fit {project} --save PATH'") from None
        if isinstance(d, dict) and "kind" not in d and "model" in d:
            if d.get("project") not in (None, project):
                raise UserError(f"--model {model_path} was fitted for project '{d['project']}', not '{project}'")
            d = d["model"]
        model_dict = d
    with park_store(p, db) as (p, store):
        try:
            result = mv_projects.run(store.con, p, project, savings=savings, plot_path=plot, confidence=confidence,
                                     model_dict=model_dict)
        except (mv_projects.ProjectError, mv.MVError) as exc:
            raise UserError(str(exc)) from None
    return p, result


def _default_plot(p, db: str | None, project: str) -> Path:
    """``mv-<project>.png`` next to the store (the DuckDB file), or next to park.toml when the
    store is a PostgreSQL database."""
    from greenpark.store import is_postgres

    where = db or p.db_path
    folder = (p.source_path.parent if p.source_path else Path.cwd()) if is_postgres(where) else Path(where).resolve().parent
    return folder / f"mv-{project}.png"


# --------------------------------------------------------------------------------------------
# renderables


def project_panel(res: dict) -> Panel:
    pr = res["project"]
    g = Table.grid(padding=(0, 2))
    g.add_column(style="bold")
    g.add_column()
    g.add_row("Enterprise 企业", pr["enterprise"])
    g.add_row("IPMVP option 方案", f"Option {pr['option']} "
              + ("(retrofit isolation 改造隔离)" if pr["option"] == "B" else "(whole facility 整体设施)"))
    g.add_row("Meters 计量表", f"{', '.join(pr['meters'])} ({pr['carrier']}, {pr['unit']})")
    g.add_row("Weather station 气象站", pr["weather_station"])
    if pr.get("products"):
        g.add_row("Production 产量", ", ".join(pr["products"]))
    g.add_row("Baseline 基准期", _period(pr["baseline"]))
    g.add_row("Installation 实施期", _period(pr.get("installation")))
    g.add_row("Reporting 报告期", _period(pr["reporting"]))
    if pr.get("shutdowns"):
        g.add_row("Shutdowns 停产", "; ".join(f"{s['start']} … {s['end']}" for s in pr["shutdowns"]))
    g.add_row("Model 模型", f"{pr['model']} → {pr.get('model_used', '—')}")
    return Panel(g, title=f"M&V 测量与验证 · {pr['id']} — {pr['name_zh']} · {pr['name_en']}")


COEF_LABELS = {"intercept": ("Base load (working day) 工作日基础负荷", "{u}/d"),
               "holiday": ("Holiday shift 节假日差值", "{u}/d"),
               "weekend": ("Weekend shift 周末差值", "{u}/d"),
               "makeup_workday": ("Make-up working day shift 调休日差值", "{u}/d"),
               "production": ("Production slope 产量系数", "{u}/{p}"),
               "heating": ("Heating slope 采暖斜率", "{u}/(degC d)"),
               "cooling": ("Cooling slope 制冷斜率", "{u}/(degC d)")}


def model_table(res: dict) -> Table:
    m = res["model"]
    unit = m.get("unit", "kWh")
    punit = ((res.get("data") or {}).get("production") or {}).get("unit") or "product unit"
    t = Table(title="Baseline model 基线模型", title_justify="left")
    t.add_column("term 项")
    t.add_column("value 数值", justify="right")
    t.add_column("unit 单位")
    if m["kind"] == "daily_change_point":
        forms = {"intercept_only": "intercept only 常数", "heating": "heating 采暖 (3P)",
                 "cooling": "cooling 制冷 (3P)", "heating_cooling": "heating + cooling 采暖+制冷 (5P)", None: "not fitted 未拟合"}
        segments = m.get("segments") or []
        if not segments:
            t.add_row("Daily change-point model 日变点模型", forms.get(m["form"], m["form"]), "")
            segments = [{"balance_points": m.get("balance_points"), "coefficients": m.get("coefficients"),
                         "smoothing_sd": m.get("smoothing_sd")}]
        else:
            t.add_row("Daily change-point model 日变点模型",
                      f"{len(segments)} segments 分段 (BIC)", "")
        for seg in segments:
            if "form" in seg:
                months = ",".join(str(x) for x in seg.get("months", []))
                t.add_row(f"[bold]segment 分段 {'+'.join(seg.get('seasons', []))} / {seg.get('days')}[/]",
                          forms.get(seg["form"], seg["form"]), f"months {months}, n={seg.get('n')}")
            bp = seg.get("balance_points") or {}
            t.add_row("  Heating balance point 采暖平衡点", _n(bp.get("heating"), 1), "degC")
            t.add_row("  Cooling balance point 制冷平衡点", _n(bp.get("cooling"), 1), "degC")
            if seg.get("smoothing_sd"):
                t.add_row("  Degree-day smoothing σ 度日平滑", _n(seg["smoothing_sd"], 1), "degC")
            for k, v in (seg.get("coefficients") or {}).items():
                label, u = COEF_LABELS.get(k, (k, "{u}"))
                t.add_row("  " + label, _n(v, 2), u.format(u=unit, p=punit))
    else:
        n_tow = sum(1 for c in m.get("columns", []) if c.startswith("tow_"))
        t.add_row("Hourly TOWT model 逐时周内时段-温度模型", m.get("form") or "not fitted 未拟合", "")
        t.add_row("Time-of-week intercepts 周内时段截距", str(n_tow), "")
        t.add_row("Temperature knots 温度分段点", ", ".join(f"{k:g}" for k in m.get("knots", [])), "degC")
        t.add_row("Occupied hours of week 生产时段", str(sum(m.get("occupied", []))), "h")
    return t


def statistics_table(res: dict) -> Table:
    """Baseline statistics against the ASHRAE Guideline 14-2014 criteria (with each row's status)."""
    me = res.get("metrics") or {}
    crit = {c["id"]: c for c in res["verdict"].get("criteria", [])}
    t = Table(title="Statistics vs ASHRAE Guideline 14-2014 统计指标与判据", title_justify="left")
    for c in ("statistic 指标", "value 数值", "limit 限值", "criterion 判据 [status]", "result 结果"):
        t.add_column(c, justify="right" if c.startswith(("value", "limit")) else "left")
    codes = set(res["verdict"].get("codes", []))

    def ok(code: str) -> str:
        return "[red]fail 不合格[/]" if code in codes else "[green]pass 合格[/]"

    cv = next((c for i, c in crit.items() if i.startswith("g14_wb_cvrmse")), None)
    if cv:
        t.add_row("CV(RMSE)", _pct(me.get("cvrmse")), f"≤ {_pct(cv['value'], 0)}", f"{cv['id']} [{_status(cv)}]",
                  ok("mv.verdict.cvrmse_above_limit"))
    nm = crit.get("g14_wb_nmbe")
    if nm:
        t.add_row("NMBE", _pct(me.get("nmbe"), 3), f"± {_pct(nm['value'], 1)}", f"{nm['id']} [{_status(nm)}]",
                  ok("mv.verdict.nmbe_above_limit"))
    t.add_row("R²", _n(me.get("r2"), 3), "—", "reported, no limit 仅报告", "")
    t.add_row("Lag-1 autocorrelation ρ 自相关", _n(me.get("rho"), 3), "—", "G14 Annex B n' correction", "")
    t.add_row("Days (hours) used n 样本数", _n(me.get("n")), "—", f"parameters p = {me.get('p', '—')}", "")
    fsu = crit.get("g14_fsu")
    sav = res.get("savings") or {}
    unc = sav.get("uncertainty") or {}
    if fsu and unc:
        t.add_row(f"FSU at {_pct(unc.get('confidence'), 0)} 节能量相对不确定度", _pct(unc.get("fsu")),
                  f"≤ {_pct(fsu['value'], 0)}", f"{fsu['id']} [{_status(fsu)}]", ok("mv.verdict.fsu_above_limit"))
    return t


def verdict_line(res: dict) -> str:
    v = res["verdict"]
    if v["fit"]:
        return "[bold green]Verdict 结论: fit for M&V 基线满足测量与验证要求[/]"
    return (f"[bold red]Verdict 结论: not fit for M&V 基线不满足要求[/] — codes 代码: "
            f"{', '.join(v['codes']) or '—'}")


def savings_table(res: dict) -> Table | None:
    s = res.get("savings")
    if not s:
        return None
    u = s["unit"]
    unc = s.get("uncertainty") or {}
    conf = _pct(unc.get("confidence"), 0) if unc else ""

    def pm(x, d=0) -> str:
        return f" ± {_n(x, d)}" if x is not None else ""

    what = "hours" if (res.get("data") or {}).get("resolution") == "hourly" else "days"
    t = Table(title=f"Savings over the reporting period 报告期节能量 ({s['periods']['used']:,} {what} used"
                    + (f", {s['periods']['missing']:,} missing" if s["periods"]["missing"] else "") + ")",
              title_justify="left")
    t.add_column("quantity 项目")
    t.add_column("value 数值", justify="right")
    t.add_column("unit 单位")
    t.add_row("Adjusted baseline 调整后基线能耗", _n(s["adjusted_baseline"]), u)
    t.add_row("Actual 实际能耗", _n(s["reporting"]), u)
    if s["adjustments"]["items"]:
        for a in s["adjustments"]["items"]:
            t.add_row(f"Non-routine adjustment 非常规调整: {a['reason']} ({a['period'][0]} … {a['period'][1]})",
                      _n(a["amount"]), u)
    t.add_row(f"[bold]Avoided energy 节能量[/] ({conf} confidence 置信度)",
              f"[bold]{_n(s['energy'])}{pm(unc.get('absolute'))}[/]", u)
    t.add_row("Savings fraction 节能率", _pct(s.get("fraction")), "")
    if s.get("tce"):
        c = s["tce"]
        t.add_row("Standard coal saved 节约标准煤 (GB/T 2589-2020)", f"{_n(c['value'], 1)}{pm(c.get('uncertainty'), 1)}",
                  f"tce ({c['coefficient']['value']:g} {c['coefficient']['unit']})")
    if s.get("tco2"):
        c = s["tco2"]
        t.add_row("Avoided CO2 减排二氧化碳", f"{_n(c['value'], 1)}{pm(c.get('uncertainty'), 1)}",
                  f"tCO2 ({c['factor']['id']}, {c['factor']['table_value']:g} {c['factor']['table_unit']})")
    d = s.get("designed")
    if d:
        per = "per year, pro-rated by days 按天折算" if d["per"] == "year" else "over the reporting period"
        t.add_row(f"Designed saving 设计节能量 ({_n(d['value'])} {d['unit']} {per})", _n(d["for_reporting_period"]), u)
        if d.get("within_uncertainty") is not None:
            t.add_row("Verified − designed 验证值−设计值",
                      f"{_n(d['difference'])} ({_pct(d['ratio'] - 1 if d.get('ratio') else None)})",
                      "[green]within the uncertainty 在不确定度内[/]" if d["within_uncertainty"]
                      else "[yellow]outside the uncertainty 超出不确定度[/]")
    return t


def flags_table(res: dict) -> Table | None:
    seen, rows = set(), []
    for f in res.get("flags", []):
        key = (f["code"], f["message"])
        if key not in seen:
            seen.add(key)
            rows.append(f)
    if not rows:
        return None
    t = Table(title="Findings 数据与方法提示", title_justify="left")
    t.add_column("code 代码")
    t.add_column("severity")
    t.add_column("message 说明", overflow="fold")
    colour = {"fatal": "red", "warning": "yellow", "info": "dim"}
    for f in rows:
        t.add_row(f"{f['code']}\n{label('finding', f['code'], 'zh')}", f"[{colour.get(f['severity'], '')}]{f['severity']}[/]",
                  f["message"])
    return t


def footnote(res: dict) -> str:
    lines = []
    s = res.get("savings") or {}
    if s.get("tce"):
        c = s["tce"]["coefficient"]
        lines.append(f"tce: {c['id']} {c['table_value']} {c['table_unit']} [{c.get('status')}] ({c['source']}).")
    if s.get("tco2"):
        f = s["tco2"]["factor"]
        lines.append(f"CO2: {f['id']} {f['table_value']} {f['table_unit']} [{f.get('status')}] ({f['source']}; "
                     f"{f.get('reason', '')}).")
    if s.get("uncertainty"):
        lines.append(f"Uncertainty: {s['uncertainty']['method']}.")
    d = res.get("data") or {}
    e = d.get("energy") or {}
    if e:
        lines.append(f"Data: {e.get('readings', 0):,} readings via {e.get('source')}; temperature "
                     f"{d['station']['samples']:,} samples of {d['station']['id']}.")
    if res.get("plot"):
        lines.append(f"Plot 图: {res['plot']['path']}")
    return "[dim]" + "\n".join(lines) + "[/]" if lines else ""


def render(res: dict) -> Group:
    parts: list = [project_panel(res), model_table(res), statistics_table(res), verdict_line(res)]
    st = savings_table(res)
    if st is not None:
        parts.append(st)
    ft = flags_table(res)
    if ft is not None:
        parts.append(ft)
    fn = footnote(res)
    if fn:
        parts.append(fn)
    return Group(*parts)


def scorecard_line(res: dict) -> str:
    """One line for ``greenpark demo``: the verified saving of a project."""
    pr, s, v = res["project"], res.get("savings"), res["verdict"]
    head = f"[bold]M&V 节能量验证 {pr['id']}[/] ({pr['name_zh']}): "
    if not s:
        return head + f"not fit for M&V ({', '.join(v['codes'])})"
    unc = (s.get("uncertainty") or {}).get("absolute")
    text = (head + f"avoided 节能 {_n(s['energy'])} ± {_n(unc)} {s['unit']} "
            f"({_pct((s.get('uncertainty') or {}).get('confidence'), 0)})")
    if s.get("tce"):
        text += f" = {_n(s['tce']['value'], 1)} tce"
    if s.get("tco2"):
        text += f", {_n(s['tco2']['value'], 0)} tCO2"
    d = s.get("designed")
    if d and d.get("within_uncertainty") is not None:
        text += (f"; designed 设计 {_n(d['for_reporting_period'])} {s['unit']} — "
                 + ("within the uncertainty 在不确定度内" if d["within_uncertainty"] else "outside the uncertainty"))
    cv = (res.get("metrics") or {}).get("cvrmse")
    text += f"; CV(RMSE) {_pct(cv)}, {v['label']}"
    return text


def demo_scorecard(store, p) -> list[str]:
    """Evaluate every project of the demo park (plots next to the store); one line each."""
    from greenpark.core import mv
    from greenpark.services import mv_projects

    out = []
    for proj in p.mv_projects:
        try:
            res = mv_projects.run(store.con, p, proj.id, plot_path=_default_plot(p, None, proj.id))
        except (mv_projects.ProjectError, mv.MVError) as exc:
            out.append(f"[yellow]M&V {proj.id}: {exc}[/]")
            continue
        out.append(scorecard_line(res))
    return out


# --------------------------------------------------------------------------------------------
# commands


@mv_app.command("list")
@friendly_errors
def list_projects(park: ParkOpt = None, format: MVFormatOpt = MVFormat.table) -> None:
    """The M&V projects of park.toml: scope, periods, option, model and designed saving."""
    from greenpark.services import mv_projects

    p = load_park(park)
    rows = mv_projects.summary(p)
    if format == MVFormat.json:
        typer.echo(dumps_json(rows))
        return
    if not rows:
        console.print("no M&V projects: add [[mv_projects]] to park.toml (see the README, 'M&V projects')")
        return
    t = Table(title="M&V projects · 节能改造测量与验证项目")
    for c in ("id", "name 名称", "scope 范围", "baseline 基准期", "reporting 报告期", "designed 设计节能量"):
        t.add_column(c, overflow="fold")
    for r in rows:
        ds = r["designed_saving"]
        t.add_row(r["id"], f"{r['name_zh']}\n{r['name_en']}",
                  f"{r['enterprise']}: {', '.join(r['meters'])}\nOption {r['option']}, model {r['model']}",
                  f"{r['baseline']['start']}\n… {r['baseline']['end']}", f"{r['reporting']['start']}\n… {r['reporting']['end']}",
                  "—" if ds is None else f"{_n(ds['value'])} {ds['unit']}\n{'per year' if ds['per'] == 'year' else 'per period'}")
    console.print(t)


@mv_app.command()
@friendly_errors
def fit(project: Annotated[str, typer.Argument(help="Project id ([[mv_projects]] in park.toml).")],
        park: ParkOpt = None, db: DbOpt = None, format: MVFormatOpt = MVFormat.table,
        save: Annotated[Path | None, typer.Option(help="Write the fitted baseline model as JSON here "
                                                       "(use it later with 'mv savings --model').")] = None) -> None:
    """Fit the baseline model: balance points, ASHRAE G14 statistics, sufficiency codes and verdict."""
    _, res = _evaluate(project, park, db, savings=False)
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(dumps_json({"project": res["project"]["id"], "model": res["model"]}) + "\n", encoding="utf-8")
    if format == MVFormat.json:
        typer.echo(dumps_json(res))
        return
    console.print(render(res))
    if save is not None:
        console.print(f"[dim]model saved to {save}[/]")


@mv_app.command()
@friendly_errors
def savings(project: Annotated[str, typer.Argument(help="Project id ([[mv_projects]] in park.toml).")],
            park: ParkOpt = None, db: DbOpt = None, format: MVFormatOpt = MVFormat.table,
            plot: Annotated[Path | None, typer.Option(help="PNG of baseline, adjusted baseline and actual "
                                                           "(default: mv-PROJECT.png next to the store).")] = None,
            no_plot: Annotated[bool, typer.Option("--no-plot", help="Do not write the PNG.")] = False,
            confidence: ConfidenceOpt = None,
            model: Annotated[Path | None, typer.Option(help="A frozen baseline model (JSON from 'mv fit --save') "
                                                            "used instead of fitting.")] = None,
            html_out: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML report "
                                                                         "(figure embedded) to this file.")] = None) -> None:
    """Avoided energy over the reporting period with its uncertainty, in tce and tCO2, and the verdict."""
    p = load_park(park)
    target = None if no_plot else (plot or _default_plot(p, db, project))
    _, res = _evaluate(project, park, db, savings=True, plot=target, confidence=confidence, model_path=model)
    if html_out is not None:
        from greenpark.reports.html import mv_savings_report

        html_out.write_text(mv_savings_report(res), encoding="utf-8")
        err_console.print(f"[dim]HTML report written to {html_out}[/]")
    if format == MVFormat.json:
        typer.echo(dumps_json(res))
    else:
        console.print(render(res))
    if "mv.reporting.not_predictable" in res["verdict"]["codes"]:
        raise typer.Exit(1)  # no avoided energy can be stated: not a result to build on
