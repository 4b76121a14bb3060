"""Zero-carbon park and green-factory indicators of a park (greenpark.core.indicators): park.toml, the
energy accounts and the carbon accounts in.

Nothing is recomputed here: comprehensive energy consumption, on-site renewable electricity, fresh water
and product unit energy come from :func:`greenpark.services.energy.compute` (``greenpark energy``);
Scope 1 + 2 CO2 and the certified green electricity from
:func:`greenpark.services.carbon_accounts.carbon_report` (``greenpark carbon``, the factors of the
published result when there is one; never publishing from here). Reused water and recovered heat come
from meters of the non-energy carriers ``reused_water`` / ``recovered_heat`` where an owner has them,
else from park.toml ``[[indicator_records]]``; solid waste and available waste heat always from the
records.

Entry points for the edges and the report: :func:`park_indicators` and :func:`enterprise_indicators`
(JSON-ready dicts).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from greenpark import reference
from greenpark.core import carbon as carbon_core
from greenpark.core import energy as energy_core
from greenpark.core import indicators as core
from greenpark.errors import InputError, NotFoundError
from greenpark.findings import flag
from greenpark.park import GF_INDICATORS, TIERS, Park
from greenpark.services import energy
from greenpark.services.carbon_accounts import AccountsError, carbon_report

RECORD_FIELDS = ("solid_waste_generated_t", "solid_waste_utilised_t", "waste_heat_available_gj",
                 "waste_heat_recovered_gj", "reused_water_t", "fresh_water_t")


class IndicatorsError(InputError, ValueError):
    """The indicators cannot be computed for the period asked; the message says what to do."""


def _year(period: str | int) -> int:
    text = str(period)
    if not (len(text) == 4 and text.isdigit()):
        raise IndicatorsError.t("indicator.period_not_year", period=period)
    return int(text)


# ---------------------------------------------------------------------------------------------
class _Inputs:
    """The energy and carbon accounts of one year and the per-owner figures the indicators need."""

    def __init__(self, park: Park, store, year: int):
        self.park, self.year = park, year
        per = energy_core.parse_period(str(year))
        try:
            self.energy = energy.compute(store.con, park, per)
            self.carbon = carbon_report(store, park, year, method="both", write=False)
        except AccountsError as exc:
            raise IndicatorsError(str(exc)) from None
        self.method = park.indicators.scope2_method
        res = self.carbon.result
        elec = next((c for c in self.energy["park"]["carriers"] if c["carrier"] == "electricity"), None)
        if elec is not None:
            self.kgce_per_kwh = float(elec["coefficient"])
        else:
            cid = park.accounting.coefficients.get("electricity",
                                                   reference.load("carriers").get("electricity")["default_coefficient"])
            self.kgce_per_kwh = float(reference.load("gbt2589_coefficients").get(cid)["value"])
        cm = res.certificate_months
        self.cert_months = (cm.assign(month=pd.to_datetime(cm["month"]))[["enterprise_id", "month", "mwh"]]
                            if cm is not None and len(cm) else pd.DataFrame(columns=["enterprise_id", "month", "mwh"]))
        green = self.cert_months.groupby("enterprise_id")["mwh"].sum()
        co2 = res.enterprises.set_index("id")[f"total_{self.method}_t"].astype(float)
        records = self._records()
        rows = []
        for e in self.energy["enterprises"]:
            carriers = {c["carrier"]: c for c in e["carriers"]}
            econ = next((x for x in park.enterprises if x.id == e["id"]), None)
            econ = next((x for x in econ.economics if x.year == year), None) if econ else None
            rec = records.get(e["id"], {})
            row = {"enterprise_id": e["id"], "industry": e["industry"], "energy_tce": e["tce"],
                   "co2_t": float(co2.get(e["id"], np.nan)),
                   "output_value_10k_cny": econ.output_value_10k_cny if econ and econ.output_value_10k_cny else np.nan,
                   "onsite_renewable_kgce": e["renewable_electricity_kwh"] * self.kgce_per_kwh,
                   "green_mwh": float(green.get(e["id"], 0.0)),
                   "natural_gas_kgce": carriers.get("natural_gas", {}).get("kgce", 0.0),
                   "sources": {}}
            row["green_kgce"] = row["green_mwh"] * 1000.0 * self.kgce_per_kwh
            for field, carrier, scale in (("fresh_water_t", "water", 1.0), ("reused_water_t", "reused_water", 1.0),
                                          ("waste_heat_recovered_gj", "recovered_heat", 0.001)):
                if carrier in carriers:
                    # [carriers.csv unit: t, t, MJ]; "quantity" is in the meters' own unit
                    row[field] = carriers[carrier].get("quantity_coefficient_unit", carriers[carrier]["quantity"]) * scale
                    row["sources"][field] = "meters: " + ", ".join(carriers[carrier]["meters"])
                elif rec.get(field) is not None:
                    row[field] = rec[field]
                    row["sources"][field] = "park.toml [[indicator_records]]: " + rec["source"]
                else:
                    row[field] = np.nan
            for field in ("solid_waste_generated_t", "solid_waste_utilised_t", "waste_heat_available_gj"):
                row[field] = rec.get(field) if rec.get(field) is not None else np.nan
                if rec.get(field) is not None:
                    row["sources"][field] = "park.toml [[indicator_records]]: " + rec["source"]
            rows.append(row)
        owners = {e["id"] for e in self.energy["enterprises"]}
        for owner, rec in records.items():  # an owner with records but no meters (e.g. the park itself)
            if owner not in owners:
                rows.append({"enterprise_id": owner, "industry": None, "energy_tce": 0.0, "co2_t": 0.0,
                             "output_value_10k_cny": np.nan, "onsite_renewable_kgce": 0.0, "green_mwh": 0.0,
                             "green_kgce": 0.0, "natural_gas_kgce": 0.0,
                             **{f: (rec.get(f) if rec.get(f) is not None else np.nan) for f in RECORD_FIELDS},
                             "sources": {f: "park.toml [[indicator_records]]: " + rec["source"]
                                         for f in RECORD_FIELDS if rec.get(f) is not None}})
        self.owners = pd.DataFrame(rows)

    def _records(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for r in self.park.indicator_records:
            if r.year == self.year:
                d = out.setdefault(r.enterprise, {"source": r.source})
                for f in RECORD_FIELDS:
                    if getattr(r, f) is not None:
                        d[f] = (d.get(f) or 0.0) + getattr(r, f)
        return out

    def park_figures(self) -> dict[str, float | None]:
        o = self.owners
        p = self.energy["park"]
        res = self.carbon.result

        def total(col: str) -> float | None:
            s = o[col].astype(float)
            return float(s.sum()) if s.notna().any() else None

        out = {"co2_t": float(res.park[f"total_{self.method}_t"]), "energy_tce": p["tce"],
               "onsite_renewable_kgce": p["renewable_electricity_kwh"] * self.kgce_per_kwh,
               "green_kgce": float(o["green_kgce"].sum()), "green_mwh": float(o["green_mwh"].sum()),
               "natural_gas_kgce": next((c["kgce"] for c in p["carriers"] if c["carrier"] == "natural_gas"), 0.0),
               **{f: total(f) for f in RECORD_FIELDS}}
        # recovered heat of an owner whose available waste heat is unknown has no denominator: left out
        heat_ok = o["waste_heat_available_gj"].notna()
        if heat_ok.any():
            out["waste_heat_recovered_gj"] = float(o.loc[heat_ok, "waste_heat_recovered_gj"].fillna(0.0).sum())
        #: owners whose data is partial (named in a flag): fresh water without reused water (reuse
        #: counted as 0), recovered heat without available heat (left out)
        out["partial"] = {
            "water_reuse": sorted(o.loc[(o["fresh_water_t"] > 0) & o["reused_water_t"].isna(), "enterprise_id"])
            if o["reused_water_t"].notna().any() else [],
            "waste_heat_utilisation": sorted(o.loc[o["waste_heat_recovered_gj"].notna() & ~heat_ok, "enterprise_id"]),
        }
        return out

    def products(self) -> pd.DataFrame:
        quotas = {q.product: q for q in self.park.energy_quotas}
        rows = []
        for e in self.energy["enterprises"]:
            for pr in e.get("products", []):
                q = quotas.get(pr["id"])
                rows.append({"product_id": pr["id"], "enterprise_id": e["id"], "name_zh": pr["name_zh"],
                             "name_en": pr["name_en"], "unit": pr["unit"], "output": pr["output"],
                             "kgce_per_unit": pr.get("kgce_per_unit", np.nan),
                             "grade1": q.grade1 if q else np.nan, "grade2": q.grade2 if q else np.nan,
                             "standard": q.standard if q else None, "quota_source": q.source if q else None})
        cols = ["product_id", "enterprise_id", "name_zh", "name_en", "unit", "output", "kgce_per_unit", "grade1",
                "grade2", "standard", "quota_source"]
        return core.product_grades(pd.DataFrame(rows, columns=cols))

    def electricity_factors(self) -> dict[str, float | None]:
        """Average tCO2/MWh of grid electricity: location (grid_import) and market residual, from the carbon lines."""
        ln = self.carbon.result.lines
        el = ln[ln["carrier"] == carbon_core.ELECTRICITY]

        def factor(flow: str, method: str) -> tuple[float | None, float]:
            x = el[(el["flow"] == flow) & (el["method"] == method)]
            mwh = float(x["ad"].sum())
            return (float(x["co2_t"].sum()) / mwh if mwh > 0 else None), mwh

        loc, grid_mwh = factor("grid_import", "location")
        res, _ = factor("grid_import_residual", "market")
        return {"location": loc, "residual": res, "grid_mwh": grid_mwh}

    def monthly(self, store, owner: str | None = None) -> pd.DataFrame:
        """Monthly park (or one owner's) figures of this year and the year before (for the projection)."""
        park = self.park
        start, end = dt.date(self.year - 1, 1, 1), dt.date(self.year + 1, 1, 1)
        tce = energy.monthly_energy_tce(store.con, park, start, end)
        years = tce["month"].dt.year
        last, cur = set(tce.loc[years == self.year - 1, "enterprise_id"]), set(tce.loc[years == self.year, "enterprise_id"])
        # last year's profile: the park's only when the same owners have data in both years (else linear)
        use_last = (owner in last) if owner is not None else (bool(last) and last == cur)
        if not use_last:
            tce = tce[years == self.year]
        co2_parts = [carbon_core.monthly_co2(self.carbon.result, self.method)]
        certs = [self.cert_months]
        if use_last:
            try:
                prev = carbon_report(store, park, self.year - 1, method="both", write=False).result
                co2_parts.append(carbon_core.monthly_co2(prev, self.method))
                if prev.certificate_months is not None and len(prev.certificate_months):
                    certs.append(prev.certificate_months.assign(
                        month=pd.to_datetime(prev.certificate_months["month"]))[["enterprise_id", "month", "mwh"]])
            except (AccountsError, carbon_core.CarbonError):
                tce = tce[tce["month"].dt.year == self.year]
        co2 = pd.concat(co2_parts, ignore_index=True)
        co2["month"] = pd.to_datetime(co2["month"])
        cert = pd.concat(certs, ignore_index=True)
        act = energy.monthly_activity(store.con, park, start, end).to_pandas()
        act["month"] = pd.to_datetime(act["month"])
        if owner is not None:
            tce, co2 = tce[tce["enterprise_id"] == owner], co2[co2["enterprise_id"] == owner]
            cert, act = cert[cert["enterprise_id"] == owner], act[act["enterprise_id"] == owner]
        ng_cid = park.accounting.coefficients.get(
            "natural_gas", reference.load("carriers").get("natural_gas")["default_coefficient"])
        ng_coef = float(reference.load("gbt2589_coefficients").get(ng_cid)["value"])
        by_carrier = act.pivot_table(index="month", columns="carrier", values="quantity", aggfunc="sum")
        m = pd.DataFrame({
            "energy_tce": tce.groupby("month")["energy_tce"].sum(),
            "onsite_renewable_kgce": tce.groupby("month")["renewable_kgce"].sum().clip(lower=0.0),
            "co2_t": co2.groupby("month")["co2_t"].sum(),
            "green_kgce": cert.groupby("month")["mwh"].sum().astype(float) * 1000.0 * self.kgce_per_kwh,
        })
        m["natural_gas_kgce"] = by_carrier["natural_gas"] * ng_coef if "natural_gas" in by_carrier else 0.0
        if "reused_water" in by_carrier:
            m["reused_water_t"] = by_carrier["reused_water"]
            m["fresh_water_t"] = by_carrier.get("water", 0.0)
        m = m.rename_axis("month").reset_index()
        m = m[m["energy_tce"].notna()]
        m["green_kgce"] = m["green_kgce"].fillna(0.0)
        return core.monthly_trajectory(m, list(park.indicators.clean_energy))


# ---------------------------------------------------------------------------------------------
def _rows_of(name: str) -> list[dict[str, Any]]:
    return list(reference.load(name).rows)


def _r(x: Any, nd: int = 6) -> Any:
    if x is None:
        return None
    if isinstance(x, (float, np.floating)):
        return None if np.isnan(x) else round(float(x), nd)
    if isinstance(x, np.integer):
        return int(x)
    return x


def _trajectory_json(m: pd.DataFrame, year: int) -> list[dict[str, Any]]:
    cur = m[pd.to_datetime(m["month"]).dt.year == year]
    cols = [c for c in ("co2_t", "energy_tce", "clean_kgce", "carbon_per_energy", "clean_energy_share", "water_reuse")
            if c in cur.columns]
    return [{"month": pd.Timestamp(r["month"]).strftime("%Y-%m"), **{c: _r(r[c]) for c in cols}}
            for r in cur.to_dict("records")]


def _what_if(inp: _Inputs, fig: dict, pv_mwh: float, green_mwh: float) -> dict[str, Any] | None:
    if not (pv_mwh or green_mwh):
        return None
    ef = inp.electricity_factors()
    if ef["location"] is None:
        return {"note": "no grid electricity in the carbon accounts: nothing to replace"}
    clean = core.clean_energy_kgce(fig["onsite_renewable_kgce"] or 0.0, fig["green_kgce"] or 0.0,
                                   fig["natural_gas_kgce"] or 0.0, list(inp.park.indicators.clean_energy))
    base = {"carbon_per_energy": _r(core.ratio(fig["co2_t"], fig["energy_tce"])),
            "clean_energy_share": _r(core.ratio(clean, fig["energy_tce"] * core.KG_PER_T))}
    w = core.what_if(fig["co2_t"], fig["energy_tce"], clean, pv_mwh=pv_mwh, green_mwh=green_mwh,
                     grid_factor=ef["location"], residual_factor=ef["residual"], method=inp.method,
                     kgce_per_kwh=inp.kgce_per_kwh, grid_mwh=ef["grid_mwh"])
    return {"before": base, "after": {k: _r(v) for k, v in w.items()}, "scope2_method": inp.method,
            "assumption": "added PV is consumed on site and replaces grid electricity; green-electricity contracts "
                          "count at zero CO2 under the market method only; comprehensive energy does not change "
                          "(GB/T 2589 counts electricity at its calorific equivalent whatever its origin)"}


def _flags_common(inp: _Inputs) -> list[dict[str, Any]]:
    comps = list(inp.park.indicators.clean_energy)
    out = [flag("indicators.clean_energy.greenpark_reading",
                "clean energy is greenpark's reading of 发改环资〔2025〕910号 (the notice leaves it open): "
                f"{', '.join(comps)}; certified green electricity = certificates applied in the carbon accounts, "
                f"at {inp.kgce_per_kwh} kgce/kWh", "info", components=comps),
           flag("indicators.scope2.greenpark_reading",
                f"the core indicator's CO2 is Scope 1 + Scope 2 ({inp.method}-based) of the carbon accounts; "
                "the notice does not say which Scope 2 method: greenpark's reading ([indicators] scope2_method)",
                "info", method=inp.method)]
    return out


# ---------------------------------------------------------------------------------------------
def park_indicators(park: Park, store, period: str | int, *, what_if_pv_mwh: float = 0.0,
                    what_if_green_mwh: float = 0.0) -> dict[str, Any]:
    """The zero-carbon park indicators of ``park`` for the calendar year ``period`` (JSON-ready).

    Keys: ``period, park, indicators`` (core + 5 guiding, each with value, threshold, verdict, threshold
    status and source, inputs), ``trajectory`` (monthly), ``projection`` (year end), ``what_if`` (when
    asked), ``programme`` (green-factory target, progress, statuses, candidates), ``lineage``, ``flags``.
    """
    year = _year(period)
    inp = _Inputs(park, store, year)
    fig = inp.park_figures()
    products = inp.products()
    comps = list(park.indicators.clean_energy)
    rows = _rows_of("zero_carbon_park")
    inds = core.park_indicators(fig, rows, comps, products, park.indicators.core_threshold_tco2_per_tce,
                                park.indicators.core_threshold_source)
    flags = _flags_common(inp)
    for i in inds:
        if i["threshold_status"] == "C1" or i.get("band_status") == "C1":
            flags.append(flag("indicators.threshold.single_source",
                              f"{i['id']}: the threshold {i['threshold']} "
                              + ("and its size band are" if i.get("band_status") == "C1" else "is")
                              + " read in one source only (C1): check against the official notice", "warning",
                              indicator=i["id"]))
        if i["threshold_status"] == "NOT FOUND":
            flags.append(flag("indicators.threshold.not_found",
                              f"{i['id']}: no published threshold for a park of {fig['energy_tce']:,.0f} tce/yr (the "
                              f"bands found start at {i['band'][1]:,.0f} tce/yr); enter one with its source in "
                              "park.toml [indicators] core_threshold_tco2_per_tce / core_threshold_source",
                              "warning", indicator=i["id"]))
        if i["threshold_status"] == "USER":
            flags.append(flag("indicators.threshold.user",
                              f"{i['id']}: threshold {i['threshold']} entered in park.toml ({i['source']}); no "
                              f"published threshold for a park of {fig['energy_tce']:,.0f} tce/yr", "info",
                              indicator=i["id"]))
        if fig["partial"].get(i["id"]):
            who = fig["partial"][i["id"]]
            flags.append(flag("indicators.data.partial",
                              f"{i['id']}: {len(who)} owner(s) without " + (
                                  "reused-water data: their fresh water counts with no reuse" if i["id"] == "water_reuse"
                                  else "an available waste-heat figure: their recovered heat is left out")
                              + f" ({', '.join(who)})", "warning", indicator=i["id"], ids=who))
        if i["verdict"] == "no_data":
            flags.append(flag("indicators.data.missing",
                              f"{i['id']}: no data for {year} (meters of reused_water / recovered_heat, or park.toml "
                              "[[indicator_records]] / [[energy_quotas]])", "warning", indicator=i["id"]))
    m = inp.monthly(store)
    cur = m[pd.to_datetime(m["month"]).dt.year == year]
    projection = None
    if len(cur):
        as_of = pd.Timestamp(cur["month"].max()).date()
        projection = core.year_end_projection(m, year, as_of, park.park.id)
        if projection.get("method") == "linear_days":
            flags.append(flag("indicators.projection.linear_fallback",
                              "last year's monthly profile is incomplete: the year end is projected linearly by days",
                              "info"))
    wi = _what_if(inp, fig, what_if_pv_mwh, what_if_green_mwh)
    if wi and wi.get("after", {}).get("capped"):
        flags.append(flag("indicators.what_if.capped",
                          "the added PV and green electricity exceed the grid import: capped at the grid import",
                          "warning"))
    return {
        "period": {"label": str(year), "year": year},
        "park": {"id": park.park.id, "name_zh": park.park.name_zh, "name_en": park.park.name_en,
                 "energy_tce": _r(fig["energy_tce"]), "co2_t": _r(fig["co2_t"])},
        "indicators": [{**{k: _r(v) for k, v in i.items() if k != "inputs"},
                        "inputs": {k: _r(v) for k, v in i["inputs"].items()}} for i in inds],
        "trajectory": _trajectory_json(m, year),
        "projection": {k: _r(v) for k, v in projection.items()} if projection else None,
        "what_if": wi,
        "programme": programme(park, inp, products),
        "lineage": _lineage(inp, fig),
        "flags": flags,
    }


def _lineage(inp: _Inputs, fig: dict, owner: str | None = None) -> dict[str, Any]:
    srcs: dict[str, list[str]] = {}
    for r in inp.owners.to_dict("records"):
        if owner is not None and r["enterprise_id"] != owner:
            continue
        for field, where in r["sources"].items():
            srcs.setdefault(field, []).append(f"{r['enterprise_id']}: {where}")
    return {
        "energy": "greenpark energy --period (GB/T 2589-2020 comprehensive energy consumption, monthly rollups)",
        "carbon": f"greenpark carbon --period (Scope 1 + Scope 2 {inp.method}-based; result status "
                  f"{inp.carbon.status}" + (f", published result #{inp.carbon.published.result_id}"
                                             if inp.carbon.published else "") + ")",
        "electricity_coefficient_kgce_per_kwh": inp.kgce_per_kwh,
        "green_electricity_mwh": _r(fig["green_mwh"]),
        "clean_energy_definition": "greenpark's reading: " + " + ".join(inp.park.indicators.clean_energy),
        "water_reuse_formula": "R = Vr / (Vr + V): Vr reused water, V fresh water intake (meters of carrier water)",
        "records": srcs,
        "thresholds": [reference.citation(r) for r in _rows_of("zero_carbon_park")],
    }


# ---------------------------------------------------------------------------------------------
def _benchmarks(park: Park, ents: pd.DataFrame) -> pd.DataFrame:
    """The most specific benchmark per enterprise and indicator: its own, else its industry's (and energy
    band's, for renewable_share), else a general one."""
    rows = []
    for e in ents.to_dict("records"):
        for ind in GF_INDICATORS:
            best, rank = None, -1
            for b in park.benchmarks:
                if b.indicator != ind or (b.enterprise and b.enterprise != e["enterprise_id"]) \
                        or (b.industry and b.industry != e["industry"]) \
                        or (b.energy_band and b.energy_band != e["energy_band"]):
                    continue
                r = 2 * bool(b.enterprise) + bool(b.industry) + bool(b.energy_band)
                if r > rank:
                    best, rank = b, r
            if best is not None:
                rows.append({"enterprise_id": e["enterprise_id"], "indicator": ind, "benchmark": best.benchmark,
                             "leading": best.leading, "benchmark_source": best.source})
    return pd.DataFrame(rows, columns=["enterprise_id", "indicator", "benchmark", "leading", "benchmark_source"])


def _factory_table(park: Park, inp: _Inputs, products: pd.DataFrame) -> pd.DataFrame:
    """Long table of green-factory values per enterprise, with benchmarks and comparisons."""
    ents = inp.owners[inp.owners["enterprise_id"].isin([e.id for e in park.enterprises])].copy()
    gf = {g.enterprise: g for g in park.green_factories}
    provided = {r["id"] for r in _rows_of("green_factory_platform") if r["greenpark"]}
    ents["platform_functions"] = ents["enterprise_id"].map(
        lambda e: float(len(provided | set(gf[e].platform_functions if e in gf else []))))
    f = core.factory_indicators(ents)
    cols = [c for c in GF_INDICATORS if c != "unit_product_energy"]
    long = f.melt(id_vars=["enterprise_id"], value_vars=cols, var_name="indicator", value_name="value")
    bm = _benchmarks(park, f)
    pq = products.dropna(subset=["grade2", "kgce_per_unit"])
    if len(pq):  # unit-product energy against the quota: leading = grade 1, benchmark = grade 2
        pq = pq.drop_duplicates("enterprise_id")
        long = pd.concat([long, pd.DataFrame({"enterprise_id": pq["enterprise_id"], "indicator": "unit_product_energy",
                                              "value": pq["kgce_per_unit"]})], ignore_index=True)
        bm = pd.concat([bm[bm["indicator"] != "unit_product_energy"], pd.DataFrame({
            "enterprise_id": pq["enterprise_id"], "indicator": "unit_product_energy", "benchmark": pq["grade2"],
            "leading": pq["grade1"], "benchmark_source": pq["standard"] + " grade 2 / grade 1 (" + pq["quota_source"]
            + ")"})], ignore_index=True)
    out = core.compare(long, bm, GF_INDICATORS)
    out["unit"] = out["indicator"].map(core.FACTORY_UNITS)
    return out.merge(f[["enterprise_id", "energy_band", "energy_tce"]], on="enterprise_id", how="left")


def programme(park: Park, inp: _Inputs, products: pd.DataFrame) -> dict[str, Any]:
    """Green-factory statuses, the park's target with progress, and the candidates ranked by closeness."""
    year = inp.year
    gf = {g.enterprise: g for g in park.green_factories}
    prog = park.programme
    min_rank = TIERS.index(prog.min_tier) if prog else TIERS.index("provincial")
    statuses = []
    for e in park.enterprises:
        g = gf.get(e.id)
        statuses.append({"enterprise_id": e.id, "name_zh": e.name_zh, "name_en": e.name_en,
                         "tier": g.tier if g else None, "year_awarded": g.year_awarded if g else None,
                         "reevaluation_due": g.reevaluation_due if g else None,
                         "reevaluation_due_soon": bool(g and g.reevaluation_due and g.reevaluation_due <= year + 1),
                         "source": g.source if g else None})
    counted = [s["enterprise_id"] for s in statuses if s["tier"] and TIERS.index(s["tier"]) <= min_rank]
    candidates = [s["enterprise_id"] for s in statuses if s["enterprise_id"] not in counted]
    table = _factory_table(park, inp, products)
    ranked = core.rank_candidates(table, candidates)
    target = None
    if prog:
        target = {"count": prog.target_count, "min_tier": prog.min_tier, "by": prog.by.isoformat(),
                  "source": prog.source, "achieved": len(counted), "progress": _r(len(counted) / prog.target_count),
                  "remaining": max(prog.target_count - len(counted), 0)}
    return {"target": target, "statuses": statuses,
            "candidates": [{k: _r(v) if k != "gaps" else [{kk: _r(vv) for kk, vv in g.items()} for g in v]
                            for k, v in r.items()} for r in ranked.to_dict("records")],
            "ranking": "share of the indicators with a benchmark that are met (more first), then the sum of the "
                       "relative shortfalls to the benchmarks (smaller first); no GB/T 36132 score is computed"}


def enterprise_indicators(park: Park, store, period: str | int, enterprise_id: str, *, what_if_pv_mwh: float = 0.0,
                          what_if_green_mwh: float = 0.0) -> dict[str, Any]:
    """The green-factory indicators (GB/T 36132-2025, the quantitative ones) of one enterprise (JSON-ready).

    Keys: ``period, enterprise, indicators`` (value, unit, benchmark, leading, their source, meets_*),
    ``products`` (unit energy and quota grade), ``platform`` (the 12 functions: which greenpark provides,
    which the enterprise declares), ``status`` (green-factory tier), ``candidate`` (rank and gaps when it
    is one), ``trajectory``, ``projection``, ``what_if``, ``lineage``, ``flags``.
    """
    year = _year(period)
    ents = {e.id: e for e in park.enterprises}
    if enterprise_id not in ents:
        raise NotFoundError.t("indicator.unknown_enterprise", enterprise=enterprise_id, valid=", ".join(ents))
    inp = _Inputs(park, store, year)
    products = inp.products()
    table = _factory_table(park, inp, products)
    mine = table[table["enterprise_id"] == enterprise_id]
    prog = programme(park, inp, products)
    gf = next((g for g in park.green_factories if g.enterprise == enterprise_id), None)
    declared = set(gf.platform_functions) if gf else set()
    platform = [{"id": r["id"], "name_zh": r["name_zh"], "name_en": r["name_en"], "greenpark": r["greenpark"],
                 "greenpark_how": r["how"] or None, "declared": r["id"] in declared}
                for r in _rows_of("green_factory_platform")]
    flags = _flags_common(inp)
    flags.append(flag("indicators.platform.greenpark_counted",
                      f"platform functions: the {sum(p['greenpark'] for p in platform)} functions greenpark provides "
                      "are counted with those the enterprise declares (park.toml [[green_factories]] "
                      "platform_functions); the leading value (6 or 8) is UNVERIFIED and not shown", "info"))
    if not park.benchmarks:
        flags.append(flag("indicators.benchmark.none",
                          "no [[benchmarks]] in park.toml: values are shown without benchmark (GB/T 36132-2025 "
                          "benchmark and leading values are not shipped: the published ones conflict)", "info"))
    for r in mine.to_dict("records"):
        if r["value"] is None or (isinstance(r["value"], float) and np.isnan(r["value"])):
            flags.append(flag("indicators.data.missing", f"{r['indicator']}: no data for {enterprise_id} in {year}",
                              "warning", indicator=r["indicator"], enterprise=enterprise_id))
    own = inp.owners.set_index("enterprise_id").loc[enterprise_id].to_dict()
    fig = {"co2_t": own["co2_t"], "energy_tce": own["energy_tce"], "onsite_renewable_kgce": own["onsite_renewable_kgce"],
           "green_kgce": own["green_kgce"], "natural_gas_kgce": own["natural_gas_kgce"], "green_mwh": own["green_mwh"]}
    m = inp.monthly(store, enterprise_id)
    cur = m[pd.to_datetime(m["month"]).dt.year == year]
    projection = (core.year_end_projection(m, year, pd.Timestamp(cur["month"].max()).date(), enterprise_id)
                  if len(cur) else None)
    e = ents[enterprise_id]
    return {
        "period": {"label": str(year), "year": year},
        "enterprise": {"id": e.id, "name_zh": e.name_zh, "name_en": e.name_en, "industry": e.industry,
                       "energy_tce": _r(own["energy_tce"]), "co2_t": _r(own["co2_t"]),
                       "energy_band": core.energy_band(own["energy_tce"]),
                       "output_value_10k_cny": _r(own["output_value_10k_cny"])},
        "indicators": [{"id": r["indicator"], "value": _r(r["value"]), "unit": r["unit"],
                        "benchmark": _r(r["benchmark"]), "leading": _r(r["leading"]),
                        "benchmark_source": r["benchmark_source"] if isinstance(r["benchmark_source"], str) else None,
                        "meets_benchmark": r["meets_benchmark"], "meets_leading": r["meets_leading"],
                        "shortfall": _r(r["shortfall"])} for r in mine.to_dict("records")],
        "products": [{k: _r(v) for k, v in p.items()} for p in
                     products[products["enterprise_id"] == enterprise_id].to_dict("records")],
        "platform": {"functions": platform, "count": int(sum(p["greenpark"] or p["declared"] for p in platform)),
                     "declared": sorted(declared),
                     "greenpark_provides": [p["id"] for p in platform if p["greenpark"]]},
        "status": next(s for s in prog["statuses"] if s["enterprise_id"] == enterprise_id),
        "candidate": next((c for c in prog["candidates"] if c["enterprise_id"] == enterprise_id), None),
        "trajectory": _trajectory_json(m, year),
        "projection": {k: _r(v) for k, v in projection.items()} if projection else None,
        "what_if": _what_if(inp, fig, what_if_pv_mwh, what_if_green_mwh),
        "lineage": {k: v for k, v in _lineage(inp, fig, enterprise_id).items() if k != "thresholds"},
        "flags": flags,
    }
