"""Goodness-of-fit statistics, savings uncertainty, data sufficiency and the fit-for-M&V verdict.

References
----------
[1] ASHRAE Guideline 14-2014, *Measurement of Energy, Demand, and Water Savings*. Statistical
    indices with the (n - p) degrees-of-freedom correction; whole-building compliance limits;
    Annex B savings uncertainty. Clause numbers are given as recalled from secondary sources and
    are marked "(to be confirmed)" in ``reference/data/mv_criteria.csv`` until read in the text.
[2] EVO, IPMVP Core Concepts 2022 (EVO 10000-1:2022), sections on uncertainty and baseline periods.
[3] CalTRACK Methods 2.0 (LF Energy / Recurve), section 2 (data sufficiency) and 3 (daily models).
[4] Reddy, T. A., Claridge, D. E. (2000), Uncertainty of "measured" energy savings from
    statistical baseline models, HVAC&R Research 6(1): the FSU formula adopted by [1] Annex B.

Every limit and constant comes from the ``mv_criteria`` reference dataset, never from code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _sps

from greenpark import reference
from greenpark.core.mv.data import DailyData, Flag, HourlyData


def criterion(id: str) -> dict[str, Any]:
    """One row of the ``mv_criteria`` dataset (value, unit, source, clause, status)."""
    return reference.load("mv_criteria").get(id)


def criterion_value(id: str) -> float:
    return float(criterion(id)["value"])


# --------------------------------------------------------------------------------------------
# Statistical indices [1]


def _clean(observed, predicted) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(observed, dtype=float)
    yh = np.asarray(predicted, dtype=float)
    ok = np.isfinite(y) & np.isfinite(yh)
    return y[ok], yh[ok]


def cvrmse(observed, predicted, n_params: int = 1) -> float:
    """Coefficient of variation of the root-mean-square error [1].

    ``CV(RMSE) = sqrt(sum((y_i - yhat_i)^2) / (n - p)) / ybar`` (ASHRAE Guideline 14-2014 [1],
    statistical indices with the degrees-of-freedom correction, p = number of model parameters).

    Parameters
    ----------
    observed, predicted : energy per period [meter unit]; NaN pairs are ignored
    n_params : p, number of fitted parameters (1 for a calibrated simulation)

    Returns
    -------
    CV(RMSE) [1] (fraction: 0.25 = 25 %)
    """
    y, yh = _clean(observed, predicted)
    dof = len(y) - n_params
    if dof <= 0 or y.mean() == 0:
        return float("nan")
    return float(np.sqrt(np.sum((y - yh) ** 2) / dof) / y.mean())


def nmbe(observed, predicted, n_params: int = 1) -> float:
    """Normalised mean bias error [1]: ``sum(y_i - yhat_i) / ((n - p) * ybar)`` [1] (fraction).

    Positive when the model under-predicts (measured above predicted), as in ASHRAE G14-2014.
    """
    y, yh = _clean(observed, predicted)
    dof = len(y) - n_params
    if dof <= 0 or y.mean() == 0:
        return float("nan")
    return float(np.sum(y - yh) / (dof * y.mean()))


def r_squared(observed, predicted) -> float:
    """Coefficient of determination ``1 - SSE / SST`` [1]."""
    y, yh = _clean(observed, predicted)
    sst = np.sum((y - y.mean()) ** 2)
    return float(1.0 - np.sum((y - yh) ** 2) / sst) if sst > 0 else float("nan")


def adjusted_r_squared(observed, predicted, n_params: int) -> float:
    """Adjusted R2 ``1 - (SSE/(n-p)) / (SST/(n-1))``, the model-selection criterion of CalTRACK [3] 3.4."""
    y, yh = _clean(observed, predicted)
    n = len(y)
    sst = np.sum((y - y.mean()) ** 2)
    if n - n_params <= 0 or sst <= 0:
        return float("nan")
    return float(1.0 - (np.sum((y - yh) ** 2) / (n - n_params)) / (sst / (n - 1)))


def lag1_autocorrelation(residuals) -> float:
    """Lag-1 autocorrelation coefficient rho of the residual series [1] Annex B.

    Missing days break the series: only pairs of consecutive valid values are used.
    """
    r = np.asarray(residuals, dtype=float)
    a, b = r[:-1], r[1:]
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return 0.0
    rr = r[np.isfinite(r)]
    mu = rr.mean()
    den = np.sum((rr - mu) ** 2)
    return float(np.sum((a[ok] - mu) * (b[ok] - mu)) / den) if den > 0 else 0.0


def goodness_of_fit(observed, predicted, n_params: int) -> dict[str, float]:
    """cvrmse, nmbe, r2, adj_r2, rmse [meter unit], n, p and rho of a baseline fit [1]."""
    y, yh = _clean(observed, predicted)
    n = len(y)
    resid = np.asarray(observed, float) - np.asarray(predicted, float)
    return {
        "cvrmse": cvrmse(y, yh, n_params),
        "nmbe": nmbe(y, yh, n_params),
        "r2": r_squared(y, yh),
        "adj_r2": adjusted_r_squared(y, yh, n_params),
        "rmse": float(np.sqrt(np.sum((y - yh) ** 2) / (n - n_params))) if n > n_params else float("nan"),
        "mean": float(y.mean()) if n else float("nan"),
        "n": n,
        "p": int(n_params),
        "rho": lag1_autocorrelation(resid),
    }


# --------------------------------------------------------------------------------------------
# Savings uncertainty [1] Annex B, [4]


def effective_sample_size(n: int, rho: float) -> float:
    """``n' = n (1 - rho) / (1 + rho)`` [1] Annex B; rho < 0 is taken as 0 (no inflation of n).

    The clamp is greenpark's documented choice: a negative lag-1 autocorrelation would make
    n' > n and shrink the uncertainty, which a third-party verifier would not accept.
    """
    rho = max(float(rho), 0.0)
    return n * (1.0 - rho) / (1.0 + rho)


def fractional_savings_uncertainty(cvrmse_value: float, n: int, m: int, savings_fraction: float, *,
                                   rho: float = 0.0, n_params: int = 1, confidence: float | None = None,
                                   factor: float | None = None) -> float:
    """Fractional savings uncertainty (FSU) of ASHRAE Guideline 14-2014 Annex B [1], [4].

    ``FSU = t * factor * CV * sqrt((n / n') * (1 + 2 / n) * (1 / m)) / F``

    with ``t`` the two-sided Student-t value at ``confidence`` with ``n' - p`` degrees of freedom,
    ``n' = n (1 - rho) / (1 + rho)``, ``CV`` the baseline CV(RMSE) (with n - p), ``m`` the number of
    reporting periods and ``F`` the savings fraction (savings / adjusted baseline).

    Parameters
    ----------
    cvrmse_value : baseline CV(RMSE) [1]
    n : baseline periods used in the fit [1]
    m : reporting periods [1]
    savings_fraction : F [1]
    rho : lag-1 autocorrelation of the baseline residuals [1]
    n_params : p [1]
    confidence : two-sided confidence level [1]; default the G14 level (``g14_fsu_confidence``)
    factor : empirical correction (default ``g14_fsu_factor`` = 1.26)

    Returns
    -------
    FSU [1] (absolute savings uncertainty divided by savings); inf when F = 0
    """
    confidence = criterion_value("g14_fsu_confidence") if confidence is None else confidence
    factor = criterion_value("g14_fsu_factor") if factor is None else factor
    n_eff = effective_sample_size(n, rho)
    dof = max(n_eff - n_params, 1.0)
    t = float(_sps.t.ppf(0.5 + confidence / 2.0, dof))
    if savings_fraction == 0:
        return float("inf")
    return float(t * factor * cvrmse_value * np.sqrt((n / n_eff) * (1.0 + 2.0 / n) / m) / abs(savings_fraction))


def savings_uncertainty(rmse: float, n: int, m: int, *, rho: float = 0.0, n_params: int = 1,
                        confidence: float | None = None, factor: float | None = None) -> float:
    """Absolute uncertainty of savings summed over m reporting periods [meter unit] [1] Annex B.

    Equal to ``FSU * savings``: ``t * factor * RMSE * sqrt((n / n') * (1 + 2 / n) * m)``.
    """
    confidence = criterion_value("g14_fsu_confidence") if confidence is None else confidence
    factor = criterion_value("g14_fsu_factor") if factor is None else factor
    n_eff = effective_sample_size(n, rho)
    dof = max(n_eff - n_params, 1.0)
    t = float(_sps.t.ppf(0.5 + confidence / 2.0, dof))
    return float(t * factor * rmse * np.sqrt((n / n_eff) * (1.0 + 2.0 / n) * m))


# --------------------------------------------------------------------------------------------
# Data sufficiency [3] section 2, [2]


def check_sufficiency(data: DailyData | HourlyData, *, require_production: bool = False) -> list[Flag]:
    """Data-sufficiency findings for a baseline period, each with a stable dotted code.

    Codes (``fatal`` unless noted):

    - ``mv.sufficiency.empty``               no rows at all
    - ``mv.sufficiency.too_few_days``        days with energy and temperature below
      ``caltrack_min_coverage`` x ``caltrack_baseline_days`` [3] 2.2
    - ``mv.sufficiency.baseline_too_short``  span shorter than ``caltrack_baseline_days`` [3] 2.2, [2]
    - ``mv.sufficiency.missing_temperature`` days with energy but no temperature; fatal when they
      push coverage below ``caltrack_min_coverage``, else a warning (those days are left out)
    - ``mv.sufficiency.missing_energy``      (warning) days in the span without energy
    - ``mv.sufficiency.negative_values``     negative energy readings (consumption meters) [3] 2.3
    - ``mv.sufficiency.constant_values``     energy does not vary: no model can be told from a constant
    - ``mv.sufficiency.constant_temperature`` (warning) temperature does not vary
    - ``mv.sufficiency.missing_production``  production required by the model but missing on days with energy
    """
    df = data.df
    flags: list[Flag] = list(data.flags)      # data-quality findings travel with the result
    if df.empty:
        return flags + [Flag("mv.sufficiency.empty", "no data in the baseline period", "fatal")]
    hourly = isinstance(data, HourlyData)
    per_day = 24 if hourly else 1
    span_days = (df.index.max() - df.index.min()) / pd.Timedelta(days=1) + 1.0 / per_day
    need_days = criterion_value("caltrack_baseline_days")
    coverage = criterion_value("caltrack_min_coverage")
    e = df["energy"].to_numpy(float)
    t = df["temperature"].to_numpy(float)
    has_e = np.isfinite(e)
    has_t = np.isfinite(t)
    valid = has_e & has_t
    valid_days = valid.sum() / per_day
    src = {"criterion": ["caltrack_baseline_days", "caltrack_min_coverage"]}
    if span_days < need_days - 1e-9:
        flags.append(Flag("mv.sufficiency.baseline_too_short",
                          f"baseline spans {span_days:.0f} days; at least {need_days:.0f} are needed to cover a "
                          "full year of weather and operation (CalTRACK 2.2, IPMVP Core Concepts 2022)",
                          "fatal", {"span_days": float(span_days), "required": need_days, **src}))
    if valid_days < coverage * need_days:
        flags.append(Flag("mv.sufficiency.too_few_days",
                          f"{valid_days:.0f} days have both energy and temperature; at least "
                          f"{coverage * need_days:.0f} ({coverage:.0%} of {need_days:.0f}) are needed",
                          "fatal", {"valid_days": float(valid_days), "required": coverage * need_days, **src}))
    miss_t = has_e & ~has_t
    if miss_t.any():
        fatal = valid_days < coverage * need_days
        flags.append(Flag("mv.sufficiency.missing_temperature",
                          f"{int(miss_t.sum())} {'hours' if hourly else 'days'} with energy have no temperature"
                          + ("" if fatal else "; they are left out of the fit"),
                          "fatal" if fatal else "warning", {"count": int(miss_t.sum())}))
    miss_e = ~has_e
    if miss_e.any():
        flags.append(Flag("mv.sufficiency.missing_energy",
                          f"{int(miss_e.sum())} {'hours' if hourly else 'days'} in the period have no energy data",
                          "warning", {"count": int(miss_e.sum())}))
    if (e[has_e] < 0).any():
        neg = np.flatnonzero(has_e & (np.nan_to_num(e) < 0))
        flags.append(Flag("mv.sufficiency.negative_values",
                          f"{len(neg)} negative energy value(s): a consumption meter cannot run backwards; "
                          "check for meter roll-over, export or sign errors",
                          "fatal", {"count": int(len(neg)),
                                    "first": [str(df.index[i].date()) for i in neg[:10]]}))
    ev = e[valid]
    if len(ev) and np.nanmax(ev) == np.nanmin(ev):
        flags.append(Flag("mv.sufficiency.constant_values",
                          f"energy is constant ({ev[0]:g}) over the baseline: a stuck or estimated meter",
                          "fatal", {"value": float(ev[0])}))
    tv = t[valid]
    if len(tv) and np.nanmax(tv) == np.nanmin(tv):
        flags.append(Flag("mv.sufficiency.constant_temperature",
                          "temperature is constant over the baseline: no weather dependence can be fitted",
                          "warning", {"value": float(tv[0])}))
    if require_production:
        if "production" not in df.columns:
            flags.append(Flag("mv.sufficiency.missing_production", "the model needs production but the data have none",
                              "fatal"))
        else:
            mp = has_e & ~np.isfinite(df["production"].to_numpy(float))
            if mp.any():
                flags.append(Flag("mv.sufficiency.missing_production",
                                  f"{int(mp.sum())} day(s) with energy have no production figure; they are left out",
                                  "warning", {"count": int(mp.sum())}))
    return flags


# --------------------------------------------------------------------------------------------
# Verdict


@dataclass
class Verdict:
    """Whether a baseline model is fit for M&V, with the coded reasons and the criteria applied."""

    fit: bool
    codes: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    criteria: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"fit": self.fit, "label": "fit for M&V" if self.fit else "not fit for M&V",
                "codes": self.codes, "flags": [f.to_dict() for f in self.flags], "criteria": self.criteria}


def _cvrmse_row(reporting_months: float) -> dict[str, Any]:
    rows = [r for r in reference.load("mv_criteria").rows if r["kind"] == "verdict" and r["metric"] == "cvrmse"]
    for r in rows:
        lo = r["reporting_months_min"] if r["reporting_months_min"] is not None else -np.inf
        hi = r["reporting_months_max"] if r["reporting_months_max"] is not None else np.inf
        if lo <= reporting_months < hi:
            return r
    return rows[-1]


def verdict(metrics: dict[str, float], *, flags: list[Flag] = (), reporting_months: float = 12.0,
            fsu: float | None = None) -> Verdict:
    """Fit-for-M&V verdict of a regression baseline (IPMVP Option B/C) [1], [2].

    Not fit when any ``fatal`` flag is present (insufficient data), when CV(RMSE) exceeds the
    ASHRAE G14 whole-building limit for the reporting-period length (``g14_wb_cvrmse_*``), when
    |NMBE| exceeds ``g14_wb_nmbe``, or, when ``fsu`` is given, when FSU at the G14 confidence
    exceeds ``g14_fsu``. An intercept-only model is allowed but reported (``mv.model.intercept_only``
    arrives as a warning flag from the model).

    Parameters
    ----------
    metrics : output of :func:`goodness_of_fit` (cvrmse, nmbe [1])
    flags : sufficiency and model flags
    reporting_months : length of the reporting period [month]
    fsu : fractional savings uncertainty at the G14 confidence [1], optional
    """
    flags = list(flags)
    codes = [f.code for f in flags if f.severity == "fatal"]
    out_flags = list(flags)
    rows = []
    cv_row = _cvrmse_row(reporting_months)
    rows.append(reference.citation(cv_row))
    cv = metrics.get("cvrmse", float("nan"))
    if not np.isfinite(cv) or cv > cv_row["value"]:
        codes.append("mv.verdict.cvrmse_above_limit")
        out_flags.append(Flag("mv.verdict.cvrmse_above_limit",
                              f"baseline CV(RMSE) {cv:.1%} exceeds {cv_row['value']:.0%} ({cv_row['id']})", "fatal",
                              {"cvrmse": cv, "limit": cv_row["value"], "criterion": cv_row["id"]}))
    nm_row = criterion("g14_wb_nmbe")
    rows.append(reference.citation(nm_row))
    nm = metrics.get("nmbe", float("nan"))
    if not np.isfinite(nm) or abs(nm) > nm_row["value"]:
        codes.append("mv.verdict.nmbe_above_limit")
        out_flags.append(Flag("mv.verdict.nmbe_above_limit",
                              f"baseline |NMBE| {abs(nm):.3%} exceeds {nm_row['value']:.1%} ({nm_row['id']})", "fatal",
                              {"nmbe": nm, "limit": nm_row["value"], "criterion": nm_row["id"]}))
    if fsu is not None:
        f_row = criterion("g14_fsu")
        rows.append(reference.citation(f_row))
        if not np.isfinite(fsu) or fsu > f_row["value"]:
            codes.append("mv.verdict.fsu_above_limit")
            out_flags.append(Flag("mv.verdict.fsu_above_limit",
                                  f"savings uncertainty {fsu:.0%} of savings exceeds {f_row['value']:.0%} at "
                                  f"{criterion_value('g14_fsu_confidence'):.0%} confidence: savings are not "
                                  "distinguishable from model noise", "fatal",
                                  {"fsu": fsu, "limit": f_row["value"], "criterion": f_row["id"]}))
    return Verdict(fit=not codes, codes=codes, flags=out_flags, criteria=rows)
