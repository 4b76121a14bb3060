"""Dual-control targets of a park (greenpark.core.targets): park.toml's ``[[targets]]``, the carbon
accounts and the GB/T 2589 energy accounts in.

CO2 per month comes from :func:`greenpark.services.carbon_accounts.carbon_report` (the factors of the
published result of each year when there is one, never publishing from here); energy per month from
:func:`greenpark.services.energy.monthly_energy_tce`, the same rollup reads as ``greenpark energy``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from greenpark import reference
from greenpark.core import carbon, targets
from greenpark.park import Park
from greenpark.services import energy
from greenpark.services.carbon_accounts import AccountsError, activity, carbon_report, factor_library


# ---------------------------------------------------------------------------------------------
def targets_table(park: Park) -> pd.DataFrame:
    cols = ["entity_id", "year", "metric", "cap", "source"]
    return pd.DataFrame([{"entity_id": t.entity, "year": t.year, "metric": t.metric, "cap": t.cap,
                          "source": t.source} for t in park.targets], columns=cols)


def economics_table(park: Park) -> pd.DataFrame:
    cols = ["enterprise_id", "year", "value_added_10k_cny"]
    return pd.DataFrame([{"enterprise_id": e.id, "year": x.year, "value_added_10k_cny": x.value_added_10k_cny}
                         for e in park.enterprises for x in e.economics if x.value_added_10k_cny is not None],
                        columns=cols)


@dataclass
class TargetsReport:
    result: targets.TargetsResult
    #: per year: how its CO2 was computed (published result id or current factors)
    co2_basis: dict[int, dict[str, Any]]
    energy_basis: str


def targets_report(store, park: Park, year: int, as_of: dt.date | None = None) -> TargetsReport:
    """Dual-control status of every ``[[targets]]`` row of ``year`` (greenpark.core.targets), from rollups.

    CO2: Scope 1 + Scope 2 of ``[carbon] targets_method`` per month, for ``year`` and the year before
    (seasonal profile), with the factors of the published result of each year when there is one (never
    publishing from here). Energy: GB/T 2589 tce per month (:func:`greenpark.services.energy.monthly_energy_tce`), less non-fossil
    electricity when ``[carbon] targets_energy = "excluding_non_fossil"``.
    """
    if not any(t.year == year for t in park.targets):
        years = sorted({t.year for t in park.targets})
        raise AccountsError(f"no [[targets]] for {year} in park.toml"
                            + (f"; targets exist for {', '.join(map(str, years))}" if years else
                               ": add [[targets]] entries (see the README, 'Carbon sections')"))
    lib = factor_library(park)
    parts, basis = [], {}
    cert_months = []
    for y in (year - 1, year):
        act = activity(store.con, park, y)
        if act.empty:
            basis[y] = {"status": "no data"}
            continue
        rep = carbon_report(store, park, y, method="both", write=False)
        parts.append(carbon.monthly_co2(rep.result, park.carbon.targets_method))
        basis[y] = {"status": rep.status, "result_id": rep.published.result_id if rep.published else None,
                    "method": park.carbon.targets_method, "selection": rep.result.selection}
        if rep.result.certificate_months is not None and len(rep.result.certificate_months):
            cert_months.append(rep.result.certificate_months)
    co2 = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["enterprise_id", "month", "co2_t"])
    tce = energy.monthly_energy_tce(store.con, park, dt.date(year - 1, 1, 1), dt.date(year + 1, 1, 1))
    if park.carbon.targets_energy == "excluding_non_fossil":
        elec = reference.load("gbt2589_coefficients").get(
            park.accounting.coefficients.get("electricity",
                                             reference.load("carriers").get("electricity")["default_coefficient"]))
        kgce_per_kwh = float(elec["value"])
        cm = pd.concat(cert_months, ignore_index=True) if cert_months else pd.DataFrame(columns=["enterprise_id", "month", "mwh"])
        if len(cm):
            cm = cm.assign(month=pd.to_datetime(cm["month"])).groupby(["enterprise_id", "month"], as_index=False)["mwh"].sum()
            tce = tce.merge(cm, on=["enterprise_id", "month"], how="left")
        else:
            tce["mwh"] = 0.0
        tce["energy_tce"] = tce["energy_tce"] - (np.maximum(tce["renewable_kgce"], 0.0)
                                                 + tce["mwh"].fillna(0.0) * 1000.0 * kgce_per_kwh) / 1000.0
    if as_of is None:  # the last month with metered data (process rows are entered for all 12 months)
        metered = tce.loc[tce["month"].dt.year == year, "month"]
        as_of = metered.max().date() if len(metered) else None
    monthly = co2.assign(month=pd.to_datetime(co2["month"])).merge(
        tce[["enterprise_id", "month", "energy_tce"]], on=["enterprise_id", "month"], how="outer")
    try:
        res = targets.dual_control(targets_table(park), monthly, year, economics=economics_table(park), as_of=as_of,
                                   park_id=park.park.id, library=lib)
    except (targets.TargetsError, carbon.CarbonError) as exc:
        raise AccountsError(str(exc)) from None
    prev = set(monthly.loc[monthly["month"].dt.year == year - 1, "enterprise_id"])
    cur = set(monthly.loc[monthly["month"].dt.year == year, "enterprise_id"])
    park_rows = res.table["entity_id"] == park.park.id
    if prev and prev != cur and park_rows.any():  # the park's seasonal profile is the sum of fewer owners
        res.flags.append(carbon.flag(
            "targets.projection.partial_last_year",
            f"last year's monthly figures cover {len(prev & cur)} of the {len(cur)} owners with data this year: "
            "the park's seasonal profile comes from those only", [park.park.id]))
    ebasis = ("GB/T 2589-2020 comprehensive energy consumption (as greenpark energy)"
              if park.carbon.targets_energy == "gbt2589" else
              "GB/T 2589-2020 comprehensive consumption less on-site renewable electricity consumed and certified "
              f"green electricity at {kgce_per_kwh} kgce/kWh (greenpark reading of 发改环资〔2024〕113号)")
    return TargetsReport(result=res, co2_basis=basis, energy_basis=ebasis)


def targets_json(report: TargetsReport, ndigits: int = 4) -> dict[str, Any]:
    """The dict ``greenpark targets --format json`` prints (:func:`greenpark.core.targets.to_json_dict` plus basis)."""
    d = targets.to_json_dict(report.result, ndigits)
    d["basis"] = {"co2": {str(k): v for k, v in report.co2_basis.items()}, "energy": report.energy_basis}
    return d
