"""Environment tables from the store: hourly air concentrations and water samples as the domain
cores (``greenpark.aqi``, ``greenpark.air_evaluation``, ``greenpark.water``) take them.

The store keeps station observations as UTC instants (``observations``); these functions return
the long tables the cores document, in park time, for a period [start, end] of park dates.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

AIR_POLLUTANTS = ("so2", "no2", "pm10", "pm25", "co", "o3")


def _utc_bounds(start: dt.date, end: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """UTC wall-clock bounds that cover park dates [start, end] with a day's margin each side."""
    lo = pd.Timestamp(start, tz=tz) - pd.Timedelta(days=1)
    hi = pd.Timestamp(end, tz=tz) + pd.Timedelta(days=2)
    return lo.tz_convert("UTC").tz_localize(None).to_pydatetime(), hi.tz_convert("UTC").tz_localize(None).to_pydatetime()


def air_hourly(con, tz: str, start: dt.date, end: dt.date, station: str | None = None) -> pd.DataFrame:
    """Long hourly air rows ``station_id, timestamp (tz-aware, park time), pollutant, value``.

    Units as stored: [ug/m3], CO [mg/m3] (station_parameters.csv). Timestamps label the end of the
    hour, as HJ 663 hourly data do.
    """
    lo, hi = _utc_bounds(start, end, tz)
    sql = """
        SELECT o.station_id, o.ts, o.parameter AS pollutant, o.value
        FROM observations o JOIN stations s USING (station_id)
        WHERE s.kind = 'air' AND o.ts >= ? AND o.ts < ?""" + (" AND o.station_id = ?" if station else "")
    df = con.cursor().execute(sql + " ORDER BY 1, 2, 3", [lo, hi, *([station] if station else [])]).df()
    df["timestamp"] = pd.to_datetime(df.pop("ts")).dt.tz_localize("UTC").dt.tz_convert(tz)
    return df[["station_id", "timestamp", "pollutant", "value"]]


def hours_in_period(hourly: pd.DataFrame, start: dt.date, end: dt.date) -> pd.Series:
    """Which hourly rows (timestamps labelling the end of the hour) fall on park dates [start, end]."""
    day = (hourly["timestamp"] - pd.Timedelta(hours=1)).dt.date
    return (day >= start) & (day <= end)


def water_samples(con, tz: str, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(samples, sections): ``section_id, date (park date), parameter, value`` [mg/L] (pH [1]) and
    ``section_id, water_body, name_en`` of the park's water stations."""
    lo, hi = _utc_bounds(start, end, tz)
    cur = con.cursor()
    df = cur.execute("""
        SELECT o.station_id AS section_id, o.ts, o.parameter, o.value
        FROM observations o JOIN stations s USING (station_id)
        WHERE s.kind = 'water' AND o.ts >= ? AND o.ts < ? ORDER BY 1, 2, 3""", [lo, hi]).df()
    local = pd.to_datetime(df.pop("ts")).dt.tz_localize("UTC").dt.tz_convert(tz)
    df.insert(1, "date", local.dt.date)
    df = df[(df["date"] >= start) & (df["date"] <= end)].reset_index(drop=True)
    sections = cur.execute("SELECT station_id AS section_id, water_body, name_en FROM stations "
                           "WHERE kind = 'water' ORDER BY 1").df()
    return df, sections
