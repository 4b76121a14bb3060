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
from rich.markup import escape
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
    lab,
    lang,
    load_park,
    park_store,
)

mv_app = typer.Typer(rich_markup_mode=None, help="Measurement & verification of energy savings (IPMVP Option B/C, ASHRAE Guideline 14-2014).",
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


def _L(code: str) -> str:
    """A label of the M&V tables (catalogue kind column, code ``mv_<code>``) in the command's language."""
    return escape(lab("column", "mv_" + code))


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
    g.add_row(_L("enterprise"), pr["enterprise"])
    g.add_row(_L("ipmvp_option"), f"Option {pr['option']} "
              + (f"({_L('option_b')})" if pr["option"] == "B" else f"({_L('option_c')})"))
    g.add_row(_L("meters"), f"{', '.join(pr['meters'])} ({pr['carrier']}, {pr['unit']})")
    g.add_row(_L("weather_station"), pr["weather_station"])
    if pr.get("products"):
        g.add_row(_L("production"), ", ".join(pr["products"]))
    g.add_row(_L("baseline"), _period(pr["baseline"]))
    g.add_row(_L("installation"), _period(pr.get("installation")))
    g.add_row(_L("reporting"), _period(pr["reporting"]))
    if pr.get("shutdowns"):
        g.add_row(_L("shutdowns"), "; ".join(f"{s['start']} … {s['end']}" for s in pr["shutdowns"]))
    g.add_row(_L("model"), f"{pr['model']} → {pr.get('model_used', '—')}")
    name = pr["name_zh"] if lang() == "zh" else pr["name_en"]
    return Panel(g, title=escape(f"{lab('column', 'mv_title')} · {pr['id']} — {name}"))


#: model coefficient -> unit pattern (labels: catalogue column mv_coef_<name>)
COEF_UNITS = {"intercept": "{u}/d", "holiday": "{u}/d", "weekend": "{u}/d", "makeup_workday": "{u}/d",
              "production": "{u}/{p}", "heating": "{u}/(degC d)", "cooling": "{u}/(degC d)"}


def model_table(res: dict) -> Table:
    m = res["model"]
    unit = m.get("unit", "kWh")
    punit = ((res.get("data") or {}).get("production") or {}).get("unit") or "product unit"
    t = Table(title=_L("baseline_model"), title_justify="left")
    t.add_column(_L("term"))
    t.add_column(_L("value"), justify="right")
    t.add_column(_L("unit"))
    if m["kind"] == "daily_change_point":
        forms = {"intercept_only": _L("form_intercept_only"), "heating": _L("form_heating") + " (3P)",
                 "cooling": _L("form_cooling") + " (3P)", "heating_cooling": _L("form_heating_cooling") + " (5P)",
                 None: _L("not_fitted")}
        segments = m.get("segments") or []
        if not segments:
            t.add_row(_L("daily_change_point"), forms.get(m["form"], m["form"]), "")
            segments = [{"balance_points": m.get("balance_points"), "coefficients": m.get("coefficients"),
                         "smoothing_sd": m.get("smoothing_sd")}]
        else:
            t.add_row(_L("daily_change_point"),
                      f"{len(segments)} {_L('segments')} (BIC)", "")
        for seg in segments:
            if "form" in seg:
                months = ",".join(str(x) for x in seg.get("months", []))
                t.add_row(f"[bold]{_L('segment')} {'+'.join(seg.get('seasons', []))} / {seg.get('days')}[/]",
                          forms.get(seg["form"], seg["form"]), f"{_L('months')} {months}, n={seg.get('n')}")
            bp = seg.get("balance_points") or {}
            t.add_row("  " + _L("heating_balance_point"), _n(bp.get("heating"), 1), "degC")
            t.add_row("  " + _L("cooling_balance_point"), _n(bp.get("cooling"), 1), "degC")
            if seg.get("smoothing_sd"):
                t.add_row("  " + _L("degree_day_smoothing"), _n(seg["smoothing_sd"], 1), "degC")
            for k, v in (seg.get("coefficients") or {}).items():
                t.add_row("  " + (_L("coef_" + k) if k in COEF_UNITS else k), _n(v, 2),
                          COEF_UNITS.get(k, "{u}").format(u=unit, p=punit))
    else:
        n_tow = sum(1 for c in m.get("columns", []) if c.startswith("tow_"))
        t.add_row(_L("hourly_towt"), m.get("form") or _L("not_fitted"), "")
        t.add_row(_L("tow_intercepts"), str(n_tow), "")
        t.add_row(_L("temperature_knots"), ", ".join(f"{k:g}" for k in m.get("knots", [])), "degC")
        t.add_row(_L("occupied_hours"), str(sum(m.get("occupied", []))), "h")
    return t


def statistics_table(res: dict) -> Table:
    """Baseline statistics against the ASHRAE Guideline 14-2014 criteria (with each row's status)."""
    me = res.get("metrics") or {}
    crit = {c["id"]: c for c in res["verdict"].get("criteria", [])}
    t = Table(title=_L("statistics_title"), title_justify="left")
    for c in ("statistic", "value", "limit", "criterion", "result"):
        t.add_column(_L(c), justify="right" if c in ("value", "limit") else "left")
    codes = set(res["verdict"].get("codes", []))

    def ok(code: str) -> str:
        return f"[red]{_L('fail')}[/]" if code in codes else f"[green]{_L('pass')}[/]"

    cv = next((c for i, c in crit.items() if i.startswith("g14_wb_cvrmse")), None)
    if cv:
        t.add_row("CV(RMSE)", _pct(me.get("cvrmse")), f"≤ {_pct(cv['value'], 0)}", f"{cv['id']} [{_status(cv)}]",
                  ok("mv.verdict.cvrmse_above_limit"))
    nm = crit.get("g14_wb_nmbe")
    if nm:
        t.add_row("NMBE", _pct(me.get("nmbe"), 3), f"± {_pct(nm['value'], 1)}", f"{nm['id']} [{_status(nm)}]",
                  ok("mv.verdict.nmbe_above_limit"))
    t.add_row("R²", _n(me.get("r2"), 3), "—", _L("reported_no_limit"), "")
    t.add_row(_L("lag1_autocorrelation"), _n(me.get("rho"), 3), "—", "G14 Annex B n' correction", "")
    t.add_row(_L("n_used"), _n(me.get("n")), "—", f"parameters p = {me.get('p', '—')}", "")
    fsu = crit.get("g14_fsu")
    sav = res.get("savings") or {}
    unc = sav.get("uncertainty") or {}
    if fsu and unc:
        t.add_row(f"FSU {_pct(unc.get('confidence'), 0)} {_L('fsu')}", _pct(unc.get("fsu")),
                  f"≤ {_pct(fsu['value'], 0)}", f"{fsu['id']} [{_status(fsu)}]", ok("mv.verdict.fsu_above_limit"))
    return t


def verdict_line(res: dict) -> str:
    v = res["verdict"]
    if v["fit"]:
        return f"[bold green]{_L('verdict_fit')}[/]"
    return f"[bold red]{_L('verdict_not_fit')}[/] — {_L('code')}: {', '.join(v['codes']) or '—'}"


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
    t = Table(title=f"{_L('savings_title')} ({s['periods']['used']:,} {_L(what)}"
                    + (f", {s['periods']['missing']:,} {_L('missing')}" if s["periods"]["missing"] else "") + ")",
              title_justify="left")
    t.add_column(_L("quantity"))
    t.add_column(_L("value"), justify="right")
    t.add_column(_L("unit"))
    t.add_row(_L("adjusted_baseline"), _n(s["adjusted_baseline"]), u)
    t.add_row(_L("actual"), _n(s["reporting"]), u)
    if s["adjustments"]["items"]:
        for a in s["adjustments"]["items"]:
            t.add_row(f"Non-routine adjustment 非常规调整: {a['reason']} ({a['period'][0]} … {a['period'][1]})",
                      _n(a["amount"]), u)
    t.add_row(f"[bold]{_L('avoided_energy')}[/] ({conf} {_L('confidence')})",
              f"[bold]{_n(s['energy'])}{pm(unc.get('absolute'))}[/]", u)
    t.add_row(_L("savings_fraction"), _pct(s.get("fraction")), "")
    if s.get("tce"):
        c = s["tce"]
        t.add_row(_L("standard_coal_saved"), f"{_n(c['value'], 1)}{pm(c.get('uncertainty'), 1)}",
                  f"tce ({c['coefficient']['value']:g} {c['coefficient']['unit']})")
    if s.get("tco2"):
        c = s["tco2"]
        t.add_row(_L("avoided_co2"), f"{_n(c['value'], 1)}{pm(c.get('uncertainty'), 1)}",
                  f"tCO2 ({c['factor']['id']}, {c['factor']['table_value']:g} {c['factor']['table_unit']})")
    d = s.get("designed")
    if d:
        per = _L("per_year_prorated") if d["per"] == "year" else _L("over_reporting_period")
        t.add_row(f"{_L('designed_saving')} ({_n(d['value'])} {d['unit']} {per})", _n(d["for_reporting_period"]), u)
        if d.get("within_uncertainty") is not None:
            t.add_row(_L("verified_minus_designed"),
                      f"{_n(d['difference'])} ({_pct(d['ratio'] - 1 if d.get('ratio') else None)})",
                      f"[green]{_L('within_uncertainty')}[/]" if d["within_uncertainty"]
                      else f"[yellow]{_L('outside_uncertainty')}[/]")
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
    t = Table(title=_L("findings"), title_justify="left")
    t.add_column(_L("code"))
    t.add_column(_L("severity"))
    t.add_column(_L("message"), overflow="fold")
    colour = {"fatal": "red", "warning": "yellow", "info": "dim"}
    for f in rows:
        t.add_row(f"{f['code']}\n{escape(lab('finding', f['code']))}",
                  f"[{colour.get(f['severity'], '')}]{escape(lab('severity', f['severity']))}[/]",
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
