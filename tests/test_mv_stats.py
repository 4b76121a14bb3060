"""G14 statistics against hand-computed examples; sufficiency codes; verdict."""

import numpy as np
import pandas as pd
import pytest

from greenpark.core.mv import (
    DailyData,
    check_sufficiency,
    cvrmse,
    fractional_savings_uncertainty,
    nmbe,
    r_squared,
    verdict,
)
from greenpark.core.mv.stats import effective_sample_size, lag1_autocorrelation, savings_uncertainty


def test_cvrmse_nmbe_r2_hand_example():
    # y = 2, 4, 6; yhat = 1, 4, 5 -> residuals 1, 0, 1; SSE = 2; sum = 2; ybar = 4; SST = 8
    y, yh = [2.0, 4.0, 6.0], [1.0, 4.0, 5.0]
    assert cvrmse(y, yh, n_params=1) == pytest.approx(np.sqrt(2 / 2) / 4)        # 0.25
    assert nmbe(y, yh, n_params=1) == pytest.approx(2 / ((3 - 1) * 4))           # 0.25
    assert r_squared(y, yh) == pytest.approx(1 - 2 / 8)                           # 0.75
    # degrees-of-freedom correction: p = 2 -> sqrt(2 / 1) / 4
    assert cvrmse(y, yh, n_params=2) == pytest.approx(np.sqrt(2.0) / 4)


def test_nan_pairs_are_ignored():
    assert cvrmse([2.0, np.nan, 6.0], [1.0, 3.0, 5.0], 1) == pytest.approx(np.sqrt(2 / 1) / 4)


def test_fsu_hand_example_large_sample():
    # n huge, so t -> z(0.975) = 1.959964 and (1 + 2/n) -> 1:
    # FSU = 1.96 * 1.26 * CV * sqrt(1/m) / F = 1.959964 * 1.26 * 0.1 * 0.1 / 0.1
    f = fractional_savings_uncertainty(0.10, 10**7, 100, 0.10, confidence=0.95)
    assert f == pytest.approx(1.959964 * 1.26 * 0.1, rel=1e-5)
    # rho = 0.5 -> n' = n/3 -> uncertainty grows by sqrt(3)
    f2 = fractional_savings_uncertainty(0.10, 10**7, 100, 0.10, rho=0.5, confidence=0.95)
    assert f2 / f == pytest.approx(np.sqrt(3), rel=1e-5)
    # negative autocorrelation never shrinks the uncertainty (documented clamp)
    assert effective_sample_size(100, -0.4) == 100


def test_absolute_uncertainty_equals_fsu_times_savings():
    rmse, mean, n, m, frac = 50.0, 1000.0, 365, 365, 0.12
    fsu = fractional_savings_uncertainty(rmse / mean, n, m, frac, rho=0.3, n_params=4)
    savings = frac * mean * m
    assert savings_uncertainty(rmse, n, m, rho=0.3, n_params=4) == pytest.approx(fsu * savings)


def test_lag1_autocorrelation_alternating_and_trending():
    assert lag1_autocorrelation([1, -1, 1, -1, 1, -1]) < -0.8
    assert lag1_autocorrelation(np.r_[np.ones(20), -np.ones(20)]) > 0.9


def _daily(n=365, start="2024-01-01", energy=None, temp=None):
    idx = pd.date_range(start, periods=n, freq="D")
    e = pd.Series(np.linspace(100, 200, n) if energy is None else energy, idx)
    t = pd.Series(np.linspace(0, 30, n) if temp is None else temp, idx)
    return DailyData.from_series(e, t)


def codes(flags):
    return {f.code for f in flags}


def test_sufficiency_ok_for_a_full_year():
    assert not [f for f in check_sufficiency(_daily()) if f.severity == "fatal"]


def test_sufficiency_too_few_days_and_short_baseline():
    c = codes(check_sufficiency(_daily(n=200)))
    assert {"mv.sufficiency.too_few_days", "mv.sufficiency.baseline_too_short"} <= c


def test_sufficiency_missing_temperature():
    t = np.linspace(0, 30, 365)
    t[:60] = np.nan
    fl = check_sufficiency(_daily(temp=t))
    hit = [f for f in fl if f.code == "mv.sufficiency.missing_temperature"]
    assert hit and hit[0].severity == "fatal" and hit[0].detail["count"] == 60
    t[:60] = np.linspace(0, 30, 365)[:60]
    t[:5] = np.nan                                  # a few gaps: reported, not disqualifying
    hit = [f for f in check_sufficiency(_daily(temp=t)) if f.code == "mv.sufficiency.missing_temperature"]
    assert hit and hit[0].severity == "warning"


def test_sufficiency_negative_and_constant_values():
    e = np.linspace(100, 200, 365)
    e[3] = -5
    assert "mv.sufficiency.negative_values" in codes(check_sufficiency(_daily(energy=e)))
    assert "mv.sufficiency.constant_values" in codes(check_sufficiency(_daily(energy=np.full(365, 7.0))))


def test_verdict_thresholds_from_data_file():
    ok = verdict({"cvrmse": 0.10, "nmbe": 0.0}, reporting_months=12)
    assert ok.fit and ok.codes == []
    assert {r["id"] for r in ok.criteria} == {"g14_wb_cvrmse_12to60m", "g14_wb_nmbe"}
    bad = verdict({"cvrmse": 0.22, "nmbe": 0.0}, reporting_months=6)   # < 12 months: 20 % limit
    assert not bad.fit and bad.codes == ["mv.verdict.cvrmse_above_limit"]
    assert verdict({"cvrmse": 0.22, "nmbe": 0.0}, reporting_months=24).fit
    assert verdict({"cvrmse": 0.10, "nmbe": 0.01}).codes == ["mv.verdict.nmbe_above_limit"]
    assert verdict({"cvrmse": 0.10, "nmbe": 0.0}, fsu=0.8).codes == ["mv.verdict.fsu_above_limit"]


def test_verdict_not_fit_when_data_insufficient():
    fl = check_sufficiency(_daily(n=100))
    v = verdict({"cvrmse": 0.05, "nmbe": 0.0}, flags=fl)
    assert not v.fit and "mv.sufficiency.too_few_days" in v.codes
    assert v.to_dict()["label"] == "not fit for M&V"
