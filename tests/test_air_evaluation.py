"""HJ 663 evaluation: percentile method, GB/T 8170 rounding, validity, attainment, ratios, editions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from greenpark.core import air as ae

BASE = {"so2": 10.0, "no2": 30.0, "pm10": 50.0, "pm25": 32.0, "co": 0.8, "o3_8h": 100.0}


def year_table(year: int, **over) -> pd.DataFrame:
    dates = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    d = pd.DataFrame({"date": dates})
    for k, v in BASE.items():
        d[k] = over.get(k, v)
    return d


# ------------------------------------------------------------------ percentiles (hand computed)
def test_percentile_hand_cases():
    # n = 10, p = 90: k = 1 + 9 * 0.9 = 9.1 -> X9 + 0.1 (X10 - X9) = 9.1
    assert ae.percentile_hj663(np.arange(1, 11), 90) == pytest.approx(9.1)
    # n = 5, p = 95: k = 4.8 -> 40 + 0.8 * 10 = 48
    assert ae.percentile_hj663([50, 10, 40, 30, 20], 95) == pytest.approx(48.0)
    # n = 365, p = 98: k = 1 + 364 * 0.98 = 357.72 -> 357.72
    assert ae.percentile_hj663(np.arange(1, 366), 98) == pytest.approx(357.72)
    # n = 1 -> the value; NaN ignored; k integer -> exact rank
    assert ae.percentile_hj663([7.0, np.nan], 95) == 7.0
    assert ae.percentile_hj663([1, 2, 3, 4, 5], 50) == 3.0  # k = 3
    assert np.isnan(ae.percentile_hj663([], 90))


def test_rounding_gbt8170_half_even():
    got = ae.round_gbt8170([2.35, 2.25, 0.5, 1.5, 2.5, 35.5, 35.49, 0.15], [1, 1, 0, 0, 0, 0, 0, 1])
    assert got.tolist() == [2.4, 2.2, 0.0, 2.0, 2.0, 36.0, 35.0, 0.2]


# ------------------------------------------------------------------ validity
def test_324_days_valid_323_flagged():
    d = year_table(2024)
    # 2024 has 366 days: drop 42 -> 324 valid; 43 -> 323. Spread over months to keep months >= 27.
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.choice(np.flatnonzero(d["date"].dt.month == m), 4, replace=False) for m in range(1, 13)])
    ok = d.copy()
    ok.loc[idx[:42], "pm25"] = np.nan
    ev = ae.evaluate_year_hj663(ok, 2024, edition="2012")
    assert ev.statistic("pm25", "annual_mean")["n_days"] == 324
    assert not [f for f in ev.flags if f["code"].startswith("air.insufficient_days")]
    short = d.copy()
    short.loc[idx[:43], "pm25"] = np.nan
    ev = ae.evaluate_year_hj663(short, 2024, edition="2012")
    codes = {f["code"] for f in ev.flags}
    assert "air.insufficient_days.pm25" in codes


def test_month_validity_february_25():
    d = year_table(2025)
    feb = np.flatnonzero(d["date"].dt.month == 2)  # 28 days
    d.loc[feb[:3], "no2"] = np.nan  # 25 left
    ev = ae.evaluate_month_hj663(d, 2025, 2, edition="2012")
    assert not [f for f in ev.flags if f["code"].startswith("air.insufficient_days")]
    d.loc[feb[3], "no2"] = np.nan  # 24 left
    ev = ae.evaluate_month_hj663(d, 2025, 2, edition="2012")
    assert "air.insufficient_days.no2" in {f["code"] for f in ev.flags}
    ev = ae.evaluate_year_hj663(d, 2025, edition="2012")
    assert "air.month_insufficient_days.no2.2025-02" in {f["code"] for f in ev.flags}


# ------------------------------------------------------------------ statistics and attainment
def test_statistics_and_attainment_2012():
    d = year_table(2025)
    d["pm25"] = np.tile(np.arange(1, 74), 5)  # 365 values, mean 37
    ev = ae.evaluate_year_hj663(d, 2025, edition="2012")
    s = ev.statistic("pm25", "annual_mean")
    assert s["value"] == 37.0 and s["limit"] == 35 and s["attains"] is False
    # 95th: sorted values each 5 times; k = 1 + 364 * 0.95 = 346.8 -> X346 = X347 = 70
    assert ev.statistic("pm25", "p95")["value"] == 70.0
    assert ev.statistic("o3", "p90")["value"] == 100.0 and ev.statistic("o3", "p90")["limit"] == 160
    assert ev.attainment is False
    assert ev.statistic("co", "p95")["value"] == 0.8


def test_daily_values_rounded_before_evaluation():
    d = year_table(2025)
    d["co"] = 0.85  # rounds half-even to 0.8 each day
    d["so2"] = 10.5  # rounds to 10
    ev = ae.evaluate_year_hj663(d, 2025, edition="2012")
    assert ev.statistic("co", "p95")["value"] == 0.8
    assert ev.statistic("so2", "annual_mean")["value"] == 10.0


def test_good_and_heavy_days():
    d = year_table(2025)
    d.loc[:9, "pm25"] = 200.0   # 10 days AQI 250 (heavy)
    d.loc[10:29, "pm25"] = 100.0  # 20 days AQI 132 (light)
    ev = ae.evaluate_year_hj663(d, 2025, edition="2012")
    assert ev.valid_aqi_days == 365 and ev.good_days == 335 and ev.heavy_days == 10
    assert ev.good_days_ratio == round(100 * 335 / 365, 1)
    assert ev.heavy_days_ratio == round(100 * 10 / 365, 1)


def test_composite_index_and_flag():
    d = year_table(2025)
    ev = ae.evaluate_year_hj663(d, 2025, edition="2012")
    # 10/60 + 30/40 + 50/70 + 32/35 + 0.8/4 + 100/160
    want = 10 / 60 + 30 / 40 + 50 / 70 + 32 / 35 + 0.8 / 4 + 100 / 160
    assert ev.composite_index == round(want, 2)
    assert "air.composite_index_not_corroborated" in {f["code"] for f in ev.flags}
    ev26 = ae.evaluate_year_hj663(year_table(2027), 2027, edition="2026")
    want26 = 10 / 60 + 2 * 30 / 40 + 50 / 60 + 3 * 32 / 30 + 0.8 / 4 + 2 * 100 / 160
    assert ev26.composite_index == round(want26, 2)


# ------------------------------------------------------------------ editions across 2026-03-01
def test_year_2026_auto_uses_day_editions_and_year_end_limits():
    d = year_table(2026, pm25=32.0)
    ev = ae.evaluate_year_hj663(d, 2026)  # auto
    assert ev.editions["daily_aqi"] == {"HJ 633-2012": 59, "HJ 633-2026": 306}
    assert ev.editions["evaluation"].startswith("HJ 663-2026, GB 3095-2026 class 2 (transition")
    assert ev.statistic("pm25", "annual_mean")["limit"] == 30 and ev.attainment is False
    # forced 2012: limit 35, attains; every day on HJ 633-2012
    ev12 = ae.evaluate_year_hj663(d, 2026, edition="2012")
    assert ev12.statistic("pm25", "annual_mean")["limit"] == 35 and ev12.attainment is True
    assert ev12.editions["daily_aqi"] == {"HJ 633-2012": 365}
    # 2026 editions carry the unverified validity rules
    assert any(f["code"] == "reference.unverified" for f in ev.flags)


def test_good_days_change_with_day_edition():
    d = year_table(2026, pm25=70.0)  # 2012: IAQI 94 (good); 2026: 110 (not good)
    ev = ae.evaluate_year_hj663(d, 2026)
    assert ev.good_days == 59


def test_final_phase_2031():
    ev = ae.evaluate_year_hj663(year_table(2031, pm25=20.0), 2031)
    assert ev.statistic("pm25", "annual_mean")["limit"] == 25
    assert "final" in ev.editions["evaluation"]


def test_year_on_year():
    a = ae.evaluate_year_hj663(year_table(2024, pm25=40.0), 2024, edition="2012")
    b = ae.evaluate_year_hj663(year_table(2025, pm25=30.0), 2025, edition="2012")
    yoy = ae.year_on_year_hj663(b, a)
    row = [s for s in yoy["statistics"] if s["pollutant"] == "pm25" and s["statistic"] == "annual_mean"][0]
    assert row["change_pct"] == -25.0


def test_station_rows_are_averaged_per_date():
    d1 = year_table(2025, pm25=30.0)
    d2 = year_table(2025, pm25=40.0)
    d1["station_id"], d2["station_id"] = "A", "B"
    ev = ae.evaluate_year_hj663(pd.concat([d1, d2]), 2025, edition="2012")
    assert ev.statistic("pm25", "annual_mean")["value"] == 35.0


def test_from_hourly_table():
    ts = pd.date_range("2025-01-01 01:00", "2026-01-01 00:00", freq="h", tz="Asia/Shanghai")
    frames = [pd.DataFrame({"station_id": s, "timestamp": ts, "pollutant": p, "value": BASE.get(p, 100.0)})
              for s in ("A", "B") for p in ("so2", "no2", "pm10", "pm25", "co", "o3")]
    ev = ae.evaluate_hourly_hj663(pd.concat(frames, ignore_index=True), dt.date(2025, 1, 1), dt.date(2025, 12, 31),
                                  edition="2012")
    assert ev.n_days == 365 and ev.statistic("pm25", "annual_mean")["value"] == 32.0
    assert ev.statistic("o3", "p90")["value"] == 100.0
    assert ev.attainment is True


def test_bad_edition():
    with pytest.raises(ae.EvaluationError):
        ae.evaluate_year_hj663(year_table(2025), 2025, edition="2013")


def test_demo_year_is_deterministic_and_evaluates():
    from greenpark.demo import environment as demo_env

    h1, h2 = demo_env.air_hourly(2025), demo_env.air_hourly(2025)
    pd.testing.assert_frame_equal(h1, h2)
    assert set(h1["station_id"]) == {"AQ01", "AQ02", "AQ03"}
    assert str(h1["timestamp"].dt.tz) == "Asia/Shanghai"
    assert len(h1) < 3 * 6 * 8760  # some hours missing
    ev = ae.evaluate_hourly_hj663(h1, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert ev.n_days == 365 and 60 < ev.good_days_ratio < 100
    # Yangtze delta shape: winter PM2.5 above summer, summer O3 peaks above winter
    d = h1.assign(m=h1["timestamp"].dt.month)
    pm = d[d["pollutant"] == "pm25"].groupby("m")["value"].mean()
    o3 = d[d["pollutant"] == "o3"].groupby("m")["value"].max()
    assert pm[1] > 1.5 * pm[7] and o3[6] > o3[1]


# ------------------------------------------------------------------ values exactly on a limit (issue 16 #14 d, e)
def _limit_cases():
    cases = []
    for edition, year in (("2012", 2025), ("2026", 2027)):
        ev = ae.evaluate_year_hj663(year_table(year), year, edition=edition)
        for s in ev.statistics:
            if s["limit"] is not None:
                cases.append((edition, year, s["pollutant"], s["statistic"], s["limit"]))
    return cases


@pytest.mark.parametrize(("edition", "year", "pollutant", "statistic", "limit"), _limit_cases())
def test_attainment_exactly_on_every_limit(edition, year, pollutant, statistic, limit):
    """A statistic equal to its GB 3095 limit attains (C <= limit); one rounding step above does not."""
    col = ae.DAILY_COLUMN[pollutant]
    step = 0.1 if pollutant == "co" else 1.0
    for value, attains in ((limit, True), (limit + step, False)):
        d = year_table(year)
        if statistic == "annual_mean":
            d[col] = value
        else:  # percentile: the 40 highest days on the value -> ranks s and s+1 both hold it (p90..p98, n=365)
            d[col] = BASE[col] / 10
            d.loc[d.index[-40:], col] = value
        s = ae.evaluate_year_hj663(d, year, edition=edition).statistic(pollutant, statistic)
        assert s["value"] == value
        assert s["attains"] is attains, (pollutant, statistic, value)


def _one_day(**over):
    d = pd.DataFrame({"date": [pd.Timestamp("2025-06-01")], **{k: [over.get(k, v)] for k, v in BASE.items()}})
    return ae.evaluate_period_hj663(d, dt.date(2025, 6, 1), dt.date(2025, 6, 1), edition="2012", kind="month")


@pytest.mark.parametrize(("pm25", "aqi", "good", "heavy"), [
    (75.0, 100, 1, 0),    # IAQI exactly 100 (24 h PM2.5 breakpoint 75): a good day (AQI <= 100)
    (76.0, 102, 0, 0),    # 100 + 50/40 * 1 = 101.25 -> 102
    (150.0, 200, 0, 0),   # exactly 200: not heavy
    (151.0, 201, 0, 1),   # 200 + 100/100 * 1 = 201: heavily polluted (AQI >= 201)
])
def test_good_and_heavy_day_boundaries(pm25, aqi, good, heavy):
    ev = _one_day(pm25=pm25)
    assert int(ev.daily["aqi"].iloc[0]) == aqi
    assert (ev.valid_aqi_days, ev.good_days, ev.heavy_days) == (1, good, heavy)


# ------------------------------------------------------------------ one daily series (issue 16 #2)
def _hourly_two_days(pm25: float) -> pd.DataFrame:
    """Station A, 2025-06-01 and 06-02 (hours labelled by their end); PM10 on 06-02 has only 10 hours."""
    ts = pd.date_range("2025-06-01 01:00", "2025-06-03 00:00", freq="h", tz="Asia/Shanghai")
    vals = {"so2": 10.0, "no2": 30.0, "pm10": 50.0, "pm25": pm25, "co": 0.8, "o3": 100.0}
    frames = [pd.DataFrame({"station_id": "A", "timestamp": ts, "pollutant": p, "value": v}) for p, v in vals.items()]
    h = pd.concat(frames, ignore_index=True)
    drop = (h["pollutant"] == "pm10") & (h["timestamp"] > pd.Timestamp("2025-06-02 10:00", tz="Asia/Shanghai"))
    return h[~drop].reset_index(drop=True)


def test_calendar_is_the_records_rounded_series():
    # PM2.5 24 h mean 150.5 rounds half-even to 150 -> IAQI 200 (level 4, not heavy). Unrounded it
    # would be 200 + 0.5 = 200.5 -> 201 (heavy), which the calendar used to show.
    ev = ae.evaluate_hourly_hj663(_hourly_two_days(150.5), dt.date(2025, 6, 1), dt.date(2025, 6, 2),
                                  edition="2012", kind="month")
    cal = ae.daily_aqi_records(ev.daily)
    assert [c["date"] for c in cal] == ["2025-06-01", "2025-06-02"]
    assert cal[0]["aqi"] == 200 and cal[0]["level"] == 4 and cal[0]["primary_pollutant"] == "PM2.5"
    assert ev.heavy_days == 0 and ev.valid_aqi_days == 1
    # 06-02: PM10 has 10 of the 20 required hours -> the record does not count the day: no AQI shown
    assert cal[1] == {"date": "2025-06-02", "aqi": None, "level": None, "primary_pollutant": None, "colour": None}
    # the calendar counts exactly what the record counts
    assert sum(c["aqi"] is not None for c in cal) == ev.valid_aqi_days
    assert sum(c["aqi"] is not None and c["aqi"] <= 100 for c in cal) == ev.good_days


def test_daily_aqi_series_matches_evaluation():
    h = _hourly_two_days(151.5)  # rounds to 152 -> IAQI 202
    from greenpark.core import aqi
    daily = aqi.daily_means_gb3095(h, edition="2012")
    s = ae.daily_aqi_series(daily, dt.date(2025, 6, 1), dt.date(2025, 6, 2), edition="2012")
    assert s["aqi"].iloc[0] == 202 and bool(s["valid"].iloc[0]) and not bool(s["valid"].iloc[1])


def test_demo_calendar_counts_what_the_record_counts(demo_dir):
    """`greenpark air` JSON: the calendar (daily_aqi) is the record's own daily series."""
    import json

    from conftest import run

    rec = json.loads(run("air", "--period", "2025", "--format", "json", cwd=demo_dir).stdout)
    cal = [d for d in rec["daily_aqi"] if d["aqi"] is not None]
    assert len(cal) == rec["valid_days"]
    good = sum(d["aqi"] <= 100 for d in cal)
    heavy = sum(d["aqi"] >= 201 for d in cal)
    assert round(100 * good / len(cal), 1) == rec["good_days_ratio"] and good == rec["good_days"]
    assert round(100 * heavy / len(cal), 1) == rec["heavy_pollution_days_ratio"]
