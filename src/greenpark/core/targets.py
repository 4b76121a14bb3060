"""Dual control (双控) of carbon and energy: yearly targets, progress to date, year-end projection, status.

Pure functions over tables; no IO. A target caps, for one enterprise or the park and one calendar year,
one of the metrics in :data:`METRICS`: total CO2 [tCO2], CO2 intensity [tCO2/10^4 CNY value added],
total energy [tce] or energy intensity [tce/10^4 CNY]. Which energy counts (e.g. non-fossil energy is not
counted in energy-consumption control, 发改环资〔2024〕113号) is decided by the energy
accounts that produce the monthly tce; this module takes the monthly figures as given.

Projection of the year-end total [same unit as the monthly figures]
-------------------------------------------------------------------
Seasonal (default): ``projection = to_date / share``, where ``share`` is the part of last year's annual
total that fell in the same calendar months (January .. the as-of month). It needs all 12 months of last
year and a positive share. Otherwise linear by days: ``projection = to_date x days_in_year /
days_elapsed`` (days from Jan 1 to the end of the as-of month), with the flag
``targets.projection.linear_fallback``. Intensity projection = projected total / the year's value added.

Status (thresholds are data: ``carbon_rules.csv`` topic ``dual_control_status``; greenpark policy, not
a standard, overridable with USER rows through ``carbon.factor_library(user_rules=...)``):

- ``exceeded``: the actual already exceeds the cap (total caps: to-date total > cap; intensity caps: only
  once the year is complete, annual intensity > cap);
- ``at_risk``: projection > at_risk_share x cap (default 0.95);
- ``on_track``: otherwise;
- ``unknown``: the figure cannot be computed (no monthly data, or no value added for an intensity cap).

``margin = cap - projection`` (negative = projected overshoot) and ``margin_pct = 100 x margin / cap``.

API
---
``dual_control(targets, monthly, year, *, economics=None, as_of=None, park_id=None, library=None)
-> TargetsResult``; ``to_json_dict(result) -> dict`` (what ``greenpark targets --year Y --format json``
prints)::

    {"year": 2025, "as_of": "2025-06", "thresholds": {"at_risk_share": 0.95, "source": ..},
     "targets": [{"entity_id", "metric", "unit", "cap", "to_date", "months_to_date", "projection",
                  "projection_method", "share_last_year", "value_added_10k_cny", "status", "margin",
                  "margin_pct", "flags"}],
     "flags": [{"code", "severity", "message", "ids"}]}

Input tables
------------
``targets``: ``entity_id`` (enterprise id, or the park id for the park), ``year``, ``metric`` (a key of
:data:`METRICS`), ``cap`` [metric unit], optional ``source``.
``monthly``: ``enterprise_id, month`` (first day of month), ``co2_t`` [tCO2], ``energy_tce`` [tce]; the
reporting year and the year before. Rows whose enterprise_id is the park id are the park's own
(public) consumption; the park total is the sum of all rows.
``economics``: ``enterprise_id, year, value_added_10k_cny`` [10^4 CNY]; the park's value added is its own
row when given, else the sum of the enterprises'.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from greenpark.core import carbon
from greenpark.errors import InputError

#: metric -> (monthly quantity it is computed from, whether it is per value added, unit)
METRICS: dict[str, tuple[str, bool, str]] = {
    "co2_t": ("co2_t", False, "tCO2"),
    "co2_intensity": ("co2_t", True, "tCO2/10^4 CNY"),
    "energy_tce": ("energy_tce", False, "tce"),
    "energy_intensity": ("energy_tce", True, "tce/10^4 CNY"),
}
STATUSES = ("on_track", "at_risk", "exceeded", "unknown")


class TargetsError(InputError, ValueError):
    """Invalid targets or monthly tables; the message says what to fix."""


@dataclass
class TargetsResult:
    year: int
    as_of: dt.date
    table: pd.DataFrame
    thresholds: dict[str, Any]
    flags: list[dict[str, Any]]


def _thresholds(library: carbon.FactorLibrary | None) -> dict[str, Any]:
    lib = library or carbon.factor_library()
    rows = lib.rules[(lib.rules["topic"] == "dual_control_status") & (lib.rules["id"] == "at_risk_share")]
    if rows.empty:
        raise TargetsError("carbon_rules: no dual_control_status rule 'at_risk_share'")
    r = rows.iloc[-1]
    return {"at_risk_share": float(r["value"]), "source": str(r["source"]), "status": str(r["status"])}


def seasonal_projection(monthly: pd.DataFrame, year: int, as_of: dt.date) -> pd.DataFrame:
    """Year-end projection per (entity_id, quantity) from this year's months and last year's profile.

    Parameters
    ----------
    monthly : DataFrame
        Long table ``entity_id, month, quantity, value``.
    year : int
        Reporting year.
    as_of : date
        Any day of the last month counted.

    Returns
    -------
    DataFrame ``entity_id, quantity, to_date, months_to_date, share_last_year, projection,
    projection_method`` (``seasonal_last_year`` or ``linear_days``).
    """
    m = monthly.assign(y=monthly["month"].dt.year, mo=monthly["month"].dt.month)
    cur = m[(m["y"] == year) & (m["mo"] <= as_of.month)]
    last = m[m["y"] == year - 1]
    keys = ["entity_id", "quantity"]
    out = cur.groupby(keys, as_index=False).agg(to_date=("value", "sum"), months_to_date=("month", "nunique"))
    lt = last.groupby(keys).agg(last_total=("value", "sum"), last_months=("month", "nunique"))
    ls = last[last["mo"] <= as_of.month].groupby(keys)["value"].sum().rename("last_same")
    out = out.join(lt, on=keys).join(ls, on=keys)
    ok = (out["last_months"] == 12) & (out["last_total"] > 0) & (out["last_same"] > 0)
    out["share_last_year"] = np.where(ok, out["last_same"] / out["last_total"].where(ok), np.nan)
    start = dt.date(year, 1, 1)
    month_end = (pd.Timestamp(year, as_of.month, 1) + pd.offsets.MonthEnd(0)).date()
    days_elapsed = (month_end - start).days + 1
    days_year = (dt.date(year + 1, 1, 1) - start).days
    linear = out["to_date"] * days_year / days_elapsed
    out["projection"] = np.where(ok, out["to_date"] / out["share_last_year"], linear)
    out["projection_method"] = np.where(ok, "seasonal_last_year", "linear_days")
    return out.drop(columns=["last_total", "last_months", "last_same"])


def dual_control(targets: Any, monthly: Any, year: int, *, economics: Any = None, as_of: dt.date | None = None,
                 park_id: str | None = None, library: carbon.FactorLibrary | None = None) -> TargetsResult:
    """Progress, projection and status of every target of ``year`` (module docstring)."""
    t = carbon._table(targets, "targets")
    mo = carbon._table(monthly, "monthly")
    carbon._require(t, ("entity_id", "year", "metric", "cap"), "targets")
    carbon._require(mo, ("enterprise_id", "month"), "monthly")
    t = t[t["year"] == year].copy()
    bad = sorted(set(t["metric"]) - set(METRICS))
    if bad:
        raise TargetsError(f"targets: unknown metric(s) {bad}; valid metrics: {', '.join(METRICS)}")
    if (t["cap"].astype(float) <= 0).any():
        raise TargetsError(f"targets: caps must be > 0; check {t.loc[t['cap'] <= 0, 'entity_id'].tolist()}")
    dup = t[t.duplicated(["entity_id", "metric"], keep=False)]
    if len(dup):
        raise TargetsError(f"targets: several caps for the same entity and metric: "
                           f"{sorted(set(zip(dup['entity_id'], dup['metric'], strict=True)))}")
    quantities = [q for q in ("co2_t", "energy_tce") if q in mo.columns]
    mo["month"] = pd.to_datetime(mo["month"])
    long = mo.melt(id_vars=["enterprise_id", "month"], value_vars=quantities, var_name="quantity",
                   value_name="value").rename(columns={"enterprise_id": "entity_id"}).dropna(subset=["value"])
    if park_id is not None:
        park = long.groupby(["month", "quantity"], as_index=False)["value"].sum().assign(entity_id=park_id)
        long = pd.concat([long[long["entity_id"] != park_id], park], ignore_index=True)
    this_year = long[long["month"].dt.year == year]
    if as_of is None:
        if this_year.empty:
            raise TargetsError(f"monthly: no data for {year}; give as_of or the months of {year}")
        as_of = this_year["month"].max().date()
    proj = seasonal_projection(long, year, as_of)

    flags: list[dict] = []
    t["quantity"] = t["metric"].map(lambda k: METRICS[k][0])
    t["per_value_added"] = t["metric"].map(lambda k: METRICS[k][1])
    t["unit"] = t["metric"].map(lambda k: METRICS[k][2])
    t["cap"] = t["cap"].astype(float)
    out = t.merge(proj, on=["entity_id", "quantity"], how="left")

    va = pd.Series(dtype=float)
    e = carbon._table(economics, "economics")
    if len(e):
        carbon._require(e, ("enterprise_id", "year", "value_added_10k_cny"), "economics")
        e = e[e["year"] == year]
        va = e.groupby("enterprise_id")["value_added_10k_cny"].sum()
        if park_id is not None and park_id not in va.index:
            va.loc[park_id] = e.loc[e["enterprise_id"] != park_id, "value_added_10k_cny"].sum()
    out["value_added_10k_cny"] = out["entity_id"].map(va).astype(float)
    per = out["per_value_added"].astype(bool)
    denom = np.where(per, out["value_added_10k_cny"], 1.0)
    denom = np.where(per & ~(out["value_added_10k_cny"] > 0), np.nan, denom)
    year_complete = as_of.month == 12
    actual = out["to_date"] / denom
    projection = out["projection"] / denom
    out["to_date"] = np.where(per, np.where(year_complete, actual, np.nan), out["to_date"])
    out["projection"] = projection
    share = _thresholds(library)
    exceeded = out["to_date"] > out["cap"]
    at_risk = out["projection"] > share["at_risk_share"] * out["cap"]
    out["status"] = np.select([out["projection"].isna(), exceeded, at_risk], ["unknown", "exceeded", "at_risk"],
                              "on_track")
    out["margin"] = out["cap"] - out["projection"]
    out["margin_pct"] = 100.0 * out["margin"] / out["cap"]
    out["as_of"] = as_of.strftime("%Y-%m")

    code_rows = {
        "targets.projection.linear_fallback": (out["projection_method"] == "linear_days",
                                               "last year's monthly profile is incomplete: projected linearly by days"),
        "targets.intensity.no_value_added": (per & out["value_added_10k_cny"].isna() | per & (out["value_added_10k_cny"] <= 0),
                                             "no value added for the year: intensity cannot be computed"),
        "targets.data.no_monthly_data": (out["months_to_date"].isna(), "no monthly figures this year"),
        "targets.data.missing_months": (out["months_to_date"] < as_of.month,
                                        f"fewer monthly figures than months from January to {as_of:%Y-%m}"),
    }
    out["flags"] = [[] for _ in range(len(out))]
    for code, (mask, msg) in code_rows.items():  # a few flag codes
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            flags.append(carbon._flag(code, msg, out.loc[mask, "entity_id"].astype(str).tolist()))
            for i in np.flatnonzero(mask.to_numpy()):
                out.at[out.index[i], "flags"] = [*out.at[out.index[i], "flags"], code]
    cols = ["entity_id", "year", "metric", "unit", "cap", "to_date", "months_to_date", "projection",
            "projection_method", "share_last_year", "value_added_10k_cny", "status", "margin", "margin_pct",
            "as_of", "flags"] + (["source"] if "source" in out.columns else [])
    return TargetsResult(year=year, as_of=as_of, table=out[cols].reset_index(drop=True), thresholds=share, flags=flags)


def to_json_dict(result: TargetsResult, ndigits: int = 4) -> dict[str, Any]:
    """The dict ``greenpark targets --format json`` prints (shape in the module docstring)."""
    def num(v: Any) -> Any:
        if isinstance(v, (float, np.floating)):
            return None if np.isnan(v) else round(float(v), ndigits)
        if isinstance(v, np.integer):
            return int(v)
        return v

    rows = [{k: num(v) for k, v in r.items() if k != "as_of"} for r in result.table.to_dict("records")]
    for r in rows:
        if r.get("months_to_date") is not None:
            r["months_to_date"] = int(r["months_to_date"])
    return {"year": result.year, "as_of": result.as_of.strftime("%Y-%m"), "thresholds": result.thresholds,
            "targets": rows, "flags": result.flags}
