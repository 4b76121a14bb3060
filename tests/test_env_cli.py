"""`greenpark air` and `greenpark water` on the demo park: the store round trip keeps every value,
and the CLI gives the same record as the cores applied to the generated data."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from greenpark.core import air, water
from greenpark.demo import environment as demo_env

from conftest import run


@pytest.fixture(scope="module")
def air_2025(demo_dir):
    return json.loads(run("air", "--period", "2025", "--format", "json", cwd=demo_dir).stdout)


def test_air_json_keys_and_values_match_the_core_on_the_generated_data(air_2025):
    assert {"period", "edition", "pm25_annual_mean", "good_days_ratio", "heavy_pollution_days_ratio",
            "valid_days", "percentiles", "stations"} <= set(air_2025)
    direct = air.evaluate_hourly_hj663(demo_env.air_hourly(2025), dt.date(2025, 1, 1),
                                                  dt.date(2025, 12, 31)).to_dict()
    assert air_2025["good_days_ratio"] == direct["good_days_ratio"]
    assert air_2025["statistics"] == json.loads(json.dumps(direct["statistics"]))
    assert [s["id"] for s in air_2025["stations"]] == ["AQ01", "AQ02", "AQ03"]
    assert air_2025["edition"]["evaluation"].startswith("HJ 663-2013")
    assert len(air_2025["daily_aqi"]) == 365


def test_air_edition_2026_uses_the_2026_breakpoints(demo_dir, air_2025):
    e26 = json.loads(run("air", "--period", "2025", "--edition", "2026", "--format", "json", cwd=demo_dir).stdout)
    assert e26["edition"]["daily_aqi"] == {"HJ 633-2026": 365}
    # the 2026 PM2.5 breakpoint for IAQI 100 is 60 ug/m3 instead of 75: never more good days
    assert e26["good_days_ratio"] <= air_2025["good_days_ratio"]
    assert e26["pm25_annual_mean"] == air_2025["pm25_annual_mean"]


def test_air_for_one_station_and_one_month(demo_dir):
    m = json.loads(run("air", "--period", "2025-01", "--station", "AQ02", "--format", "json", cwd=demo_dir).stdout)
    assert m["period"] == "2025-01" and [s["id"] for s in m["stations"]] == ["AQ02"] and m["valid_days"] <= 31


def test_air_errors_are_clear(demo_dir):
    p = run("air", "--period", "2025-Q1", cwd=demo_dir, check=False)
    assert p.returncode == 2 and "years (2025) and months" in p.stderr
    p = run("air", "--period", "2025", "--station", "W01", cwd=demo_dir, check=False)
    assert p.returncode == 2 and "not an air station" in p.stderr
    p = run("air", "--period", "2024", cwd=demo_dir, check=False)
    assert p.returncode == 2 and "no air observations" in p.stderr


def test_water_matches_the_core_on_the_generated_samples(demo_dir):
    rec = json.loads(run("water", "--period", "2025", "--format", "json", cwd=demo_dir).stdout)
    samples, sections = demo_env.water_samples(2025)
    direct = water.evaluate_sections_gb3838(samples, sections, dt.date(2025, 1, 1), dt.date(2025, 12, 31)).to_dict()
    assert rec["good_share_pct"] == direct["good_share_pct"]
    assert [(s["section_id"], s["class"]) for s in rec["sections"]] == [(s["section_id"], s["class"])
                                                                        for s in direct["sections"]]
    assert "W04" in {s["section_id"] for s in rec["sections"] if not s["meets_iii"]}
