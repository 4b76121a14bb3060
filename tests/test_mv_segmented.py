"""Segmented and smoothed daily change-point models: season-dependent responses recovered, small
baselines kept whole, smoothed degree days against their definition, serialisation round trips.

Tolerances (and why):
- slopes within 5 %: 730 baseline days, 2 % daily noise; a season segment has ~240 days and its
  slope's standard error is about 1 %; the balance-point grid step (0.5 degC) moves it a little more;
- balance points within 1.0 degC (grid step 0.5 degC, as in test_mv_model);
- smoothed degree days to 1e-6 degC d against numerical integration over the normal distribution
  (trapezoid rule on 20,001 points over +-10 sd).
"""

import json

import numpy as np
import pandas as pd
import pytest

from greenpark.core.mv import DailyChangePointModel, DailyData, degree_days, model_from_dict
from greenpark.core.mv import synthetic as syn
from greenpark.core.mv.model import season_months

SUMMER = season_months()["summer"]


def _seasonal_series(days: int = 730, seed: int = 3, noise: float = 0.02) -> tuple[pd.Series, pd.Series, dict]:
    """Daily energy [kWh/d] whose cooling response differs in summer (chillers staged) from the rest
    of the year, with heating below 10 degC all year."""
    idx = pd.date_range("2023-01-01", periods=days, freq="D")
    t = syn.temperature_daily(idx, seed=seed)
    summer = np.isin(idx.month, SUMMER)
    truth = {"base": 8000.0, "heating_bp": 10.0, "heating": 300.0,
             "summer_cooling_bp": 24.0, "summer_cooling": 900.0, "other_cooling_bp": 18.0, "other_cooling": 250.0}
    e = (truth["base"] + truth["heating"] * np.maximum(truth["heating_bp"] - t, 0)
         + np.where(summer, truth["summer_cooling"] * np.maximum(t - truth["summer_cooling_bp"], 0),
                    truth["other_cooling"] * np.maximum(t - truth["other_cooling_bp"], 0)))
    e *= 1 + np.random.default_rng(seed + 1).normal(0, noise, days)   # not the weather seed
    return pd.Series(e, idx), pd.Series(t, idx), truth


def test_smoothed_degree_days_match_their_definition():
    t = np.array([-5.0, 8.0, 12.0, 15.0, 18.0, 30.0])
    sd, base = 3.0, 15.0
    u = np.linspace(-10, 10, 20001)
    w = np.exp(-0.5 * u**2) / np.sqrt(2 * np.pi)
    hours = t[:, None] + sd * u[None, :]                     # the day's temperatures, N(T, sd^2)
    expected_h = np.trapezoid(np.maximum(base - hours, 0) * w, u, axis=1)
    expected_c = np.trapezoid(np.maximum(hours - base, 0) * w, u, axis=1)
    np.testing.assert_allclose(degree_days(t, base, "hdd", sd), expected_h, atol=1e-6)
    np.testing.assert_allclose(degree_days(t, base, "cdd", sd), expected_c, atol=1e-6)
    # sd -> 0 is the plain hinge; hdd - cdd = base - T whatever the sd
    np.testing.assert_allclose(degree_days(t, base, "hdd", 1e-9), np.maximum(base - t, 0), atol=1e-9)
    np.testing.assert_allclose(degree_days(t, base, "hdd", sd) - degree_days(t, base, "cdd", sd), base - t)
    with pytest.raises(ValueError, match="sd"):
        degree_days(t, base, "hdd", -1.0)


def test_season_dependent_response_recovered():
    e, t, truth = _seasonal_series()
    m = DailyChangePointModel(day_effects=(), segmentation="season", smoothing=(0.0,)).fit(DailyData.from_series(e, t))
    assert m.form == "segmented" and "mv.model.segmented" in {f.code for f in m.flags}
    summer = [s for s in m.segments if s.seasons == ("summer",)]
    assert len(summer) == 1, [s.name for s in m.segments]
    s = summer[0]
    assert s.cooling == pytest.approx(truth["summer_cooling_bp"], abs=1.0)
    assert s.coefficients["cooling"] == pytest.approx(truth["summer_cooling"], rel=0.05)
    for other in (x for x in m.segments if "summer" not in x.seasons):
        assert other.cooling == pytest.approx(truth["other_cooling_bp"], abs=1.0)
        assert other.coefficients["cooling"] == pytest.approx(truth["other_cooling"], rel=0.05)
        assert other.heating == pytest.approx(truth["heating_bp"], abs=1.0)
        assert other.coefficients["heating"] == pytest.approx(truth["heating"], rel=0.05)
    # the one-segment CalTRACK fit of the same days is worse by the criterion that chose the split
    assert min(m.partitions.values()) == m.partitions[" | ".join(x.name for x in m.segments)]
    whole = DailyChangePointModel(day_effects=(), segmentation="none", smoothing=(0.0,)).fit(DailyData.from_series(e, t))
    assert m.metrics["cvrmse"] < whole.metrics["cvrmse"]


def test_uniform_response_and_small_baselines_stay_whole():
    s = syn.die_casting_daily()
    data = DailyData.from_series(s["energy"], s["temperature"], s["production"])
    # one temperature response all year (the plant's): BIC keeps a single season segment
    m = DailyChangePointModel(segmentation="season").fit(data.between(None, "2024-12-31"))
    assert len(m.segments) == 1 and m.form == "heating_cooling"
    # 60 days: no segment of a split reaches segment_min_days in every part
    e, t, _ = _seasonal_series()
    short = DailyData.from_series(e, t).between("2023-06-01", "2023-07-30")
    m = DailyChangePointModel(day_effects=()).fit(short)
    assert len(m.segments) == 1


def test_non_working_segment_has_no_collinear_day_dummies():
    s = syn.die_casting_hourly(start="2024-01-01", end="2024-12-31")
    df = DailyData.from_series(s["energy"], s["temperature"]).df
    m = DailyChangePointModel(segmentation="auto").fit(DailyData(df))
    assert any(seg.days != "all" for seg in m.segments)          # the plant's weekends and holidays differ
    for seg in m.segments:
        x = seg.design(df[seg.mask(df)].dropna())
        assert np.linalg.matrix_rank(x) == x.shape[1], (seg.name, seg.columns)
    # public holidays (the plant stops) have no temperature response in this plant
    holiday = [seg for seg in m.segments if seg.days == "holiday"]
    assert not holiday or holiday[0].form == "intercept_only"


def test_segmented_model_serialises_and_predicts_identically():
    e, t, _ = _seasonal_series()
    data = DailyData.from_series(e, t)
    base, rep = data.between(None, "2023-12-31"), data.between("2024-01-01", None)
    m = DailyChangePointModel(day_effects=()).fit(base)
    assert m.form == "segmented"
    d = json.loads(json.dumps(m.to_dict()))
    assert d["version"] == 2 and len(d["segments"]) == len(m.segments)
    m2 = model_from_dict(d)
    np.testing.assert_array_equal(m.predict(rep)["predicted"].to_numpy(), m2.predict(rep)["predicted"].to_numpy())
    assert m2.to_dict() == d
    assert np.isfinite(m.predict(rep)["predicted"]).all()


def test_version_1_model_still_predicts():
    """A model saved before segments (version 1, plain degree days) loads and predicts as it did."""
    s = syn.die_casting_daily()
    data = DailyData.from_series(s["energy"], s["temperature"], s["production"])
    base, rep = data.between(None, "2024-12-31"), data.between("2025-01-01", None)
    m = DailyChangePointModel(segmentation="none", smoothing=(0.0,)).fit(base)
    v1 = {k: v for k, v in m.to_dict().items() if k not in ("segments", "partitions_bic")}
    v1["version"] = 1
    v1["settings"] = {k: v for k, v in v1["settings"].items() if k not in ("segmentation", "smoothing", "season_scheme")}
    old = model_from_dict(v1)
    x = m.segments[0].design(rep.df)
    beta = np.array([m.coefficients[c] for c in m.columns])
    np.testing.assert_allclose(old.predict(rep)["predicted"].to_numpy(), x @ beta)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="segmentation"):
        DailyChangePointModel(segmentation="monthly")
    with pytest.raises(ValueError, match="smoothing"):
        DailyChangePointModel(smoothing=(-1.0,))
    with pytest.raises(ValueError, match="opendsm"):
        season_months("tropical")
