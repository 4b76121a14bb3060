"""GB 3838-2002 single-factor classes: upper limits, DO, pH, river vs lake TP, period rule, share."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from greenpark import reference
from greenpark.core import water

SECTIONS = {"R1": "river", "L1": "lake"}


def one(section, parameter, value, date="2025-06-01"):
    return pd.DataFrame({"section_id": [section], "date": [date], "parameter": [parameter], "value": [value]})


def cls(section, parameter, value):
    return water.classify_samples_gb3838(one(section, parameter, value), SECTIONS).iloc[0]


def test_golden_table_rows():
    t = {(r["parameter"], r["water_body"]): r for r in reference.load("gb3838_limits").rows}
    assert [t[("nh3n", "all")][c] for c in water.CLASS_COLUMNS] == [0.15, 0.5, 1.0, 1.5, 2.0]
    assert [t[("tp", "river")][c] for c in water.CLASS_COLUMNS] == [0.02, 0.1, 0.2, 0.3, 0.4]
    assert [t[("tp", "lake")][c] for c in water.CLASS_COLUMNS] == [0.01, 0.025, 0.05, 0.1, 0.2]
    assert [t[("do", "all")][c] for c in water.CLASS_COLUMNS] == [7.5, 6, 5, 3, 2]
    assert [t[("codmn", "all")][c] for c in water.CLASS_COLUMNS] == [2, 4, 6, 10, 15]
    assert [t[("hg", "all")][c] for c in water.CLASS_COLUMNS] == [0.00005, 0.00005, 0.0001, 0.001, 0.001]


@pytest.mark.parametrize(("value", "expected"), [(0.15, 1), (0.16, 2), (0.5, 2), (1.0, 3), (1.01, 4), (2.0, 5), (2.01, 6)])
def test_upper_limit_boundaries(value, expected):
    assert cls("R1", "nh3n", value)["class"] == expected


def test_river_vs_lake_tp():
    assert cls("R1", "tp", 0.1)["class"] == 2
    assert cls("L1", "tp", 0.1)["class"] == 4
    assert cls("L1", "tp", 0.05)["class"] == 3
    assert cls("R1", "tp", 0.45)["class_label"] == "劣V"
    # lake TP 0.15: class V, (0.15 - 0.05)/0.05 = 2 times over class III
    r = cls("L1", "tp", 0.15)
    assert r["class"] == 5 and r["exceedance_multiple"] == pytest.approx(2.0)


@pytest.mark.parametrize(("value", "expected"), [(8.0, 1), (7.5, 1), (7.4, 2), (6.0, 2), (5.0, 3), (4.9, 4), (2.0, 5), (1.9, 6)])
def test_do_higher_is_better(value, expected):
    r = cls("R1", "do", value)
    assert r["class"] == expected
    assert np.isnan(r["exceedance_multiple"])


@pytest.mark.parametrize(("value", "expected"), [(6.0, 1), (7.5, 1), (9.0, 1), (5.9, 6), (9.1, 6)])
def test_ph_range(value, expected):
    assert cls("R1", "ph", value)["class"] == expected


def test_tn_only_for_lakes():
    r = cls("R1", "tn", 3.0)
    assert pd.isna(r["class"]) and r["flags"] == "water.parameter_not_applicable"
    assert cls("L1", "tn", 1.2)["class"] == 4
    assert cls("R1", "xyz", 1.0)["flags"] == "water.unknown_parameter"


def test_negative_value_is_an_error():
    with pytest.raises(water.WaterInputError):
        water.classify_samples_gb3838(one("R1", "cod", -1.0), SECTIONS)


def test_section_class_from_period_means_worst_wins():
    s = pd.concat([
        one("R1", "cod", 18.0, "2025-01-10"), one("R1", "cod", 26.0, "2025-02-10"),  # mean 22 -> IV
        one("R1", "nh3n", 0.4, "2025-01-10"), one("R1", "nh3n", 0.6, "2025-02-10"),  # mean 0.5 -> II
        one("R1", "ph", 7.0, "2025-01-10"), one("R1", "ph", 9.2, "2025-02-10"),     # worst sample -> 劣V
        one("L1", "tp", 0.02, "2025-01-10"), one("L1", "tp", 0.04, "2025-02-10"),   # mean 0.03 -> III
        one("L1", "do", 6.5, "2025-01-10"), one("L1", "do", 7.0, "2025-02-10"),     # mean 6.75 -> II
        one("L1", "tp", 0.5, "2024-12-10"),                                          # outside the period
    ], ignore_index=True)
    ev = water.evaluate_sections_gb3838(s, SECTIONS, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    sec = ev.sections.set_index("section_id")
    assert sec.loc["L1", "class"] == 3 and sec.loc["L1", "meets_iii"]
    assert sec.loc["R1", "class"] == 6 and sec.loc["R1", "class_label"] == "劣V"
    # COD mean 22: (22 - 20)/20 = 0.1; pH has no multiple
    assert sec.loc["R1", "exceeding"] == "cod(0.1);ph"
    assert ev.good_share_pct == 50.0
    p = ev.parameters.set_index(["section_id", "parameter"])
    assert p.loc[("R1", "cod"), "value"] == 22.0 and p.loc[("R1", "cod"), "class"] == 4
    assert "water.good_share_definition_unverified" in {f["code"] for f in ev.flags}


def test_empty_period_is_an_error():
    with pytest.raises(water.WaterInputError):
        water.evaluate_sections_gb3838(one("R1", "cod", 10.0), SECTIONS, dt.date(2030, 1, 1), dt.date(2030, 12, 31))


def test_demo_water_samples():
    from greenpark.demo import environment as demo_env

    s, secs = demo_env.water_samples(2025)
    s2, _ = demo_env.water_samples(2025)
    pd.testing.assert_frame_equal(s, s2)
    assert set(secs["water_body"]) == {"river", "lake"} and len(secs) == 5
    assert s.groupby("section_id")["date"].nunique().eq(12).all()
    assert not ((s["parameter"] == "tn") & s["section_id"].isin(secs.loc[secs["water_body"] == "river", "section_id"])).any()
    ev = water.evaluate_sections_gb3838(s, secs, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert len(ev.sections) == 5 and ev.good_share_pct is not None


def _limit_cases():
    """(parameter, water_body, limit, class at the limit, class just beyond it) for every limit of the data file."""
    cases = []
    for r in reference.load("gb3838_limits").rows:
        body = "R1" if r["water_body"] in ("all", "river") else "L1"
        if r["kind"] == "range":
            for lim, beyond in ((r["range_lo"], r["range_lo"] - 0.01), (r["range_hi"], r["range_hi"] + 0.01)):
                cases.append((r["parameter"], body, lim, 1, beyond, 6))
            continue
        limits = [r[c] for c in water.CLASS_COLUMNS]
        for lim in limits:
            if r["kind"] == "max":
                at = 1 + next(i for i, L in enumerate(limits) if lim <= L)
                beyond = lim * (1 + 1e-6)
                after = 1 + next((i for i, L in enumerate(limits) if lim < L), 5)
            else:  # min (DO): higher is better
                at = 1 + next(i for i, L in enumerate(limits) if lim >= L)
                beyond = lim * (1 - 1e-6)
                after = 1 + next((i for i, L in enumerate(limits) if lim > L), 5)
            cases.append((r["parameter"], body, lim, at, beyond, after))
    return cases


LIMIT_CASES = _limit_cases()


def test_limit_cases_cover_every_limit():
    rows = reference.load("gb3838_limits").rows
    assert len(LIMIT_CASES) == sum(2 if r["kind"] == "range" else 5 for r in rows) == 2 + 23 * 5


@pytest.mark.parametrize(("parameter", "section", "limit", "at", "beyond", "after"), LIMIT_CASES)
def test_period_mean_exactly_on_every_limit_meets_it(parameter, section, limit, at, beyond, after):
    """Twelve samples exactly on a limit meet it (C <= limit), a hair beyond does not."""
    dates = pd.date_range("2025-01-15", periods=12, freq="MS") + pd.Timedelta(days=14)
    on = pd.DataFrame({"section_id": section, "date": dates, "parameter": parameter, "value": limit})
    ev = water.evaluate_sections_gb3838(on, SECTIONS)
    p = ev.parameters.iloc[0]
    assert p["class"] == at, (parameter, limit, p["value"])
    if parameter != "ph":
        assert cls(section, parameter, limit)["class"] == at
        assert cls(section, parameter, beyond)["class"] == after
    else:
        assert cls(section, parameter, beyond)["class"] == 6


def test_twelve_samples_of_tp_0_2_are_class_iii_without_exceedance():
    # 12 x 0.2 averages to 0.20000000000000004 in binary floating point; the limit says C <= 0.2
    dates = pd.date_range("2025-01-01", periods=12, freq="MS")
    s = pd.DataFrame({"section_id": "R1", "date": dates, "parameter": "tp", "value": 0.2})
    assert s["value"].mean() > 0.2  # the floating-point residue this test is about
    ev = water.evaluate_sections_gb3838(s, SECTIONS)
    sec = ev.sections.iloc[0]
    assert sec["class"] == 3 and sec["class_label"] == "III"
    assert bool(sec["meets_iii"]) and sec["exceeding"] == ""
    assert ev.good_share_pct == 100.0
    # 0.2000001 mg/L is a real exceedance: class IV
    s2 = s.assign(value=0.2000001)
    assert water.evaluate_sections_gb3838(s2, SECTIONS).sections.iloc[0]["class"] == 4
