"""Ambient air quality evaluation after HJ 663-2013 / HJ 663-2026 against GB 3095-2012 / GB 3095-2026 class 2.

Every rule value (percentile, validity count, decimals, weight) comes from the ``hj663_rules``
dataset and every limit from ``gb3095_limits`` through ``greenpark.reference``.

Entry points (what the store/CLI layer calls for ``greenpark air --period``)
-----------------------------------------------------------------------------
``evaluate_hourly_hj663(hourly, start, end, edition="auto", label="end") -> Evaluation``
    From the long hourly table of the park's air stations: columns ``station_id``, ``timestamp``
    (tz-aware), ``pollutant`` (so2, no2, pm10, pm25, co, o3), ``value`` ([ug/m3], CO [mg/m3]).
    Daily station values (:func:`greenpark.core.aqi.daily_means_gb3095`) -> park daily values (mean of
    the stations, HJ 663 city method) -> :func:`evaluate_period_hj663`.
``evaluate_period_hj663(daily, start, end, edition="auto") -> Evaluation``
    From park daily values: ``date, so2, no2, pm10, pm25, co, o3_8h`` (rows with ``station_id``
    are averaged per date first). ``evaluate_year_hj663(daily, year)`` and
    ``evaluate_month_hj663(daily, year, month)`` are the calendar shortcuts;
    ``year_on_year_hj663(current, previous)`` compares two evaluations.

Rules implemented
-----------------
- Daily concentrations are rounded before evaluation (GB/T 8170, round half to even) to the
  decimals of ``hj663_rules`` (integers; CO one decimal); annual means and percentiles are
  rounded the same way.
- Annual (period) mean of SO2, NO2, PM10, PM2.5; percentiles of daily values: 98th SO2/NO2,
  95th PM10/PM2.5/CO, 90th O3 MDA8, with ``k = 1 + (n-1) p/100`` and linear interpolation
  between the ranks ``s`` (integer part of k) and ``s+1`` (HJ 663 Appendix A; computed exactly).
- Validity: a year needs >= 324 daily values per pollutant and >= 27 in every month (25 in
  February); a month needs >= 27 (25). Statistics are still reported when short, with the flags
  ``air.insufficient_days.<p>`` / ``air.month_insufficient_days.<p>.<YYYY-MM>``.
- Attainment (达标): every statistic <= its class-2 limit (annual means vs annual limits;
  percentiles vs 24 h limits; O3 vs the MDA8 limit).
- Good-days ratio: days with AQI <= 100 / days with a valid AQI of all six pollutants;
  heavily polluted days: AQI > 200 over the same denominator.
- Composite index (综合指数): sum of w_i * C_i / S_i over the six pollutants (annual means; CO 95th
  and O3 90th percentile); weights and denominators from ``hj663_rules`` -- status C1, so the
  evaluation carries ``air.composite_index_not_corroborated``.

Editions across the 2026-03-01 change (``edition``)
---------------------------------------------------
- ``"auto"`` (default): each day's AQI (good/heavy days) uses the HJ 633 edition in force that
  day; the period evaluation (HJ 663 rules, GB 3095 limits, weights, rounding, validity) uses the
  editions in force on the period's last day (for 2026-12-31: HJ 663-2026 with the GB 3095-2026
  transitional limits). The result states this in ``editions``.
- ``"2012"``: HJ 633-2012 daily AQI, HJ 663-2013, GB 3095-2012 limits for every day.
- ``"2026"``: HJ 633-2026, HJ 663-2026, GB 3095-2026 limits of the phase in force on the
  period's last day (the transitional phase for periods ending before 2026-03-01).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from greenpark import reference
from greenpark.core import aqi as aqi_mod
from greenpark.errors import DataError
from greenpark.findings import flag

POLLUTANTS = ("so2", "no2", "pm10", "pm25", "co", "o3")
#: the daily column holding each pollutant's evaluated daily value
DAILY_COLUMN = {"so2": "so2", "no2": "no2", "pm10": "pm10", "pm25": "pm25", "co": "co", "o3": "o3_8h"}
HJ663_FOR = {"2012": "2013", "2026": "2026"}
GB3095_FOR = {"2012": "2012", "2026": "2026"}


class EvaluationError(DataError, ValueError):
    """A period or table that cannot be evaluated (no data, bad edition, bad columns)."""


@dataclass
class Evaluation:
    """Result of an HJ 663 evaluation of one period."""

    period: dict[str, str]
    editions: dict[str, Any]
    n_days: int
    statistics: list[dict[str, Any]]
    attainment: bool | None
    good_days: int
    good_days_ratio: float | None
    heavy_days: int
    heavy_days_ratio: float | None
    valid_aqi_days: int
    composite_index: float | None
    flags: list[dict[str, Any]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    #: the one park daily AQI series behind the ratios and ``valid_aqi_days`` (see :func:`daily_aqi_series`);
    #: not part of :meth:`to_dict` (the record shows it through :func:`daily_aqi_records`)
    daily: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(replace(self, daily=None)).items() if k != "daily"}

    def statistic(self, pollutant: str, statistic: str) -> dict[str, Any]:
        for s in self.statistics:
            if s["pollutant"] == pollutant and s["statistic"] == statistic:
                return s
        raise KeyError(f"no statistic {statistic} for {pollutant}")


# --------------------------------------------------------------------------- building blocks
def round_gbt8170(values, decimals) -> np.ndarray:
    """Round to ``decimals`` digits, half to even (GB/T 8170-2008 '四舍六入五成双') [same unit as input].

    The value is first snapped to 1e-9 of the last digit so that binary noise (2.35 stored as
    2.3500000000000001) does not decide the rounding.
    """
    v = np.asarray(values, dtype=float)
    scale = 10.0 ** np.asarray(decimals, dtype=float)
    x = np.round(v * scale, 9)
    return np.rint(x) / scale


def percentile_hj663(values, p: float) -> float:
    """p-th percentile of daily values after HJ 663 Appendix A [unit of the values].

    Sort ascending (X_1..X_n); ``k = 1 + (n-1) p/100``; ``s`` = integer part of k;
    result = X_s + (X_{s+1} - X_s)(k - s); X_{n+1} is taken as X_n. NaN values are ignored.
    ``p`` is an integer percentage; k is computed exactly with integers.
    """
    x = np.sort(np.asarray(values, dtype=float))
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return float("nan")
    k100 = 100 + (n - 1) * int(p)  # 100 k, exact
    s = k100 // 100
    frac = (k100 - 100 * s) / 100.0
    lo = x[s - 1]
    hi = x[min(s, n - 1)]
    return float(lo + (hi - lo) * frac)


def _rule(edition663: str, parameter: str, pollutant: str = "") -> dict[str, Any]:
    rid = f"hj663-{edition663}.{parameter}" + (f".{pollutant}" if pollutant else "")
    return reference.load("hj663_rules").get(rid)


def _num(row: dict[str, Any]) -> float:
    return float(row["value"])


def gb3095_class2_limits(edition: str, day: dt.date) -> dict[tuple[str, str], dict[str, Any]]:
    """Class-2 limits ``{(pollutant, averaging): row}`` of GB 3095 ``edition`` for ``day``.

    For the 2026 edition the phase (transitional/final) in force on ``day`` is used (days before
    2026-03-01 take the transitional phase). Units [ug/m3], CO [mg/m3].
    """
    rows = [r for r in reference.load("gb3095_limits").rows if r["edition"] == edition and r["class"] == 2]
    if not rows:
        raise EvaluationError(f"no GB 3095 limits for edition {edition!r}; valid: 2012, 2026")
    if edition == "2026":
        first = min(r["valid_from"] for r in rows)
        d = max(day, first)
        rows = [r for r in rows if r["valid_from"] <= d and (r["valid_to"] is None or d <= r["valid_to"])]
    return {(r["pollutant"], r["averaging"]): r for r in rows}


def park_daily_hj663(daily: pd.DataFrame) -> pd.DataFrame:
    """Park daily values: station rows averaged per date (HJ 663 city method) [ug/m3], CO [mg/m3]."""
    if "date" not in daily.columns:
        raise EvaluationError(f"daily table needs a 'date' column; has {list(daily.columns)}")
    cols = [c for c in DAILY_COLUMN.values() if c in daily.columns]
    d = daily.copy()
    d["date"] = pd.to_datetime(d["date"]).dt.normalize()
    if "station_id" in d.columns:
        d = d.groupby("date", sort=True)[cols].mean().reset_index()
    for c in DAILY_COLUMN.values():
        if c not in d.columns:
            d[c] = np.nan
    return d.sort_values("date").reset_index(drop=True)


# --------------------------------------------------------------------------- evaluation
def _editions(edition: str, end: dt.date) -> tuple[str, str, str]:
    """(HJ 633 edition of the evaluation, HJ 663 edition, GB 3095 edition)."""
    if edition == "auto":
        e633 = reference.edition_for("HJ 633", end)
        return e633, reference.edition_for("HJ 663", end), reference.edition_for("GB 3095", end)
    if edition not in HJ663_FOR:
        raise EvaluationError(f"edition must be 'auto', '2012' or '2026' (got {edition!r})")
    return edition, HJ663_FOR[edition], GB3095_FOR[edition]


def evaluate_period_hj663(daily: pd.DataFrame, start: dt.date, end: dt.date, edition: str = "auto",
                          kind: str = "year") -> Evaluation:
    """HJ 663 evaluation of park daily values between ``start`` and ``end`` (inclusive).

    ``daily``: ``date, so2, no2, pm10, pm25, co, o3_8h`` [ug/m3] (CO [mg/m3]); station rows are
    averaged per date. ``kind``: "year" (annual validity: 324 days + monthly counts) or "month"
    (27 days, 25 in February). See the module docstring for the edition rule.
    """
    if kind not in ("year", "month"):
        raise EvaluationError(f"kind must be 'year' or 'month' (got {kind!r})")
    d = park_daily_hj663(daily)
    d = d[(d["date"] >= pd.Timestamp(start)) & (d["date"] <= pd.Timestamp(end))].reset_index(drop=True)
    e633, e663, e3095 = _editions(edition, end)
    used: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []

    # 1. rounding of daily concentrations (GB/T 8170) before evaluation
    dec = {p: _rule(e663, "decimals", p) for p in POLLUTANTS}
    used += list(dec.values())
    for p in POLLUTANTS:
        d[DAILY_COLUMN[p]] = round_gbt8170(d[DAILY_COLUMN[p]].to_numpy(dtype=float), _num(dec[p]))

    # 2. validity
    if kind == "year":
        need = _rule(e663, "min_days_year")
        used.append(need)
        min_total = int(_num(need))
    else:
        min_total = None
    mrule, frule = _rule(e663, "min_days_month"), _rule(e663, "min_days_february")
    used += [mrule, frule]
    month = d["date"].dt.to_period("M")
    for p in POLLUTANTS:
        col = DAILY_COLUMN[p]
        n = int(d[col].notna().sum())
        if min_total is not None and n < min_total:
            flags.append(flag(f"air.insufficient_days.{p}", valid_days=n, required=min_total))
        counts = d[col].notna().groupby(month).sum()
        months = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M")
        counts = counts.reindex(months, fill_value=0)
        req = np.where(months.month == 2, _num(frule), _num(mrule))
        for m, c, r in zip(months, counts.to_numpy(), req, strict=True):
            if c < r:
                code = f"air.month_insufficient_days.{p}.{m}" if kind == "year" else f"air.insufficient_days.{p}"
                flags.append(flag(code, valid_days=int(c), required=int(r)))

    # 3. statistics and attainment
    limits = gb3095_class2_limits(e3095, end)
    stats: list[dict[str, Any]] = []
    for p in POLLUTANTS:
        col = DAILY_COLUMN[p]
        x = d[col].to_numpy(dtype=float)
        items = []
        if _has(e663, "annual_mean", p):
            used.append(_rule(e663, "annual_mean", p))
            items.append(("annual_mean", float(np.nanmean(x)) if np.isfinite(x).any() else np.nan, "annual"))
        prow = _rule(e663, "percentile", p)
        used += [prow, _rule(e663, "percentile_method")]
        avg = "8h" if p == "o3" else "24h"
        items.append((f"p{int(_num(prow))}", percentile_hj663(x, _num(prow)), avg))
        for name, value, averaging in items:
            value = float(round_gbt8170(value, _num(dec[p])))
            lim = limits.get((p, averaging))
            if lim is not None:
                used.append(lim)
            ok = None if (lim is None or np.isnan(value)) else bool(value <= lim["value"])
            stats.append({"pollutant": p, "statistic": name, "value": None if np.isnan(value) else value,
                          "unit": "mg/m3" if p == "co" else "ug/m3", "n_days": int(np.isfinite(x).sum()),
                          "limit": None if lim is None else lim["value"], "limit_id": None if lim is None else lim["id"],
                          "attains": ok,
                          "ratio_to_limit": None if ok is None else round(value / lim["value"], 4)})
    verdicts = [s["attains"] for s in stats]
    attainment = None if any(v is None for v in verdicts) else all(verdicts)

    # 4. daily AQI (per-day edition under "auto"), good and heavily polluted days: the one daily
    #    series, from the rounded daily values, that the calendar shows too (daily_aqi_records)
    series, used_refs = _daily_aqi(d, edition)
    complete = series["valid"].to_numpy(dtype=bool)
    a = series["aqi"].to_numpy(dtype=float, na_value=np.nan)
    day_editions = pd.Series(series["edition"]).value_counts().sort_index().to_dict() if len(series) else {}
    good_max = _rule(e663, "good_day_max_aqi")
    heavy_min = _rule(e663, "heavy_day_min_aqi")
    used += [good_max, heavy_min]
    n_valid = int(complete.sum())
    good = int((complete & (a <= _num(good_max))).sum())
    heavy = int((complete & (a >= _num(heavy_min))).sum())

    # 5. composite index
    ci = 0.0
    for p in POLLUTANTS:
        w = _rule(e663, "composite_weight", p)
        den = _rule(e663, "composite_limit_averaging", p)
        used += [w, den]
        stat = [s for s in stats if s["pollutant"] == p]
        value = stat[0]["value"] if p in ("so2", "no2", "pm10", "pm25") else stat[-1]["value"]
        lim = limits.get((p, den["value"]))
        if value is None or lim is None:
            ci = None
            break
        used.append(lim)
        ci += _num(w) * value / lim["value"]
    composite = None if ci is None else round(ci, 2)
    ci_rows = [_rule(e663, x, p) for p in POLLUTANTS for x in ("composite_weight", "composite_limit_averaging")]
    if any(r["status"] != "C2+" for r in ci_rows):
        flags.append(flag("air.composite_index_not_corroborated",
                          f"HJ 663-{e663} composite-index weights/denominators are not corroborated (C1)",
                          statuses=sorted({r["status"] for r in ci_rows})))

    refs = {r["id"]: reference.citation(r) for r in used if r["status"] != "C2+"}
    for r in used_refs:
        refs.setdefault(r["id"], r)
    for status, code in (("C1", "reference.c1"), ("UNVERIFIED", "reference.unverified")):
        ids = sorted(i for i, r in refs.items() if r["status"] == status)
        if ids:
            flags.append(flag(code, severity="info" if status == "C1" else "warning", ids=ids))

    editions = {
        "rule": edition,
        "daily_aqi": {f"HJ 633-{k}": int(v) for k, v in day_editions.items() if v > 0},
        "evaluation": f"HJ 663-{e663}, GB 3095-{e3095} class 2"
                      + (f" ({limits[('pm25', 'annual')]['phase']} phase)" if e3095 == "2026" else ""),
        "note": ("daily AQI uses the HJ 633 edition in force on each day; the period evaluation uses the "
                 f"editions in force on {end.isoformat()}") if edition == "auto" else
                f"edition forced to {edition} for every day and for the evaluation",
    }
    return Evaluation(
        period={"kind": kind, "start": start.isoformat(), "end": end.isoformat()},
        editions=editions, n_days=len(d), statistics=stats, attainment=attainment,
        good_days=good, good_days_ratio=None if n_valid == 0 else round(100.0 * good / n_valid, 1),
        heavy_days=heavy, heavy_days_ratio=None if n_valid == 0 else round(100.0 * heavy / n_valid, 1),
        valid_aqi_days=n_valid, composite_index=composite, flags=flags, references=list(refs.values()),
        daily=series)


DAILY_SERIES_COLUMNS = ("date", "aqi", "level", "category", "category_en", "colour", "primary_pollutant",
                        "edition", "valid")


def _daily_aqi(d: pd.DataFrame, edition: str) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Daily AQI of park daily values ``d`` already rounded per HJ 663 (GB/T 8170).

    ``valid``: all six IAQIs present (a day HJ 663 counts); on other days ``aqi``, ``level``,
    ``category`` and ``colour`` are empty, since the record does not count them.
    """
    if not len(d):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in DAILY_SERIES_COLUMNS}), []
    day_ed = None if edition == "auto" else edition
    res = aqi_mod.aqi_hj633(d[["date", *DAILY_COLUMN.values()]], report="daily", edition=day_ed)
    t = res.table
    valid = t[[f"iaqi_{DAILY_COLUMN[p]}" for p in POLLUTANTS]].notna().all(axis=1).to_numpy()
    out = pd.DataFrame({"date": pd.to_datetime(t["date"]).dt.date, "valid": valid})
    for c in ("aqi", "level"):
        out[c] = t[c].where(valid)
    for c in ("category", "category_en", "colour", "primary_pollutant"):
        out[c] = t[c].astype(object).where(valid)
    out["edition"] = t["edition"].astype(str).to_numpy()
    return out[list(DAILY_SERIES_COLUMNS)].reset_index(drop=True), res.references


def daily_aqi_series(daily: pd.DataFrame, start: dt.date, end: dt.date, edition: str = "auto") -> pd.DataFrame:
    """The park daily AQI series of HJ 663 for ``start``..``end``: one row per day with data.

    The same series the evaluation counts good and heavily polluted days and ``valid_aqi_days``
    from: station values averaged per day, rounded per GB/T 8170 (PM2.5 150.5 -> 150), AQI per
    HJ 633; ``aqi`` is empty on days HJ 663 does not count (not all six pollutants valid).
    Columns :data:`DAILY_SERIES_COLUMNS`.
    """
    return evaluate_period_hj663(daily, start, end, edition).daily


def daily_aqi_records(series: pd.DataFrame) -> list[dict[str, Any]]:
    """The series as calendar rows ``date, aqi, level, primary_pollutant, colour`` (None when not valid)."""
    def val(x):
        return None if x is None or (not isinstance(x, str) and pd.isna(x)) else x

    return [{"date": r.date.isoformat(), "aqi": None if val(r.aqi) is None else int(r.aqi),
             "level": None if val(r.level) is None else int(r.level),
             "primary_pollutant": val(r.primary_pollutant), "colour": val(r.colour)}
            for r in series.itertuples()]  # one row per day of the period (<= 366)


def _has(e663: str, parameter: str, pollutant: str) -> bool:
    try:
        _rule(e663, parameter, pollutant)
    except reference.ReferenceError:
        return False
    return True


def evaluate_year_hj663(daily: pd.DataFrame, year: int, edition: str = "auto") -> Evaluation:
    """Annual HJ 663 evaluation of calendar ``year`` (see :func:`evaluate_period_hj663`)."""
    return evaluate_period_hj663(daily, dt.date(year, 1, 1), dt.date(year, 12, 31), edition, kind="year")


def evaluate_month_hj663(daily: pd.DataFrame, year: int, month: int, edition: str = "auto") -> Evaluation:
    """Monthly HJ 663 evaluation (validity 27 days, 25 in February)."""
    last = calendar.monthrange(year, month)[1]
    return evaluate_period_hj663(daily, dt.date(year, month, 1), dt.date(year, month, last), edition, kind="month")


def evaluate_hourly_hj663(hourly: pd.DataFrame, start: dt.date, end: dt.date, edition: str = "auto",
                          label: str = "end", kind: str = "year") -> Evaluation:
    """HJ 663 evaluation from the long hourly station table (the store's shape).

    ``hourly``: ``station_id, timestamp (tz-aware), pollutant, value`` [ug/m3], CO [mg/m3].
    Daily values per station (GB 3095 validity), then park daily means, then
    :func:`evaluate_period_hj663`. Daily-statistics flags are summarised in the result.
    """
    ed = None if edition == "auto" else edition
    st = aqi_mod.daily_means_gb3095(hourly, edition=ed, label=label)
    ev = evaluate_period_hj663(st, start, end, edition, kind)
    s = st.loc[st["flags"] != "", "flags"].str.split(";").explode()
    for code, n in s.value_counts().sort_index().items():
        ev.flags.append(flag(code, station_days=int(n)))
    return ev


def year_on_year_hj663(current: Evaluation, previous: Evaluation) -> dict[str, Any]:
    """Year-on-year change (同比): relative change [%] of each statistic and of the composite index;
    change in percentage points of the good-days and heavily-polluted-days ratios."""
    def rel(a, b):
        return None if a is None or b in (None, 0) else round(100.0 * (a - b) / b, 1)

    prev = {(s["pollutant"], s["statistic"]): s["value"] for s in previous.statistics}
    return {
        "periods": [previous.period, current.period],
        "statistics": [{"pollutant": s["pollutant"], "statistic": s["statistic"], "current": s["value"],
                        "previous": prev.get((s["pollutant"], s["statistic"])),
                        "change_pct": rel(s["value"], prev.get((s["pollutant"], s["statistic"])))}
                       for s in current.statistics],
        "composite_index_change_pct": rel(current.composite_index, previous.composite_index),
        "good_days_ratio_change_pp": None if None in (current.good_days_ratio, previous.good_days_ratio)
        else round(current.good_days_ratio - previous.good_days_ratio, 1),
        "heavy_days_ratio_change_pp": None if None in (current.heavy_days_ratio, previous.heavy_days_ratio)
        else round(current.heavy_days_ratio - previous.heavy_days_ratio, 1),
        "note": "editions may differ between the two periods; see each evaluation's 'editions'",
    }
