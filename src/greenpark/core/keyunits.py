"""Key energy-using unit monitoring indicators (重点用能单位能耗在线监测), pure calculations.

Per unit and month: comprehensive energy consumption [tce] (GB/T 2589-2020, from the monthly
rollups), completeness (readings stored / readings expected) against ``completeness_min``, and the
day-versus-month consistency (|sum of the daily figures - the unit's monthly report| / monthly
report) against ``day_month_max_deviation``; both limits from reference/data/keyunit_monitoring.csv
(status C1: one secondary reprint). Per unit and quota-covered product (:func:`product_energy`): the
output, the energy attributed to it and the unit-product energy [kgce/unit] against the quota's
grade 1 and grade 2 (the formula and the grades of the park's indicators:
:func:`greenpark.core.energy.unit_product_energy`, :func:`greenpark.core.indicators.product_grades`). Months are labelled by their start (the monitoring time label:
the 1st at 00:00). The upload format of the provincial platforms (GB/T 37947.x) was not read and
is not produced.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from greenpark import reference
from greenpark.findings import flag


def limits() -> dict[str, dict[str, Any]]:
    t = reference.load("keyunit_monitoring")
    return {k: t.get(k) for k in ("completeness_min", "day_month_max_deviation")}


def monthly_checks(months: pd.DataFrame, reports: pd.DataFrame | None) -> tuple[pd.DataFrame, list[dict]]:
    """``months``: unit_id, month (date), energy_tce, day_sum_tce, n_readings, expected (one row per
    unit and month). ``reports``: unit_id, month (``YYYY-MM``), energy_tce (the unit's monthly
    report) or None. Returns the rows with completeness, report_tce, deviation and the two verdicts
    (``ok`` / ``fail`` / ``no_report``), and the flags (one per code, the units and months in ids)."""
    lim = limits()
    cmin = float(lim["completeness_min"]["value"])
    dmax = float(lim["day_month_max_deviation"]["value"])
    m = months.copy()
    m["month_label"] = pd.to_datetime(m["month"]).dt.strftime("%Y-%m")
    m["completeness"] = (m["n_readings"] / m["expected"]).where(m["expected"] > 0)
    if reports is not None and len(reports):
        r = reports.rename(columns={"month": "month_label", "energy_tce": "report_tce"})
        m = m.merge(r[["unit_id", "month_label", "report_tce"]], on=["unit_id", "month_label"], how="left")
    else:
        m["report_tce"] = float("nan")
    m["deviation"] = ((m["day_sum_tce"] - m["report_tce"]).abs() / m["report_tce"]).where(m["report_tce"] > 0)
    m["completeness_ok"] = m["completeness"] >= cmin
    m["day_month"] = "ok"
    m.loc[m["report_tce"].isna(), "day_month"] = "no_report"
    m.loc[m["deviation"] > dmax, "day_month"] = "fail"
    flags = []
    bad = m[~m["completeness_ok"] & (m["n_readings"] > 0)]
    if len(bad):
        flags.append(flag("keyunit.incomplete", f"{len(bad)} unit-months below {cmin:.0%} of the expected readings "
                          f"[{lim['completeness_min']['status']}] ({lim['completeness_min']['source']})",
                          ids=[f"{u}:{x}" for u, x in zip(bad["unit_id"], bad["month_label"], strict=True)]))
    bad = m[m["day_month"] == "fail"]
    if len(bad):
        flags.append(flag("keyunit.day_month_mismatch", f"{len(bad)} unit-months whose daily figures differ from the "
                          f"monthly report by more than {dmax:.0%} [{lim['day_month_max_deviation']['status']}] "
                          f"({lim['day_month_max_deviation']['source']})",
                          ids=[f"{u}:{x}" for u, x in zip(bad["unit_id"], bad["month_label"], strict=True)]))
    bad = m[(m["day_month"] == "no_report") & (m["n_readings"] > 0)]
    if len(bad):
        flags.append(flag("keyunit.no_monthly_report", severity="info",
                          ids=[f"{u}:{x}" for u, x in zip(bad["unit_id"], bad["month_label"], strict=True)]))
    return m, flags


def unit_table(m: pd.DataFrame) -> pd.DataFrame:
    """One row per unit: energy [tce], worst month's completeness, months failing each check."""
    g = m.groupby("unit_id")
    return pd.DataFrame({
        "energy_tce": g["energy_tce"].sum(),
        "completeness_min": g["completeness"].min(),
        "months_incomplete": g["completeness_ok"].apply(lambda s: int((~s).sum())),
        "months_day_month_fail": g["day_month"].apply(lambda s: int((s == "fail").sum())),
        "months_no_report": g["day_month"].apply(lambda s: int((s == "no_report").sum())),
        "max_deviation": g["deviation"].max(),
    }).reset_index()


#: why a product-month has no unit energy although the product has output
MONTH_IN_PROGRESS = "month in progress: the output is declared per whole month"

PRODUCT_COLUMNS = ["unit_id", "product_id", "name_zh", "name_en", "unit", "months", "months_incomplete", "output",
                   "energy_kgce", "kgce_per_unit", "grade1", "grade2", "grade", "standard", "quota_source", "note"]
PRODUCT_MONTH_COLUMNS = ["unit_id", "product_id", "month", "output", "energy_kgce", "kgce_per_unit", "note"]


def complete_months(year: int, as_of: dt.date) -> list[dt.date]:
    """The months of ``year`` (their 1st) that end on or before ``as_of`` (the last day with data)."""
    out = []
    for m in range(1, 13):
        nxt = dt.date(year + (m == 12), m % 12 + 1, 1)
        if nxt - dt.timedelta(days=1) <= as_of:
            out.append(dt.date(year, m, 1))
    return out


def product_energy(months: pd.DataFrame, products: pd.DataFrame, quotas: pd.DataFrame,
                   complete: list[dt.date]) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Unit-product energy of the quota-covered products of key units.

    ``months``: ``unit_id, month`` (date, the 1st), ``energy_kgce`` [kgce] (the unit's comprehensive
    energy consumption of the month; one row per unit and month of the report) and optionally
    ``completeness_ok`` (:func:`monthly_checks`). ``products``:
    ``unit_id, product_id, name_zh, name_en, unit, month, output`` [product unit] (park.toml
    ``[[products]]`` of the year, one row per product and month). ``quotas``: ``product_id, standard,
    grade1, grade2`` [kgce/unit], ``quota_source``. ``complete``: the months whose data is complete in
    time (:func:`complete_months`).

    Returns (per unit and quota-covered product: :data:`PRODUCT_COLUMNS`; per unit, product and month
    of ``months``: :data:`PRODUCT_MONTH_COLUMNS`; flags). The annual figure covers the complete months
    (``months`` counts them): output and energy summed over them, kgce_per_unit =
    energy / output when the unit makes one product that year (energy is not allocated between
    several products: None and a note, as in the park's energy accounts). A month in progress has
    no monthly unit energy (its output is a whole month's). ``months_incomplete`` counts the
    months taken whose readings are below the completeness limit: their energy is understated and
    the grade may look better than it is (flag ``keyunit.product_energy_incomplete``). Units
    without quota-covered products have no rows.
    """
    from greenpark.core.energy import unit_product_energy, unit_product_note
    from greenpark.core.indicators import product_grades

    if products.empty or quotas.empty:
        return pd.DataFrame(columns=PRODUCT_COLUMNS), pd.DataFrame(columns=PRODUCT_MONTH_COLUMNS), []
    prods = products.copy()
    prods["month"] = pd.to_datetime(prods["month"])
    n = prods.groupby("unit_id")["product_id"].nunique().rename("n_products")
    covered = prods[prods["product_id"].isin(quotas["product_id"])].merge(n, on="unit_id")
    energy = months.assign(month=pd.to_datetime(months["month"]))
    energy["incomplete"] = ~energy["completeness_ok"].astype(bool) if "completeness_ok" in energy else False
    energy = energy[["unit_id", "month", "energy_kgce", "incomplete"]]
    pm = covered.merge(energy, on=["unit_id", "month"], how="inner")  # the report's months only
    done = pm["month"].isin(pd.to_datetime(pd.Series(complete, dtype=object)))
    pm["kgce_per_unit"] = unit_product_energy(pm["energy_kgce"], pm["output"], pm["n_products"])
    pm.loc[~done, "kgce_per_unit"] = float("nan")
    pm["note"] = pd.Series(unit_product_note(pm["output"], pm["n_products"]), index=pm.index, dtype=object)
    pm.loc[~done & pm["note"].isna(), "note"] = MONTH_IN_PROGRESS
    pm.loc[pm["n_products"] > 1, "energy_kgce"] = float("nan")  # not attributed to one product
    full = pm[done]
    keys = ["unit_id", "product_id", "name_zh", "name_en", "unit", "n_products"]
    ann = covered[keys].drop_duplicates().merge(
        full.groupby(["unit_id", "product_id"], as_index=False).agg(
            months=("month", "size"), months_incomplete=("incomplete", "sum"), output=("output", "sum"),
            energy_kgce=("energy_kgce", "sum")),
        on=["unit_id", "product_id"], how="left")
    ann["months"] = ann["months"].fillna(0).astype(int)
    ann["months_incomplete"] = ann["months_incomplete"].fillna(0).astype(int)
    ann["kgce_per_unit"] = unit_product_energy(ann["energy_kgce"], ann["output"], ann["n_products"])
    ann["note"] = pd.Series(unit_product_note(ann["output"].fillna(0.0), ann["n_products"]), index=ann.index,
                            dtype=object)
    ann.loc[ann["months"] == 0, "note"] = "no complete month of data yet"
    ann.loc[ann["n_products"] > 1, "energy_kgce"] = float("nan")
    ann = ann.merge(quotas[["product_id", "standard", "grade1", "grade2", "quota_source"]], on="product_id", how="left")
    ann = product_grades(ann).sort_values(["unit_id", "product_id"]).reset_index(drop=True)
    pm["month"] = pm["month"].dt.strftime("%Y-%m-01T00:00")  # time label: start of the period
    pm = pm.sort_values(["unit_id", "product_id", "month"]).reset_index(drop=True)
    flags = []
    bad = ann[ann["grade"] == "above_grade2"]
    if len(bad):
        flags.append(flag("keyunit.product_above_grade2",
                          f"{len(bad)} quota-covered products whose unit energy is above the quota's grade 2 "
                          "(park.toml [[energy_quotas]]; see each product's standard and source)",
                          ids=[f"{u}:{p}" for u, p in zip(bad["unit_id"], bad["product_id"], strict=True)]))
    bad = ann[(ann["months_incomplete"] > 0) & ann["kgce_per_unit"].notna()]
    if len(bad):
        flags.append(flag("keyunit.product_energy_incomplete",
                          f"{len(bad)} quota-covered products whose unit energy counts months below the completeness "
                          "limit: their energy is understated and the grade may look better than it is",
                          ids=[f"{u}:{p}" for u, p in zip(bad["unit_id"], bad["product_id"], strict=True)]))
    return ann[PRODUCT_COLUMNS], pm[PRODUCT_MONTH_COLUMNS], flags
