"""The report model: the figures of a report collected from the services, before any rendering.

A :class:`Report` is a list of sections of blocks (:class:`Table`, :class:`Chart`, :class:`Text`) with
real numbers, units and catalogue labels, plus its data version and lineage. The renderers
(:mod:`greenpark.reports.html`, :mod:`~greenpark.reports.xlsx`, :mod:`~greenpark.reports.pdf`) turn one
model into a document; nothing here formats a number or reads the store directly (the services do).

Builders: :func:`park_report` (the park's annual green scorecard), :func:`enterprise_report` (the
energy-utilisation status report, its layout from a template data file), :func:`carbon_report` (the
enterprise GHG inventory in the order a verifier checks it) and :func:`mv_report` (one M&V project).
Every label is a ``report`` row of ``reference/data/catalogue.csv`` (:func:`L`).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from greenpark import __version__, reference
from greenpark.errors import InputError, NotFoundError
from greenpark.findings import label, lookup

#: a label: a catalogue code of kind ``report`` or a literal (zh, en) pair (template titles, names)
Label = str | tuple[str, str]

KINDS = ("park", "enterprise", "carbon", "mv")


class ReportError(InputError, ValueError):
    """A report that cannot be made from what is given (bad template, unknown table key, no data)."""


def L(code: Label) -> tuple[str, str]:
    """The (zh, en) labels of a ``report`` catalogue code (a pair is returned as it is)."""
    if isinstance(code, tuple):
        return code
    hit = lookup("report", code)
    if hit is None:
        raise KeyError(f"report label '{code}' is not in reference/data/catalogue.csv (kind report)")
    return hit[0]["zh"], hit[0]["en"]


def pair(kind: str, code: str | None) -> tuple[str, str]:
    """The (zh, en) catalogue labels of a code of another kind (carrier, industry, finding, status...)."""
    return label(kind, code, "zh"), label(kind, code, "en")


@dataclass
class Col:
    key: str
    label: Label
    #: printed in the header (Excel keeps the cell a number)
    unit: str | None = None
    digits: int = 2


@dataclass
class Table:
    #: Excel sheet name (<= 31 characters, unique in the report)
    id: str
    title: Label
    columns: list[Col]
    rows: list[dict[str, Any]]
    note: Label | None = None


@dataclass
class Chart:
    id: str
    title: Label
    #: bar | barh | line
    kind: str
    categories: list[str]
    #: (label, values); None values are gaps
    series: list[tuple[Label, list[float | None]]]
    unit: str = ""


@dataclass
class Text:
    text: Label
    style: str = ""


@dataclass
class Section:
    id: str
    title: Label
    blocks: list[Table | Chart | Text] = field(default_factory=list)


@dataclass
class Report:
    kind: str
    subject: str
    period: str
    title: Label
    sections: list[Section]
    #: where the figures came from: last import, factor editions, published carbon result, greenpark
    data_version: dict[str, Any]
    #: the key figures (also what tests compare with the CLI JSON)
    figures: dict[str, Any] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)
    #: rendered HTML per language (the PDF is drawn from the same page)
    html_cache: dict[str | None, str] = field(default_factory=dict, repr=False, compare=False)

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def charts(self) -> list[Chart]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]


# ---------------------------------------------------------------------------------------------
# shared pieces

def _f(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _yoy(now: float | None, before: float | None) -> float | None:
    """Year-on-year change [%]; None without a previous year (or a zero one)."""
    if now is None or not before:
        return None
    return 100.0 * (now - before) / before


def data_version(store, carbon_lineage: dict | None = None, year: int | None = None) -> dict[str, Any]:
    """The data a report was made from: the last complete import (id, source, time), the carbon result
    it used (published id and time, or not published) with its factor selections, the reference
    editions in force and the greenpark version. No clock time of the report itself (reproducible)."""
    from greenpark.store import imports

    last = next((r for r in imports.list_imports(store.con, 20) if r.get("status") == "complete"), None)
    v: dict[str, Any] = {
        "last_import_id": last["import_id"] if last else None,
        "last_import_finished": str(last["finished_at"]) if last else None,
        "greenpark_version": __version__,
    }
    if carbon_lineage:
        pub = carbon_lineage.get("published") or {}
        v["carbon_result"] = (f"#{pub['result_id']} {pub.get('status')} {pub.get('published_at')}"
                              if pub.get("result_id") else pub.get("status", "not published"))
        v["carbon_factor_selection"] = ", ".join(f"{k}={s['id'] if isinstance(s, dict) else s}"
                                                 for k, s in sorted((carbon_lineage.get("selections") or {}).items()))
    day = f"{year}-12-31" if year else None
    eds = [r for r in reference.load("editions").rows
           if day is None or (str(r.get("valid_from") or "") <= day and (not r.get("valid_to") or day <= str(r["valid_to"])))]
    v["editions_in_force"] = ", ".join(sorted(f"{r['standard']}-{r['edition']} [{r['status']}]" for r in eds))
    return v


def version_table(version: dict[str, Any]) -> Table:
    return Table("data_version", "sec.data_version", [Col("item", "col.item"), Col("value", "col.value")],
                 [{"item": k, "value": "" if v is None else str(v)} for k, v in version.items()])


def _coef_row(kind: Label, c: dict[str, Any]) -> dict[str, Any]:
    return {"kind": L(kind) if isinstance(kind, str) else kind, "id": c.get("id"),
            "value": _f(c.get("value")), "unit": c.get("unit"), "clause": c.get("clause") or "",
            "status": c.get("status"), "source": c.get("source")}


APPENDIX_COLS = [Col("kind", "col.kind"), Col("id", "col.id"), Col("value", "col.value", digits=6),
                 Col("unit", "col.unit"), Col("clause", "col.clause"), Col("status", "col.status"),
                 Col("source", "col.source")]


def _unverified_flags(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = sorted({str(r["id"]) for r in rows if r.get("status") == "UNVERIFIED"})
    if not ids:
        return []
    return [{"code": "report.unverified_values", "severity": "warning",
             "message": "values not confirmed by any source read are used: " + ", ".join(ids), "ids": ids}]


def flags_table(flags: list[dict[str, Any]]) -> Table:
    """The flags grouped by code: label, severity, how many, and the first messages (the full list is in
    the JSON of the command that computed them)."""
    groups: dict[str, dict[str, Any]] = {}
    for f in flags:
        g = groups.setdefault(str(f.get("code")), {"severity": f.get("severity"), "count": 0, "messages": []})
        g["count"] += 1
        if len(g["messages"]) < 3 and f.get("message"):
            g["messages"].append(str(f["message"]))
    rows = []
    for code, g in groups.items():
        zh, en = pair("finding", code)
        more = g["count"] - len(g["messages"])
        rows.append({"code": code, "label": (zh, en), "severity": g["severity"], "count": g["count"],
                     "message": "; ".join(g["messages"]) + (f" (+{more})" if more > 0 else "")})
    return Table("flags", "sec.flags", [Col("code", "col.code"), Col("label", "col.label"),
                                        Col("severity", "col.severity"), Col("count", "col.count", digits=0),
                                        Col("message", "col.message")], rows)


def _months(year: int) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(1, 13)]


# ---------------------------------------------------------------------------------------------
# the park scorecard

def _energy(store, park, year: int, enterprise: str | None = None) -> dict[str, Any] | None:
    from greenpark.core import energy as core_energy
    from greenpark.services import energy

    per = core_energy.parse_period(str(year))
    res = energy.compute(store.con, park, per, enterprise=enterprise)
    return res


def _carbon(store, park, year: int):
    """(CarbonReport, its JSON dict) of ``year`` with the published factors when there is a published
    result (never publishing from a report), or (None, None) without activity data."""
    from greenpark.services import carbon_accounts as ca

    if ca.activity(store.con, park, year).empty:
        return None, None
    try:
        rep = ca.carbon_report(store, park, year, method="both", write=False)
    except ca.AccountsError:
        return None, None
    return rep, ca.to_json_dict(rep)


def _mv_results(store, park, year: int | None = None, enterprise: str | None = None,
                plot: bool = False) -> tuple[list[dict], list[dict]]:
    """Savings of every M&V project (of ``enterprise``) whose reporting period overlaps ``year``; with
    ``plot`` the PNG of baseline, adjusted baseline and actual in ``plot_png``."""
    import tempfile

    from greenpark.core import mv
    from greenpark.services import mv_projects

    out, flags = [], []
    for proj in park.mv_projects:
        if enterprise and proj.enterprise != enterprise:
            continue
        if year is not None and not (proj.reporting.start.year <= year <= proj.reporting.end.year):
            continue
        try:
            with tempfile.TemporaryDirectory() as tmp:
                png = Path(tmp) / "plot.png"
                res = mv_projects.run(store.con, park, proj.id, plot_path=png if plot else None)
                res["plot_png"] = png.read_bytes() if plot and png.exists() else None
        except (mv_projects.ProjectError, mv.MVError) as exc:
            flags.append({"code": "report.mv_project_failed", "severity": "warning",
                          "message": f"{proj.id}: {exc}", "ids": [proj.id]})
            continue
        out.append(res)
    return out, flags


def combine_savings(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Verified savings of several M&V projects together [kWh per energy unit, tce, tCO2].

    Values add. Uncertainties combine as the root-sum-square of the projects' standard uncertainties
    at the same confidence: the projects are measured by different meters and models, so their errors
    are taken as independent, and for a sum every sensitivity coefficient is 1 (JCGM 100:2008 GUM 5.1.2,
    eq. (10), uncorrelated input quantities; sources.csv jcgm100-2008). Projects at different confidence
    levels are not combined (flag). Energy is combined per unit (kWh with kWh, m3 with m3)."""
    by_unit: dict[str, dict[str, float]] = {}
    tce = tce_u2 = tco2 = tco2_u2 = 0.0
    confs = {round(float((r["savings"].get("uncertainty") or {}).get("confidence") or 0), 4) for r in results}
    for r in results:
        s = r["savings"]
        unc = s.get("uncertainty") or {}
        u = by_unit.setdefault(s["unit"], {"value": 0.0, "u2": 0.0, "projects": 0})
        u["value"] += s["energy"]
        u["u2"] += (unc.get("absolute") or 0.0) ** 2
        u["projects"] += 1
        frac = (unc.get("absolute") or 0.0) / abs(s["energy"]) if s["energy"] else 0.0
        if s.get("tce"):
            tce += s["tce"]["value"]
            tce_u2 += (s["tce"].get("uncertainty") if s["tce"].get("uncertainty") is not None
                       else frac * abs(s["tce"]["value"])) ** 2
        if s.get("tco2"):
            tco2 += s["tco2"]["value"]
            tco2_u2 += (s["tco2"].get("uncertainty") if s["tco2"].get("uncertainty") is not None
                        else frac * abs(s["tco2"]["value"])) ** 2
    return {
        "projects": len(results),
        "energy": {k: {"value": v["value"], "uncertainty": math.sqrt(v["u2"]), "projects": v["projects"]}
                   for k, v in sorted(by_unit.items())},
        "tce": {"value": tce, "uncertainty": math.sqrt(tce_u2)},
        "tco2": {"value": tco2, "uncertainty": math.sqrt(tco2_u2)},
        "confidence": next(iter(confs)) if len(confs) == 1 else None,
        "method": "sum of the projects' verified savings; uncertainty = root-sum-square of the projects' "
                  "uncertainties at the same confidence (independent projects; JCGM 100:2008 GUM 5.1.2 eq. (10))",
        "source": reference.format_source("jcgm100-2008"),
    }


def _completeness(energy_res: dict[str, Any]) -> Table:
    by: dict[str, dict[str, float]] = {}
    for m in energy_res["lineage"]["meters"]:
        if m["role"] == "sub-meter" or m.get("expected_readings") in (None, 0):
            continue
        b = by.setdefault(m["owner"], {"meters": 0, "readings": 0, "expected": 0.0, "below_90": 0, "min": 100.0})
        b["meters"] += 1
        b["readings"] += m["readings"]
        b["expected"] += m["expected_readings"]
        pct = m["completeness_pct"] if m["completeness_pct"] is not None else 0.0
        b["min"] = min(b["min"], pct)
        b["below_90"] += pct < 90.0
    rows = [{"owner": o, "meters": v["meters"], "readings": v["readings"], "expected": v["expected"],
             "completeness_pct": 100.0 * v["readings"] / v["expected"] if v["expected"] else None,
             "min_meter_pct": v["min"], "meters_below_90": v["below_90"]} for o, v in sorted(by.items())]
    return Table("completeness", "sec.completeness",
                 [Col("owner", "col.owner"), Col("meters", "col.meters", digits=0),
                  Col("readings", "col.readings", digits=0), Col("expected", "col.expected", digits=0),
                  Col("completeness_pct", "col.completeness", "%"), Col("min_meter_pct", "col.min_meter", "%"),
                  Col("meters_below_90", "col.below_90", digits=0)], rows, note="note.completeness")


def park_report(store, park, year: int) -> Report:
    """The park's annual green scorecard for ``year``: headline figures with year-on-year change,
    charts, dual control, combined verified savings, environment, completeness and an appendix of every
    coefficient and factor with its citation and status."""
    from greenpark.core import carbon as core_carbon
    from greenpark.core import energy as core_energy

    e = _energy(store, park, year)
    p = e["park"]
    if not p["tce"] and not any(m["readings"] for m in e["lineage"]["meters"]):
        raise ReportError.t("report.no_energy_data", year=year)
    prev = None
    if year - 1 >= core_energy.PERIOD_YEARS[0]:
        pe = _energy(store, park, year - 1)
        prev = pe if any(m["readings"] for m in pe["lineage"]["meters"]) else None
    flags: list[dict[str, Any]] = list(e["flags"])
    if prev:
        def metered(res):
            return {m["meter_id"] for m in res["lineage"]["meters"] if m["role"] != "sub-meter" and m["readings"]}

        missing = metered(e) - metered(prev)
        if missing:  # last year's figures cover fewer meters: no like-for-like comparison
            flags.append({"code": "report.yoy.partial_previous_year", "severity": "info",
                          "message": f"{year - 1} has no data for {len(missing)} of the {len(metered(e))} top-level "
                                     f"meters with data in {year}: previous-year figures are shown, but no "
                                     "year-on-year change", "ids": sorted(missing)})
    comparable = bool(prev) and not any(f["code"] == "report.yoy.partial_previous_year" for f in flags)
    crep, c = _carbon(store, park, year)
    _, cprev = _carbon(store, park, year - 1) if comparable else (None, None)  # only for a like-for-like change

    # headline
    it, pit = p.get("intensity") or {}, ((prev or {}).get("park") or {}).get("intensity") or {}
    pp = (prev or {}).get("park") or {}
    head = [
        ("fig.energy_tce", p["tce"], pp.get("tce"), "tce"),
        ("fig.energy_tce_equal", p["tce_equal_value"], pp.get("tce_equal_value"), "tce"),
        ("fig.electricity", p["electricity_kwh"], pp.get("electricity_kwh"), "kWh"),
        ("fig.renewable_share", 100 * (p["renewable_share"] or 0), 100 * (pp.get("renewable_share") or 0) or None, "%"),
        ("fig.intensity_va", it.get("tce_per_10k_cny_value_added"), pit.get("tce_per_10k_cny_value_added"),
         "tce/10k CNY"),
    ]
    if c:
        cp = (cprev or {}).get("park") or {}
        head += [("fig.co2_location", c["park"]["total_location_t"], cp.get("total_location_t"), "tCO2"),
                 ("fig.co2_market", c["park"]["total_market_t"], cp.get("total_market_t"), "tCO2"),
                 ("fig.co2_per_tce", c["park"]["total_location_t"] / p["tce"] if p["tce"] else None,
                  (cp.get("total_location_t") / pp["tce"]) if cp.get("total_location_t") and pp.get("tce") else None,
                  "tCO2/tce")]
    head_rows = [{"figure": L(code), "code": code, "value": _f(v), "unit": u, "previous": _f(b),
                  "yoy_pct": _yoy(_f(v), _f(b)) if comparable else None} for code, v, b, u in head]
    headline = Table("headline", "sec.headline",
                     [Col("figure", "col.figure"), Col("value", "col.value", digits=4), Col("unit", "col.unit"),
                      Col("previous", "col.previous", digits=4), Col("yoy_pct", "col.yoy", "%", 2)],
                     head_rows, note="note.yoy")
    sections = [Section("headline", "sec.headline", [headline])]

    # energy: monthly, carriers, enterprise ranking, renewable share
    months = _months(year)
    by_month = {m["month"]: m["tce"] for m in e["breakdowns"]["month"]}
    series: list[tuple[Label, list[float | None]]] = [((str(year),) * 2, [_f(by_month.get(m)) for m in months])]
    if comparable:
        pm = {m["month"][5:]: m["tce"] for m in prev["breakdowns"]["month"]}
        series.append(((str(year - 1),) * 2, [_f(pm.get(m[5:])) for m in months]))
    carriers = [{"carrier": pair("carrier", x["carrier"]), "code": x["carrier"], "quantity": x["quantity"],
                 "unit": x["unit"], "coefficient": x["coefficient"], "coefficient_unit": x["coefficient_unit"],
                 "tce": x["tce"] if x["counted_in_total"] else None,
                 "share_pct": 100 * x["tce"] / p["tce"] if x["counted_in_total"] and p["tce"] else None}
                for x in p["carriers"]]
    ents = sorted(e["enterprises"], key=lambda x: -x["tce"])
    ent_rows = [{"rank": i + 1, "id": x["id"], "name": (x["name_zh"], x["name_en"]),
                 "industry": pair("industry", x["industry"]), "tce": x["tce"],
                 "tce_equal_value": x["tce_equal_value"], "electricity_kwh": x["electricity_kwh"],
                 "renewable_share_pct": 100 * (x["renewable_share"] or 0),
                 "intensity_va": (x.get("intensity") or {}).get("tce_per_10k_cny_value_added"),
                 "co2_location_t": None, "co2_market_t": None} for i, x in enumerate(ents)]
    if c:
        co2 = {x["id"]: x for x in c["enterprises"]}
        for r in ent_rows:
            r["co2_location_t"] = _f(co2.get(r["id"], {}).get("total_location_t"))
            r["co2_market_t"] = _f(co2.get(r["id"], {}).get("total_market_t"))
    top = ents[:15]
    ren = [x for x in ents if (x["renewable_share"] or 0) > 0]
    sections.append(Section("energy", "sec.energy", [
        Chart("monthly_energy", "chart.monthly_energy", "bar", months, series, "tce"),
        Table("carriers", "sec.carriers",
              [Col("carrier", "col.carrier"), Col("quantity", "col.quantity", digits=1), Col("unit", "col.unit"),
               Col("coefficient", "col.coefficient", None, 4), Col("coefficient_unit", "col.coefficient_unit"),
               Col("tce", "col.tce", "tce"),
               Col("share_pct", "col.share", "%")], carriers, note="note.gbt2589"),
        Chart("carrier_mix", "chart.carrier_mix", "barh", [x["carrier"] for x in carriers if x["tce"]],
              [(("tce", "tce"), [x["tce"] for x in carriers if x["tce"]])], "tce"),
        Chart("ranking", "chart.ranking", "barh", [f"{x['id']} {x['name_zh']}" for x in top][::-1],
              [(("tce", "tce"), [x["tce"] for x in top][::-1])], "tce"),
        Chart("renewable", "chart.renewable", "barh", [f"{x['id']} {x['name_zh']}" for x in ren][::-1],
              [(("可再生能源占比", "renewable share"), [100 * x["renewable_share"] for x in ren][::-1])], "%"),
        Table("enterprises", "sec.enterprises",
              [Col("rank", "col.rank", digits=0), Col("id", "col.id"), Col("name", "col.name"),
               Col("industry", "col.industry"), Col("tce", "col.tce", "tce"),
               Col("tce_equal_value", "col.tce_equal", "tce"), Col("electricity_kwh", "col.electricity", "kWh", 0),
               Col("renewable_share_pct", "col.renewable", "%"), Col("intensity_va", "col.intensity_va",
                                                                      "tce/10k CNY", 4),
               Col("co2_location_t", "col.co2_location", "tCO2"), Col("co2_market_t", "col.co2_market", "tCO2")],
              ent_rows),
    ]))

    # carbon
    appendix: list[dict[str, Any]] = []
    if c:
        mloc = core_carbon.monthly_co2(crep.result, "location")
        mmkt = core_carbon.monthly_co2(crep.result, "market")
        loc = mloc.assign(m=mloc["month"].astype(str).str[:7]).groupby("m")["co2_t"].sum().to_dict()
        mkt = mmkt.assign(m=mmkt["month"].astype(str).str[:7]).groupby("m")["co2_t"].sum().to_dict()
        scope_rows = [{"figure": L(f"fig.{k}"), "code": k, "value": _f(v)} for k, v in c["park"].items()]
        sections.append(Section("carbon", "sec.carbon", [
            Chart("monthly_co2", "chart.monthly_co2", "line", months,
                  [(("基于位置", "location-based"), [_f(loc.get(m)) for m in months]),
                   (("基于市场", "market-based"), [_f(mkt.get(m)) for m in months])], "tCO2"),
            Table("carbon", "sec.carbon", [Col("figure", "col.figure"), Col("value", "col.value", "tCO2", 4)],
                  scope_rows, note="note.carbon"),
        ]))
        appendix += [_coef_row("kind.carbon_factor", f) for f in c["factors"]]
        flags += c["lineage"]["flags"]

    # dual control
    if any(t.year == year for t in park.targets):
        from greenpark.services import carbon_accounts as ca
        from greenpark.services import targets as ts

        try:
            tj = ts.targets_json(ts.targets_report(store, park, year))
        except ca.AccountsError as exc:
            tj = None
            flags.append({"code": "report.targets_failed", "severity": "warning", "message": str(exc)})
        if tj:
            rows = [{"entity_id": t["entity_id"], "metric": pair("metric", t["metric"]), "code": t["metric"],
                     "unit": t["unit"], "cap": _f(t["cap"]), "to_date": _f(t["to_date"]),
                     "projection": _f(t["projection"]), "status": pair("status", t["status"]),
                     "margin_pct": _f(t["margin_pct"]), "source": t["source"]} for t in tj["targets"]]
            sections.append(Section("targets", "sec.targets", [Table(
                "dual_control", "sec.targets",
                [Col("entity_id", "col.entity"), Col("metric", "col.metric"), Col("unit", "col.unit"),
                 Col("cap", "col.cap", digits=4), Col("to_date", "col.to_date", digits=4),
                 Col("projection", "col.projection", digits=4), Col("status", "col.status"),
                 Col("margin_pct", "col.margin", "%"), Col("source", "col.source")], rows)]))
            flags += tj["flags"]

    # verified savings of all M&V projects
    mv_res, mv_flags = _mv_results(store, park, year)
    flags += mv_flags
    combined = None
    if mv_res:
        combined = combine_savings(mv_res)
        rows = []
        for r in mv_res:
            s = r["savings"]
            rows.append({"project": r["project"]["id"], "enterprise": r["project"]["enterprise"],
                         "energy": s["energy"], "unit": s["unit"],
                         "uncertainty": (s.get("uncertainty") or {}).get("absolute"),
                         "confidence_pct": 100 * ((s.get("uncertainty") or {}).get("confidence") or 0),
                         "tce": (s.get("tce") or {}).get("value"), "tco2": (s.get("tco2") or {}).get("value"),
                         "verdict": r["verdict"]["label"]})
            if s.get("tce"):
                appendix.append(_coef_row("kind.mv_coefficient", s["tce"]["coefficient"]))
            if s.get("tco2"):
                appendix.append(_coef_row("kind.mv_factor", s["tco2"]["factor"]))
            appendix += [_coef_row("kind.mv_criterion", cr) for cr in r["verdict"].get("criteria", [])]
        for unit, v in combined["energy"].items():
            rows.append({"project": L("row.combined"), "enterprise": "", "energy": v["value"], "unit": unit,
                         "uncertainty": v["uncertainty"],
                         "confidence_pct": 100 * combined["confidence"] if combined["confidence"] else None,
                         "tce": combined["tce"]["value"], "tco2": combined["tco2"]["value"], "verdict": ""})
        sections.append(Section("mv", "sec.mv", [
            Table("mv_savings", "sec.mv",
                  [Col("project", "col.project"), Col("enterprise", "col.enterprise"),
                   Col("energy", "col.savings", digits=0), Col("unit", "col.unit"),
                   Col("uncertainty", "col.uncertainty", digits=0), Col("confidence_pct", "col.confidence", "%", 0),
                   Col("tce", "col.tce", "tce"), Col("tco2", "col.tco2", "tCO2"), Col("verdict", "col.verdict")],
                  rows),
            Text(("合计：" + combined["method"] + "。", "Combined: " + combined["method"] + "."), "small"),
            Text((f"tce ± {combined['tce']['uncertainty']:.2f}; tCO2 ± {combined['tco2']['uncertainty']:.2f}",) * 2,
                 "small"),
        ]))

    # environment
    env_blocks = _environment_blocks(store, park, year, flags)
    if env_blocks:
        sections.append(Section("environment", "sec.environment", env_blocks))

    # green indicators: services.indicators.park_indicators (zero-carbon / green-factory) joins here
    sections += indicator_sections(store, park, year, flags)

    sections.append(Section("completeness", "sec.completeness", [_completeness(e)]))

    # appendix: methods and every coefficient and factor
    lin = e["lineage"]
    used = {m["coefficient_id"] for m in lin["meters"]}
    appendix = [_coef_row("kind.energy_coefficient", x) for x in lin["coefficients"] if x["id"] in used] + appendix
    if lin.get("equal_value_coal_rate"):
        appendix.insert(0, _coef_row("kind.coal_rate", lin["equal_value_coal_rate"]))
    if combined:
        appendix.append({"kind": L("kind.method"), "id": "mv_combined_uncertainty", "value": None,
                         "unit": "", "clause": "5.1.2 eq. (10)", "status": "C1", "source": combined["source"]})
    appendix = _dedupe(appendix)
    flags += _unverified_flags(appendix)
    methods = [Text(("能源：" + lin["method"], "Energy: " + lin["method"]), "small"),
               Text(("可再生能源占比：" + lin["renewable_share_definition"],
                     "Renewable share: " + lin["renewable_share_definition"]), "small")]
    if c:
        fm = c["lineage"].get("formula") or ""
        fm = "; ".join(f"{k}: {v}" for k, v in fm.items()) if isinstance(fm, dict) else str(fm)
        methods.append(Text(("碳排放：" + fm, "Carbon: " + fm), "small"))
    version = data_version(store, c["lineage"] if c else None, year)
    sections.append(Section("appendix", "sec.appendix", [*methods, Table("coefficients", "sec.coefficients",
                                                                         APPENDIX_COLS, appendix)]))
    sections.append(Section("flags", "sec.flags", [flags_table(flags)]))
    sections.append(Section("data_version", "sec.data_version", [version_table(version)]))
    figures = {"energy_tce": p["tce"], "energy_tce_equal_value": p["tce_equal_value"],
               "renewable_share": p["renewable_share"], "electricity_kwh": p["electricity_kwh"],
               "co2_location_t": c["park"]["total_location_t"] if c else None,
               "co2_market_t": c["park"]["total_market_t"] if c else None,
               "mv_combined": combined, "enterprises": {x["id"]: x["tce"] for x in ents}}
    return Report("park", park.park.id, str(year), ("园区年度绿色发展报告", "Park annual green scorecard"),
                  sections, version, figures, flags)


def indicator_sections(store, park, year: int, flags: list[dict[str, Any]] | None = None) -> list[Section]:
    """The zero-carbon park indicators (core and guiding, 发改环资〔2025〕910号) of
    :func:`greenpark.services.indicators.park_indicators`: value, threshold with its status and source,
    verdict; its flags join ``flags``. Nothing when the park has no indicator figures."""
    from greenpark.services import indicators

    try:
        res = indicators.park_indicators(park, store, year)
    except InputError as exc:
        if flags is not None:
            flags.append({"code": "report.indicators_failed", "severity": "warning", "message": str(exc)})
        return []
    rows = [{"indicator": pair("indicator", i.get("id")), "kind": i.get("kind"), "value": _f(i.get("value")),
             "unit": i.get("unit"), "threshold": _f(i.get("threshold")), "direction": i.get("direction"),
             "verdict": pair("verdict", i.get("verdict")), "status": i.get("threshold_status"),
             "source": i.get("source") or ""} for i in res.get("indicators", [])]
    if flags is not None:
        flags += res.get("flags", [])
    if not rows:
        return []
    cols = [Col("indicator", "col.indicator"), Col("kind", "col.kind"), Col("value", "col.value", digits=4),
            Col("unit", "col.unit"), Col("threshold", "col.threshold", digits=4), Col("direction", "col.direction"),
            Col("verdict", "col.verdict"), Col("status", "col.status"), Col("source", "col.source")]
    return [Section("indicators", "sec.indicators", [Table("indicators", "sec.indicators", cols, rows,
                                                           note="note.indicators")])]


def _dedupe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for r in rows:
        k = (r["kind"], r["id"], r["value"])
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def _environment_blocks(store, park, year: int, flags: list) -> list:
    from greenpark.services import environment as env

    blocks: list = []
    try:
        a = env.air_record(store.con, park, str(year))
    except InputError:
        a = None
    if a and a.get("valid_days"):
        rows = [{"figure": L(k), "value": _f(a.get(f)), "unit": u} for k, f, u in (
            ("fig.pm25", "pm25_annual_mean", "µg/m3"), ("fig.good_days", "good_days_ratio", "%"),
            ("fig.heavy_days", "heavy_pollution_days_ratio", "%"), ("fig.composite_index", "composite_index", ""),
            ("fig.valid_days", "valid_days", "d"))]
        blocks.append(Table("air", "sec.air", [Col("figure", "col.figure"), Col("value", "col.value"),
                                               Col("unit", "col.unit")], rows,
                            note=(str(a["edition"].get("evaluation")),) * 2))
        pct = a.get("percentiles") or []
        blocks.append(Chart("air_ratio", "chart.air_ratio", "barh",
                            [f"{x['pollutant']} {x['statistic']}" for x in pct],
                            [(("占标率", "ratio to limit"), [_f(x["ratio_to_limit"]) for x in pct])], ""))
        flags += a.get("flags") or []
    try:
        w = env.water_record(store.con, park, str(year))
    except InputError:
        w = None
    if w and w.get("sections"):
        rows = [{"section": s["section_id"], "water_body": pair("water_body", s["water_body"]),
                 "samples": s["n_samples"], "class": s["class_label"], "meets_iii": "✓" if s["meets_iii"] else "✗",
                 "exceeding": s["exceeding"]} for s in w["sections"]]
        blocks.append(Table("water", "sec.water",
                            [Col("section", "col.section"), Col("water_body", "col.water_body"),
                             Col("samples", "col.samples", digits=0), Col("class", "col.class"),
                             Col("meets_iii", "col.meets_iii"), Col("exceeding", "col.exceeding")], rows,
                            note=(f"{w['standard']}: {_f(w['good_share_pct'])} % I–III",) * 2))
        counts = {}
        for s in w["sections"]:
            counts[s["class_label"]] = counts.get(s["class_label"], 0) + 1
        cls = [k for k in ("I", "II", "III", "IV", "V", "劣V") if k in counts] + sorted(
            k for k in counts if k not in ("I", "II", "III", "IV", "V", "劣V"))
        blocks.append(Chart("water_classes", "chart.water_classes", "bar", cls,
                            [(("断面数", "sections"), [float(counts[k]) for k in cls])], ""))
        flags += w.get("flags") or []
    return blocks


# ---------------------------------------------------------------------------------------------
# the enterprise energy-utilisation report

def load_template(path: str | Path | None = None) -> dict[str, Any]:
    """The report layout: ``path`` (a province's form) or the shipped Hebei 2008 edition."""
    try:
        if path is None:
            text = resources.files("greenpark.reference").joinpath("data/energy_report_template.toml").read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        t = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ReportError(f"report template {path}: cannot read it ({exc})") from None
    if "template" not in t or not t.get("tables"):
        raise ReportError(f"report template {path or 'energy_report_template.toml'}: needs [template] and [[tables]]")
    for tb in t["tables"]:
        for k in ("id", "title_zh", "title_en", "fill", "columns"):
            if k not in tb:
                raise ReportError(f"report template: table {tb.get('id', '?')} lacks '{k}'")
        if tb["fill"] not in FILLERS:
            raise ReportError(f"report template: table {tb['id']} fill '{tb['fill']}' is not one of "
                              f"{', '.join(FILLERS)}")
    return t


def load_fill(path: str | Path | None) -> dict[str, Any]:
    """The enterprise's own entries (narrative tables, equipment, planned projects): ``[tables.<id>]``
    with ``rows = [{...}]`` or ``text = "..."``; {} without a file."""
    if path is None:
        return {}
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ReportError(f"--fill {path}: cannot read it as TOML ({exc})") from None


#: the columns each filler provides
FILLERS: dict[str, tuple[str, ...]] = {
    "basic": ("item", "value", "unit"),
    "carriers": ("carrier", "unit", "quantity", "coefficient", "coefficient_unit", "tce", "tce_equal_value",
                 "share_pct"),
    "balance": ("carrier", "unit", "purchased", "produced", "exported", "stock_change", "consumed"),
    "unit_product": ("product", "unit", "output", "energy_tce", "kgce_per_unit", "note"),
    "retrofit": ("project", "status", "period", "savings", "savings_unit", "uncertainty", "tce", "tco2",
                 "investment_10k_cny", "note"),
    "user": (),
}


def _check_columns(tb: dict[str, Any]) -> None:
    valid = FILLERS[tb["fill"]]
    for c in tb["columns"]:
        if valid and c["key"] not in valid:
            raise ReportError.t("report.template_column", table=tb["id"], column=c["key"], fill=tb["fill"],
                                valid=", ".join(valid))


def enterprise_report(store, park, enterprise_id: str, year: int, template: str | Path | None = None,
                      fill: str | Path | None = None) -> Report:
    """The energy-utilisation status report of one enterprise for ``year`` in the template's layout."""
    ent = park.enterprise(enterprise_id)
    tpl = load_template(template)
    extra = load_fill(fill)
    e = _energy(store, park, year, enterprise=enterprise_id)
    er = next((x for x in e["enterprises"] if x["id"] == enterprise_id), None)
    if er is None or not any(m["readings"] for m in e["lineage"]["meters"] if m["owner"] == enterprise_id):
        raise ReportError.t("report.no_enterprise_data", enterprise=enterprise_id, year=year)
    rate = e["lineage"].get("equal_value_coal_rate")
    flags = [f for f in e["flags"] if f.get("meter_id") is None
             or any(m["meter_id"] == f.get("meter_id") and m["owner"] == enterprise_id for m in e["lineage"]["meters"])]
    mv_res, mv_flags = _mv_results(store, park, year, enterprise_id)
    flags += mv_flags
    econ = next((x for x in ent.economics if x.year == year), None)

    def carriers() -> list[dict[str, Any]]:
        rows = []
        for x in er["carriers"]:
            eq = x["tce"] if x["counted_in_total"] else None
            ev = eq
            if eq is not None and x["carrier"] == "electricity" and rate:
                # [kWh: the coefficient's unit, whatever unit the meters read in] x gce/kWh -> t
                ev = x["quantity_coefficient_unit"] * float(rate["value"]) / 1e6
            rows.append({"carrier": pair("carrier", x["carrier"]), "code": x["carrier"],
                         "unit": x["unit"], "quantity": x["quantity"], "coefficient": x["coefficient"],
                         "coefficient_unit": x["coefficient_unit"], "tce": eq,
                         "tce_equal_value": ev,
                         "share_pct": 100 * eq / er["tce"] if eq is not None and er["tce"] else None})
        return rows

    def basic(tb) -> list[dict[str, Any]]:
        vals = {"id": (ent.id, ""), "name_zh": (ent.name_zh, ""), "name_en": (ent.name_en, ""),
                "industry": (pair("industry", ent.industry), ""),
                "park": (f"{park.park.name_zh} / {park.park.name_en}", ""), "period": (str(year), ""),
                "output_value_10k_cny": (_f(getattr(econ, "output_value_10k_cny", None)), "10k CNY"),
                "value_added_10k_cny": (_f(getattr(econ, "value_added_10k_cny", None)), "10k CNY"),
                "energy_tce": (er["tce"], "tce"), "energy_tce_equal_value": (er["tce_equal_value"], "tce")}
        out = []
        for k in tb.get("fields", list(vals)):
            if k not in vals:
                raise ReportError(f"report template: table {tb['id']} field '{k}' is not one of {', '.join(vals)}")
            out.append({"item": L(f"field.{k}"), "code": k, "value": vals[k][0], "unit": vals[k][1]})
        return out

    def balance() -> list[dict[str, Any]]:
        return [{"carrier": pair("carrier", x["carrier"]), "code": x["carrier"], "unit": x["unit"],
                 "purchased": x["delivered"], "produced": x["renewable_generation"], "exported": x["exported"],
                 "stock_change": None, "consumed": x["quantity"]} for x in er["carriers"]]

    def unit_product() -> list[dict[str, Any]]:
        prods = [p for p in park.products if p.enterprise == enterprise_id and p.year == year]
        rows = []
        for p in prods:
            out = float(sum(p.monthly_output))
            single = len(prods) == 1
            rows.append({"product": (p.name_zh, p.name_en), "unit": p.unit, "output": out,
                         "energy_tce": er["tce"] if single else None,
                         "kgce_per_unit": 1000 * er["tce"] / out if single and out else None,
                         "note": "" if single else L("note.allocation")})
        return rows

    def retrofit(tb) -> list[dict[str, Any]]:
        rows = []
        for r in mv_res:
            s, pr = r["savings"], r["project"]
            rows.append({"project": f"{pr['id']} {pr.get('name_zh', '')} / {pr.get('name_en', '')}",
                         "status": r["verdict"]["label"], "period": f"{pr['reporting']['start']} – {pr['reporting']['end']}",
                         "savings": s["energy"], "savings_unit": s["unit"],
                         "uncertainty": (s.get("uncertainty") or {}).get("absolute"),
                         "tce": (s.get("tce") or {}).get("value"), "tco2": (s.get("tco2") or {}).get("value"),
                         "investment_10k_cny": None, "note": L("note.verified")})
        rows += [dict(r) for r in (extra.get("tables", {}).get(tb["id"], {}).get("rows") or [])]
        return rows

    sections: list[Section] = []
    tables_out: dict[str, Table] = {}
    for tb in tpl["tables"]:
        _check_columns(tb)
        cols = [Col(c["key"], (c["zh"], c["en"]), c.get("unit"), int(c.get("digits", 2))) for c in tb["columns"]]
        mine = extra.get("tables", {}).get(tb["id"], {})
        blocks: list = []
        if tb["fill"] == "basic":
            rows = basic(tb)
        elif tb["fill"] == "carriers":
            rows = carriers()
        elif tb["fill"] == "balance":
            rows = balance()
        elif tb["fill"] == "unit_product":
            rows = unit_product()
        elif tb["fill"] == "retrofit":
            rows = retrofit(tb)
        else:
            rows = [dict(r) for r in (mine.get("rows") or [])]
            if mine.get("text"):
                blocks.append(Text((str(mine["text"]),) * 2))
            if not rows and not mine.get("text"):
                blocks.append(Text("note.to_fill", "flag"))
        title = (f"{tb.get('number', '')} {tb['title_zh']}".strip(), f"{tb.get('number', '')} {tb['title_en']}".strip())
        t = Table(tb["id"][:31], title, cols, rows)
        tables_out[tb["id"]] = t
        blocks.insert(0, t)  # also empty: the sheet the enterprise fills in
        sections.append(Section(tb["id"], title, blocks))
    appendix = [_coef_row("kind.energy_coefficient", x) for x in e["lineage"]["coefficients"]
                if any(m["coefficient_id"] == x["id"] and m["owner"] == enterprise_id for m in e["lineage"]["meters"])]
    if rate:
        appendix.insert(0, _coef_row("kind.coal_rate", rate))
    for r in mv_res:
        if r["savings"].get("tce"):
            appendix.append(_coef_row("kind.mv_coefficient", r["savings"]["tce"]["coefficient"]))
        if r["savings"].get("tco2"):
            appendix.append(_coef_row("kind.mv_factor", r["savings"]["tco2"]["factor"]))
    appendix = _dedupe(appendix)
    flags += _unverified_flags(appendix)
    tsrc = tpl["template"]
    version = data_version(store, None, year)
    version["template"] = f"{tsrc.get('id')} [{tsrc.get('status')}] {reference.format_source(tsrc['source'])}" \
        if tsrc.get("source") else str(tsrc.get("id"))
    sections.append(Section("appendix", "sec.appendix", [Table("coefficients", "sec.coefficients", APPENDIX_COLS, appendix)]))
    sections.append(Section("flags", "sec.flags", [flags_table(flags)]))
    sections.append(Section("data_version", "sec.data_version", [version_table(version)]))
    figures = {"energy_tce": er["tce"], "energy_tce_equal_value": er["tce_equal_value"],
               "carriers": {x["carrier"]: x["quantity"] for x in er["carriers"]}}
    title = (f"{tsrc['title_zh']} — {ent.name_zh}", f"{tsrc['title_en']} — {ent.name_en}")
    return Report("enterprise", enterprise_id, str(year), title, sections, version, figures, flags)


# ---------------------------------------------------------------------------------------------
# the enterprise GHG inventory

def carbon_report(store, park, enterprise_id: str, year: int) -> Report:
    """The GHG inventory of one enterprise (or the park id) for ``year``: boundary, activity data by scope,
    source and method, the factors with their citations, the certificates, then the totals."""
    ent = park.enterprise(enterprise_id) if enterprise_id != park.park.id else None
    rep, _ = _carbon(store, park, year)
    if rep is None:
        raise ReportError.t("report.no_carbon_data", year=year)
    from greenpark.services import carbon_accounts as ca

    d = ca.to_json_dict(rep, enterprise_id if ent else None)
    ln = rep.result.lines
    if ent is not None:
        ln = ln[ln["enterprise_id"] == enterprise_id]
    g = (ln.assign(factor_ids=ln["factor_ids"].fillna(""))
         .groupby(["scope", "category", "carrier", "flow", "method", "unit", "ad_unit", "factor_ids"], as_index=False,
                  dropna=False)[["quantity", "ad", "co2_t"]].sum()
         .sort_values(["scope", "category", "carrier", "method"]))
    act = [{"scope": int(r.scope), "category": r.category, "carrier": pair("carrier", r.carrier),
            "flow": r.flow, "method": r.method, "quantity": _f(r.quantity), "unit": r.unit, "ad": _f(r.ad),
            "ad_unit": r.ad_unit, "factors": r.factor_ids, "co2_t": _f(r.co2_t)} for r in g.itertuples()]
    fig = d["enterprises"][0] if ent is not None and d["enterprises"] else d["park"]
    totals = [{"figure": L(f"fig.{k}"), "code": k, "value": _f(v)} for k, v in fig.items() if k != "id"]
    certs = d["certificates"]["by_certificate"]
    factors = [_coef_row("kind.carbon_factor", f) for f in d["factors"]]
    flags = list(d["lineage"]["flags"]) + _unverified_flags(factors)
    if ent is not None:
        flags = [f for f in flags if not f.get("ids") or enterprise_id in f["ids"]
                 or any(i in {x["id"] for x in d["factors"]} for i in f["ids"])]
    lin = d["lineage"]
    boundary = [{"item": L(k), "value": str(v)} for k, v in (
        ("field.entity", f"{enterprise_id} {ent.name_zh if ent else park.park.name_zh}"),
        ("field.period", year), ("field.level", f"{lin.get('level')} {lin.get('region') or ''}"),
        ("field.method", d["method"]), ("field.factor_rule", lin.get("factor_year_rule")),
        ("field.published", (lin.get("published") or {}).get("status")))]
    sections = [
        Section("boundary", "sec.boundary", [Table("boundary", "sec.boundary",
                                                   [Col("item", "col.item"), Col("value", "col.value")], boundary)]),
        Section("activity", "sec.activity", [Table(
            "activity", "sec.activity",
            [Col("scope", "col.scope", digits=0), Col("category", "col.category"), Col("carrier", "col.carrier"),
             Col("flow", "col.flow"), Col("method", "col.method"), Col("quantity", "col.quantity", digits=3),
             Col("unit", "col.unit"), Col("ad", "col.ad", digits=4), Col("ad_unit", "col.ad_unit"),
             Col("factors", "col.factors"), Col("co2_t", "col.co2", "tCO2", 4)], act)]),
        Section("factors", "sec.factors", [Table("factors", "sec.factors", APPENDIX_COLS, factors)]),
        Section("certificates", "sec.certificates", [Table(
            "certificates", "sec.certificates",
            [Col("id", "col.id"), Col("kind", "col.kind"), Col("enterprise_id", "col.enterprise"),
             Col("mwh", "col.mwh", "MWh", 3), Col("applied_mwh", "col.applied", "MWh", 3),
             Col("unapplied_mwh", "col.unapplied", "MWh", 3)], certs)]),
        Section("totals", "sec.totals", [Table("totals", "sec.totals",
                                               [Col("figure", "col.figure"), Col("value", "col.value", "tCO2", 4)],
                                               totals)]),
    ]
    version = data_version(store, lin, year)
    sections.append(Section("flags", "sec.flags", [flags_table(flags)]))
    sections.append(Section("data_version", "sec.data_version", [version_table(version)]))
    name = (ent.name_zh, ent.name_en) if ent else (park.park.name_zh, park.park.name_en)
    return Report("carbon", enterprise_id, str(year), (f"温室气体排放报告 — {name[0]}", f"GHG inventory — {name[1]}"),
                  sections, version, {k: v for k, v in fig.items() if k != "id"}, flags)


# ---------------------------------------------------------------------------------------------
# one M&V project

def mv_report(store, park, project_id: str, year: int | None = None) -> Report:
    """The savings report of one M&V project (IPMVP Option B/C, ASHRAE Guideline 14-2014)."""
    from greenpark.core import mv
    from greenpark.services import mv_projects

    park.mv_project(project_id)
    res, _ = _mv_results(store, park.model_copy(update={"mv_projects": [park.mv_project(project_id)]}), None,
                         plot=True)
    if not res:
        try:
            mv_projects.run(store.con, park, project_id)
        except (mv_projects.ProjectError, mv.MVError) as exc:
            raise ReportError(str(exc)) from None
        raise NotFoundError(f"M&V project {project_id}: no result")
    r = res[0]
    s, pr, vd, mt = r["savings"], r["project"], r["verdict"], r["metrics"]
    unc = s.get("uncertainty") or {}
    proj = [{"item": L(k), "value": str(v)} for k, v in (
        ("field.project", f"{pr['id']} {pr.get('name_zh')} / {pr.get('name_en')}"),
        ("field.enterprise", pr.get("enterprise")), ("field.option", pr.get("option")),
        ("field.meters", ", ".join(pr.get("meters", []))),
        ("field.baseline", f"{pr['baseline']['start']} – {pr['baseline']['end']}"),
        ("field.reporting", f"{pr['reporting']['start']} – {pr['reporting']['end']}"),
        ("field.model", f"{r['model'].get('kind')} {r['model'].get('form')}"),
        ("field.verdict", vd["label"]))]
    sav = [{"figure": L(k), "code": k, "value": _f(v), "unit": u} for k, v, u in (
        ("fig.savings", s["energy"], s["unit"]), ("fig.uncertainty", unc.get("absolute"), s["unit"]),
        ("fig.confidence", 100 * (unc.get("confidence") or 0), "%"),
        ("fig.adjusted_baseline", s["adjusted_baseline"], s["unit"]), ("fig.reporting", s["reporting"], s["unit"]),
        ("fig.fraction", 100 * (s.get("fraction") or 0), "%"),
        ("fig.savings_tce", (s.get("tce") or {}).get("value"), "tce"),
        ("fig.savings_tco2", (s.get("tco2") or {}).get("value"), "tCO2"),
        ("fig.cvrmse", 100 * mt["cvrmse"], "%"), ("fig.nmbe", 100 * mt["nmbe"], "%"), ("fig.r2", mt["r2"], ""))]
    crit = [_coef_row("kind.mv_criterion", c) for c in vd.get("criteria", [])]
    if s.get("tce"):
        crit.append(_coef_row("kind.mv_coefficient", s["tce"]["coefficient"]))
    if s.get("tco2"):
        crit.append(_coef_row("kind.mv_factor", s["tco2"]["factor"]))
    flags = list(r.get("flags", [])) + list(vd.get("flags", [])) + _unverified_flags(crit)
    blocks: list = [Table("savings", "sec.savings", [Col("figure", "col.figure"), Col("value", "col.value", digits=4),
                                                     Col("unit", "col.unit")], sav),
                    Text((str(unc.get("method") or ""),) * 2, "small")]
    if r.get("plot_png"):
        blocks.append(Image("plot", ("基准、调整后基准与实际", "baseline, adjusted baseline and actual"), r["plot_png"]))
    version = data_version(store)
    sections = [Section("project", "sec.project", [Table("project", "sec.project",
                                                         [Col("item", "col.item"), Col("value", "col.value")], proj)]),
                Section("savings", "sec.savings", blocks),
                Section("criteria", "sec.criteria", [Table("criteria", "sec.criteria", APPENDIX_COLS, _dedupe(crit))]),
                Section("flags", "sec.flags", [flags_table(flags)]),
                Section("data_version", "sec.data_version", [version_table(version)])]
    return Report("mv", project_id, f"{pr['reporting']['start']} – {pr['reporting']['end']}",
                  (f"节能量验证报告 — {pr.get('name_zh')}", f"M&V savings report — {pr.get('name_en')}"), sections, version,
                  {"savings": s["energy"], "unit": s["unit"], "uncertainty": unc.get("absolute"),
                   "tce": (s.get("tce") or {}).get("value"), "tco2": (s.get("tco2") or {}).get("value")}, flags)


@dataclass
class Image:
    """A raster figure made elsewhere (the M&V plot), embedded as it is."""

    id: str
    title: Label
    png: bytes


def build(kind: str, store, park, subject: str | None, year: int | None, *, template=None, fill=None) -> Report:
    """One report of ``kind`` (park, enterprise, carbon, mv)."""
    if kind not in KINDS:
        raise ReportError(f"report kind '{kind}': use one of {', '.join(KINDS)}")
    if kind != "park" and not subject:
        raise ReportError(f"report {kind} needs an id (enterprise or M&V project)")
    if kind in ("park", "enterprise", "carbon") and year is None:
        raise ReportError(f"report {kind} needs --period YEAR")
    if kind == "park":
        return park_report(store, park, year)
    if kind == "enterprise":
        return enterprise_report(store, park, subject, year, template, fill)
    if kind == "carbon":
        return carbon_report(store, park, subject, year)
    return mv_report(store, park, subject, year)

