"""Shared generators of the demo's time series: the year's timestamps, the Chinese working calendar,
load profiles, rooftop PV and the Arrow frame of one meter's readings (used by build and mv)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa


def year_index(year: int, minutes: int, tz: str = "Asia/Shanghai") -> np.ndarray:
    """Interval-end timestamps of a park-time year as naive local datetime64[m]."""
    start = np.datetime64(f"{year}-01-01T00:00", "m")
    end = np.datetime64(f"{year + 1}-01-01T00:00", "m")
    return np.arange(start + np.timedelta64(minutes, "m"), end + np.timedelta64(1, "m"), np.timedelta64(minutes, "m"))


def calendar(year: int) -> dict[str, np.ndarray]:
    """Day-level calendar arrays for the year: working day, Spring Festival, temperature [degC]."""
    import chinese_calendar

    days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"))
    pydays = days.astype(dt.date)
    work = np.array([chinese_calendar.is_workday(d) for d in pydays])  # 365 calendar lookups, not readings
    detail = [chinese_calendar.get_holiday_detail(d)[1] for d in pydays]
    spring = np.array([h == "Spring Festival" for h in detail])
    # widen the Spring Festival shutdown by 4 days each side (factories stop longer than the holiday)
    idx = np.flatnonzero(spring)
    if idx.size:
        spring[max(0, idx[0] - 4): idx[-1] + 5] = True
    doy = np.arange(days.size)
    temp = 16.5 + 11.5 * np.sin(2 * np.pi * (doy - 110) / 365.0)  # Suzhou-like: ~4 degC Jan, ~28 degC Jul
    return {"days": days, "work": work, "spring": spring, "temp": temp}


def profile(ts: np.ndarray, cal: dict, shifts: str, rng: np.random.Generator, cooling_share: float) -> np.ndarray:
    """Relative load [1] at each timestamp: shifts, day type, holidays, cooling."""
    t = ts - np.timedelta64(1, "m")  # interval-end label: the interval's own hour
    day_i = ((t.astype("datetime64[D]") - cal["days"][0]).astype(int)).clip(0, cal["days"].size - 1)
    hour = (t.astype("datetime64[h]") - t.astype("datetime64[D]")).astype(int)
    work = cal["work"][day_i]
    spring = cal["spring"][day_i]
    if shifts == "three":
        shape = np.where((hour >= 8) & (hour < 20), 1.0, 0.85)
    elif shifts == "two":
        shape = np.where((hour >= 8) & (hour < 24), 1.0, 0.35)
    else:
        shape = np.ones_like(hour, dtype=float)
    level = np.where(work, 1.0, 0.45 if shifts != "flat" else 1.0)
    level = np.where(spring, 0.15 if shifts != "flat" else 0.95, level)
    temp = cal["temp"][day_i] + 3.0 * np.sin(2 * np.pi * (hour - 9) / 24.0)
    cooling = cooling_share * np.clip(temp - 24.0, 0, None) / 8.0
    heating = 0.5 * cooling_share * np.clip(8.0 - temp, 0, None) / 8.0
    noise = rng.normal(1.0, 0.04, ts.size)
    return np.clip(shape * level * noise + cooling + heating, 0.02, None)


def pv_energy(ts: np.ndarray, cal: dict, kwp: float, rng: np.random.Generator, minutes: int) -> np.ndarray:
    """PV energy per interval [kWh]: a clear-sky bell shape scaled by season and daily cloudiness."""
    t = ts - np.timedelta64(minutes // 2, "m")
    day_i = ((t.astype("datetime64[D]") - cal["days"][0]).astype(int)).clip(0, cal["days"].size - 1)
    hod = (t - t.astype("datetime64[D]")).astype(int) / 60.0
    doy = day_i.astype(float)
    half_day = 5.5 + 1.5 * np.sin(2 * np.pi * (doy - 80) / 365.0)
    x = (hod - 12.0) / half_day
    shape = np.where(np.abs(x) < 1, np.clip(np.cos(np.pi / 2 * x), 0, None) ** 1.5, 0.0)
    clouds = rng.uniform(0.25, 1.0, cal["days"].size)[day_i]
    # ~1,100 kWh/kWp/yr for the Yangtze delta: peak 0.78 kW/kWp on a clear day
    return kwp * 0.78 * shape * clouds * minutes / 60.0


def frame(meter_id: str, ts: np.ndarray, values: np.ndarray, decimals: int = 3) -> pa.Table:
    text = np.datetime_as_string(ts, unit="m")
    return pa.table({"meter_id": pa.array(np.full(ts.size, meter_id)), "timestamp": pa.array(text),
                     "value": pa.array(np.round(values, decimals))})
