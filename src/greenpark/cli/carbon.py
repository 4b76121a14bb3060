"""`greenpark carbon` (Scope 1 and 2, location- and market-based) and `greenpark targets` (dual control)."""

from __future__ import annotations

import datetime as dt
import math
import re
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from greenpark.cli.app import app
from greenpark.cli.common import (
    DbOpt,
    EngineOpt,
    Format,
    FormatOpt,
    ParkOpt,
    UserError,
    err_console,
    friendly_errors,
    header,
    lab,
    load_park,
    msg,
    run,
)
from greenpark.findings import label

if TYPE_CHECKING:
    from greenpark.services import carbon_accounts as ca
    from greenpark.services import targets as ts


class Method(str, Enum):
    location = "location"
    market = "market"
    both = "both"


class Level(str, Enum):
    national = "national"
    regional = "regional"
    provincial = "provincial"


def fig_label(code: str) -> str:
    """The label of a carbon figure (``scope1_t``...) in the command's language (catalogue kind column)."""
    return escape(header(code))


STATUS_STYLE = {"UNVERIFIED": "bold red", "C1": "yellow", "C2+": "green", "USER": "cyan"}
TARGET_STYLE = {"on_track": "green", "at_risk": "yellow", "exceeded": "bold red", "unknown": "dim"}


def _n(x: Any, digits: int = 2) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def _status(s: str) -> str:
    label = "⚠ UNVERIFIED" if s == "UNVERIFIED" else s
    return f"[{STATUS_STYLE.get(s, 'white')}]{label}[/]"


def _year(period: str) -> int:
    if not re.fullmatch(r"\d{4}", period.strip()):
        raise UserError(f"--period '{period}': carbon accounts are kept by calendar year; give a year such as 2025")
    from greenpark.core.energy import PERIOD_YEARS

    if not PERIOD_YEARS[0] <= int(period) <= PERIOD_YEARS[1]:
        raise UserError(f"--period {period}: the year must be between {PERIOD_YEARS[0]} and {PERIOD_YEARS[1]}")
    return int(period)


def _names(park) -> dict[str, str]:
    out = {e.id: e.name_zh for e in park.enterprises}
    out[park.park.id] = f"{park.park.name_zh}（公共建筑）"
    return out


# ---------------------------------------------------------------------------------------------
# carbon: rendering
# ---------------------------------------------------------------------------------------------
def _factor_text(ids: str, factors: dict[str, dict]) -> str:
    """'389.31 GJ/10^4 Nm3 × 15.3 tC/TJ × 10^-3 TJ/GJ × 0.99 × 44/12' for a line's factor ids."""
    parts = []
    for fid in [x for x in str(ids).split(",") if x]:
        f = factors.get(fid)
        if fid == "co2_per_c":
            parts.append("44/12")
        elif f is None:
            parts.append(fid)
        else:
            unit = "" if f.get("unit") in (None, "1") else f" {f['unit']}"
            parts.append(f"[bold red]{f['value']:g}{unit} ⚠ UNVERIFIED[/]" if f.get("status") == "UNVERIFIED"
                         else f"{f['value']:g}{unit}")
            if fid.endswith(":cc"):
                parts.append("10^-3 TJ/GJ")
    return " × ".join(parts)



FLOW_ORDER = {"grid_import": 0, "grid_import_certified": 1, "grid_import_residual": 2, "onsite_renewable": 3,
              "export": 4}


def calculation_table(report: ca.CarbonReport, enterprise: str | None = None) -> Table:
    from greenpark.core import units

    """Activity x factors = tCO2 per emission source (park or one enterprise): reproducible by hand.

    Fuels in their activity unit (t or 10^4 Nm3), electricity [MWh], steam [t], heat [GJ].
    """
    res = report.result
    ln = res.lines if enterprise is None else res.lines[res.lines["enterprise_id"] == enterprise]
    factors = {f["id"]: f for f in res.factors}
    t = Table(title=escape(msg("cli.carbon.calculation", entity=lab("column", "park") if enterprise is None
                               else enterprise, year=res.period)), title_justify="left")
    for c, j in (("emission_source", "left"), ("activity", "right"), ("unit", "left"),
                 ("factors", "left"), ("tCO2", "right")):
        t.add_column(escape(header(c)), justify=j)
    if ln.empty:
        return t
    g = ln.assign(factor_ids=ln["factor_ids"].fillna(""))
    for cat, unit in (("steam", "t"), ("heat", "GJ")):  # scope-2 heat lines carry the delivered quantity
        m = g["category"] == cat
        if m.any():
            conv = g.loc[m, "unit"].map({u: units.conversion_factor(u, unit) for u in g.loc[m, "unit"].unique()})
            g.loc[m, "ad"] = g.loc[m, "quantity"] * conv
            g.loc[m, "ad_unit"] = unit
    g = g.groupby(["scope", "category", "carrier", "method", "flow", "factor_ids", "ad_unit"], as_index=False,
                  sort=False)[["ad", "co2_t"]].sum()
    g["_flow"] = g["flow"].map(FLOW_ORDER).fillna(0)
    g = g.sort_values(["scope", "method", "category", "carrier", "_flow"], kind="stable")
    for r in g.to_dict("records"):
        cat = lab("emission_category", r["category"])
        if r["category"] == "electricity":
            src = lab("flow", r["flow"])
            if r["method"] == "location":
                src += " (location)" if r["flow"] == "grid_import" else ""
        elif r["category"] == "fuel_combustion":
            src = f"{lab('carrier', r['carrier'])} {cat}"
        elif r["category"] == "process":
            src = f"{cat}: {r['carrier']}"
        else:
            src = cat
        ftxt = _factor_text(r["factor_ids"], factors) if r["factor_ids"] else "0"
        t.add_row(f"S{r['scope']} {escape(str(src))}", _n(r["ad"], 3), escape(str(r["ad_unit"])), ftxt,
                  _n(r["co2_t"], 4))
    return t


def factors_footnote(report: ca.CarbonReport, factors: list[dict] | None = None) -> str:
    res = report.result
    factors = res.factors if factors is None else factors
    lines = ["[bold]Factors 因子[/] (every factor used, with its source and status):"]
    for f in factors:
        unit = "" if f.get("unit") in (None, "1") else f" {f['unit']}"
        extra = f", data year {f['data_year']}" if f.get("data_year") else ""
        lines.append(f"  {escape(str(f['id']))} = {f['value']:g}{escape(unit)} {_status(f['status'])} — "
                     f"{escape(str(f['source']))}{extra}")
    lin = res.lineage
    for role, sel in lin.get("selections", {}).items():
        lines.append(f"  [dim]{role}: {escape(sel['reason'])}[/]")
    lines.append(f"  [dim]factor-year rule {lin['factor_year_rule']} ({lin['factor_year_rule_source']}); certificate "
                 f"matching {lin['certificate_matching']}; activity from monthly rollups "
                 f"({len(lin['months'])} months, {lin['activity_rows']} rows)[/]")
    if any(f["status"] == "UNVERIFIED" for f in factors):
        lines.append("  [bold red]⚠ UNVERIFIED factors were used: the figures that use them are not confirmed by any "
                     "source read; check them against the official text (carbon.factor.unverified).[/]")
    return "\n".join(lines)


def published_note(report: ca.CarbonReport) -> str:
    pub = report.published
    if report.status == "published_now":
        return "[bold green]" + escape(msg("cli.carbon.published_now", year=report.key.period, result=pub.result_id)) + "[/]"
    if report.status == "not_published":
        return "[bold yellow]" + escape(msg("cli.carbon.not_published", year=report.key.period)) + "[/]"
    when = pub.published_at.strftime("%Y-%m-%d %H:%M") if hasattr(pub.published_at, "strftime") else pub.published_at
    if report.status == "restated":
        return (f"[bold yellow]Restated 重述:[/] result #{pub.restates} superseded by #{pub.result_id} ({when}); "
                "the differences are listed above.")
    if report.status == "nothing_to_restate":
        return f"[dim]Result #{pub.result_id} ({when}) already uses the factors in force: nothing to restate.[/]"
    note = "[dim]" + escape(msg("cli.carbon.published", year=report.key.period, result=pub.result_id, when=when)) + "[/]"
    if len(report.changes):
        fc = ", ".join(f"{f['id']} {_n(f['before_value'], 4) if f['before_value'] is not None else '—'} → "
                       f"{_n(f['after_value'], 4) if f['after_value'] is not None else '—'}"
                       for f in report.factor_changes)
        note += (f"\n[bold yellow]The factors in force now differ ({fc}): {len(report.changes)} figures would change. "
                 "Run with --restate to restate.[/]")
    return note


def changes_table(report: ca.CarbonReport, enterprise: str | None = None) -> Table | None:
    ch = report.changes
    if ch is None or ch.empty:
        return None
    if enterprise:
        ch = ch[ch["entity"].isin(["park", enterprise])]
    title = ("Restatement 重述 (against the published figures)" if report.status == "restated"
             else "Pending restatement 待重述 (what --restate would change)")
    t = Table(title=title, title_justify="left")
    for c in ("entity", "figure", "before tCO2", "after tCO2", "change", "factor effect", "data effect", "%"):
        t.add_column(c, justify="left" if c in ("entity", "figure") else "right")
    for r in ch.head(40).to_dict("records"):
        t.add_row(r["entity"], r["figure"], _n(r["before_t"], 4), _n(r["after_t"], 4), _n(r["change_t"], 4),
                  _n(r["factor_effect_t"], 4), _n(r["data_effect_t"], 4), _n(r["change_pct"], 3))
    if len(ch) > 40:
        t.caption = f"{len(ch) - 40} more rows in --format json (lineage.restatement)"
    return t


def rejected_table(report: ca.CarbonReport, enterprise: str | None = None) -> Table | None:
    rej = report.rejected
    if enterprise and rej is not None and len(rej):  # its own registrations and those that name it
        rej = rej[(rej["enterprise_id"] == enterprise) | rej["message"].str.contains(f"enterprise {enterprise}[,)]")]
    if rej is None or rej.empty:
        return None
    t = Table(title="[bold red]Rejected certificate registrations 被拒绝的证书登记[/] (left out of the market-based "
                    "accounts; fix park.toml)", title_justify="left")
    for c in ("id", "enterprise", "code", "reason"):
        t.add_column(c)
    for r in rej.to_dict("records"):
        t.add_row(escape(str(r["id"])), escape(str(r["enterprise_id"])), r["code"], escape(str(r["message"])))
    return t


def carbon_scorecard(report: ca.CarbonReport, park, enterprise: str | None = None, top: int | None = 15) -> Group:
    from greenpark.services import carbon_accounts as ca

    """The carbon scorecard: figures, calculation, enterprises, certificates, factors with source and status."""
    d = ca.to_json_dict(report, enterprise)
    res = report.result
    p = d["enterprises"][0] if enterprise and d["enterprises"] else d["park"]
    head = Table.grid(padding=(0, 3))
    for _ in range(4):
        head.add_column()
    head.add_row(f"[bold]{fig_label('scope1_t')}[/]", f"[bold]{_n(p['scope1_t'])}[/] tCO2",
                 f"[bold]{fig_label('scope2_location_t')}[/]", f"{_n(p['scope2_location_t'])} tCO2")
    head.add_row(f"[bold]{fig_label('total_market_t' if res.method == 'market' else 'total_location_t')}[/]",
                 f"[bold green]{_n(p['total_t'])} tCO2[/]", f"[bold]{fig_label('scope2_market_t')}[/]",
                 f"{_n(p['scope2_market_t'])} tCO2")
    certs = d["certificates"]
    applied = sum(c["applied_mwh"] or 0 for c in certs["by_enterprise"])
    n_rej = len({r["id"] for r in certs["rejected"] if not enterprise or r["enterprise_id"] == enterprise})
    head.add_row("[bold]Certificates applied 绿证/绿电抵扣[/]", f"{_n(applied, 1)} MWh",
                 "[bold]Rejected registrations 被拒登记[/]", f"[bold red]{n_rej}[/]" if n_rej else "0")
    pub = report.published
    head.add_row(f"[bold]{escape(header('publication'))}[/]",
                 ("[bold yellow]" if report.status == "not_published" else "[green]") + lab("status", report.status)
                 + (f" #{pub.result_id}" if pub and report.status != "not_published" else "") + "[/]", "", "")
    level = res.level + (f" ({res.region})" if res.region else "")
    parts: list[Any] = [Panel(head, title=f"{park.park.name_zh} · {park.park.name_en} — carbon 碳排放 {res.period}"
                              + (f" — {enterprise}" if enterprise else ""),
                              subtitle=f"method {res.method} · grid level {level} · GB/T 32150 / GB/T 32151 · MEE/NBS")]
    parts.append(calculation_table(report, enterprise))
    names = _names(park)
    ents = Table(title=escape(msg("cli.carbon.table.enterprises_top", top=top) if top and not enterprise
                              and len(d["enterprises"]) > top else msg("cli.carbon.table.enterprises")),
                 title_justify="left")
    for c in ("id", "name", "scope1_t", "scope2_location_t", "scope2_market_t", "total_t", "certified_mwh"):
        ents.add_column(escape(header(c)), justify="left" if c in ("id", "name") else "right")
    by_ent = {c["id"]: c["applied_mwh"] for c in certs["by_enterprise"]}
    rows = sorted(d["enterprises"], key=lambda e: -(e["total_t"] or 0))
    for e in rows[:top] if top and not enterprise else rows:
        ents.add_row(e["id"], names.get(e["id"], ""), _n(e["scope1_t"]), _n(e["scope2_location_t"]),
                     _n(e["scope2_market_t"]), _n(e["total_t"]), _n(by_ent.get(e["id"]), 1))
    parts.append(ents)
    if certs["by_certificate"]:
        ct = Table(title="Certificates and green-power contracts 绿证与绿电合同", title_justify="left")
        for c in ("id", "kind", "enterprise", "MWh", "applied", "unapplied"):
            ct.add_column(c, justify="right" if c in ("MWh", "applied", "unapplied") else "left")
        for c in certs["by_certificate"]:
            ct.add_row(c["id"], c["kind"], c["enterprise_id"], _n(c["mwh"], 1), _n(c["applied_mwh"], 1),
                       _n(c["unapplied_mwh"], 1))
        parts.append(ct)
    if (rt := rejected_table(report, enterprise)) is not None:
        parts.append(rt)
    if (chg := changes_table(report, enterprise)) is not None:
        parts.append(chg)
    parts.append(factors_footnote(report, d["factors"]))
    parts.append(published_note(report))
    codes = {f["code"]: f["severity"] for f in res.flags}
    if codes:
        parts.append("[dim]Flags: " + ", ".join(f"{k} {label('finding', k, 'zh')} ({v})" for k, v in codes.items()) + " (see --format json).[/]")
    return Group(*parts)


def csv_rows(d: dict, park) -> list[dict]:
    names = _names(park)
    by_ent = {c["id"]: c["applied_mwh"] for c in d["certificates"]["by_enterprise"]}
    rows = [{"entity": "park", "id": park.park.id, "name_zh": park.park.name_zh, **d["park"],
             "certified_mwh": sum(v or 0 for v in by_ent.values())}]
    rows += [{"entity": "enterprise", "name_zh": names.get(e["id"], ""), **e, "certified_mwh": by_ent.get(e["id"], 0.0)}
             for e in d["enterprises"]]
    return rows


CSV_COLUMNS = ["entity", "id", "name_zh", "scope1_t", "scope2_location_t", "scope2_market_t", "total_t",
               "total_location_t", "total_market_t", "certified_mwh"]


@app.command("carbon")
@friendly_errors
def carbon_cmd(
    period: Annotated[str, typer.Option(help="Calendar year, e.g. 2025 (park time).")],
    method: Annotated[Method | None, typer.Option(help="location, market or both (default: carbon.method of park.toml).")] = None,
    level: Annotated[Level | None, typer.Option(help="Grid level of the location-based factor (default: carbon.level of park.toml).")] = None,
    region: Annotated[str | None, typer.Option(help="Grid region or province for --level regional/provincial "
                                                    "(default: park.grid_region / park.province).")] = None,
    enterprise: Annotated[str | None, typer.Option(help="Only this enterprise id (or the park id).")] = None,
    restate: Annotated[bool, typer.Option("--restate", help="Recompute a published year with the factors in force "
                                                           "now, show the difference and publish the restatement.")] = False,
    publish: Annotated[bool, typer.Option("--publish", help="Publish the year (first result): later runs keep its "
                                                           "factors. Without it the accounts are computed, not stored.")] = False,
    park: ParkOpt = None,
    db: DbOpt = None,
    engine: EngineOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Carbon accounts: Scope 1 and Scope 2 (location- and market-based) of every enterprise and the park, in tCO2.

    Computing never publishes: ``--publish`` publishes a year not yet published, ``--restate``
    publishes a restatement of a published one (the API: POST /api/v1/carbon/publish)."""
    from greenpark.services import carbon_accounts as ca

    p = load_park(park)
    year = _year(period)
    if enterprise and enterprise != p.park.id:
        p.enterprise(enterprise)

    def compute(p, store):
        try:
            report = ca.carbon_report(store, p, year, method=method.value if method else None,
                                      level=level.value if level else None, region=region, restate=restate,
                                      write=publish or restate)
        except ca.AccountsError as exc:
            raise UserError(str(exc)) from None
        if len(report.rejected) and format != Format.table:
            err_console.print(f"[bold red]warning:[/] {report.rejected['id'].nunique()} certificate registration(s) "
                              "rejected (lineage.flags carbon.certificates.rejected; certificates.rejected)",
                              highlight=False)
        return report

    run(p, db, compute, format, read_only=not (publish or restate), to_json=lambda r: ca.to_json_dict(r, enterprise),
        rows=lambda r: csv_rows(ca.to_json_dict(r, enterprise), p), columns=CSV_COLUMNS,
        table=lambda r: carbon_scorecard(r, p, enterprise), engine=engine)


# ---------------------------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------------------------
def targets_view(report: ts.TargetsReport, park) -> Group:
    import pandas as pd

    """The dual-control table with status, margin and the basis of every figure."""
    res = report.result
    names = _names(park)
    t = Table(title=escape(msg("cli.targets.title", year=res.year, as_of=f"{res.as_of:%Y-%m}")), title_justify="left")
    for c in ("entity", "metric", "cap", "to_date", "projection", "status", "margin", "margin_pct",
              "projection_method"):
        t.add_column(escape(header(c)), justify="left" if c in ("entity", "metric", "status", "projection_method")
                     else "right")
    for r in res.table.to_dict("records"):
        ent = lab("column", "park") if r["entity_id"] == park.park.id else \
            f"{r['entity_id']} {names.get(r['entity_id'], '')}"
        nd = 4 if "intensity" in r["metric"] else 1
        st = r["status"]
        t.add_row(escape(ent), escape(f"{lab('metric', r['metric'])} [{lab('unit', r['unit'])}]"), _n(r["cap"], nd), _n(r["to_date"], nd), _n(r["projection"], nd),
                  f"[{TARGET_STYLE[st]}]{lab('status', st)}[/]", _n(r["margin"], nd), _n(r["margin_pct"], 1),
                  str(r["projection_method"]) if isinstance(r["projection_method"], str) else "—")
    th = res.thresholds
    basis = "; ".join(f"{y}: " + (f"published result #{b['result_id']}" if b.get("result_id") else
                                  b.get("status", "")) + (f", {b['method']}-based Scope 2" if b.get("method") else "")
                      for y, b in sorted(report.co2_basis.items()))
    lines = [f"[dim]Status: exceeded when the actual to date is above the cap (intensity: full year only); at risk "
             f"when the projection is above {th['at_risk_share']:g} x cap [{th['status']}] ({th['source']}); "
             "projection = to date / last year's share of the same months, else linear by days.",
             f"CO2 basis: {basis}. Energy basis: {report.energy_basis}.",
             "Sources of the caps: " + "; ".join(sorted({escape(str(s)) for s in res.table.get("source", pd.Series()).dropna()}))
             + "[/]"]
    codes = {f["code"]: len(f["ids"]) for f in res.flags}
    if codes:
        lines.append("[dim]Flags: " + ", ".join(f"{k} {label('finding', k, 'zh')} x{v}" for k, v in codes.items()) + " (see --format json).[/]")
    return Group(t, "\n".join(lines))


@app.command("targets")
@friendly_errors
def targets_cmd(
    year: Annotated[int, typer.Option(help="Target year, e.g. 2025.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Last month counted, e.g. 2025-09 (default: the last "
                                                               "month with data).")] = None,
    park: ParkOpt = None,
    db: DbOpt = None,
    engine: EngineOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Dual control (双控) of carbon and energy: progress, year-end projection and status of every target."""
    from greenpark.core.energy import PERIOD_YEARS, PeriodError, parse_period
    from greenpark.services import carbon_accounts as ca
    from greenpark.services import targets as ts

    p = load_park(park)
    if not PERIOD_YEARS[0] <= year <= PERIOD_YEARS[1]:
        raise UserError(f"--year {year}: the year must be between {PERIOD_YEARS[0]} and {PERIOD_YEARS[1]}")
    when = None
    if as_of:
        try:
            per = parse_period(as_of)
        except PeriodError as exc:
            raise UserError(f"--as-of: {exc}") from None
        if per.months != 1 or per.start.year != year:
            raise UserError(f"--as-of must be a month of {year}, e.g. {year}-09")
        when = dt.date(per.start.year, per.start.month, 1)

    def compute(p, store):
        try:
            return ts.targets_report(store, p, year, when)
        except ca.AccountsError as exc:
            raise UserError(str(exc)) from None

    cols = ["entity_id", "year", "metric", "unit", "cap", "to_date", "months_to_date", "projection",
            "projection_method", "share_last_year", "value_added_10k_cny", "status", "margin", "margin_pct", "source"]
    run(p, db, compute, format, to_json=ts.targets_json, rows=lambda r: ts.targets_json(r)["targets"], columns=cols,
        table=lambda r: targets_view(r, p), engine=engine)
