"""HJ 633-2012 / HJ 633-2026 AQI: golden breakpoint tables, hand-computed cases, special rules,
daily statistics validity, comparison with python-aqi, and the ``greenpark aqi`` CLI.

Hand computations use eq. (1) of HJ 633 with exact fractions and round up (cl. 4.2.6).
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from greenpark import reference
from greenpark.cli import app
from greenpark.core import aqi

IAQI = [0, 50, 100, 150, 200, 300, 400, 500]

# Golden copy of HJ 633-2012 Table 1 (standards.md section 3.1), typed in independently of the data file.
GOLDEN_2012 = {
    ("so2", "24h"): [0, 50, 150, 475, 800, 1600, 2100, 2620],
    ("so2", "1h"): [0, 150, 500, 650, 800],
    ("no2", "24h"): [0, 40, 80, 180, 280, 565, 750, 940],
    ("no2", "1h"): [0, 100, 200, 700, 1200, 2340, 3090, 3840],
    ("pm10", "24h"): [0, 50, 150, 250, 350, 420, 500, 600],
    ("co", "24h"): [0, 2, 4, 14, 24, 36, 48, 60],
    ("co", "1h"): [0, 5, 10, 35, 60, 90, 120, 150],
    ("o3", "1h"): [0, 160, 200, 300, 400, 800, 1000, 1200],
    ("o3", "8h"): [0, 100, 160, 215, 265, 800],
    ("pm25", "24h"): [0, 35, 75, 115, 150, 250, 350, 500],
}
# HJ 633-2026 Table 3 (standards.md 3.4): PM2.5 and PM10 change at IAQI 100, the rest unchanged.
GOLDEN_2026 = {**GOLDEN_2012,
               ("pm10", "24h"): [0, 50, 120, 250, 350, 420, 500, 600],
               ("pm25", "24h"): [0, 35, 60, 115, 150, 250, 350, 500]}
GOLDEN = {"2012": GOLDEN_2012, "2026": GOLDEN_2026}


def exact_iaqi(c: Fraction, bps: list[int]) -> int:
    """Eq. (1) with fractions, rounded up; c within the table."""
    for k in range(1, len(bps)):
        if c <= bps[k]:
            lo, hi = bps[k - 1], bps[k]
            return math.ceil(Fraction(IAQI[k] - IAQI[k - 1], hi - lo) * (c - lo) + IAQI[k - 1])
    raise AssertionError("above table")


# ------------------------------------------------------------------ golden tables
@pytest.mark.parametrize("edition", ["2012", "2026"])
def test_shipped_breakpoints_match_golden(edition):
    rows = [r for r in reference.load("hj633_breakpoints").rows if r["edition"] == edition]
    shipped: dict[tuple[str, str], list] = {}
    for r in sorted(rows, key=lambda r: r["iaqi"]):
        shipped.setdefault((r["pollutant"], r["averaging"]), []).append((r["iaqi"], r["concentration"]))
    assert set(shipped) == set(GOLDEN[edition])
    for key, bps in GOLDEN[edition].items():
        assert shipped[key] == list(zip(IAQI[: len(bps)], bps, strict=True)), key


def test_every_row_has_status_and_source():
    for name in ("hj633_breakpoints", "hj633_rules", "hj633_report_items", "hj633_levels"):
        for r in reference.load(name).rows:
            assert r["source"] and r["status"] in reference.STATUSES


def test_2026_so2_24h_is_c1_and_rest_sourced():
    rows = reference.load("hj633_breakpoints").rows
    assert {r["status"] for r in rows if r["edition"] == "2026" and r["pollutant"] == "so2" and r["averaging"] == "24h"} == {"C1"}


# ------------------------------------------------------------------ hand-computed IAQI
@pytest.mark.parametrize("edition", ["2012", "2026"])
def test_iaqi_at_and_around_every_breakpoint(edition):
    for (p, a), bps in GOLDEN[edition].items():
        cases = []
        for b in bps:
            for d in (Fraction(0), Fraction(-1, 10), Fraction(1, 10), Fraction(-1), Fraction(1)):
                c = b + d
                if 0 <= c <= bps[-1]:
                    cases.append(c)
        got, above = aqi.iaqi_hj633([float(c) for c in cases], p, a, edition)
        want = [exact_iaqi(c, bps) for c in cases]
        assert got.tolist() == want, (edition, p, a)
        assert not above.any()


def test_exact_breakpoint_values_do_not_round_up():
    # CO 2.2 mg/m3 24 h: 50 + 25 * 0.2 = 55 exactly (aqi-hub gives 56 through float error)
    got, _ = aqi.iaqi_hj633([2.2, 0.3, 2.6, 14.2], "co", "24h", "2012")
    assert got.tolist() == [55, 8, 65, 151]
    got, _ = aqi.iaqi_hj633([0.7, 1.4, 2.1], "pm25", "24h", "2012")  # 50/35 * c
    assert got.tolist() == [1, 2, 3]


def test_iaqi_hand_cases():
    # PM2.5 24 h 80: 2012 100 + 50/40*5 = 106.25 -> 107; 2026 100 + 50/55*20 = 118.18 -> 119
    assert aqi.iaqi_hj633([80], "pm25", "24h", "2012")[0][0] == 107
    assert aqi.iaqi_hj633([80], "pm25", "24h", "2026")[0][0] == 119
    # PM10 24 h 130: 2012 50 + 50/100*80 = 90; 2026 100 + 50/130*10 = 103.8 -> 104
    assert aqi.iaqi_hj633([130], "pm10", "24h", "2012")[0][0] == 90
    assert aqi.iaqi_hj633([130], "pm10", "24h", "2026")[0][0] == 104
    # SO2 24 h 100 -> 75 (the aqi-hub 24 h table would give 34)
    assert aqi.iaqi_hj633([100], "so2", "24h", "2026")[0][0] == 75


def test_above_top_breakpoint_capped_and_flagged():
    got, above = aqi.iaqi_hj633([500, 501, 10_000, 1e30], "pm25", "24h", "2012")
    assert got.tolist() == [500, 500, 500, 500]
    assert above.tolist() == [False, True, True, True]
    r = aqi.aqi_hj633(_daily(pm25=[600.0]), edition="2012")
    assert r.table["aqi"].iloc[0] == 500
    assert "aqi.above_top_breakpoint" in r.table["flags"].iloc[0]


def test_negative_concentration_is_an_error():
    with pytest.raises(aqi.AQIInputError):
        aqi.iaqi_hj633([-1.0], "pm25", "24h", "2012")


# ------------------------------------------------------------------ AQI rows
def _daily(**over):
    n = len(next(iter(over.values()))) if over else 1
    base = {"so2": 10.0, "no2": 20.0, "pm10": 40.0, "pm25": 20.0, "co": 0.5, "o3_8h": 60.0}
    d = {k: over.get(k, [v] * n) for k, v in base.items()}
    d.update({k: v for k, v in over.items() if k not in base})
    return pd.DataFrame(d)


def test_aqi_primary_level_category():
    r = aqi.aqi_hj633(_daily(pm25=[80.0], pm10=[130.0]), edition="2012").table.iloc[0]
    assert (r["aqi"], r["primary_pollutant"], r["level"], r["category"], r["category_en"], r["colour"]) == (
        107, "PM2.5", 3, "轻度污染", "Lightly polluted", "#FF7E00")


def test_primary_empty_when_aqi_at_most_50_and_ties_joined():
    r = aqi.aqi_hj633(_daily(pm25=[35.0], pm10=[50.0]), edition="2012").table.iloc[0]
    assert r["aqi"] == 50 and r["primary_pollutant"] == "" and r["level"] == 1
    r = aqi.aqi_hj633(_daily(pm25=[75.0], pm10=[150.0]), edition="2012").table.iloc[0]
    assert r["aqi"] == 100 and r["primary_pollutant"] == "PM10;PM2.5"


def test_level_boundaries():
    # O3 8 h 160 -> 100 (level 2), 161 -> 101 (level 3, ceil of 100.9)
    t = aqi.aqi_hj633(_daily(o3_8h=[160.0, 161.0, 265.0, 266.0, 800.0]), edition="2026").table
    assert t["aqi"].tolist() == [100, 101, 200, 201, 300]
    assert t["level"].tolist() == [2, 3, 4, 5, 5]


def test_edition_from_date():
    df = _daily(pm25=[70.0, 70.0])
    df.insert(0, "date", ["2026-02-28", "2026-03-01"])
    t = aqi.aqi_hj633(df).table
    assert t["edition"].tolist() == ["2012", "2026"]
    assert t["iaqi_pm25"].tolist() == [94, 110]


def test_edition_before_2016_needs_forcing():
    df = _daily(pm25=[70.0])
    df.insert(0, "date", ["2015-06-01"])
    with pytest.raises(reference.ReferenceError, match="edition"):
        aqi.aqi_hj633(df)


def test_missing_pollutant_flag_and_no_pollutant():
    t = aqi.aqi_hj633(_daily(pm25=[np.nan, np.nan], so2=[10.0, np.nan], no2=[20.0, np.nan], pm10=[40.0, np.nan],
                             co=[0.5, np.nan], o3_8h=[60.0, np.nan]), edition="2026").table
    assert t["aqi"].iloc[0] == 40 and "aqi.missing_pollutant" in t["flags"].iloc[0]
    assert pd.isna(t["aqi"].iloc[1]) and t["flags"].iloc[1] == "aqi.no_pollutant"


# ------------------------------------------------------------------ special > 800 rules
def test_o3_8h_above_800_2026_is_300():
    t = aqi.aqi_hj633(_daily(o3_8h=[800.0, 801.0, 5000.0]), edition="2026").table
    assert t["iaqi_o3_8h"].tolist() == [300, 300, 300]
    assert t["flags"].tolist() == ["", "aqi.o3_8h_above_800", "aqi.o3_8h_above_800"]


def test_o3_8h_above_800_2012_uses_1h():
    t = aqi.aqi_hj633(_daily(o3_8h=[900.0, 900.0], o3_1h=[1100.0, np.nan]), edition="2012").table
    # O3 1 h 1100: 400 + 100/200*100 = 450
    assert t["iaqi_o3_8h"].iloc[0] == 450 and t["aqi"].iloc[0] == 450
    assert pd.isna(t["iaqi_o3_8h"].iloc[1])
    assert "aqi.fallback_missing" in t["flags"].iloc[1]


def test_so2_1h_above_800_per_edition():
    h = pd.DataFrame({"so2": [900.0, 900.0], "no2": [20.0] * 2, "pm10": [40.0] * 2, "pm25": [20.0] * 2,
                      "co": [0.5] * 2, "o3": [60.0] * 2, "so2_24h": [1000.0, 1000.0]})
    t26 = aqi.aqi_hj633(h, report="hourly", edition="2026").table
    assert t26["iaqi_so2"].tolist() == [200, 200]
    t12 = aqi.aqi_hj633(h, report="hourly", edition="2012").table
    # SO2 24 h 1000: 200 + 100/800*200 = 225
    assert t12["iaqi_so2"].tolist() == [225, 225]
    assert all("aqi.so2_1h_above_800" in f for f in t12["flags"])
    t12b = aqi.aqi_hj633(h.drop(columns="so2_24h"), report="hourly", edition="2012").table
    assert t12b["iaqi_so2"].isna().all() and "aqi.fallback_missing" in t12b["flags"].iloc[0]


def test_hourly_pm_uses_24h_table():
    h = pd.DataFrame({"so2": [10.0], "no2": [20.0], "pm10": [130.0], "pm25": [80.0], "co": [0.5], "o3": [60.0]})
    t = aqi.aqi_hj633(h, report="hourly", edition="2026").table
    assert (t["iaqi_pm10"].iloc[0], t["iaqi_pm25"].iloc[0]) == (104, 119)
    assert t["iaqi_o3"].iloc[0] == math.ceil(Fraction(50, 160) * 60)


def test_reference_flags_carry_unverified():
    r = aqi.aqi_hj633(_daily(pm25=[80.0]), edition="2012")
    codes = {f["code"]: f for f in r.flags}
    assert "hj633-2012.rounding" in codes["reference.unverified"]["ids"]
    r = aqi.aqi_hj633(_daily(pm25=[80.0]), edition="2026")
    assert "reference.unverified" not in {f["code"] for f in r.flags}
    assert "hj633-2026.so2.24h.100" in {x["id"] for x in r.references}


# ------------------------------------------------------------------ daily statistics validity
def _hourly(values: dict[str, np.ndarray], start="2025-01-01 01:00", station="S1"):
    n = len(next(iter(values.values())))
    ts = pd.date_range(start, periods=n, freq="h", tz="Asia/Shanghai")  # hour-ending labels
    frames = [pd.DataFrame({"station_id": station, "timestamp": ts, "pollutant": p, "value": v})
              for p, v in values.items()]
    return pd.concat(frames, ignore_index=True)


def test_24h_mean_needs_20_hours():
    v = np.full(24, 30.0)
    v19, v20 = v.copy(), v.copy()
    v19[:5] = np.nan
    v20[:4] = np.nan
    d19 = aqi.daily_means_gb3095(_hourly({"pm25": v19}))
    d20 = aqi.daily_means_gb3095(_hourly({"pm25": v20}))
    assert pd.isna(d19["pm25"].iloc[0]) and d19["n_pm25"].iloc[0] == 19
    assert "air.daily_insufficient_hours.pm25" in d19["flags"].iloc[0]
    assert d20["pm25"].iloc[0] == 30.0 and d20["n_pm25"].iloc[0] == 20


def test_o3_8h_needs_6_values():
    ts = pd.DataFrame({"station_id": "S", "hour": pd.date_range("2025-07-01", periods=8, freq="h"),
                       "o3": [np.nan, np.nan, 100, 100, 100, 100, 100, 160.0]})
    assert aqi.o3_8h_moving_mean(ts, 6).iloc[-1] == pytest.approx(110.0)
    ts.loc[2, "o3"] = np.nan  # 5 values
    assert pd.isna(aqi.o3_8h_moving_mean(ts, 6).iloc[-1])


def test_mda8_and_o3_1h():
    o3 = np.full(24, 50.0)
    o3[12:20] = 200.0  # hours 12..19 (hour-start): one 8 h window of 200
    d = aqi.daily_means_gb3095(_hourly({"o3": o3}))
    assert d["o3_8h"].iloc[0] == pytest.approx(200.0)
    assert d["o3_1h"].iloc[0] == 200.0
    assert d["n_o3_8h"].iloc[0] == 17


def test_city_value_averages_concentrations_first():
    daily = pd.DataFrame({"station_id": ["A", "B"], "date": ["2025-01-01"] * 2, "so2": [10.0] * 2, "no2": [20.0] * 2,
                          "pm10": [40.0] * 2, "pm25": [70.0, 90.0], "co": [0.5] * 2, "o3_8h": [60.0] * 2})
    t = aqi.city_daily_aqi_hj663(daily).table
    # mean PM2.5 80 -> 107 (the mean of the station IAQIs would be (94 + 119)/2)
    assert t["aqi"].iloc[0] == 107 and t["n_stations"].iloc[0] == 2


# ------------------------------------------------------------------ python-aqi comparison
def test_agrees_with_python_aqi_where_it_is_exact():
    """python-aqi 0.6.1 (MEP algorithm) agrees with HJ 633-2012 on integer concentrations at the
    breakpoints and inside the first segment where eq. (1) gives an integer.

    Known differences (peers.md), not tested: python-aqi truncates concentrations to integers
    (CO 2.5 mg/m3 -> IAQI 50, HJ 633 gives 63); uses EPA-style discrete segments (51-150 ->
    51-100) and rounds half-even instead of up; has no SO2 1 h > 800 / O3 8 h > 800 rule; crashes
    above the top breakpoint; no 2026 edition.
    """
    paqi = pytest.importorskip("aqi")
    from aqi.algos.mep import AQI

    mep = AQI()
    names = {("so2", "24h"): paqi.constants.POLLUTANT_SO2_24H, ("so2", "1h"): paqi.POLLUTANT_SO2_1H,
             ("no2", "24h"): paqi.constants.POLLUTANT_NO2_24H, ("no2", "1h"): paqi.POLLUTANT_NO2_1H,
             ("pm10", "24h"): paqi.POLLUTANT_PM10, ("pm25", "24h"): paqi.POLLUTANT_PM25,
             ("co", "24h"): paqi.constants.POLLUTANT_CO_24H, ("co", "1h"): paqi.constants.POLLUTANT_CO_1H,
             ("o3", "1h"): paqi.POLLUTANT_O3_1H, ("o3", "8h"): paqi.POLLUTANT_O3_8H}
    n = 0
    for key, elem in names.items():
        bps = GOLDEN_2012[key]
        cases = set(bps)
        cases |= {c for c in range(0, bps[1] + 1) if Fraction(IAQI[1], bps[1]) * c == int(Fraction(IAQI[1], bps[1]) * c)}
        cases = sorted(cases)
        ours, _ = aqi.iaqi_hj633([float(c) for c in cases], *key, "2012")
        theirs = [int(mep.iaqi(elem, str(c))) for c in cases]
        assert ours.astype(int).tolist() == theirs, key
        n += len(cases)
    assert n > 300


# ------------------------------------------------------------------ CLI
def _invoke(args):
    """Run ``greenpark aqi ...`` (when aqi is the only command Typer runs it without its name)."""
    cmd = typer.main.get_command(app)
    argv = ["aqi", *args] if hasattr(cmd, "commands") else args
    return CliRunner().invoke(app, argv)


def test_cli_aqi_daily_csv(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("date,station,so2,no2,pm10,pm25,co,o3_8h\n"
                 "2026-02-28,A,10,20,50,80,2.2,100\n"
                 "2026-03-01,A,10,20,130,80,1,900\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    res = _invoke([str(f), "--daily", "-o", str(out)])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out, keep_default_na=False)
    assert t["aqi"].tolist() == [107, 300]
    assert t["iaqi_co"].tolist() == [55, 25]
    assert t["primary_pollutant"].tolist() == ["PM2.5", "O3"]
    assert t["level"].tolist() == [3, 5]
    assert t["category"].tolist() == ["轻度污染", "重度污染"]
    assert t["edition"].tolist() == [2012, 2026]


def test_cli_aqi_forced_edition_json(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("date,so2,no2,pm10,pm25,co,o3_8h\n2026-03-01,10,20,130,80,1,60\n", encoding="utf-8")
    res = _invoke([str(f), "--daily", "--edition", "2012", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["rows"][0]["aqi"] == 107 and doc["rows"][0]["edition"] == "2012"
    assert any(fl["code"] == "reference.unverified" for fl in doc["flags"])


def test_cli_aqi_hourly(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("timestamp,station,so2,no2,pm10,pm25,co,o3\n2026-03-01T10:00+08:00,A,900,20,130,80,1,60\n")
    res = _invoke([str(f), "--hourly"])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(__import__("io").StringIO(res.stdout))
    assert t["iaqi_so2"].iloc[0] == 200 and t["aqi"].iloc[0] == 200


@pytest.mark.parametrize(("text", "message"), [
    ("date,so2,no2,pm10,pm25,co\n2025-01-01,1,1,1,1,1\n", "missing column(s) o3_8h"),
    ("date,so2,no2,pm10,pm25,co,o3_8h\n2025-01-01,1,1,1,1,1,1\n2025-01-02,1,abc,1,1,1,1\n", "line 3, column 'no2'"),
    ("date,so2,no2,pm10,pm25,co,o3_8h\n2025-01-01,1,1,-5,1,1,1\n", "line 2, column 'pm10'"),
    ("date,so2,no2,pm10,pm25,co,o3_8h\n2025-13-45,1,1,1,1,1,1\n", "line 2, column 'date'"),
    ("station,date,so2,no2,pm10,pm25,co,o3_8h\nA,2025-01-01,1,1,1,1,1,1\n", "first column must be 'date'"),
])
def test_cli_aqi_errors(tmp_path, text, message):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    res = _invoke([str(f), "--daily"])
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())


def test_cli_aqi_needs_one_mode(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("date,so2,no2,pm10,pm25,co,o3_8h\n2025-01-01,1,1,1,1,1,1\n")
    assert _invoke([str(f)]).exit_code == 2


@pytest.mark.parametrize("edition", ["2012", "2026"])
def test_random_concentrations_match_exact_fractions(edition):
    """Random values with up to 3 decimals, every table: equal to eq. (1) in exact fractions."""
    rng = np.random.default_rng(8170)
    for (p, a), bps in GOLDEN[edition].items():
        milli = rng.integers(0, bps[-1] * 1000 + 1, 2000)
        got, _ = aqi.iaqi_hj633(milli / 1000, p, a, edition)
        want = [exact_iaqi(Fraction(int(m), 1000), bps) for m in milli]
        assert got.astype(int).tolist() == want, (p, a)
