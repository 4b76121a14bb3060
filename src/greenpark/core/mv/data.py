"""Validated M&V input containers: daily and hourly frames in park time, degree days, day types.

Glossary (one name and unit per quantity):

- ``energy``       energy use in the interval [meter unit, e.g. kWh]
- ``temperature``  mean outdoor dry-bulb air temperature over the interval [degC]
- ``production``   production output in the interval [product units, e.g. t]
- ``day_type``     ``holiday`` | ``makeup_workday`` | ``weekend`` | ``weekday`` (Chinese working calendar)
- ``hdd``/``cdd``  heating / cooling degree days at a base temperature [degC d]

Timestamps: a sub-daily series must be timezone-aware; it is converted to the park timezone and
summed (energy) or averaged (temperature) per local calendar day. Energy readings are labelled at
the *end* of their interval unless ``interval_label="start"`` (as in park.toml ``interval_label``),
so a reading stamped 00:00 belongs to the previous day.

Data-quality findings are :class:`Flag` objects with stable dotted codes (``mv.data.*``,
``mv.calendar.*``) that travel with the data into results and reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import ndtr as _ndtr

from greenpark import errors
from greenpark.findings import Finding

DAY_TYPES = ("weekday", "weekend", "holiday", "makeup_workday")
NON_WORKING = ("weekend", "holiday")


class MVError(errors.DataError):
    """Root of the M&V exception hierarchy."""


class DataError(MVError, ValueError):
    """Input data that cannot be used at all (wrong type, naive timestamps, missing column)."""


class ModelError(MVError):
    """A model that cannot be fitted or used (not fitted, wrong regressors for prediction)."""


#: the M&V name of greenpark's one finding type: Flag(code, message, severity, detail); severity
#: ``"fatal"`` when the finding alone makes the result not fit for M&V, else ``"warning"`` or ``"info"``
Flag = Finding


# --------------------------------------------------------------------------------------------
# Chinese working calendar


@cache
def _calendar_sets() -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    import chinese_calendar as cc

    holidays = pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in cc.holidays))
    makeups = pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in cc.workdays))
    return holidays, makeups


@cache
def _year_covered(year: int) -> bool:
    """Whether the ``chinese_calendar`` package has official data for ``year``."""
    import chinese_calendar as cc

    try:
        cc.is_workday(dt.date(year, 6, 30))
    except NotImplementedError:
        return False
    return True


def day_types(dates: pd.DatetimeIndex | pd.Series | list) -> tuple[pd.Series, list[Flag]]:
    """Day type of each date from the official Chinese working calendar.

    Types: ``holiday`` (official public holiday, including weekend days inside a holiday period),
    ``makeup_workday`` (调休上班: a weekend day declared a working day), ``weekend``, ``weekday``.
    Source: State Council General Office notices as compiled by the ``chinese-calendar`` package
    (2004-2026). Years the package does not cover get weekday/weekend only, with a fatal-free
    ``mv.calendar.year_not_covered`` warning naming the years (never silently).

    Parameters
    ----------
    dates : dates (any time of day is ignored) [local date]

    Returns
    -------
    (Series of day types indexed by the normalised dates, list of Flag)
    """
    idx = pd.DatetimeIndex(dates)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    idx = idx.normalize()
    holidays, makeups = _calendar_sets()
    weekend = idx.day_of_week >= 5
    out = np.where(weekend, "weekend", "weekday").astype(object)
    out[idx.isin(makeups)] = "makeup_workday"
    out[idx.isin(holidays)] = "holiday"
    flags: list[Flag] = []
    years = sorted({int(y) for y in pd.unique(idx.year)})
    missing = [y for y in years if not _year_covered(y)]
    if missing:
        flags.append(Flag(
            "mv.calendar.year_not_covered",
            f"the chinese-calendar package has no official holiday data for {missing}; those days are "
            "classified weekday/weekend only (public holidays and make-up working days are missed). "
            "Upgrade chinese-calendar when the State Council notice for the year is out.",
            "warning", {"years": missing}))
    return pd.Series(pd.Categorical(out, categories=DAY_TYPES), index=idx, name="day_type"), flags


# --------------------------------------------------------------------------------------------
# Degree days


def degree_days(temperature: pd.Series | np.ndarray, base: float | np.ndarray, kind: Literal["hdd", "cdd"],
                sd: float = 0.0) -> np.ndarray:
    """Heating or cooling degree days of daily mean temperatures at a base temperature.

    With ``sd = 0``: ``hdd = max(base - T, 0)``, ``cdd = max(T - base, 0)`` with T the daily mean
    temperature (the mean-temperature method of CalTRACK Methods 2.0 section 3.1; ASHRAE Handbook
    Fundamentals 2017, ch. 14 degree-day definitions).

    With ``sd > 0``: the *expected* degree days of a day whose temperatures are spread normally
    around the daily mean with standard deviation ``sd``,
    ``hdd = (base - T) Phi(u) + sd phi(u)`` with ``u = (base - T) / sd`` (``cdd`` mirrored), the
    normal-distribution degree-day method of Erbs, Klein and Beckman (1983) and Schoenau and Kehrig
    (1990), there applied to the days of a month and here to the hours of a day. A day whose mean is
    just above the base still has cold hours, so the response to the daily mean is a smooth hinge
    rather than a kink; ``sd -> 0`` gives the plain degree days.

    Parameters
    ----------
    temperature : daily mean temperatures [degC]
    base : balance-point (base) temperature(s) [degC]; an array broadcasts against ``temperature``
    kind : ``"hdd"`` or ``"cdd"``
    sd : within-day standard deviation of the temperature [degC]

    Returns
    -------
    degree days [degC d], NaN where the temperature is NaN
    """
    t = np.asarray(temperature, dtype=float)
    if kind == "hdd":
        d = np.asarray(base, dtype=float) - t
    elif kind == "cdd":
        d = t - np.asarray(base, dtype=float)
    else:
        raise ValueError(f"kind must be 'hdd' or 'cdd', not {kind!r}")
    if sd < 0:
        raise ValueError(f"sd must be >= 0 degC, not {sd!r}")
    if sd == 0:
        return np.maximum(d, 0.0)  # np.maximum propagates NaN
    u = d / sd
    return d * _ndtr(u) + sd * np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi)


def degree_days_from_series(temperature: pd.Series, base: float, kind: Literal["hdd", "cdd"],
                            tz: str = "Asia/Shanghai") -> pd.Series:
    """Daily degree days [degC d] at ``base`` [degC] from a temperature series of any resolution.

    A sub-daily series (timezone-aware) is first averaged per local day in ``tz``.
    """
    daily = daily_mean_temperature(temperature, tz)
    return pd.Series(degree_days(daily.to_numpy(), base, kind), index=daily.index, name=kind)


# --------------------------------------------------------------------------------------------
# Aggregation into park-time days


def _is_sub_daily(idx: pd.DatetimeIndex) -> bool:
    if len(idx) < 2:
        return bool(len(idx) and (idx[0] != idx[0].normalize()))
    if (idx != idx.normalize()).any():
        return True
    return bool(_median_step(idx) < pd.Timedelta(days=1))


def _median_step(idx: pd.DatetimeIndex) -> pd.Timedelta:
    """Median spacing of the timestamps (unit-safe: pandas 3 indexes need not be in ns)."""
    if len(idx) < 2:
        return pd.Timedelta(days=1)
    return pd.Timedelta(np.median(np.diff(idx.values)))


def _as_local(series: pd.Series, tz: str, what: str) -> tuple[pd.Series, bool]:
    """Series with a DatetimeIndex in local (naive) park time; whether it was sub-daily."""
    if not isinstance(series, pd.Series):
        raise DataError(f"{what} must be a pandas Series indexed by timestamps, not {type(series).__name__}")
    if not isinstance(series.index, pd.DatetimeIndex):
        try:
            series = series.set_axis(pd.DatetimeIndex(series.index))
        except (TypeError, ValueError):
            raise DataError(f"{what}: the index must be timestamps or dates") from None
    series = series.sort_index()
    idx = series.index
    sub = _is_sub_daily(idx)
    if idx.tz is None:
        if sub:
            raise DataError(
                f"{what}: sub-daily timestamps are timezone-naive; the day they belong to is ambiguous. "
                f"Localise them first, e.g. series.tz_localize('{tz}') for park time or .tz_localize('UTC').")
        local = idx
    else:
        local = idx.tz_convert(tz).tz_localize(None)
    return series.set_axis(local), sub


def daily_energy(energy: pd.Series, tz: str = "Asia/Shanghai",
                 interval_label: Literal["end", "start"] = "end") -> tuple[pd.Series, list[Flag]]:
    """Daily energy [meter unit] in park time from daily, hourly or 15-minute readings.

    Interval readings are summed per local day; a day with fewer readings than the series'
    regular interval requires is set missing (flag ``mv.data.incomplete_days``), so a partial day
    is never counted as a low-consumption day. Readings labelled at the interval end (default)
    are attributed to the day their interval started in.
    """
    s, sub = _as_local(energy.astype(float), tz, "energy")
    flags: list[Flag] = []
    if not sub:
        s = s.set_axis(s.index.normalize())
        s = s.groupby(level=0).sum(min_count=1)
        return s.rename("energy"), flags
    step = _median_step(s.index)
    idx = s.index - pd.Timedelta(1, "us") if interval_label == "end" else s.index
    day = idx.normalize()
    grouped = s.groupby(day)
    total = grouped.sum(min_count=1)
    count = grouped.count()
    expected = int(round(pd.Timedelta(days=1) / step))
    incomplete = count < expected
    if incomplete.any():
        flags.append(Flag("mv.data.incomplete_days",
                          f"{int(incomplete.sum())} day(s) have fewer than {expected} readings of {step}; "
                          "they are treated as missing", "warning",
                          {"days": [d.date().isoformat() for d in total.index[incomplete]][:50],
                           "count": int(incomplete.sum())}))
        total[incomplete] = np.nan
    return total.rename("energy"), flags


def daily_mean_temperature(temperature: pd.Series, tz: str = "Asia/Shanghai") -> pd.Series:
    """Daily mean temperature [degC] per local day (mean of the available samples)."""
    s, _ = _as_local(temperature.astype(float), tz, "temperature")
    return s.groupby(s.index.normalize()).mean().rename("temperature")


# --------------------------------------------------------------------------------------------
# Containers


def _flags_for(flags: list[Flag], index: pd.DatetimeIndex) -> list[Flag]:
    """Flags of a sub-period: calendar findings are recomputed for its own years."""
    kept = [f for f in flags if not f.code.startswith("mv.calendar.")]
    return kept + (day_types(index[:1].append(index[-1:]))[1] if len(index) else [])


def _local_bound(x, tz: str):
    """A slice bound in naive park time (aware timestamps are converted to ``tz``)."""
    if x is None:
        return None
    ts = pd.Timestamp(x)
    return ts.tz_convert(tz).tz_localize(None) if ts.tz is not None else ts


@dataclass
class DailyData:
    """A validated daily M&V frame in park time.

    ``df`` index: ``date`` (naive local dates, one row per calendar day, gaps filled with NaN);
    columns: ``energy`` [meter unit], ``temperature`` [degC], optional ``production``
    [product units], ``day_type`` (see :func:`day_types`), ``working`` (bool).
    """

    df: pd.DataFrame
    tz: str = "Asia/Shanghai"
    unit: str = "kWh"
    production_unit: str | None = None
    flags: list[Flag] = field(default_factory=list)

    @classmethod
    def from_series(cls, energy: pd.Series, temperature: pd.Series, production: pd.Series | None = None, *,
                    tz: str = "Asia/Shanghai", unit: str = "kWh", production_unit: str | None = None,
                    interval_label: Literal["end", "start"] = "end") -> DailyData:
        """Build the daily frame from energy, temperature and optional production series.

        Parameters
        ----------
        energy : energy readings, daily or sub-daily (sub-daily must be timezone-aware) [unit]
        temperature : outdoor air temperature, daily means or sub-daily samples [degC]
        production : production output per day or interval, summed per day [production_unit]
        tz : park timezone (IANA name)
        unit : meter unit of ``energy``
        interval_label : whether a sub-daily energy timestamp labels the interval end or start

        Raises
        ------
        DataError : timezone-naive sub-daily timestamps, non-Series input, or no overlap
        """
        e, flags = daily_energy(energy, tz, interval_label)
        t = daily_mean_temperature(temperature, tz)
        cols = {"energy": e, "temperature": t}
        if production is not None:
            p, pflags = daily_energy(production, tz, interval_label)
            flags += [Flag(f.code.replace("mv.data.", "mv.data.production_"), f.message, f.severity, f.detail)
                      for f in pflags]
            cols["production"] = p
        lo, hi = e.index.min(), e.index.max()
        if pd.isna(lo):
            raise DataError("energy: the series is empty")
        full = pd.date_range(lo, hi, freq="D", name="date")
        df = pd.DataFrame({k: v.reindex(full) for k, v in cols.items()}, index=full)
        return cls.from_frame(df, tz=tz, unit=unit, production_unit=production_unit, flags=flags)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, tz: str = "Asia/Shanghai", unit: str = "kWh",
                   production_unit: str | None = None, flags: list[Flag] | None = None) -> DailyData:
        """Wrap an already-daily frame (index: dates; columns energy, temperature[, production])."""
        missing = [c for c in ("energy", "temperature") if c not in df.columns]
        if missing:
            raise DataError(f"daily frame: missing column(s) {missing}; expected energy, temperature[, production]")
        idx = pd.DatetimeIndex(df.index)
        if idx.tz is not None:
            idx = idx.tz_convert(tz).tz_localize(None)
        if _is_sub_daily(idx):
            raise DataError("daily frame: the index is sub-daily; use DailyData.from_series to aggregate it")
        keep = [c for c in ("energy", "temperature", "production") if c in df.columns]
        out = df[keep].astype(float).set_axis(idx.normalize().rename("date"))
        if out.index.has_duplicates:
            raise DataError("daily frame: duplicate dates in the index")
        out = out.sort_index()
        dtypes, cflags = day_types(out.index)
        out["day_type"] = dtypes.to_numpy()
        out["working"] = out["day_type"].isin(["weekday", "makeup_workday"]).to_numpy()
        return cls(out, tz=tz, unit=unit, production_unit=production_unit, flags=list(flags or []) + cflags)

    @property
    def has_production(self) -> bool:
        return "production" in self.df.columns

    def between(self, start: str | dt.date | None = None, end: str | dt.date | None = None) -> DailyData:
        """The days from ``start`` to ``end`` (inclusive local dates) as a new container (flags kept).

        Timezone-aware bounds are converted to park time first.
        """
        sub = self.df.loc[_local_bound(start, self.tz):_local_bound(end, self.tz)]
        return DailyData(sub.copy(), tz=self.tz, unit=self.unit, production_unit=self.production_unit,
                         flags=_flags_for(self.flags, sub.index))


@dataclass
class HourlyData:
    """A validated hourly M&V frame in park time (index: naive local hour starts).

    Columns: ``energy`` [meter unit per hour], ``temperature`` [degC], ``day_type``, ``working``.
    """

    df: pd.DataFrame
    tz: str = "Asia/Shanghai"
    unit: str = "kWh"
    flags: list[Flag] = field(default_factory=list)

    @classmethod
    def from_series(cls, energy: pd.Series, temperature: pd.Series, *, tz: str = "Asia/Shanghai",
                    unit: str = "kWh", interval_label: Literal["end", "start"] = "end") -> HourlyData:
        """Build hourly energy (sum of 15-min/hourly readings) and mean temperature, timezone-aware input."""
        for what, s in (("energy", energy), ("temperature", temperature)):
            if not isinstance(s, pd.Series) or not isinstance(s.index, pd.DatetimeIndex):
                raise DataError(f"{what} must be a pandas Series with a DatetimeIndex")
            if s.index.tz is None:
                raise DataError(f"{what}: hourly data need timezone-aware timestamps; "
                                f"use .tz_localize('{tz}') or .tz_localize('UTC') first")
        e = energy.astype(float).sort_index()
        e = e.set_axis(e.index.tz_convert(tz).tz_localize(None))
        step = _median_step(e.index) if len(e) > 1 else pd.Timedelta(hours=1)
        if step > pd.Timedelta(hours=1):
            raise DataError(f"energy: readings every {step} are coarser than hourly")
        idx = e.index - pd.Timedelta(1, "us") if interval_label == "end" else e.index
        hour = idx.floor("h")
        g = e.groupby(hour)
        expected = int(round(pd.Timedelta(hours=1) / step))
        he = g.sum(min_count=1).where(g.count() >= expected)
        t = temperature.astype(float)
        t = t.set_axis(t.index.tz_convert(tz).tz_localize(None))
        ht = t.groupby(t.index.floor("h")).mean()
        full = pd.date_range(he.index.min(), he.index.max(), freq="h", name="time")
        df = pd.DataFrame({"energy": he.reindex(full), "temperature": ht.reindex(full)}, index=full)
        # hours without a temperature sample: interpolate gaps of up to 3 h (sensor polling jitter)
        df["temperature"] = df["temperature"].interpolate(limit=3, limit_area="inside")
        dtypes, flags = day_types(full)
        df["day_type"] = dtypes.to_numpy()
        df["working"] = df["day_type"].isin(["weekday", "makeup_workday"]).to_numpy()
        return cls(df, tz=tz, unit=unit, flags=flags)

    def between(self, start=None, end=None) -> HourlyData:
        """The hours from ``start`` to ``end`` (inclusive, park time; aware bounds are converted)."""
        sub = self.df.loc[_local_bound(start, self.tz):_local_bound(end, self.tz)]
        return HourlyData(sub.copy(), tz=self.tz, unit=self.unit, flags=_flags_for(self.flags, sub.index))
