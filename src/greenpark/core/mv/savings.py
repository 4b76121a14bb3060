"""Avoided energy over a reporting period, with uncertainty, non-routine adjustments, tce and tCO2.

IPMVP Core Concepts 2022 (EVO 10000-1:2022), "avoided energy consumption" (reporting-period
basis): ``savings = (adjusted baseline - reporting-period energy) +/- non-routine adjustments``,
where the adjusted baseline is the baseline model evaluated on reporting-period conditions
(weather, production, calendar). Uncertainty: ASHRAE Guideline 14-2014 Annex B (see
:mod:`greenpark.core.mv.stats`).

Pure functions over DataFrames/arrays: nothing here reads files or a store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from greenpark.core.mv.data import Flag, MVError
from greenpark.core.mv.stats import criterion_value, fractional_savings_uncertainty, savings_uncertainty


class AdjustmentError(MVError, ValueError):
    """A non-routine adjustment that cannot be applied (no reason, period outside reporting)."""


@dataclass(frozen=True)
class NonRoutineAdjustment:
    """A non-routine adjustment of the baseline (IPMVP Core Concepts 2022, non-routine adjustments).

    ``amount`` [meter unit] is *added to the adjusted baseline* over ``start`` .. ``end`` (inclusive
    dates): positive when a static factor raised the energy the facility would have used without
    the retrofit (a new production line, extended hours), negative when it lowered it (a line
    shut down). ``reason`` is required and is carried into the report.
    """

    start: dt.date
    end: dt.date
    amount: float
    reason: str

    @classmethod
    def parse(cls, item: dict[str, Any] | NonRoutineAdjustment) -> NonRoutineAdjustment:
        """From ``{"period": ("2025-03-01", "2025-03-31") | "2025-03", "amount": x, "reason": "..."}``
        (or ``start``/``end`` keys)."""
        if isinstance(item, NonRoutineAdjustment):
            adj = item
        else:
            reason = str(item.get("reason") or "").strip()
            if not reason:
                raise AdjustmentError(f"non-routine adjustment {item!r} has no reason; IPMVP requires the "
                                      "static-factor change to be documented: give 'reason'")
            if "period" in item:
                period = item["period"]
                if isinstance(period, str):
                    p = pd.Period(period)
                    start, end = p.start_time.date(), p.end_time.date()
                else:
                    start, end = (pd.Timestamp(v).date() for v in period)
            else:
                start, end = pd.Timestamp(item["start"]).date(), pd.Timestamp(item["end"]).date()
            try:
                amount = float(item["amount"])
            except (KeyError, TypeError, ValueError):
                raise AdjustmentError(f"non-routine adjustment {item!r}: 'amount' must be a number "
                                      "[meter unit]") from None
            adj = cls(start, end, amount, reason)
        if adj.end < adj.start:
            raise AdjustmentError(f"non-routine adjustment '{adj.reason}': end {adj.end} is before start {adj.start}")
        return adj

    def to_dict(self) -> dict[str, Any]:
        return {"period": [self.start.isoformat(), self.end.isoformat()], "amount": self.amount, "reason": self.reason}


def _coefficient(c: dict[str, Any] | None, what: str) -> dict[str, Any] | None:
    if c is None:
        return None
    missing = [k for k in ("value", "id", "source") if c.get(k) in (None, "")]
    if missing:
        raise MVError(f"{what} must give value, id and source (missing {missing}); "
                      f"pass the row from greenpark.reference, e.g. reference.citation(row)")
    return dict(c)


def avoided_energy(prediction: pd.DataFrame, *, baseline_metrics: dict[str, float] | None = None,
                   adjustments: list[dict[str, Any] | NonRoutineAdjustment] = (), unit: str = "kWh",
                   confidence: float | None = None, coal_coefficient: dict[str, Any] | None = None,
                   emission_factor: dict[str, Any] | None = None) -> dict[str, Any]:
    """Avoided energy over a reporting period with uncertainty, adjustments, tce and tCO2.

    Parameters
    ----------
    prediction : ``model.predict(reporting)`` — columns ``observed`` and ``predicted`` per period
        [meter unit]; periods where either is missing are left out (and counted in the result)
    baseline_metrics : the baseline model's ``metrics`` (``rmse``, ``cvrmse``, ``n``, ``p``, ``rho``)
        for the ASHRAE G14-2014 Annex B uncertainty; without them no uncertainty is given
    adjustments : non-routine adjustments (see :class:`NonRoutineAdjustment`)
    unit : meter unit of the energy figures
    confidence : two-sided confidence level of the uncertainty [1]; default G14's
        ``g14_fsu_confidence`` (68 %)
    coal_coefficient : ``{"value": kgce per meter unit, "id", "source"[, "status"]}``, e.g. the
        GB/T 2589-2020 row for electricity (0.1229 kgce/kWh, equivalent value) supplied by the caller
    emission_factor : ``{"value": kgCO2 per meter unit (= tCO2/MWh for kWh), "id", "source"}``

    Returns
    -------
    dict with ``energy`` (avoided energy [unit]), ``unit``, ``adjusted_baseline``, ``reporting``,
    ``routine_savings``, ``adjustments`` (total and items), ``fraction`` (savings / adjusted
    baseline [1]), ``uncertainty`` {``absolute`` [unit], ``fsu`` [1], ``confidence``, ``method``},
    ``tce`` (avoided standard coal [tce] with its coefficient), ``tco2`` (avoided emissions [t]
    with the factor), ``periods`` {``used``, ``missing``}, ``flags``.
    """
    obs = prediction["observed"].to_numpy(float)
    pred = prediction["predicted"].to_numpy(float)
    ok = np.isfinite(obs) & np.isfinite(pred)
    flags: list[Flag] = []
    missing = int((~ok).sum())
    if missing:
        flags.append(Flag("mv.savings.missing_periods",
                          f"{missing} reporting period(s) lack observed energy or a prediction (missing temperature "
                          "or production) and are left out of the savings", "warning", {"count": missing}))
    baseline = float(pred[ok].sum())
    reporting = float(obs[ok].sum())
    routine = baseline - reporting
    items = [NonRoutineAdjustment.parse(a) for a in adjustments]
    idx = pd.DatetimeIndex(prediction.index)
    if len(idx):
        lo, hi = idx.min().date(), idx.max().date()
        for a in items:
            if a.end < lo or a.start > hi:
                raise AdjustmentError(f"non-routine adjustment '{a.reason}' ({a.start}..{a.end}) lies outside the "
                                      f"reporting period {lo}..{hi}")
    nra = float(sum(a.amount for a in items))
    adjusted = baseline + nra
    energy = adjusted - reporting
    fraction = energy / adjusted if adjusted else float("nan")
    m = int(ok.sum())
    unc: dict[str, Any] | None = None
    if baseline_metrics and m:
        conf = criterion_value("g14_fsu_confidence") if confidence is None else confidence
        bm = baseline_metrics
        absolute = savings_uncertainty(bm["rmse"], int(bm["n"]), m, rho=bm.get("rho", 0.0),
                                       n_params=int(bm.get("p", 1)), confidence=conf)
        fsu = fractional_savings_uncertainty(bm["cvrmse"], int(bm["n"]), m, fraction, rho=bm.get("rho", 0.0),
                                             n_params=int(bm.get("p", 1)), confidence=conf) \
            if fraction and np.isfinite(fraction) else float("inf")
        unc = {"absolute": absolute, "fsu": fsu, "confidence": conf,
               "method": "ASHRAE Guideline 14-2014 Annex B fractional savings uncertainty "
                         "(autocorrelation-corrected n'), factor g14_fsu_factor"}
        if items:
            unc["note"] = "non-routine adjustments are taken as exact; their own uncertainty is not included"
    coal = _coefficient(coal_coefficient, "coal_coefficient")
    tce = None
    if coal is not None:
        tce = {"value": energy * float(coal["value"]) / 1000.0, "unit": "tce",
               "coefficient": coal, "uncertainty": None if unc is None else unc["absolute"] * float(coal["value"]) / 1000}
    ef = _coefficient(emission_factor, "emission_factor")
    tco2 = None
    if ef is not None:
        tco2 = {"value": energy * float(ef["value"]) / 1000.0, "unit": "tCO2", "factor": ef,
                "uncertainty": None if unc is None else unc["absolute"] * float(ef["value"]) / 1000}
    return {
        "energy": energy, "unit": unit, "adjusted_baseline": adjusted, "baseline_model_total": baseline,
        "reporting": reporting, "routine_savings": routine,
        "adjustments": {"total": nra, "items": [a.to_dict() for a in items]},
        "fraction": fraction, "uncertainty": unc, "tce": tce, "tco2": tco2,
        "periods": {"used": m, "missing": missing,
                    "start": idx.min().isoformat() if len(idx) else None,
                    "end": idx.max().isoformat() if len(idx) else None},
        "flags": [f.to_dict() for f in flags],
    }


def cumulative_savings(prediction: pd.DataFrame, freq: str = "MS") -> pd.DataFrame:
    """Per-period (default monthly) adjusted baseline, actual and avoided energy [meter unit]."""
    ok = prediction["observed"].notna() & prediction["predicted"].notna()
    p = prediction[ok]
    g = p[["predicted", "observed"]].resample(freq).sum()
    g["avoided"] = g["predicted"] - g["observed"]
    g["cumulative"] = g["avoided"].cumsum()
    return g
