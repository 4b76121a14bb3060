"""Avoided energy, non-routine adjustments, tce and tCO2 conversions, the one-call result."""

import json

import numpy as np
import pandas as pd
import pytest

from greenpark.core.mv import AdjustmentError, DailyData, avoided_energy, evaluate, to_json
from greenpark.core.mv import synthetic as syn

COAL = {"value": 0.1229, "id": "electricity_equivalent", "source": "GB/T 2589-2020 Annex A", "unit": "kgce/kWh"}
GRID = {"value": 0.5366, "id": "test_grid", "source": "test factor", "unit": "kgCO2/kWh"}


def _pred(n=10, predicted=110.0, observed=100.0):
    idx = pd.date_range("2025-01-01", periods=n, freq="D")
    return pd.DataFrame({"observed": observed, "predicted": predicted}, index=idx)


def test_avoided_energy_hand_example_with_conversions():
    r = avoided_energy(_pred(), coal_coefficient=COAL, emission_factor=GRID)
    assert r["energy"] == pytest.approx(100.0)         # 10 days x (110 - 100) kWh
    assert r["fraction"] == pytest.approx(100 / 1100)
    assert r["tce"]["value"] == pytest.approx(100 * 0.1229 / 1000)
    assert r["tce"]["coefficient"]["id"] == "electricity_equivalent"
    assert r["tco2"]["value"] == pytest.approx(100 * 0.5366 / 1000)
    assert r["uncertainty"] is None                     # no baseline metrics given


def test_non_routine_adjustment_adds_to_baseline():
    adj = [{"period": ("2025-01-03", "2025-01-04"), "amount": 50.0, "reason": "new die-casting cell"}]
    r = avoided_energy(_pred(), adjustments=adj)
    assert r["energy"] == pytest.approx(150.0) and r["adjustments"]["total"] == 50.0
    assert r["adjustments"]["items"][0]["reason"] == "new die-casting cell"
    r = avoided_energy(_pred(), adjustments=[{"period": "2025-01", "amount": -30, "reason": "line 2 stopped"}])
    assert r["energy"] == pytest.approx(70.0)


@pytest.mark.parametrize("adj,msg", [
    ({"period": "2025-01", "amount": 5.0}, "reason"),
    ({"period": "2024-03", "amount": 5.0, "reason": "x"}, "outside"),
    ({"period": "2025-01", "amount": "lots", "reason": "x"}, "amount"),
])
def test_bad_adjustments_raise(adj, msg):
    with pytest.raises(AdjustmentError, match=msg):
        avoided_energy(_pred(), adjustments=[adj])


def test_coefficient_without_source_is_refused():
    with pytest.raises(Exception, match="source"):
        avoided_energy(_pred(), coal_coefficient={"value": 0.1229, "id": "x"})


def test_missing_periods_are_counted_and_flagged():
    p = _pred()
    p.iloc[2, 0] = np.nan
    r = avoided_energy(p)
    assert r["periods"] == {**r["periods"], "used": 9, "missing": 1}
    assert r["flags"][0]["code"] == "mv.savings.missing_periods"


def test_evaluate_result_shape_and_json():
    s = syn.die_casting_daily()
    data = DailyData.from_series(s["energy"], s["temperature"], s["production"])
    res = evaluate(data.between(None, "2024-12-31"), data.between("2025-01-01", None),
                   project={"id": "dc-2025", "name_zh": "压铸车间节能改造"}, coal_coefficient=COAL,
                   emission_factor=GRID)
    assert set(res) >= {"project", "model", "metrics", "savings", "verdict", "flags"}
    assert set(res["metrics"]) >= {"cvrmse", "nmbe", "r2"}
    assert set(res["savings"]) >= {"energy", "unit", "tce", "uncertainty"}
    assert res["verdict"]["fit"] is True
    assert json.loads(to_json(res))["project"]["name_zh"] == "压铸车间节能改造"


def test_evaluate_insufficient_baseline_is_not_fit_with_codes():
    s = syn.die_casting_daily(start="2024-09-01")
    data = DailyData.from_series(s["energy"], s["temperature"], s["production"])
    res = evaluate(data.between(None, "2024-12-31"), data.between("2025-01-01", None), project="short")
    assert res["verdict"]["fit"] is False
    assert "mv.sufficiency.too_few_days" in res["verdict"]["codes"]
    assert "mv.sufficiency.baseline_too_short" in res["verdict"]["codes"]


def test_evaluate_flags_years_outside_the_calendar_and_writes_plot(tmp_path):
    # reporting period runs into 2027, which chinese-calendar does not cover yet
    s = syn.die_casting_daily(start="2025-01-01", end="2027-03-31", retrofit="2026-01-01")
    data = DailyData.from_series(s["energy"], s["temperature"], s["production"])
    res = evaluate(data.between(None, "2025-12-31"), data.between("2026-01-01", None), project="p",
                   plot_path=str(tmp_path / "mv.png"))
    cal = [f for f in res["flags"] if f["code"] == "mv.calendar.year_not_covered"]
    assert cal and cal[0]["detail"]["years"] == [2027]
    assert (tmp_path / "mv.png").exists() and res["plot"]["path"].endswith("mv.png")
