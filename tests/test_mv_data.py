"""M&V input containers: Chinese working calendar, time zones, aggregation, degree days."""

import numpy as np
import pandas as pd
import pytest

from greenpark.core.mv import DailyData, DataError, HourlyData, day_types, degree_days


def test_day_types_national_day_2025_holidays_and_makeup_day():
    # State Council notice for 2025: 1-8 October off, Saturday 11 October worked (make-up day)
    types, flags = day_types(pd.date_range("2025-09-28", "2025-10-12"))
    assert flags == []
    t = types.astype(str)
    assert (t["2025-10-01":"2025-10-08"] == "holiday").all()
    assert t["2025-10-11"] == "makeup_workday"
    assert t["2025-09-28"] == "makeup_workday"      # Sunday 28 September 2025 was also worked
    assert t["2025-10-09"] == "weekday"
    assert t["2025-10-12"] == "weekend"


def test_day_types_year_not_covered_flags_and_falls_back_to_weekends():
    types, flags = day_types(pd.date_range("2026-12-30", "2027-01-04"))
    assert [f.code for f in flags] == ["mv.calendar.year_not_covered"]
    assert flags[0].detail["years"] == [2027]
    t = types.astype(str)
    assert t["2027-01-02"] == "weekend" and t["2027-01-04"] == "weekday"


def test_from_series_refuses_naive_sub_daily_timestamps():
    idx = pd.date_range("2025-01-01", periods=96, freq="15min")
    e = pd.Series(1.0, idx)
    with pytest.raises(DataError, match="timezone-naive"):
        DailyData.from_series(e, e)


def test_from_series_aggregates_quarter_hours_in_park_time():
    # 15-min readings labelled at interval end, stamped in UTC: a park-time day runs 16:00Z..16:00Z
    idx = pd.date_range("2025-03-01 16:15", periods=96 * 2, freq="15min", tz="UTC")
    e = pd.Series(0.25, idx)                       # 0.25 kWh per quarter hour = 24 kWh/day
    t = pd.Series(np.r_[np.full(96, 10.0), np.full(96, 20.0)], idx)
    d = DailyData.from_series(e, t, tz="Asia/Shanghai")
    assert list(d.df.index.strftime("%Y-%m-%d")) == ["2025-03-02", "2025-03-03"]
    assert d.df["energy"].tolist() == [24.0, 24.0]
    # temperature is an instantaneous mean, attributed to the local day of the sample
    # (the sample stamped local midnight belongs to the day it starts)
    assert d.df["temperature"].iloc[0] == 10.0
    assert d.df["temperature"].iloc[1] == pytest.approx((10 + 95 * 20) / 96)


def test_from_series_marks_incomplete_days_missing():
    idx = pd.date_range("2025-03-01 00:15", periods=96 * 2, freq="15min", tz="Asia/Shanghai")
    e = pd.Series(1.0, idx).drop(idx[10:20])
    d = DailyData.from_series(e, pd.Series(15.0, idx))
    assert np.isnan(d.df["energy"].iloc[0]) and d.df["energy"].iloc[1] == 96.0
    assert "mv.data.incomplete_days" in [f.code for f in d.flags]


def test_daily_input_with_naive_dates_is_accepted():
    idx = pd.date_range("2025-01-01", periods=3, freq="D")
    d = DailyData.from_series(pd.Series([1.0, 2.0, 3.0], idx), pd.Series([5.0, 6.0, 7.0], idx))
    assert d.df["energy"].tolist() == [1.0, 2.0, 3.0]
    assert d.df["day_type"].astype(str).tolist() == ["holiday", "weekday", "weekday"]


def test_hourly_data_requires_timezone():
    idx = pd.date_range("2025-01-01", periods=48, freq="h")
    with pytest.raises(DataError, match="timezone-aware"):
        HourlyData.from_series(pd.Series(1.0, idx), pd.Series(1.0, idx))


def test_degree_days_hand_values():
    t = np.array([5.0, 18.0, 25.0, np.nan])
    assert degree_days(t, 18.0, "hdd")[:3].tolist() == [13.0, 0.0, 0.0]
    assert degree_days(t, 18.0, "cdd")[:3].tolist() == [0.0, 0.0, 7.0]
    assert np.isnan(degree_days(t, 18.0, "hdd")[3])


def test_sub_period_recomputes_calendar_flags():
    idx = pd.date_range("2026-06-01", "2027-02-01")
    d = DailyData.from_series(pd.Series(1.0, idx), pd.Series(1.0, idx))
    assert "mv.calendar.year_not_covered" in [f.code for f in d.flags]
    assert "mv.calendar.year_not_covered" not in [f.code for f in d.between(None, "2026-12-31").flags]
