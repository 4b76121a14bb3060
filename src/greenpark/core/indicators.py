"""Zero-carbon park indicators (发改环资〔2025〕910号) and green-factory indicators (GB/T 36132-2025).

Pure functions over tables and numbers; no IO, no store, no park.toml. The service
(:mod:`greenpark.services.indicators`) hands in the energy accounts (GB/T 2589-2020), the carbon
accounts (Scope 1 + 2) and the annual records of park.toml.

Zero-carbon park (910号), one core and five guiding indicators
----------------------------------------------------------------
- core ``carbon_per_energy`` = (Scope 1 + Scope 2 CO2) / comprehensive energy consumption [tCO2/tce],
  against the threshold of the park's size band (``zero_carbon_park.csv``: <= 0.20 for 200,000 to
  1,000,000 tce/yr, C2+, band limits C1; <= 0.30 from 1,000,000 tce/yr, C1). Below 200,000 tce/yr no
  threshold was found: a threshold entered in park.toml (status USER) or none;
- ``clean_energy_share`` = clean energy / comprehensive energy consumption [1] (>= 0.90). What counts as
  clean energy is open in the notice: greenpark's reading (flagged) counts the components listed in
  park.toml ``[indicators] clean_energy``: on-site renewable electricity consumed (generation - export)
  and certified green electricity (GEC / green-power contracts applied in the carbon accounts), both at
  the electricity coefficient of the energy accounts, and optionally natural gas;
- ``solid_waste_utilisation`` = utilised / generated general industrial solid waste [1] (>= 0.80);
- ``waste_heat_utilisation`` = recovered / available waste heat, cold and pressure [1] (>= 0.50);
- ``water_reuse`` R = V_r / (V_r + V), V_r reused water, V fresh water intake [1] (>= 0.80);
- ``product_energy``: share of products with a quota standard whose unit energy is at or better than
  grade 2 (pass when all are).

Green factory (GB/T 36132-2025), the quantitative indicators
------------------------------------------------------------
``unit_product_energy`` [kgce/product unit] against the quota's grade 1 (leading, 引领值) and grade 2
(benchmark, 基准值); ``energy_per_output`` [kgce/10^4 CNY] where no quota applies; ``co2_per_output``
[kgCO2/10^4 CNY]; ``renewable_share`` [1] in the band of the enterprise's annual energy use
(:func:`energy_band`); ``water_per_output`` [m3/10^4 CNY] (1 t of water = 1 m3); ``water_reuse`` [1];
``solid_waste_utilisation`` [1]; ``platform_functions`` [count of the 12]. Scores and weights of the
standard are not published reliably: values are compared with benchmarks the user enters (with their
source); no score is computed.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from greenpark.core import targets as targets_core

KG_PER_T = 1000.0
#: green-factory renewable-utilisation bands by annual comprehensive energy consumption [tce]
ENERGY_BANDS = (("ge_10000", 10000.0, math.inf), ("5000_10000", 5000.0, 10000.0),
                ("3000_5000", 3000.0, 5000.0), ("lt_3000", 0.0, 3000.0))
#: indicator -> (unit, better direction)
PARK_INDICATORS = {
    "carbon_per_energy": ("tCO2/tce", "le"),
    "clean_energy_share": ("1", "ge"),
    "solid_waste_utilisation": ("1", "ge"),
    "waste_heat_utilisation": ("1", "ge"),
    "water_reuse": ("1", "ge"),
    "product_energy": ("1", "ge"),
}
FACTORY_UNITS = {"unit_product_energy": "kgce/unit", "energy_per_output": "kgce/10^4 CNY",
                 "co2_per_output": "kgCO2/10^4 CNY", "renewable_share": "1", "water_per_output": "m3/10^4 CNY",
                 "water_reuse": "1", "solid_waste_utilisation": "1", "platform_functions": "count"}
VERDICTS = ("pass", "fail", "no_threshold", "no_data")


def ratio(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator``, NaN where the denominator is not positive or a value is missing."""
    n = np.asarray(numerator, dtype=float)
    d = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)
    return out if out.ndim else float(out)


def water_reuse_rate(reused_t: Any, fresh_t: Any) -> Any:
    """Industrial water reuse rate R = V_r / (V_r + V) [1]; V_r reused, V fresh intake [t]."""
    return ratio(reused_t, np.asarray(reused_t, dtype=float) + np.asarray(fresh_t, dtype=float))


def verdict(value: float | None, threshold: float | None, direction: str) -> str:
    """``pass`` / ``fail`` against ``threshold`` (``le``: value <= threshold; ``ge``: value >= threshold),
    ``no_data`` without a value, ``no_threshold`` without a threshold."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no_data"
    if threshold is None:
        return "no_threshold"
    ok = value <= threshold if direction == "le" else value >= threshold
    return "pass" if ok else "fail"


def core_threshold(energy_tce: float, rows: list[dict], user: float | None = None,
                   user_source: str | None = None) -> dict[str, Any]:
    """The core-indicator threshold of the park's size band [tCO2/tce].

    ``rows``: the ``carbon_per_energy`` rows of ``zero_carbon_park.csv`` (band_min inclusive, band_max
    exclusive, None = open). A park below every band gets ``user`` (status USER) when given, else no
    threshold (``value`` None). Returns ``value, band, status, band_status, source, id``.
    """
    for r in rows:
        lo = r["band_min_tce"] if r["band_min_tce"] is not None else -math.inf
        hi = r["band_max_tce"] if r["band_max_tce"] is not None else math.inf
        if lo <= energy_tce < hi:
            return {"id": r["id"], "value": r["value"], "band": [r["band_min_tce"], r["band_max_tce"]],
                    "status": r["status"], "band_status": r["band_status"], "source": r["source"]}
    lowest = min((r["band_min_tce"] for r in rows if r["band_min_tce"] is not None), default=None)
    if user is not None:
        return {"id": "user", "value": user, "band": [None, lowest], "status": "USER", "band_status": None,
                "source": user_source}
    return {"id": None, "value": None, "band": [None, lowest], "status": "NOT FOUND", "band_status": None,
            "source": None}


def energy_band(tce: Any) -> Any:
    """The GB/T 36132-2025 renewable-utilisation band of an annual energy use [tce]: ``ge_10000``,
    ``5000_10000``, ``3000_5000`` or ``lt_3000`` (vectorised over a Series)."""
    s = pd.Series(tce, dtype=float) if not isinstance(tce, pd.Series) else tce.astype(float)
    out = pd.Series(np.select([s >= lo for _, lo, _ in ENERGY_BANDS], [b for b, _, _ in ENERGY_BANDS], None),
                    index=s.index, dtype=object)
    out[s.isna()] = None
    return out if isinstance(tce, pd.Series) or np.ndim(tce) else out.iloc[0]


def clean_energy_kgce(onsite_renewable_kgce: Any, green_kgce: Any, natural_gas_kgce: Any,
                      components: list[str]) -> Any:
    """Clean energy [kgce]: the sum of the ``components`` (greenpark's reading, module docstring)."""
    parts = {"onsite_renewable": onsite_renewable_kgce, "green_electricity": green_kgce,
             "natural_gas": natural_gas_kgce}
    total = 0.0
    for c in components:
        total = total + np.asarray(parts[c], dtype=float)
    return total if np.ndim(total) else float(total)


def park_indicators(f: dict[str, float | None], rows: list[dict], clean_components: list[str],
                    products: pd.DataFrame, user_threshold: float | None = None,
                    user_source: str | None = None) -> list[dict[str, Any]]:
    """The core and five guiding indicators of a park from its annual figures.

    ``f`` keys: ``co2_t`` [tCO2], ``energy_tce`` [tce], ``onsite_renewable_kgce``, ``green_kgce``,
    ``natural_gas_kgce`` [kgce], ``solid_waste_generated_t``, ``solid_waste_utilised_t`` [t],
    ``waste_heat_available_gj``, ``waste_heat_recovered_gj`` [GJ], ``reused_water_t``,
    ``fresh_water_t`` [t] (None = no data). ``rows``: ``zero_carbon_park.csv``. ``products``: the
    output of :func:`product_grades`. Returns one dict per indicator: ``id, value, unit, threshold,
    direction, verdict, threshold_status, source, inputs``.
    """
    by_ind = {r["indicator"]: r for r in rows if r["indicator"] != "carbon_per_energy"}
    core_rows = [r for r in rows if r["indicator"] == "carbon_per_energy"]

    def none(x: Any) -> float | None:
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)

    def get(k: str) -> float | None:
        return none(f.get(k))

    def nan(k: str) -> float:
        v = get(k)
        return np.nan if v is None else v

    energy_kgce = (get("energy_tce") or 0.0) * KG_PER_T
    out = []
    core = ratio(nan("co2_t"), get("energy_tce") or 0.0)
    th = core_threshold(get("energy_tce") or 0.0, core_rows, user_threshold, user_source)
    out.append({"id": "carbon_per_energy", "kind": "core", "value": none(core), "unit": "tCO2/tce",
                "threshold": th["value"], "direction": "le", "verdict": verdict(none(core), th["value"], "le"),
                "threshold_status": th["status"], "band": th["band"], "band_status": th["band_status"],
                "threshold_id": th["id"], "source": th["source"],
                "inputs": {"co2_t": get("co2_t"), "energy_tce": get("energy_tce")}})
    clean = clean_energy_kgce(get("onsite_renewable_kgce") or 0.0, get("green_kgce") or 0.0,
                              get("natural_gas_kgce") or 0.0, clean_components)
    values = {
        "clean_energy_share": (ratio(clean, energy_kgce), {
            "clean_kgce": clean, "energy_kgce": energy_kgce, "onsite_renewable_kgce": get("onsite_renewable_kgce"),
            "green_electricity_kgce": get("green_kgce"), "natural_gas_kgce": get("natural_gas_kgce"),
            "components": list(clean_components)}),
        "solid_waste_utilisation": (ratio(nan("solid_waste_utilised_t"), get("solid_waste_generated_t") or 0.0),
                                    {"utilised_t": get("solid_waste_utilised_t"),
                                     "generated_t": get("solid_waste_generated_t")}),
        "waste_heat_utilisation": (ratio(nan("waste_heat_recovered_gj"), get("waste_heat_available_gj") or 0.0),
                                   {"recovered_gj": get("waste_heat_recovered_gj"),
                                    "available_gj": get("waste_heat_available_gj")}),
        "water_reuse": (water_reuse_rate(nan("reused_water_t"), nan("fresh_water_t")),
                        {"reused_t": get("reused_water_t"), "fresh_intake_t": get("fresh_water_t")}),
    }
    rated = products.dropna(subset=["grade"]) if len(products) else products
    share = (float((rated["grade"] != "above_grade2").mean()) if len(rated) else None)
    values["product_energy"] = (share, {"products_with_quota": int(len(rated)),
                                        "at_or_better_than_grade2": int((rated["grade"] != "above_grade2").sum())
                                        if len(rated) else 0})
    for ind, (v, inputs) in values.items():
        r = by_ind[ind]
        v = none(v)
        if ind == "product_energy":  # pass when every product with a quota is at grade 2 or better
            threshold, direction = 1.0, "ge"
        else:
            threshold, direction = r["value"], r["direction"]
        out.append({"id": ind, "kind": "guiding", "value": v, "unit": PARK_INDICATORS[ind][0],
                    "threshold": threshold, "direction": direction, "verdict": verdict(v, threshold, direction),
                    "threshold_status": r["status"], "threshold_id": r["id"], "source": r["source"],
                    "inputs": inputs})
    return out


def product_grades(products: pd.DataFrame) -> pd.DataFrame:
    """The quota grade each product reaches.

    ``products``: ``product_id, enterprise_id, kgce_per_unit`` [kgce/unit], ``grade1``, ``grade2``
    [kgce/unit] (NaN without a quota). Adds ``grade``: ``grade1`` (<= grade 1, the leading value),
    ``grade2`` (<= grade 2, the benchmark), ``above_grade2``, or None (no value or no quota).
    """
    p = products.copy()
    v, g1, g2 = p["kgce_per_unit"].astype(float), p["grade1"].astype(float), p["grade2"].astype(float)
    known = v.notna() & g2.notna()
    p["grade"] = pd.Series(np.select([v <= g1, v <= g2], ["grade1", "grade2"], "above_grade2"), index=p.index,
                           dtype=object).where(known, None)
    return p


def factory_indicators(ent: pd.DataFrame) -> pd.DataFrame:
    """Green-factory indicator values per enterprise (one column per indicator of :data:`FACTORY_UNITS`
    except ``unit_product_energy``, which is per product: :func:`product_grades`).

    ``ent`` columns: ``enterprise_id, energy_tce`` [tce], ``co2_t`` [tCO2], ``output_value_10k_cny``
    [10^4 CNY], ``onsite_renewable_kgce``, ``green_kgce`` [kgce], ``fresh_water_t``, ``reused_water_t``
    [t], ``solid_waste_generated_t``, ``solid_waste_utilised_t`` [t], ``platform_functions`` [count].
    """
    e = ent.copy()
    kgce = e["energy_tce"].astype(float) * KG_PER_T
    ov = e["output_value_10k_cny"].astype(float)
    e["energy_per_output"] = ratio(kgce, ov)
    e["co2_per_output"] = ratio(e["co2_t"].astype(float) * KG_PER_T, ov)
    e["renewable_share"] = ratio(e["onsite_renewable_kgce"].fillna(0.0) + e["green_kgce"].fillna(0.0), kgce)
    e["water_per_output"] = ratio(e["fresh_water_t"].astype(float), ov)
    e["water_reuse"] = water_reuse_rate(e["reused_water_t"].astype(float), e["fresh_water_t"].astype(float))
    e["solid_waste_utilisation"] = ratio(e["solid_waste_utilised_t"].astype(float),
                                         e["solid_waste_generated_t"].astype(float))
    e["energy_band"] = energy_band(e["energy_tce"])
    return e


def compare(values: pd.DataFrame, benchmarks: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    """Values against benchmark and leading values.

    ``values``: long ``enterprise_id, indicator, value`` (+ any columns); ``benchmarks``: the matching
    ``indicator, enterprise_id, benchmark, leading, benchmark_source`` (NaN where none). Adds
    ``meets_benchmark``, ``meets_leading`` (bool or None) and ``shortfall`` [1]: the relative distance
    to the benchmark on the wrong side (0 when met; None without a benchmark).
    """
    m = values.merge(benchmarks, on=["enterprise_id", "indicator"], how="left")
    d = m["indicator"].map(directions)
    v, b, lead = m["value"].astype(float), m["benchmark"].astype(float), m["leading"].astype(float)
    le = d == "le"
    meets_b = np.where(le, v <= b, v >= b)
    meets_l = np.where(le, v <= lead, v >= lead)
    m["meets_benchmark"] = pd.Series(meets_b, index=m.index, dtype=object).where(v.notna() & b.notna(), None)
    m["meets_leading"] = pd.Series(meets_l, index=m.index, dtype=object).where(v.notna() & lead.notna(), None)
    gap = np.where(le, (v - b) / b.abs(), (b - v) / b.abs())
    m["shortfall"] = pd.Series(np.maximum(gap, 0.0), index=m.index).where(v.notna() & b.notna() & (b != 0))
    return m


def rank_candidates(compared: pd.DataFrame, candidates: list[str]) -> pd.DataFrame:
    """Enterprises of ``candidates`` ranked by how close they are on the computable indicators.

    Closeness: the share of indicators with a benchmark that are met (more first), then the sum of the
    shortfalls (smaller first). Columns: ``enterprise_id, rank, with_benchmark, met, met_share,
    total_shortfall, gaps`` (the indicators missed, largest shortfall first, with value and benchmark).
    """
    c = compared[compared["enterprise_id"].isin(candidates) & compared["meets_benchmark"].notna()].copy()
    c["met"] = c["meets_benchmark"].astype(bool)
    g = c.groupby("enterprise_id").agg(with_benchmark=("indicator", "size"), met=("met", "sum"),
                                       total_shortfall=("shortfall", "sum")).reindex(candidates)
    g["with_benchmark"] = g["with_benchmark"].fillna(0).astype(int)
    g["met"] = g["met"].fillna(0).astype(int)
    g["total_shortfall"] = g["total_shortfall"].fillna(0.0)
    g["met_share"] = ratio(g["met"], g["with_benchmark"])
    missed = c[~c["met"]].sort_values("shortfall", ascending=False)
    gaps = {eid: [{"indicator": r.indicator, "value": float(r.value), "benchmark": float(r.benchmark),
                   "shortfall": float(r.shortfall)} for r in grp.itertuples()]
            for eid, grp in missed.groupby("enterprise_id")}
    g = g.reset_index().rename(columns={"index": "enterprise_id"})
    g["gaps"] = g["enterprise_id"].map(lambda e: gaps.get(e, []))
    g = g.sort_values(["met_share", "total_shortfall", "enterprise_id"], ascending=[False, True, True],
                      na_position="last").reset_index(drop=True)
    g["rank"] = np.arange(1, len(g) + 1)
    return g[["enterprise_id", "rank", "with_benchmark", "met", "met_share", "total_shortfall", "gaps"]]


def monthly_trajectory(monthly: pd.DataFrame, clean_components: list[str]) -> pd.DataFrame:
    """Monthly values of the metered indicators of the park.

    ``monthly``: ``month, co2_t, energy_tce, onsite_renewable_kgce, green_kgce, natural_gas_kgce`` and
    optionally ``reused_water_t, fresh_water_t, recovered_heat_gj``. Returns the same rows with
    ``carbon_per_energy`` [tCO2/tce], ``clean_energy_share`` [1] and ``water_reuse`` [1].
    """
    m = monthly.sort_values("month").reset_index(drop=True).copy()
    m["clean_kgce"] = clean_energy_kgce(m["onsite_renewable_kgce"].fillna(0.0), m["green_kgce"].fillna(0.0),
                                        m["natural_gas_kgce"].fillna(0.0), clean_components)
    m["carbon_per_energy"] = ratio(m["co2_t"], m["energy_tce"])
    m["clean_energy_share"] = ratio(m["clean_kgce"], m["energy_tce"] * KG_PER_T)
    if {"reused_water_t", "fresh_water_t"} <= set(m.columns):
        m["water_reuse"] = water_reuse_rate(m["reused_water_t"], m["fresh_water_t"])
    return m


def year_end_projection(monthly: pd.DataFrame, year: int, as_of: dt.date, entity: str) -> dict[str, Any]:
    """The year-end core indicator and clean-energy share projected as for dual control.

    Each total (CO2, energy, clean energy) is projected with :func:`greenpark.core.targets.seasonal_projection`
    (last year's monthly profile, else linear by days); the ratios are the ratios of the projected totals.
    ``monthly``: the output of :func:`monthly_trajectory` for ``year`` and the year before.
    """
    q = ["co2_t", "energy_tce", "clean_kgce"]
    long = monthly.assign(entity_id=entity, month=pd.to_datetime(monthly["month"])).melt(
        id_vars=["entity_id", "month"], value_vars=q, var_name="quantity", value_name="value").dropna(subset=["value"])
    proj = targets_core.seasonal_projection(long, year, as_of).set_index("quantity")
    if not {"co2_t", "energy_tce"} <= set(proj.index):
        return {"as_of": as_of.strftime("%Y-%m"), "carbon_per_energy": None, "clean_energy_share": None}
    p = proj["projection"]
    clean = float(p.get("clean_kgce", 0.0))
    return {"as_of": as_of.strftime("%Y-%m"), "method": str(proj.loc["energy_tce", "projection_method"]),
            "co2_t": float(p["co2_t"]), "energy_tce": float(p["energy_tce"]), "clean_kgce": clean,
            "carbon_per_energy": _num(ratio(p["co2_t"], p["energy_tce"])),
            "clean_energy_share": _num(ratio(clean, p["energy_tce"] * KG_PER_T))}


def what_if(co2_t: float, energy_tce: float, clean_kgce: float, *, pv_mwh: float = 0.0, green_mwh: float = 0.0,
            grid_factor: float, residual_factor: float | None, method: str, kgce_per_kwh: float,
            grid_mwh: float) -> dict[str, Any]:
    """The core indicator and the clean-energy share with added PV or green-electricity contracts.

    PV [MWh] consumed on site replaces grid electricity: CO2 falls by ``pv_mwh x factor`` (the location
    grid factor, or the residual factor of the market method) [tCO2/MWh]; comprehensive energy does not
    change (GB/T 2589 counts electricity at its calorific equivalent whatever its origin); clean energy
    rises by ``pv_mwh x 1000 x kgce_per_kwh``. Green-electricity contracts [MWh] lower CO2 only under the
    market method (by ``green_mwh x residual_factor``) and raise clean energy likewise. The replaced
    electricity is capped at the grid import ``grid_mwh``.
    """
    factor = grid_factor if method == "location" else (residual_factor if residual_factor is not None else grid_factor)
    replaced_pv = min(max(pv_mwh, 0.0), grid_mwh)
    replaced_green = min(max(green_mwh, 0.0), max(grid_mwh - replaced_pv, 0.0))
    co2 = co2_t - replaced_pv * factor - (replaced_green * factor if method == "market" else 0.0)
    clean = clean_kgce + (replaced_pv + replaced_green) * 1000.0 * kgce_per_kwh
    return {"pv_mwh": pv_mwh, "green_electricity_mwh": green_mwh, "co2_t": co2, "energy_tce": energy_tce,
            "clean_kgce": clean, "carbon_per_energy": _num(ratio(co2, energy_tce)),
            "clean_energy_share": _num(ratio(clean, energy_tce * KG_PER_T)),
            "factor_tco2_per_mwh": factor, "capped": replaced_pv + replaced_green < pv_mwh + green_mwh}


def _num(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x
