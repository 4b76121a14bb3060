"""Environment tables from the store: hourly air concentrations and water samples as the domain
cores (``greenpark.core.aqi``, ``greenpark.core.air``, ``greenpark.core.water``) take them.

The store keeps station observations as UTC instants (``observations``); these functions return
the long tables the cores document, in park time, for a period [start, end] of park dates.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from greenpark.core import air, energy, water
from greenpark.errors import InputError
from greenpark.jsonsafe import clean
from greenpark.store import observations

AIR_POLLUTANTS = ("so2", "no2", "pm10", "pm25", "co", "o3")


class EnvironmentDataError(InputError, ValueError):
    """A period or station that cannot be evaluated (no data, not an air station, ...)."""


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
    df = observations.air_hourly(con.cursor(), lo, hi, station)
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
    df = observations.water_samples(cur, lo, hi)
    local = pd.to_datetime(df.pop("ts")).dt.tz_localize("UTC").dt.tz_convert(tz)
    df.insert(1, "date", local.dt.date)
    df = df[(df["date"] >= start) & (df["date"] <= end)].reset_index(drop=True)
    sections = observations.water_sections(cur)
    return df, sections


# -- the park's records (what `greenpark air` / `water` and the API show) -------------------------
def _period(text: str, allow_quarter: bool = False):
    try:
        per = energy.parse_period(text)
    except energy.PeriodError as exc:
        raise EnvironmentDataError(str(exc)) from None
    if per.months not in (1, 12) and not allow_quarter:
        raise EnvironmentDataError(f"period '{text}': HJ 663 evaluates calendar years (2025) and months (2025-03)")
    return per


def air_record(con, park, period_text: str, station: str | None = None, edition: str = "auto") -> dict:
    """The annual (or monthly) air record: park evaluation, per-station evaluations, year on year."""
    per = _period(period_text)
    start, end = per.start, per.end - dt.timedelta(days=1)
    kind = "year" if per.months == 12 else "month"
    tz = park.park.timezone
    air_ids = [s.id for s in park.stations if s.kind == "air"]
    if station:
        park.station(station)
        if station not in air_ids:
            raise EnvironmentDataError(f"station '{station}' is not an air station; air stations: {', '.join(air_ids) or 'none'}")
    hourly = air_hourly(con, tz, start, end, station)
    if hourly.empty or not hours_in_period(hourly, start, end).any():
        raise EnvironmentDataError(f"no air observations for {per.label}" + (f" at {station}" if station else "") +
                        "; import hourly data with 'greenpark ingest FILE' (columns station_id, timestamp, "
                        "parameter, value)")
    ev = air.evaluate_hourly_hj663(hourly, start, end, edition=edition, kind=kind)
    d = ev.to_dict()
    stat = {(s["pollutant"], s["statistic"]): s for s in d["statistics"]}
    pm25 = stat.get(("pm25", "annual_mean")) or stat.get(("pm25", "mean"))
    stations = []
    for sid in ([station] if station else air_ids):
        one = hourly[hourly["station_id"] == sid]
        if one.empty:
            continue
        e1 = air.evaluate_hourly_hj663(one, start, end, edition=edition, kind=kind).to_dict()
        s1 = {(s["pollutant"], s["statistic"]): s for s in e1["statistics"]}
        p1 = s1.get(("pm25", "annual_mean")) or s1.get(("pm25", "mean"))
        stations.append({"id": sid, "pm25_annual_mean": p1["value"] if p1 else None,
                         "good_days_ratio": e1["good_days_ratio"], "heavy_pollution_days_ratio": e1["heavy_days_ratio"],
                         "valid_days": e1["valid_aqi_days"], "attainment": e1["attainment"],
                         "composite_index": e1["composite_index"]})
    out = {
        "period": per.label, "edition": d["editions"],
        "pm25_annual_mean": pm25["value"] if pm25 else None,
        "good_days_ratio": d["good_days_ratio"], "heavy_pollution_days_ratio": d["heavy_days_ratio"],
        "valid_days": d["valid_aqi_days"],
        "percentiles": [s for s in d["statistics"] if s["statistic"].startswith("p")],
        "stations": stations,
        "statistics": d["statistics"], "attainment": d["attainment"], "composite_index": d["composite_index"],
        "good_days": d["good_days"], "heavy_pollution_days": d["heavy_days"],
        "flags": d["flags"], "references": d["references"],
        "units": {"concentration": "ug/m3 (CO mg/m3)", "ratios": "% of days with a valid AQI"},
    }
    if kind == "year":  # year-on-year change when last year's data are in the store
        prev = air_hourly(con, tz, dt.date(start.year - 1, 1, 1), dt.date(start.year - 1, 12, 31), station)
        if hours_in_period(prev, dt.date(start.year - 1, 1, 1), dt.date(start.year - 1, 12, 31)).sum() > 0:
            pe = air.evaluate_hourly_hj663(prev, dt.date(start.year - 1, 1, 1),
                                                      dt.date(start.year - 1, 12, 31), edition=edition)
            out["year_on_year"] = air.year_on_year_hj663(ev, pe)
    # the calendar shows the record's own daily series (rounded values, invalid days without an AQI)
    out["daily_aqi"] = air.daily_aqi_records(ev.daily)
    return clean(out)


def water_record(con, park, period_text: str) -> dict:
    per = _period(period_text, allow_quarter=True)
    start, end = per.start, per.end - dt.timedelta(days=1)
    samples, sections = water_samples(con, park.park.timezone, start, end)
    if samples.empty:
        raise EnvironmentDataError(f"no water samples for {per.label}; import them with 'greenpark ingest FILE' "
                        "(columns station_id, date, parameter, value)")
    d = water.evaluate_sections_gb3838(samples, sections, start, end).to_dict()
    return clean({"period": per.label, "standard": "GB 3838-2002", **{k: v for k, v in d.items() if k != "period"}})
