"""Measurement & verification (M&V) of energy savings (IPMVP Option B/C, ASHRAE Guideline 14-2014).

A pure domain core: nothing here reads a store, files or the network. Modules follow OpenDSM's
layout: ``data`` (validated containers), ``model`` (estimators), ``stats`` (G14 statistics,
sufficiency, verdict), ``savings`` (avoided energy), ``plot`` (PNG), ``synthetic`` (test series),
``report`` (one call to a JSON-ready result).

API for the CLI / park.toml projects
------------------------------------
From daily (or 15-min/hourly, timezone-aware) pandas Series::

    from greenpark.core import mv

    data = mv.DailyData.from_series(energy, temperature, production, tz="Asia/Shanghai", unit="kWh")
    baseline = data.between("2024-01-01", "2024-12-31")     # inclusive local dates
    reporting = data.between("2025-01-01", "2025-12-31")

    result = mv.evaluate(
        baseline, reporting,
        project={"id": "dc-retrofit-2025", "meter": "M-101", "retrofit": "2025-01-01"},
        adjustments=[{"period": "2025-06", "amount": 12000.0, "reason": "line 3 added"}],
        coal_coefficient=reference.citation(row),   # {value [kgce/kWh], id, source}: GB/T 2589-2020 row
        emission_factor={"value": 0.5366, "id": "...", "source": "..."},   # [kgCO2/kWh] = [tCO2/MWh]
    )
    mv.to_json(result)             # JSON text
    # add plot_path="out/mv.png" to evaluate() for the figure (result["plot"] = {path, cjk, font})

``result`` keys: ``project``; ``model`` (``to_dict()`` of the fitted model; rebuild with
``mv.model_from_dict``); ``metrics`` {``cvrmse``, ``nmbe``, ``r2``, ``adj_r2``, ``rmse``, ``n``,
``p``, ``rho``}; ``savings`` {``energy`` (avoided energy, meter unit), ``unit``, ``tce`` {value,
unit, coefficient}, ``tco2``, ``uncertainty`` {absolute, fsu, confidence, method}, ``fraction``,
``adjusted_baseline``, ``reporting``, ``adjustments``, ``periods``}; ``verdict`` {``fit`` (bool),
``label``, ``codes``, ``flags``, ``criteria`` (mv_criteria rows applied, with status and source)};
``flags`` (every coded finding: ``mv.sufficiency.*``, ``mv.model.*``, ``mv.verdict.*``,
``mv.calendar.*``, ``mv.data.*``, ``mv.savings.*``); ``plot`` (None or {path, cjk, font}).

Step by step (same objects)::

    model = mv.DailyChangePointModel().fit(baseline)      # or mv.HourlyTOWTModel() on HourlyData
    prediction = model.predict(reporting)                  # DataFrame: observed, predicted
    sav = mv.avoided_energy(prediction, baseline_metrics=model.metrics, adjustments=[...])
    v = mv.verdict(model.metrics, flags=model.flags, reporting_months=12, fsu=sav["uncertainty"]["fsu"])
    d = model.to_dict(); mv.model_from_dict(d).predict(reporting)   # identical predictions
    mv.plot.savings_png(model.predict(baseline), prediction, "out/mv.png")    # PNG, bilingual if CJK font

Failures raise :class:`MVError` subclasses (``DataError`` for unusable input such as naive
sub-daily timestamps, ``ModelError`` for an unfitted model, ``AdjustmentError``); data-quality
findings never raise: they are :class:`Flag` objects with stable codes, and a ``fatal`` one
makes the verdict "not fit for M&V".

Layer: core (see :mod:`greenpark.core`): no store, ingest, services, park or edges.
"""

from greenpark.core.mv import plot, synthetic
from greenpark.core.mv.data import (
    DailyData,
    DataError,
    Flag,
    HourlyData,
    ModelError,
    MVError,
    day_types,
    degree_days,
    degree_days_from_series,
)
from greenpark.core.mv.model import DailyChangePointModel, HourlyTOWTModel, model_from_dict
from greenpark.core.mv.report import evaluate, to_json
from greenpark.core.mv.savings import (
    AdjustmentError,
    NonRoutineAdjustment,
    avoided_energy,
    cumulative_savings,
)
from greenpark.core.mv.stats import (
    Verdict,
    check_sufficiency,
    cvrmse,
    fractional_savings_uncertainty,
    goodness_of_fit,
    nmbe,
    r_squared,
    savings_uncertainty,
    verdict,
)

__all__ = [
    "AdjustmentError", "DailyChangePointModel", "DailyData", "DataError", "Flag", "HourlyData", "HourlyTOWTModel",
    "MVError", "ModelError", "NonRoutineAdjustment", "Verdict", "avoided_energy", "check_sufficiency",
    "cumulative_savings", "cvrmse", "day_types", "degree_days", "degree_days_from_series", "evaluate",
    "fractional_savings_uncertainty", "goodness_of_fit", "model_from_dict", "nmbe", "r_squared",
    "plot", "savings_uncertainty", "synthetic", "to_json", "verdict",
]
