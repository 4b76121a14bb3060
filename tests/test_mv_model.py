"""Baseline models recover known change points and savings; serialised models predict identically.

Tolerances (and why):
- balance points within 1.0 degC: the grid step is 0.5 degC and 2.5 % daily noise moves the
  adjusted-R2 optimum by about one grid step;
- production slope within 3 %: with 366 days spanning 50..950 t/d and 2.5 % noise its standard
  error is about 0.5 %;
- avoided energy within the G14 Annex B uncertainty at 95 % confidence (the statistic a verifier
  would use), and the savings fraction within 1 percentage point of the designed 12 %.
"""

import json

import numpy as np
import pandas as pd
import pytest

from greenpark.core.mv import (
    DailyChangePointModel,
    DailyData,
    HourlyData,
    HourlyTOWTModel,
    ModelError,
    avoided_energy,
    model_from_dict,
)
from greenpark.core.mv import synthetic as syn


@pytest.fixture(scope="module")
def plant():
    s = syn.die_casting_daily()
    data = DailyData.from_series(s["energy"], s["temperature"], s["production"])
    return s, data.between(None, "2024-12-31"), data.between("2025-01-01", None)


def test_change_points_and_coefficients_recovered(plant):
    s, base, _ = plant
    m = DailyChangePointModel().fit(base)
    assert m.form == "heating_cooling"
    assert m.balance_points["heating"] == pytest.approx(s["truth"]["heating_bp"], abs=1.0)
    assert m.balance_points["cooling"] == pytest.approx(s["truth"]["cooling_bp"], abs=1.0)
    assert m.coefficients["production"] == pytest.approx(s["truth"]["k_production"], rel=0.03)
    assert m.coefficients["holiday"] < 0 and m.coefficients["weekend"] < 0
    assert m.metrics["cvrmse"] < 0.05 and abs(m.metrics["nmbe"]) < 1e-9
    assert m.metrics["p"] == 6


def test_known_saving_recovered_within_uncertainty(plant):
    s, base, rep = plant
    m = DailyChangePointModel().fit(base)
    sav = avoided_energy(m.predict(rep), baseline_metrics=m.metrics, confidence=0.95)
    truth = s["truth"]["avoided_energy"]
    assert abs(sav["energy"] - truth) <= sav["uncertainty"]["absolute"]
    assert sav["fraction"] == pytest.approx(0.12, abs=0.01)


@pytest.mark.parametrize("params,form", [
    ({"cooling_slope": 0.0}, "heating"),
    ({"heating_slope": 0.0}, "cooling"),
    ({"heating_slope": 0.0, "cooling_slope": 0.0}, "intercept_only"),
])
def test_form_selection(params, form):
    s = syn.die_casting_daily(end="2024-12-31", params=params, seed=3)
    m = DailyChangePointModel().fit(DailyData.from_series(s["energy"], s["temperature"], s["production"]))
    assert m.form == form
    flagged = "mv.model.intercept_only" in [f.code for f in m.flags]
    assert flagged == (form == "intercept_only")


def test_without_production_and_day_effects():
    s = syn.die_casting_daily(end="2024-12-31")
    d = DailyData.from_series(s["energy"], s["temperature"])
    m = DailyChangePointModel(day_effects=()).fit(d)
    assert "production" not in m.columns and m.columns[0] == "intercept"
    assert m.form in ("heating_cooling", "cooling")


def test_serialised_model_predicts_identically(plant):
    _, base, rep = plant
    m = DailyChangePointModel().fit(base)
    m2 = model_from_dict(json.loads(json.dumps(m.to_dict())))
    a, b = m.predict(rep), m2.predict(rep)
    assert np.array_equal(a["predicted"].to_numpy(), b["predicted"].to_numpy())
    assert m2.form == m.form and m2.balance_points == m.balance_points


def test_predict_requires_production_when_used(plant):
    s, base, _ = plant
    m = DailyChangePointModel().fit(base)
    no_prod = DailyData.from_series(s["energy"], s["temperature"])
    with pytest.raises(ModelError, match="production"):
        m.predict(no_prod)


def test_missing_temperature_gives_nan_prediction(plant):
    _, base, rep = plant
    m = DailyChangePointModel().fit(base)
    df = rep.df.copy()
    df.iloc[5, df.columns.get_loc("temperature")] = np.nan
    p = m.predict(DailyData(df))
    assert np.isnan(p["predicted"].iloc[5]) and np.isfinite(p["predicted"].iloc[6])


def test_insufficient_data_is_not_fitted_and_flagged():
    idx = pd.date_range("2024-01-01", periods=3)
    d = DailyData.from_series(pd.Series([1.0, 2.0, 3.0], idx), pd.Series([1.0, 2.0, 3.0], idx))
    m = DailyChangePointModel().fit(d)
    assert not m.fitted and "mv.model.not_fitted" in [f.code for f in m.flags]
    with pytest.raises(ModelError):
        m.predict(d)


@pytest.fixture(scope="module")
def hourly():
    s = syn.die_casting_hourly()
    d = HourlyData.from_series(s["energy"], s["temperature"])
    return s, d.between(None, "2024-12-31 23:00"), d.between("2025-01-01", None)


def test_towt_recovers_saving(hourly):
    # hourly noise 3 %; 8,760 reporting hours -> a fraction error far below 1 point
    s, base, rep = hourly
    m = HourlyTOWTModel().fit(base)
    assert m.metrics["cvrmse"] < 0.10
    sav = avoided_energy(m.predict(rep), baseline_metrics=m.metrics, confidence=0.95)
    assert sav["fraction"] == pytest.approx(0.12, abs=0.01)
    assert sav["energy"] == pytest.approx(s["truth"]["avoided_energy"], rel=0.05)


def test_towt_serialised_predicts_identically(hourly):
    _, base, rep = hourly
    m = HourlyTOWTModel().fit(base)
    m2 = model_from_dict(json.loads(json.dumps(m.to_dict())))
    assert np.array_equal(m.predict(rep)["predicted"].to_numpy(), m2.predict(rep)["predicted"].to_numpy(),
                          equal_nan=True)
