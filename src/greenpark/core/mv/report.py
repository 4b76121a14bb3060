"""One call from baseline and reporting data to the M&V result dict (the CLI's entry point)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from greenpark.core.mv.data import DailyData, Flag, HourlyData
from greenpark.core.mv.model import DailyChangePointModel, HourlyTOWTModel
from greenpark.core.mv.savings import avoided_energy
from greenpark.core.mv.stats import verdict as _verdict

DAYS_PER_MONTH = 365.25 / 12


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def evaluate(baseline: DailyData | HourlyData, reporting: DailyData | HourlyData, *,
             project: dict[str, Any] | str, model: DailyChangePointModel | HourlyTOWTModel | None = None,
             adjustments: list[dict[str, Any]] = (), coal_coefficient: dict[str, Any] | None = None,
             emission_factor: dict[str, Any] | None = None, confidence: float | None = None,
             plot_path: str | None = None, plot_title: str | None = None,
             plot_title_zh: str | None = None) -> dict[str, Any]:
    """Fit the baseline, predict the reporting period, compute savings and the verdict.

    Parameters
    ----------
    baseline, reporting : :class:`DailyData` (daily change-point model) or :class:`HourlyData`
        (TOWT model) for the two periods
    project : project id or a dict describing it (id, name, enterprise, meter, retrofit date ...)
    model : a model to use instead of the default for the data's resolution; an unfitted one is
        fitted to ``baseline``, a fitted one (e.g. a frozen baseline from :func:`model_from_dict`)
        is used as it is
    adjustments : non-routine adjustments ``[{period, amount [meter unit], reason}]``
    coal_coefficient : ``{value [kgce per meter unit], id, source}`` (GB/T 2589-2020 row)
    emission_factor : ``{value [kgCO2 per meter unit], id, source}``
    confidence : confidence level of the savings uncertainty; default G14's 68 %
    plot_path : when given, a PNG of baseline fit, adjusted baseline and actual is written there
        (see :func:`greenpark.core.mv.plot.savings_png`) and its path returned under ``plot``

    Returns
    -------
    JSON-ready dict: ``project``, ``model`` (``to_dict``), ``metrics`` {cvrmse, nmbe, r2, adj_r2,
    rmse, n, p, rho}, ``savings`` {energy, unit, tce, tco2, uncertainty, ...}, ``verdict`` {fit,
    label, codes, flags, criteria}, ``flags`` (all coded findings).
    """
    hourly = isinstance(baseline, HourlyData)
    if model is None:
        model = HourlyTOWTModel() if hourly else DailyChangePointModel()
    if not model.fitted:
        model.fit(baseline)
    proj = {"id": project} if isinstance(project, str) else dict(project)
    if not model.fitted:
        v = _verdict({}, flags=model.flags)
        return _jsonable({"project": proj, "model": model.to_dict(), "metrics": {}, "savings": None,
                          "verdict": v.to_dict(), "flags": [f.to_dict() for f in model.flags]})
    pred = model.predict(reporting)
    sav = avoided_energy(pred, baseline_metrics=model.metrics, adjustments=adjustments, unit=baseline.unit,
                         confidence=confidence, coal_coefficient=coal_coefficient, emission_factor=emission_factor)
    span = (reporting.df.index.max() - reporting.df.index.min()).days + 1 if len(reporting.df) else 0
    months = span / DAYS_PER_MONTH
    fsu_g14 = None
    if sav["uncertainty"] is not None:
        # the verdict's FSU is always at G14's own confidence level, whatever the caller reports
        from greenpark.core.mv.stats import fractional_savings_uncertainty
        m = model.metrics
        fsu_g14 = fractional_savings_uncertainty(m["cvrmse"], int(m["n"]), sav["periods"]["used"],
                                                 sav["fraction"], rho=m.get("rho", 0.0), n_params=int(m["p"])) \
            if sav["fraction"] and np.isfinite(sav["fraction"]) else float("inf")
    v = _verdict(model.metrics, flags=[*model.flags, *_prediction_flags(model, reporting, pred)],
                 reporting_months=months, fsu=fsu_g14)
    keys = ("cvrmse", "nmbe", "r2", "adj_r2", "rmse", "n", "p", "rho")
    flags, seen = [], set()
    for f in [*v.flags, *reporting.flags]:
        key = (f.code, f.message)
        if key not in seen:
            seen.add(key)
            flags.append(f.to_dict())
    plot = None
    if plot_path is not None:
        from greenpark.core.mv.plot import savings_png
        plot = savings_png(model.predict(baseline), pred, plot_path, unit=baseline.unit, title=plot_title,
                           title_zh=plot_title_zh, freq="W")
    return _jsonable({
        "project": proj,
        "model": model.to_dict(),
        "metrics": {k: model.metrics.get(k) for k in keys},
        "savings": sav,
        "verdict": v.to_dict(),
        "flags": flags + sav["flags"],
        "plot": plot,
    })


def _prediction_flags(model, reporting, pred) -> list[Flag]:
    """Whether the baseline model could predict the reporting period, and what it lacked.

    ``mv.reporting.not_predictable`` (fatal): not one reporting day (hour) with metered energy has a
    prediction, so no avoided energy can be stated (a product declared only for the baseline year,
    no weather in the reporting year). ``mv.reporting.partly_predicted`` (warning): some metered
    days have no prediction and are left out of the savings.
    """
    df = reporting.df
    observed = pred["observed"].notna()
    n_obs = int(observed.sum())
    if n_obs == 0:
        return []
    n_pred = int((observed & pred["predicted"].notna()).sum())
    if n_pred == n_obs:
        return []
    lacking = {}
    for col in ("temperature", "production"):
        if col not in df.columns:
            continue
        if col == "production" and not any(c == "production" for c in getattr(model, "columns", [])) \
                and not any("production" in getattr(s, "columns", []) for s in getattr(model, "segments", [])):
            continue
        miss = df[col].reindex(pred.index).isna() & observed
        if miss.any():
            lacking[col] = int(miss.sum())
    what = " and ".join(f"{k} on {n} of {n_obs} metered reporting days" for k, n in lacking.items()) \
        or "inputs the baseline model needs"
    detail = {"metered": n_obs, "predicted": n_pred, "missing_inputs": lacking}
    if n_pred == 0:
        return [Flag("mv.reporting.not_predictable",
                     f"the baseline model cannot predict the reporting period: it lacks {what}; no avoided energy "
                     "can be stated (declare the products for the reporting years / import the weather station's "
                     "temperatures for the reporting period)", "fatal", detail)]
    return [Flag("mv.reporting.partly_predicted",
                 f"{n_obs - n_pred} metered reporting day(s) cannot be predicted (missing {what}); they are left "
                 "out of the avoided energy", "warning", detail)]


def to_json(result: dict[str, Any]) -> str:
    """The result as JSON text (UTF-8, Chinese kept readable)."""
    return json.dumps(_jsonable(result), ensure_ascii=False, indent=2)
