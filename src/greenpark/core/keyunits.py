"""Key energy-using unit monitoring indicators (重点用能单位能耗在线监测), pure calculations.

Per unit and month: comprehensive energy consumption [tce] (GB/T 2589-2020, from the monthly
rollups), completeness (readings stored / readings expected) against ``completeness_min``, and the
day-versus-month consistency (|sum of the daily figures - the unit's monthly report| / monthly
report) against ``day_month_max_deviation``; both limits from reference/data/keyunit_monitoring.csv
(status C1: one secondary reprint). Months are labelled by their start (the monitoring time label:
the 1st at 00:00). The upload format of the provincial platforms (GB/T 37947.x) was not read and
is not produced.
"""

from __future__ import annotations

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
