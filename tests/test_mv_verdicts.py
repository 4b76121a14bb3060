"""M&V verdicts that name the real problem (issue 16 #8) and the RMSE with n - p (issue 16 #14 c).

- a reporting period the baseline model cannot predict (no weather, or no production, in the
  reporting year) is not fit for M&V, with a coded reason, and `greenpark mv savings` exits non-zero;
- park.toml validation says when the products do not cover the reporting period;
- a 15-minute meter fed one reading a day: the error names 1 of 96 expected readings per day;
- the production slope prints the product's unit.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from greenpark import park as park_mod
from greenpark.core import mv
from greenpark.core.mv.stats import goodness_of_fit

from conftest import run

PARK = """
[park]
id = "mvv"
name_zh = "M&V结论测试园区"
name_en = "M&V verdict park"

[[enterprises]]
id = "E1"
name_zh = "甲压铸厂"
name_en = "Die caster A"
industry = "die_casting"

[[meters]]
id = "E1-EL"
owner = "E1"
carrier = "electricity"
unit = "kWh"
interval_minutes = 1440

[[meters]]
id = "E1-Q"
owner = "E1"
carrier = "natural_gas"
unit = "m3"
interval_minutes = 15

[[stations]]
id = "WX1"
name_zh = "气象站"
name_en = "Weather station"
kind = "weather"

[[stations]]
id = "WX3"
name_zh = "只有2024年数据的气象站"
name_en = "Weather station with 2024 data only"
kind = "weather"

PRODUCTS

[[mv_projects]]
id = "prod"
name_zh = "产量驱动"
name_en = "Production-driven"
enterprise = "E1"
meters = ["E1-EL"]
weather_station = "WX1"
product = PRODUCT_IDS
baseline = { start = 2024-01-01, end = 2024-12-31 }
reporting = { start = 2025-01-01, end = 2025-12-31 }
option = "C"
model = "daily"

[[mv_projects]]
id = "nowx"
name_zh = "报告期无气象数据"
name_en = "No weather in the reporting year"
enterprise = "E1"
meters = ["E1-EL"]
weather_station = "WX3"
baseline = { start = 2024-01-01, end = 2024-12-31 }
reporting = { start = 2025-01-01, end = 2025-12-31 }
option = "C"
model = "daily"

[[mv_projects]]
id = "quarter"
name_zh = "15分钟表每天一个读数"
name_en = "15-minute meter read once a day"
enterprise = "E1"
meters = ["E1-Q"]
weather_station = "WX1"
baseline = { start = 2024-01-01, end = 2024-12-31 }
reporting = { start = 2025-01-01, end = 2025-12-31 }
option = "C"
model = "daily"
"""


def _products(monthly: pd.Series, years=(2024, 2025)) -> str:
    out = []
    for y in years:
        vals = ", ".join(f"{v:.1f}" for v in monthly[str(y)].to_numpy())
        out.append(f'[[products]]\nid = "E1-P{y}"\nenterprise = "E1"\nname_zh = "铸件"\nname_en = "castings"\n'
                   f'unit = "t"\nyear = {y}\nmonthly_output = [{vals}]\n')
    return "\n".join(out)


def _park_text(monthly: pd.Series, years=(2024, 2025)) -> str:
    ids = "[" + ", ".join(f'"E1-P{y}"' for y in years) + "]"
    return textwrap.dedent(PARK).replace("PRODUCTS", _products(monthly, years)).replace("PRODUCT_IDS", ids)


@pytest.fixture(scope="module")
def verdict_park(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("mvverdict")
    syn = mv.synthetic.die_casting_daily(start="2024-01-01", end="2025-12-31", retrofit="2025-01-01", seed=3)
    e, t = syn["energy"], syn["temperature"]
    end_label = (e.index + pd.Timedelta(days=1)).strftime("%Y-%m-%dT00:00+08:00")   # a day's total at its end
    noon = e.index.strftime("%Y-%m-%dT12:00+08:00")
    pd.concat([pd.DataFrame({"meter_id": "E1-EL", "timestamp": end_label, "value": e.to_numpy().round(3)}),
               pd.DataFrame({"meter_id": "E1-Q", "timestamp": noon, "value": 100.0})]).to_csv(d / "m.csv", index=False)
    wx1 = pd.DataFrame({"station_id": "WX1", "timestamp": noon, "parameter": "temperature",
                        "value": t.to_numpy().round(2), "unit": "degC"})
    wx3 = wx1[e.index.year == 2024].assign(station_id="WX3")
    pd.concat([wx1, wx3]).to_csv(d / "wx.csv", index=False)
    monthly = syn["production"].resample("MS").sum()
    (d / "park.toml").write_text(_park_text(monthly), encoding="utf-8")
    run("ingest", "m.csv", "wx.csv", cwd=d)
    return d


def test_no_weather_in_the_reporting_year_is_not_fit_and_exits_non_zero(verdict_park):
    p = run("mv", "savings", "nowx", "--format", "json", "--no-plot", cwd=verdict_park, check=False)
    assert p.returncode == 1
    res = json.loads(p.stdout)
    assert res["verdict"]["fit"] is False
    assert "mv.reporting.not_predictable" in res["verdict"]["codes"]
    f = {x["code"]: x for x in res["flags"]}["mv.reporting.not_predictable"]
    assert f["severity"] == "fatal" and f["detail"]["predicted"] == 0
    assert f["detail"]["missing_inputs"] == {"temperature": 365}
    assert "temperature on 365 of 365 metered reporting days" in f["message"]
    table = run("mv", "savings", "nowx", "--no-plot", cwd=verdict_park, check=False)
    assert table.returncode == 1 and "not fit for M&V" in " ".join(table.stdout.split())


def test_production_slope_prints_the_products_unit(verdict_park):
    res = json.loads(run("mv", "savings", "prod", "--format", "json", "--no-plot", cwd=verdict_park).stdout)
    assert res["data"]["production"]["unit"] == "t"
    assert any("production" in (s.get("coefficients") or {}) for s in res["model"]["segments"]) or \
        "production" in (res["model"].get("coefficients") or {})
    out = run("mv", "fit", "prod", cwd=verdict_park).stdout
    assert "kWh/t" in out and "product unit" not in out


def test_fifteen_minute_meter_read_once_a_day_names_the_real_problem(verdict_park):
    p = run("mv", "savings", "quarter", "--no-plot", cwd=verdict_park, check=False)
    assert p.returncode != 0
    msg = " ".join(p.stderr.split())
    assert "E1-Q has at most 1 of the 96 readings a day needs (interval_minutes = 15)" in msg
    assert "import their readings first" not in msg


def test_park_validation_products_must_cover_the_reporting_period():
    monthly = pd.Series(np.full(24, 1000.0), index=pd.date_range("2024-01-01", periods=24, freq="MS"))
    park_mod.parse(_park_text(monthly))  # both years declared: valid
    with pytest.raises(park_mod.ParkError, match=r"mv_projects 'prod': products E1-P2024 declare no monthly output "
                                                 r"for 2025: production does not cover the reporting period"):
        park_mod.parse(_park_text(monthly, years=(2024,)))


def test_product_declared_only_for_the_baseline_is_not_predictable():
    """The core verdict, without park.toml: production known in 2024 only."""
    syn = mv.synthetic.die_casting_daily(start="2024-01-01", end="2025-12-31", seed=5)
    prod = syn["production"].where(syn["production"].index.year == 2024)
    data = mv.DailyData.from_series(syn["energy"], syn["temperature"], prod, production_unit="t")
    res = mv.evaluate(data.between("2024-01-01", "2024-12-31"), data.between("2025-01-01", "2025-12-31"),
                      project="p")
    assert res["verdict"]["fit"] is False and "mv.reporting.not_predictable" in res["verdict"]["codes"]
    f = {x["code"]: x for x in res["flags"]}["mv.reporting.not_predictable"]
    assert f["detail"]["missing_inputs"] == {"production": 365}
    # production missing on a few reporting days: a warning, the other days are still predicted
    prod2 = syn["production"].copy()
    prod2["2025-03-01":"2025-03-10"] = np.nan
    data2 = mv.DailyData.from_series(syn["energy"], syn["temperature"], prod2, production_unit="t")
    res2 = mv.evaluate(data2.between("2024-01-01", "2024-12-31"), data2.between("2025-01-01", "2025-12-31"),
                       project="p")
    codes = {x["code"] for x in res2["flags"]}
    assert "mv.reporting.partly_predicted" in codes and "mv.reporting.not_predictable" not in codes
    assert res2["verdict"]["fit"] is True


def test_rmse_and_cvrmse_use_n_minus_p_hand_computed():
    # residuals -1, 1, 0, 2: SSE = 6; n = 4, p = 2 -> RMSE = sqrt(6 / 2) = sqrt(3); mean 12
    y = np.array([10.0, 12.0, 11.0, 15.0])
    yh = np.array([11.0, 11.0, 11.0, 13.0])
    g = goodness_of_fit(y, yh, 2)
    assert g["rmse"] == pytest.approx(3 ** 0.5, rel=1e-12)       # sqrt(6 / 4) = 1.2247 with n
    assert g["cvrmse"] == pytest.approx(3 ** 0.5 / 12, rel=1e-12)
    assert g["nmbe"] == pytest.approx(2 / (2 * 12), rel=1e-12)     # sum(resid) / ((n - p) ybar)
    assert (g["n"], g["p"]) == (4, 2)
