"""End-to-end M&V: `greenpark mv list|fit|savings` on the demo park and on a small synthetic park.

The small park is written and imported through the normal path (`greenpark ingest`): hourly
electricity of the synthetic die-casting plant of ``greenpark.core.mv.synthetic`` (known 12 % saving
from 2025-01-01) and the weather station's hourly temperature.
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
from greenpark.services import mv_projects

from conftest import run

SAVING = 0.12

MV_PARK = """
[park]
id = "mvp"
name_zh = "M&V测试园区"
name_en = "M&V test park"

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
interval_minutes = 60

[[meters]]
id = "E1-NG"
owner = "E1"
carrier = "natural_gas"
unit = "m3"
interval_minutes = 1440

[[products]]
id = "E1-P"
enterprise = "E1"
name_zh = "铸件"
name_en = "castings"
unit = "t"
year = 2025
monthly_output = [100, 80, 120, 120, 120, 120, 120, 120, 120, 120, 120, 110]

[[stations]]
id = "WX1"
name_zh = "气象站"
name_en = "Weather station"
kind = "weather"

[[stations]]
id = "WX2"
name_zh = "无数据气象站"
name_en = "Weather station without data"
kind = "weather"

[[mv_projects]]
id = "full"
name_zh = "全厂改造"
name_en = "Whole-plant retrofit"
enterprise = "E1"
carrier = "electricity"
weather_station = "WX1"
baseline = { start = 2024-01-01, end = 2024-12-31 }
reporting = { start = 2025-01-01, end = 2025-06-30 }
option = "C"
model = "daily"
designed_saving = { value = DESIGNED, unit = "MWh", per = "reporting_period" }

[[mv_projects]]
id = "short"
name_zh = "基准期过短"
name_en = "Too short a baseline"
enterprise = "E1"
meters = ["E1-EL"]
weather_station = "WX1"
baseline = { start = 2024-10-01, end = 2024-12-31 }
reporting = { start = 2025-01-01, end = 2025-06-30 }
option = "C"

[[mv_projects]]
id = "notemp"
name_zh = "缺温度"
name_en = "No temperature"
enterprise = "E1"
meters = ["E1-EL"]
weather_station = "WX2"
baseline = { start = 2024-01-01, end = 2024-12-31 }
reporting = { start = 2025-01-01, end = 2025-06-30 }
option = "C"

[[mv_projects]]
id = "hourly"
name_zh = "逐时模型"
name_en = "Hourly model"
enterprise = "E1"
meters = ["E1-EL"]
weather_station = "WX1"
baseline = { start = 2024-01-01, end = 2024-12-31 }
installation = { start = 2025-01-01, end = 2025-01-07 }
reporting = { start = 2025-01-08, end = 2025-06-30 }
option = "C"
model = "hourly"
adjustments = [{ start = 2025-03-01, end = 2025-03-31, amount = 5000.0, reason = "line 3 added in March" }]
"""


@pytest.fixture(scope="module")
def mv_park(tmp_path_factory) -> tuple[Path, dict]:
    """The small park with 18 months of hourly data imported through `greenpark ingest`."""
    d = tmp_path_factory.mktemp("mvpark")
    syn = mv.synthetic.die_casting_hourly(start="2024-01-01", end="2025-06-30", retrofit="2025-01-01",
                                          saving=SAVING, seed=7)
    e = syn["energy"]
    stamp = (e.index + pd.Timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M%z")   # interval-end labels
    keep = ~((e.index >= pd.Timestamp("2024-05-06 10:00", tz="Asia/Shanghai"))
             & (e.index < pd.Timestamp("2024-05-06 13:00", tz="Asia/Shanghai")))   # 3 hours missing
    pd.DataFrame({"meter_id": "E1-EL", "timestamp": stamp[keep], "value": e.to_numpy()[keep].round(3)}).to_csv(
        d / "el.csv", index=False)
    t = syn["temperature"]
    pd.DataFrame({"station_id": "WX1", "timestamp": t.index.strftime("%Y-%m-%dT%H:%M%z"),
                  "parameter": "temperature", "value": t.to_numpy().round(2), "unit": "degC"}).to_csv(
        d / "wx.csv", index=False)
    truth = syn["truth"]["avoided_energy"]
    (d / "park.toml").write_text(textwrap.dedent(MV_PARK).replace("DESIGNED", f"{truth / 1000:.3f}"), encoding="utf-8")
    run("ingest", "el.csv", "wx.csv", cwd=d)
    return d, syn["truth"]


def savings_json(cwd: Path, project: str, *args: str) -> dict:
    return json.loads(run("mv", "savings", project, "--format", "json", "--no-plot", *args, cwd=cwd).stdout)


# --------------------------------------------------------------------------------------------
# demo park


def test_demo_prints_the_verified_saving(demo_run):
    out = " ".join(demo_run[1].split())   # rich wraps lines at the terminal width
    assert "M&V 节能量验证 E01-retrofit" in out and "within the uncertainty" in out and "fit for M&V" in out


def test_mv_list_shows_the_demo_project(demo_dir):
    rows = json.loads(run("mv", "list", "--format", "json", cwd=demo_dir).stdout)
    (p,) = [r for r in rows if r["id"] == "E01-retrofit"]
    assert p["option"] == "B" and p["meters"] == ["E01-EL-1", "E01-EL-2"] and p["weather_station"] == "WX01"
    assert p["designed_saving"]["unit"] == "kWh"
    assert "E01-retrofit" in run("mv", "list", cwd=demo_dir).stdout


def test_demo_savings_recover_the_designed_saving_within_uncertainty(demo_dir, tmp_path):
    png = tmp_path / "mv.png"
    res = json.loads(run("mv", "savings", "E01-retrofit", "--format", "json", "--plot", str(png),
                         cwd=demo_dir).stdout)
    assert {"project", "model", "metrics", "savings", "verdict"} <= set(res)
    assert {"cvrmse", "nmbe", "r2"} <= set(res["metrics"])
    s = res["savings"]
    assert {"energy", "unit", "tce", "uncertainty"} <= set(s) and s["unit"] == "kWh"
    assert res["verdict"]["fit"] is True and res["verdict"]["codes"] == []
    assert res["metrics"]["cvrmse"] < 0.20                      # G14 limit for < 12 months of reporting
    designed = s["designed"]["for_reporting_period"]
    unc = s["uncertainty"]["absolute"]
    assert s["uncertainty"]["confidence"] == pytest.approx(0.68)
    assert abs(s["energy"] - designed) <= unc                   # the "done when"
    assert s["designed"]["within_uncertainty"] is True
    # tce through the GB/T 2589-2020 electricity coefficient (calorific equivalent) [kgce/kWh]
    assert s["tce"]["coefficient"]["id"] == "electricity_equivalent"
    assert s["tce"]["value"] == pytest.approx(s["energy"] * s["tce"]["coefficient"]["value"] / 1000)
    assert s["tco2"]["factor"]["table_unit"] == "tCO2/MWh" and s["tco2"]["value"] > 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and res["plot"]["path"] == str(png)
    codes = {f["code"] for f in res["flags"]}
    assert "mv.reference.unverified" in codes                    # UNVERIFIED G14 limits are flagged
    assert "mv.data.temperature_partial_days" in codes           # the station's 5-hour maintenance gap


def test_demo_savings_table_in_both_languages_with_g14_statistics(demo_dir):
    out = " ".join(run("--lang", "en", "mv", "savings", "E01-retrofit", "--no-plot", cwd=demo_dir).stdout.split())
    for text in ("Avoided energy", "CV(RMSE)", "NMBE", "Heating balance point", "fit for M&V",
                 "UNVERIFIED", "Designed saving", "tce", "criterion [status]"):
        assert text in out, text
    out = " ".join(run("--lang", "zh", "mv", "savings", "E01-retrofit", "--no-plot", cwd=demo_dir).stdout.split())
    for text in ("节能量", "CV(RMSE)", "采暖平衡点", "基线满足测量与验证要求", "设计节能量", "工作日基础负荷", "报告期节能量"):
        assert text in out, text
    assert "Avoided energy" not in out and "Heating balance point" not in out


def test_fit_save_and_frozen_model_give_identical_savings(demo_dir, tmp_path):
    saved = tmp_path / "model.json"
    fit = json.loads(run("mv", "fit", "E01-retrofit", "--format", "json", "--save", str(saved), cwd=demo_dir).stdout)
    assert fit["savings"] is None and fit["verdict"]["fit"] is True
    assert fit["model"]["kind"] == "daily_change_point" and fit["model"]["balance_points"]
    frozen = savings_json(demo_dir, "E01-retrofit", "--model", str(saved))
    refit = savings_json(demo_dir, "E01-retrofit")
    assert frozen["model"] == refit["model"] == json.loads(saved.read_text())["model"]
    assert frozen["savings"]["energy"] == refit["savings"]["energy"]
    assert "mv.project.model_frozen" in {f["code"] for f in frozen["flags"]}
    # the serialised model predicts identically to a fresh fit in Python
    p = park_mod.load(demo_dir / "park.toml")
    from greenpark.store import Store

    with Store(p.db_path, p.park.timezone, read_only=True) as st:
        data = mv_projects.assemble(st.con, p, p.mv_project("E01-retrofit"), "daily")
    proj = p.mv_project("E01-retrofit")
    fresh = mv.DailyChangePointModel().fit(data.baseline(proj))
    rebuilt = mv.model_from_dict(json.loads(saved.read_text())["model"])
    rep = data.reporting(proj)
    np.testing.assert_array_equal(fresh.predict(rep)["predicted"].to_numpy(), rebuilt.predict(rep)["predicted"].to_numpy())


def test_unknown_project_is_a_clear_error(demo_dir):
    p = run("mv", "savings", "nope", cwd=demo_dir, check=False)
    assert p.returncode == 2 and "no M&V project 'nope'" in p.stderr and "E01-retrofit" in p.stderr


# --------------------------------------------------------------------------------------------
# small synthetic park


def test_synthetic_saving_recovered_from_the_store(mv_park):
    d, truth = mv_park
    res = savings_json(d, "full", "--confidence", "0.95")
    s = res["savings"]
    assert res["model"]["kind"] == "daily_change_point" and res["verdict"]["fit"] is True
    assert s["uncertainty"]["confidence"] == pytest.approx(0.95)
    assert abs(s["energy"] - truth["avoided_energy"]) <= s["uncertainty"]["absolute"]
    assert s["fraction"] == pytest.approx(SAVING, abs=0.02)
    # the designed saving is given in MWh over the reporting period and converted into kWh
    assert s["designed"]["for_reporting_period"] == pytest.approx(truth["avoided_energy"], rel=1e-5)
    # the day with three missing hours is not a low-consumption day: it is missing, and said so
    assert "mv.data.incomplete_days" in {f["code"] for f in res["flags"]}
    assert res["data"]["energy"]["days_complete"] == res["data"]["energy"]["days"] - 1
    assert res["project"]["meters"] == ["E1-EL"]          # carrier = "electricity": top-level meters


def test_sufficiency_failures_have_codes_through_the_cli(mv_park):
    d, _ = mv_park
    short = savings_json(d, "short")
    assert short["verdict"]["fit"] is False
    assert {"mv.sufficiency.baseline_too_short", "mv.sufficiency.too_few_days"} <= set(short["verdict"]["codes"])
    notemp = savings_json(d, "notemp")
    assert notemp["verdict"]["fit"] is False and notemp["savings"] is None
    assert {"mv.sufficiency.missing_temperature", "mv.sufficiency.too_few_days"} <= set(notemp["verdict"]["codes"])
    out = " ".join(run("mv", "fit", "short", cwd=d).stdout.split())
    assert "not fit for M&V" in out and "mv.sufficiency.baseline_too_short" in out


def test_hourly_towt_project_with_adjustment(mv_park):
    d, truth = mv_park
    res = savings_json(d, "hourly")
    assert res["model"]["kind"] == "hourly_towt" and res["data"]["resolution"] == "hourly"
    s = res["savings"]
    assert s["adjustments"]["items"][0]["reason"] == "line 3 added in March"
    assert s["adjustments"]["total"] == 5000.0
    assert s["energy"] == pytest.approx(s["routine_savings"] + 5000.0)
    assert s["fraction"] == pytest.approx(SAVING, abs=0.02)


def test_invalid_projects_name_the_entry_and_the_fix(tmp_path):
    bad = (textwrap.dedent(MV_PARK).replace('weather_station = "WX2"', 'weather_station = "WX9"')
           .replace('value = DESIGNED, unit = "MWh"', 'value = 12.0, unit = "%"'))
    (tmp_path / "park.toml").write_text(bad, encoding="utf-8")
    p = run("mv", "list", cwd=tmp_path, check=False)
    assert p.returncode == 2
    assert "mv_projects 'notemp': weather_station 'WX9' is not a station id" in p.stderr
    assert "mv_projects 'full': designed_saving unit '%' is neither 'tce' nor convertible" in p.stderr


def test_daily_production_spreads_monthly_output_over_working_days():
    p = park_mod.parse(textwrap.dedent(MV_PARK).replace("DESIGNED", "1.0").replace(
        'model = "daily"\n', 'model = "daily"\nproduct = "E1-P"\nshutdowns = [{ start = 2025-02-03, end = 2025-02-07, '
        'reason = "extended Spring Festival" }]\n'))
    proj = p.mv_project("full")
    days = pd.date_range("2024-12-01", "2025-02-28", freq="D")
    dtypes, _ = mv.day_types(days)
    working = dtypes.isin(["weekday", "makeup_workday"]).to_numpy() & ~days.isin(mv_projects._shutdown_days(proj))
    prod, unit = mv_projects.daily_production(p, proj, days, working)
    assert unit == "t"
    assert prod["2024-12"].isna().all()                   # no product entry for 2024
    assert prod["2025-01"].sum() == pytest.approx(100) and prod["2025-02"].sum() == pytest.approx(80)
    assert (prod[~working & (days >= "2025-01-01")] == 0).all()
    assert prod["2025-02-05"] == 0                         # a shutdown day produces nothing
    feb = prod["2025-02"]
    assert feb[feb > 0].nunique() == 1                     # evenly over the working days


def test_adjustment_period_shorthand_and_its_error():
    text = textwrap.dedent(MV_PARK).replace("DESIGNED", "1.0")
    month = text.replace("adjustments = [{ start = 2025-03-01, end = 2025-03-31,", 'adjustments = [{ period = "2025-02",')
    (adj,) = park_mod.parse(month).mv_project("hourly").adjustments
    assert (adj.start.isoformat(), adj.end.isoformat()) == ("2025-02-01", "2025-02-28")
    with pytest.raises(park_mod.ParkError, match=r"mv_projects\[3\] \(id 'hourly'\).*period 'March' is neither"):
        park_mod.parse(text.replace("adjustments = [{ start = 2025-03-01, end = 2025-03-31,",
                                    'adjustments = [{ period = "March",'))
    outside = text.replace("start = 2025-03-01, end = 2025-03-31", "start = 2024-03-01, end = 2024-03-31")
    with pytest.raises(park_mod.ParkError, match="adjustment 'line 3 added in March' .* lies outside the reporting"):
        park_mod.parse(outside)


def test_savings_html_report_is_self_contained(demo_dir, tmp_path):
    out = tmp_path / "report.html"
    run("mv", "savings", "E01-retrofit", "--html", str(out), "--plot", str(tmp_path / "mv.png"), cwd=demo_dir)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and "data:image/png;base64," in text
    assert "fit for M&amp;V" in text and "electricity_equivalent" in text and "GB/T 2589-2020" in text
    assert "src='http" not in text and 'src="http' not in text  # no external assets
