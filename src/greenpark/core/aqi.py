"""Ambient air quality index (AQI) after HJ 633-2012 and HJ 633-2026, and the daily statistics it needs.

Every breakpoint, rule threshold, level and colour is read from ``greenpark.reference`` (datasets
``hj633_breakpoints``, ``hj633_rules``, ``hj633_report_items``, ``hj633_levels``, ``hj663_rules``).

Functions (all vectorised over tables)
--------------------------------------
``iaqi_hj633(concentration, pollutant, averaging, edition)``
    Individual AQI (IAQI, 空气质量分指数) of one table, HJ 633-2012 Table 1 / HJ 633-2026 Table 3,
    eq. (1): ``IAQI = (IAQI_hi - IAQI_lo)/(BP_hi - BP_lo) * (C - BP_lo) + IAQI_lo``, rounded up
    (HJ 633-2026 cl. 4.2.6). Computed with scaled integers: the concentration is quantised to
    1e-4 of its unit ([ug/m3] or [mg/m3] for CO) and the ceiling is an integer division, so a
    concentration that sits exactly on a breakpoint (CO 2.2 [mg/m3] 24 h -> 55) never rounds up.
``aqi_hj633(table, report="daily"|"hourly", edition=None) -> AQIResult``
    AQI (max IAQI, eq. (2)), primary pollutant(s), level 1-6, category and colour for each row of
    a wide table. Daily columns: ``so2, no2, pm10, pm25, co, o3_8h`` (+ optional ``o3_1h``, daily
    maximum 1 h); hourly columns ``so2, no2, pm10, pm25, co, o3`` (+ optional ``so2_24h``). Units
    [ug/m3], CO [mg/m3]. ``edition`` None or "auto": from the row's ``date`` (daily) or
    ``timestamp`` (hourly, local date in Asia/Shanghai) through ``reference.edition_for`` rules;
    "2012"/"2026": forced; or an array of editions per row.
``daily_means_gb3095(hourly) -> DataFrame``
    Daily values per station from the long hourly table (``station_id, timestamp, pollutant,
    value``): 24 h means (>= 20 hourly values), O3 8 h moving means (>= 6 values), MDA8 (>= 14
    valid 8 h means, or fewer when it exceeds the limit), daily maximum O3 1 h.
``city_daily_aqi_hj663(daily) -> AQIResult``
    Park/city value: station concentrations averaged per day first, then the AQI (HJ 663 city method).

Behaviour at the edges (documented choices)
-------------------------------------------
- Above the top breakpoint of a table (e.g. PM2.5 24 h > 500): IAQI capped at the table's top
  index (500) and the row carries ``aqi.above_top_breakpoint``; never an exception.
- SO2 1 h > 800 [ug/m3]: 2012 -> the SO2 IAQI is the 24 h one (hourly column ``so2_24h``; absent
  -> IAQI empty, ``aqi.fallback_missing``); 2026 -> IAQI 200. O3 8 h > 800: 2012 -> the O3 1 h IAQI
  (daily column ``o3_1h``); 2026 -> 300. Rows carry ``aqi.so2_1h_above_800`` / ``aqi.o3_8h_above_800``.
- Missing values (NaN) give an empty IAQI; the AQI is the maximum of the others and the row carries
  ``aqi.missing_pollutant``; with no value at all the AQI is empty (``aqi.no_pollutant``).
- Negative or non-finite concentrations are failures: :class:`AQIInputError`.
- Primary pollutant(s): all pollutants whose IAQI equals the AQI, joined by ";", empty when the AQI
  is in level 1 (<= 50).
- Reference rows used whose status is C1 or UNVERIFIED are listed in ``AQIResult.references`` and
  the result flags ``reference.c1`` / ``reference.unverified``.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from greenpark import reference
from greenpark.errors import InputError
from greenpark.findings import flag

#: concentrations are quantised to 1/SCALE of their unit before the exact integer IAQI formula
SCALE = 10_000
#: the local time zone of Chinese monitoring data (Beijing time)
LOCAL_TZ = "Asia/Shanghai"

#: the column contract of wide tables (names, not numbers): required columns per report
REQUIRED_ITEMS = {
    "daily": ("so2", "no2", "pm10", "pm25", "co", "o3_8h"),
    "hourly": ("so2", "no2", "pm10", "pm25", "co", "o3"),
}
OPTIONAL_ITEMS = {"daily": ("o3_1h",), "hourly": ("so2_24h",)}
#: display names of pollutants (首要污染物 output), in reporting order
POLLUTANT_NAMES = {"so2": "SO2", "no2": "NO2", "pm10": "PM10", "pm25": "PM2.5", "co": "CO", "o3": "O3"}
EDITIONS = ("2012", "2026")


class AQIInputError(InputError, ValueError):
    """Concentrations that cannot be indexed (negative, infinite, not numeric)."""


@dataclass
class AQIResult:
    """Rows with their IAQI/AQI columns and per-row ``flags``; result-level flags and references."""

    table: pd.DataFrame
    flags: list[dict[str, Any]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- reference lookups
@dataclass(frozen=True)
class _Table:
    edition: str
    pollutant: str
    averaging: str
    conc: np.ndarray  # scaled integer breakpoints [1/SCALE unit]
    iaqi: np.ndarray  # integer IAQI at each breakpoint
    rows: tuple


@cache
def breakpoint_table(edition: str, pollutant: str, averaging: str) -> _Table:
    """The HJ 633 breakpoint table for ``pollutant`` and ``averaging`` ("24h", "8h", "1h") of ``edition``."""
    rows = [r for r in reference.load("hj633_breakpoints").rows
            if r["edition"] == edition and r["pollutant"] == pollutant and r["averaging"] == averaging]
    if not rows:
        have = sorted({(r["edition"], r["pollutant"], r["averaging"]) for r in reference.load("hj633_breakpoints").rows})
        raise reference.ReferenceError(
            f"no HJ 633 breakpoint table for edition {edition!r}, {pollutant} {averaging}. Valid: {have}")
    rows.sort(key=lambda r: r["iaqi"])
    conc = np.array([round(r["concentration"] * SCALE) for r in rows], dtype=np.int64)
    iaqi = np.array([r["iaqi"] for r in rows], dtype=np.int64)
    if np.any(np.diff(conc) <= 0) or np.any(np.diff(iaqi) <= 0):
        raise reference.ReferenceError(f"hj633_breakpoints {edition} {pollutant} {averaging}: not increasing")
    return _Table(edition, pollutant, averaging, conc, iaqi, tuple(rows))


def _rules(edition: str) -> list[dict[str, Any]]:
    return [r for r in reference.load("hj633_rules").rows if r["edition"] == edition]


def _rounding_rule(edition: str) -> dict[str, Any]:
    rows = [r for r in _rules(edition) if r["rule"] == "iaqi_rounding"]
    if len(rows) != 1 or rows[0]["action"] != "ceil":
        raise reference.ReferenceError(f"hj633_rules: edition {edition} needs one iaqi_rounding row with action ceil")
    return rows[0]


def report_items(edition: str, report: str) -> list[dict[str, Any]]:
    """Rows of ``hj633_report_items`` for ``edition`` and ``report`` ("daily" or "hourly")."""
    rows = [r for r in reference.load("hj633_report_items").rows if r["edition"] == edition and r["report"] == report]
    if not rows:
        raise reference.ReferenceError(f"no HJ 633 report items for edition {edition!r}, report {report!r}; "
                                       f"editions: {', '.join(EDITIONS)}; reports: daily, hourly")
    return rows


@cache
def _level_lut(edition: str) -> np.ndarray:
    """Row of the level table for every whole AQI value from 0 to the table's top (a lookup table)."""
    hi = levels(edition)["aqi_hi"].to_numpy()
    grid = np.arange(int(hi[-1]) + 1)
    return np.clip(np.searchsorted(hi, grid, side="left"), 0, len(hi) - 1)


def levels(edition: str) -> pd.DataFrame:
    """The AQI level table (level, aqi_lo, aqi_hi, categories, colours) of ``edition``."""
    rows = [r for r in reference.load("hj633_levels").rows if r["edition"] == edition]
    return pd.DataFrame(rows).sort_values("level").reset_index(drop=True)


# --------------------------------------------------------------------------- IAQI
def _scaled(conc: np.ndarray, cap: int) -> np.ndarray:
    """Concentrations as whole numbers of 1/SCALE unit, held in float64 (exact below 2**53); NaN kept.

    Values above twice the top breakpoint are clipped there first (their IAQI is the top index)."""
    out = np.minimum(conc, (cap * 2) / SCALE)
    out *= SCALE
    return np.rint(out, out=out)


def _check_concentrations(conc: np.ndarray, name: str) -> None:
    if conc.size == 0:
        return
    lo, hi = np.fmin.reduce(conc), np.fmax.reduce(conc)  # NaN-skipping; NaN only when all are missing
    if np.isnan(lo) or (lo >= 0 and hi < np.inf):
        return
    bad = (conc < 0) | np.isinf(conc)
    if bad.any():
        pos = np.flatnonzero(bad)[:5].tolist()
        raise AQIInputError(f"{name}: negative or infinite concentration at row position(s) {pos}")


def iaqi_hj633(concentration, pollutant: str, averaging: str, edition: str) -> tuple[np.ndarray, np.ndarray]:
    """Individual AQI of ``concentration`` on one HJ 633 table, HJ 633-2012 Table 1 / -2026 Table 3, eq. (1).

    Parameters
    ----------
    concentration : array-like of float
        [ug/m3]; CO [mg/m3]. NaN = missing.
    pollutant : {"so2", "no2", "pm10", "pm25", "co", "o3"}
    averaging : {"24h", "8h", "1h"}
    edition : {"2012", "2026"}

    Returns
    -------
    (iaqi, above_top) : float array (integers, NaN where missing), bool array (capped at the top index)

    The special > 800 rules are applied by :func:`aqi_hj633`, not here; above a table's last
    breakpoint this function returns the table's top index and ``above_top`` True.
    """
    return _iaqi(np.asarray(concentration, dtype=float), pollutant, averaging, edition, check=True)


#: resolution of the lookup table used when every concentration is a multiple of it [unit/10]
LUT_PER_UNIT = 10


@cache
def _iaqi_lut(edition: str, pollutant: str, averaging: str) -> np.ndarray:
    """IAQI at every 0.1 unit from 0 to twice the top breakpoint, by eq. (1) itself (exact, cached)."""
    top = breakpoint_table(edition, pollutant, averaging).conc[-1] / SCALE
    grid = np.arange(int(round(2 * top * LUT_PER_UNIT)) + 1) / LUT_PER_UNIT
    return _iaqi_formula(grid, breakpoint_table(edition, pollutant, averaging))[0]


def _iaqi(conc: np.ndarray, pollutant: str, averaging: str, edition: str, check: bool) -> tuple[np.ndarray, np.ndarray]:
    table = breakpoint_table(edition, pollutant, averaging)
    _rounding_rule(edition)
    if check:
        _check_concentrations(conc, f"{pollutant} {averaging}")
    # Monitoring data are reported to 0.1 unit or whole units (HJ 663 rounding): then the IAQI is a
    # lookup in a table of eq. (1) evaluated at every 0.1 unit -- the same numbers, a few passes fewer.
    q = conc * LUT_PER_UNIT
    qi = np.rint(q)
    q -= qi  # the fractional part (NaN for missing values, which fmin/fmax skip)
    if q.size and np.fmin.reduce(q) == 0 and np.fmax.reduce(q) == 0:
        lut = _iaqi_lut(edition, pollutant, averaging)
        top = np.fmax.reduce(qi)  # NaN only when every value is missing
        has_nan = bool(np.isnan(np.add.reduce(qi)))  # one pass instead of building a mask
        nan = np.isnan(qi) if has_nan else None
        if has_nan:
            qi[nan] = 0
        if not top < len(lut) - 1:  # values above twice the top breakpoint: clip (rare)
            np.minimum(qi, len(lut) - 1, out=qi)
        # int32 indices gather about 3x faster than intp; the result reuses q's buffer (no new pages)
        val = np.take(lut, qi.astype(np.int32), out=q)
        if has_nan:
            val[nan] = np.nan
        limit = table.conc[-1] / SCALE
        above = conc > limit if top > limit * LUT_PER_UNIT else np.zeros(len(conc), bool)
        return val, above
    return _iaqi_formula(conc, table)


def _iaqi_formula(conc: np.ndarray, table: _Table) -> tuple[np.ndarray, np.ndarray]:
    """Eq. (1) of HJ 633 on any concentrations (exact at breakpoints, see below)."""
    cs = _scaled(conc, int(table.conc[-1]))
    bp = table.conc.astype(float)
    # segment index k: the number of inner breakpoints below cs (a few vector comparisons over the
    # table's 6-8 breakpoints, not a loop over records; NaN compares False)
    k = np.zeros(len(cs), dtype=np.intp)
    for b in bp[1:-1]:
        k += cs > b
    # Exact: cs, breakpoints and (IAQI_hi - IAQI_lo)(cs - BP_lo) are whole numbers < 2**53, so the
    # products are exact in float64; the quotient by (BP_hi - BP_lo) is correctly rounded, and a
    # non-integer quotient is >= 1/(BP_hi - BP_lo) (>= 3e-8) away from an integer, far more than
    # the rounding error (< 1e-13 at 500), so ceil() sees an exact integer exactly when eq. (1) gives one.
    lo_c, den = bp[:-1], np.diff(bp)
    lo_i, di = table.iaqi[:-1].astype(float), np.diff(table.iaqi).astype(float)
    val = cs - lo_c[k]                 # in place from here on: one temporary for the whole formula
    val *= di[k]
    val /= den[k]
    np.ceil(val, out=val)              # HJ 633-2026 cl. 4.2.6: round up to an integer
    val += lo_i[k]
    # above the last breakpoint the top segment's line rises past the top index: cap it (NaN stays NaN)
    np.minimum(val, float(table.iaqi[-1]), out=val)
    return val, cs > bp[-1]


# --------------------------------------------------------------------------- editions
def edition_codes_hj633(dates) -> np.ndarray:
    """Index into ``EDITIONS`` of the HJ 633 edition in force on each date (``editions`` dataset).

    Raises ReferenceError for a date no edition covers (before 2016-01-01).
    """
    d = pd.to_datetime(pd.Series(dates)).dt.normalize().to_numpy()
    out = np.full(len(d), -1, dtype=np.int8)
    for r in reference.load("editions").rows:
        if r["standard"] != "HJ 633":
            continue
        if r["edition"] not in EDITIONS:
            raise reference.ReferenceError(f"HJ 633 edition {r['edition']} is not implemented (known: {EDITIONS})")
        lo = np.datetime64(r["valid_from"], "ns") if r["valid_from"] else np.datetime64("1677-09-22")
        hi = np.datetime64(r["valid_to"], "ns") if r["valid_to"] else np.datetime64("2262-04-11")
        out[(d >= lo) & (d <= hi)] = EDITIONS.index(r["edition"])
    missing = out < 0
    if missing.any():
        first = pd.Timestamp(d[np.flatnonzero(missing)[0]]).date()
        raise reference.ReferenceError(f"no edition of HJ 633 in force on {first}: choose one with edition='2012' or '2026'")
    return out


def editions_hj633(dates) -> np.ndarray:
    """The HJ 633 edition ("2012", "2026") in force on each date."""
    return np.asarray(EDITIONS)[edition_codes_hj633(dates)]


def _local_dates(ts: pd.Series) -> pd.Series:
    t = pd.to_datetime(ts)
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert(LOCAL_TZ)
    return t.dt.normalize().dt.tz_localize(None) if getattr(t.dt, "tz", None) is not None else t.dt.normalize()


def resolve_editions(table: pd.DataFrame, report: str, edition) -> np.ndarray:
    """Edition code per row (index into ``EDITIONS``): forced ("2012"/"2026"), a per-row array of
    editions, or from the ``date``/``timestamp`` column (None/"auto")."""
    n = len(table)
    if edition is None or (isinstance(edition, str) and edition == "auto"):
        col = "date" if report == "daily" else "timestamp"
        if col not in table.columns:
            raise AQIInputError(f"edition 'auto' needs a '{col}' column (or force edition='2012' or '2026')")
        dates = _local_dates(table[col]) if report == "hourly" else pd.to_datetime(table[col])
        return edition_codes_hj633(dates)
    if isinstance(edition, str | int):
        e = str(edition)
        if e not in EDITIONS:
            raise reference.ReferenceError(f"unknown HJ 633 edition {e!r}; valid: {', '.join(EDITIONS)}, auto")
        return np.full(n, EDITIONS.index(e), dtype=np.int8)
    arr = np.asarray(edition).astype(str)
    bad = sorted(set(arr) - set(EDITIONS))
    if bad:
        raise reference.ReferenceError(f"unknown HJ 633 edition(s) {bad}; valid: {', '.join(EDITIONS)}")
    return np.searchsorted(np.asarray(EDITIONS), arr).astype(np.int8)


# --------------------------------------------------------------------------- AQI
class RowFlags:
    """Per-row data-quality flags kept as bit masks (fast); rendered as ";"-joined codes."""

    def __init__(self, n: int):
        self.bits = np.zeros(n, dtype=np.int64)
        self.codes: list[str] = []

    def add(self, mask: np.ndarray, code: str) -> None:
        if not mask.any():
            return
        if code not in self.codes:
            if len(self.codes) >= 63:
                raise ValueError("too many distinct flag codes")
            self.codes.append(code)
        self.bits |= mask.astype(np.int64) << self.codes.index(code)

    def labels(self) -> pd.Categorical:
        """The flags of every row as a categorical of ";"-joined codes ("" = none)."""
        if not self.codes:
            return pd.Categorical.from_codes(np.zeros(len(self.bits), dtype=np.int8), pd.Index([""], dtype=object))
        uniq, inv = np.unique(self.bits, return_inverse=True)
        names = [";".join(c for i, c in enumerate(self.codes) if (int(u) >> i) & 1) for u in uniq]
        return pd.Categorical.from_codes(inv.ravel(), pd.Index(names, dtype=object)) if len(set(names)) == len(names) \
            else pd.Categorical(np.asarray(names, dtype=object)[inv.ravel()])

    def summary(self) -> list[dict[str, Any]]:
        out = [flag(c, rows=int(((self.bits >> i) & 1).sum())) for i, c in enumerate(self.codes)]
        return sorted(out, key=lambda f: f["code"])


def _spread(m, sub: np.ndarray, n: int) -> np.ndarray:
    """A full-length row mask from a mask over the rows ``m`` selects (a slice or a boolean mask)."""
    if isinstance(m, slice):
        return sub
    out = np.zeros(n, bool)
    out[m] = sub
    return out


def _int_array(v: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole-number floats (NaN = missing) as a nullable integer array (IAQI, AQI, level: <= 500)."""
    nan = np.isnan(v)
    with np.errstate(invalid="ignore"):  # NaN positions are masked; their integer value is never read
        ints = v.astype(np.int32)
    return pd.arrays.IntegerArray(ints, nan)


def _reference_flags(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["status"] != "C2+" and r["id"] not in seen:
            seen[r["id"]] = reference.citation(r)
    refs = list(seen.values())
    flags = []
    for status, code in (("C1", "reference.c1"), ("UNVERIFIED", "reference.unverified")):
        ids = [r["id"] for r in refs if r["status"] == status]
        if ids:
            flags.append(flag(code, severity="info" if status == "C1" else "warning", ids=ids))
    return flags, refs


def aqi_hj633(table: pd.DataFrame, report: str = "daily", edition=None) -> AQIResult:
    """AQI, IAQI per pollutant, primary pollutant(s), level and category, HJ 633-2012 / HJ 633-2026.

    Parameters
    ----------
    table : DataFrame
        Wide rows. daily: ``so2, no2, pm10, pm25, co, o3_8h`` [ug/m3] (CO [mg/m3]), optional
        ``o3_1h`` (daily maximum 1 h); hourly: ``so2, no2, pm10, pm25, co, o3`` 1 h values,
        optional ``so2_24h``. ``date`` (daily) or ``timestamp`` (hourly) when ``edition`` is auto.
    report : {"daily", "hourly"}
    edition : None/"auto", "2012", "2026", or an array of editions per row

    Returns
    -------
    AQIResult whose ``table`` is ``table`` plus ``iaqi_<item>`` for every AQI item, ``aqi``,
    ``primary_pollutant``, ``level`` (1-6), ``category`` (Chinese), ``category_en``, ``colour``
    (RGB hex), ``edition`` and ``flags`` (";"-joined codes per row).
    """
    if report not in REQUIRED_ITEMS:
        raise AQIInputError(f"report must be 'daily' or 'hourly', not {report!r}")
    n = len(table)
    codes_ed = resolve_editions(table, report, edition)
    present = [EDITIONS[i] for i, c in enumerate(np.bincount(codes_ed, minlength=len(EDITIONS))) if c]
    flags = RowFlags(n)
    used: list[dict[str, Any]] = []
    columns: dict[str, np.ndarray] = {}
    pollutant_of: dict[str, str] = {}

    cache: dict[str, np.ndarray] = {}

    def values(item: str) -> np.ndarray:
        if item in cache:
            return cache[item]
        if item not in table.columns:
            return np.full(n, np.nan)
        try:
            col = table[item]
            v = col.to_numpy(dtype=float) if col.dtype == np.float64 else \
                pd.to_numeric(col, errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError) as exc:
            raise AQIInputError(f"column '{item}': not a number ({exc})") from None
        _check_concentrations(v, f"column '{item}'")
        cache[item] = v
        return v

    for e in present:
        # one edition (the usual case): a slice selects every row without copying
        m = slice(None) if len(present) == 1 else codes_ed == EDITIONS.index(e)
        items = report_items(e, report)
        used.append(_rounding_rule(e))
        by_table = {(r["pollutant"], r["averaging"]): r for r in items}
        for it in items:
            name = it["item"]
            if not it["in_aqi"] or (name in OPTIONAL_ITEMS[report] and name not in table.columns):
                continue
            used.append(it)
            pollutant_of[name] = it["pollutant"]
            conc = values(name)[m]
            iaqi, above = _iaqi(conc, it["pollutant"], it["averaging"], e, check=False)
            used += list(breakpoint_table(e, it["pollutant"], it["averaging"]).rows)
            for rule in _rules(e):
                if rule["rule"] != "above_threshold" or (rule["pollutant"], rule["averaging"]) != (it["pollutant"], it["averaging"]):
                    continue
                hit = np.nan_to_num(conc, nan=-1.0) > rule["threshold"]
                if not hit.any():
                    continue
                used.append(rule)
                code = f"aqi.{it['pollutant']}_{it['averaging']}_above_{int(rule['threshold'])}"
                sub = _spread(m, hit, n)
                flags.add(sub, code)
                above = above & ~hit
                if rule["action"] == "fixed":
                    iaqi = np.where(hit, float(rule["fixed_iaqi"]), iaqi)
                elif rule["action"] == "fallback":
                    fb = by_table.get((it["pollutant"], rule["fallback_averaging"]))
                    if fb is None:
                        raise reference.ReferenceError(f"{rule['id']}: no report item for the fallback table")
                    used.append(fb)
                    fb_iaqi, fb_above = _iaqi(values(fb["item"])[m], fb["pollutant"], fb["averaging"], e, check=False)
                    used += list(breakpoint_table(e, fb["pollutant"], fb["averaging"]).rows)
                    iaqi = np.where(hit, fb_iaqi, iaqi)
                    above = above | (hit & fb_above)
                    miss = _spread(m, hit & np.isnan(fb_iaqi), n)
                    flags.add(miss, "aqi.fallback_missing")
                else:
                    raise reference.ReferenceError(f"{rule['id']}: unknown action {rule['action']!r}")
            if isinstance(m, slice):
                columns[name] = iaqi  # one edition: the IAQI array is the column (no copy)
            else:
                columns.setdefault(name, np.full(n, np.nan))[m] = iaqi
            top = _spread(m, above, n)
            flags.add(top, "aqi.above_top_breakpoint")

    names = list(columns)
    # AQI = the largest IAQI (fmax skips NaN; a row with no IAQI stays NaN), column by column
    aqi = functools.reduce(np.fmax, (columns[k] for k in names)) if names else np.full(n, np.nan)
    no_aqi = np.isnan(aqi)
    required = [k for k in names if k in REQUIRED_ITEMS[report]]
    missing = functools.reduce(np.logical_or, (np.isnan(columns[k]) for k in required)) if required \
        else np.zeros(n, bool)
    flags.add(missing & ~no_aqi, "aqi.missing_pollutant")
    flags.add(no_aqi, "aqi.no_pollutant")

    # levels, categories, colours (per edition), as categorical codes
    level = np.full(n, np.nan)
    texts = {"category": "category_zh", "category_en": "category_en", "colour": "rgb_hex"}
    cats: dict[str, list[str]] = {k: [""] for k in texts}
    codes = {k: np.zeros(n, dtype=np.int64) for k in texts}
    good_max = np.zeros(n)
    for e in present:
        me = slice(None) if len(present) == 1 else codes_ed == EDITIONS.index(e)
        # rows with an AQI: a slice (no copy) when that is every row of a one-edition table
        all_rows = len(present) == 1 and not no_aqi.any()
        m = slice(None) if all_rows else (~no_aqi if len(present) == 1 else me & ~no_aqi)
        lv = levels(e)
        used += [r for r in reference.load("hj633_levels").rows if r["edition"] == e]
        k = _level_lut(e)[aqi[m].astype(np.int32)]  # AQI values are whole numbers 0..500
        level[m] = lv["level"].to_numpy()[k]
        for key, col in texts.items():
            lookup = []
            for label in lv[col]:
                if label not in cats[key]:
                    cats[key].append(label)
                lookup.append(cats[key].index(label))
            codes[key][m] = np.asarray(lookup)[k]
        good_max[me] = lv["aqi_hi"].iloc[0]

    # primary pollutant(s): IAQI == AQI, when the AQI is above level 1 (bit mask per pollutant)
    labels = list(POLLUTANT_NAMES.values())
    pbits = np.zeros(n, dtype=np.int64)
    show = aqi > good_max  # False where the AQI is NaN
    for bit, p in enumerate(POLLUTANT_NAMES):
        for k in names:
            if pollutant_of[k] == p:
                pbits |= (show & (columns[k] == aqi)).astype(np.int64) << bit
    combos = [";".join(lab for i, lab in enumerate(labels) if (c >> i) & 1) for c in range(1 << len(labels))]

    new = {f"iaqi_{k}": _int_array(columns[k]) for k in names}
    new["aqi"] = _int_array(aqi)
    new["primary_pollutant"] = pd.Categorical.from_codes(pbits, pd.Index(combos, dtype=object))
    new["level"] = _int_array(level)
    for key in texts:
        new[key] = pd.Categorical.from_codes(codes[key], pd.Index(cats[key], dtype=object))
    new["edition"] = pd.Categorical.from_codes(codes_ed, list(EDITIONS))
    new["flags"] = flags.labels()
    out = pd.concat([table.drop(columns=[c for c in new if c in table.columns]),
                     pd.DataFrame(new, index=table.index, copy=False)], axis=1)
    ref_flags, refs = _reference_flags(used)
    return AQIResult(out, flags.summary() + ref_flags, refs)


# --------------------------------------------------------------------------- daily statistics
def _hj663_value(edition: str, parameter: str, pollutant: str = "") -> dict[str, Any]:
    rid = f"hj663-{edition}.{parameter}" + (f".{pollutant}" if pollutant else "")
    return reference.load("hj663_rules").get(rid)


def hj663_edition_for_hj633(edition: str) -> str:
    """The HJ 663 edition that goes with an HJ 633 edition (2012 -> 2013, 2026 -> 2026)."""
    return {"2012": "2013", "2026": "2026"}[edition]


def to_local_hours(hourly: pd.DataFrame, label: str = "end") -> pd.DataFrame:
    """Long hourly rows -> wide rows per station and local hour *start* (Asia/Shanghai, tz-naive).

    ``hourly`` columns: ``station_id``, ``timestamp`` (tz-aware), ``pollutant``, ``value``
    ([ug/m3], CO [mg/m3]). ``label``: whether a timestamp labels the end (default) or the start
    of its hour. Duplicate readings of one station, hour and pollutant are averaged.
    """
    need = {"station_id", "timestamp", "pollutant", "value"}
    if not need <= set(hourly.columns):
        raise AQIInputError(f"hourly table needs columns {sorted(need)}; has {list(hourly.columns)}")
    ts = pd.to_datetime(hourly["timestamp"])
    if getattr(ts.dt, "tz", None) is None:
        raise AQIInputError("hourly timestamps must be timezone-aware")
    start = ts.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    if label == "end":
        start = start - pd.Timedelta(hours=1)
    df = pd.DataFrame({"station_id": hourly["station_id"].to_numpy(), "hour": start.dt.floor("h").to_numpy(),
                       "pollutant": hourly["pollutant"].to_numpy(),
                       "value": pd.to_numeric(hourly["value"], errors="coerce").to_numpy()})
    wide = df.pivot_table(index=["station_id", "hour"], columns="pollutant", values="value", aggfunc="mean")
    wide.columns.name = None
    return wide.reset_index()


def o3_8h_moving_mean(hours: pd.DataFrame, min_hours: int) -> pd.Series:
    """O3 8 h moving mean ending at each hour [ug/m3]; NaN with fewer than ``min_hours`` valid values.

    ``hours``: wide rows (station_id, hour start, o3) on a complete hourly grid per station.
    GB 3095-2012 Table 4: an 8 h mean needs >= 6 hourly values.
    """
    g = hours.groupby("station_id", sort=False)["o3"]
    return g.rolling(8, min_periods=min_hours).mean().reset_index(level=0, drop=True).sort_index()


def daily_means_gb3095(hourly: pd.DataFrame, edition: str | None = None, label: str = "end") -> pd.DataFrame:
    """Daily values per station from hourly data: 24 h means, MDA8, daily max O3 1 h.

    Parameters
    ----------
    hourly : DataFrame
        Long rows ``station_id, timestamp (tz-aware), pollutant, value``; pollutants ``so2, no2,
        pm10, pm25, co, o3`` [ug/m3] (CO [mg/m3]).
    edition : HJ 633 edition whose HJ 663 validity rules apply, or None = the edition in force on
        each day (validity rows of HJ 663-2013 / -2026).
    label : "end" or "start" -- what a timestamp labels.

    Returns
    -------
    DataFrame: ``station_id, date, so2, no2, pm10, pm25, co, o3_8h, o3_1h`` plus ``n_<pollutant>``
    valid-hour counts, ``n_o3_8h`` (valid 8 h means in the day) and ``flags``.

    Rules (GB 3095-2012 Table 4, HJ 663 cl. 6.1.2; status C1, see ``hj663_rules``): 24 h mean
    with >= 20 hourly values; 8 h mean with >= 6; MDA8 = maximum of the 8 h means of windows that
    lie inside the day (ending 08:00..24:00, a convention: the wording was not found), valid with
    >= 14 valid 8 h means, or with fewer when it exceeds the GB 3095 class-2 MDA8 limit. The daily
    maximum 1 h O3 needs the same >= 20 hourly values.
    """
    wide = to_local_hours(hourly, label)
    # complete hourly grid per station so that rolling windows are in hours, not rows
    spans = wide.groupby("station_id")["hour"].agg(["min", "max"])
    first = spans["min"].dt.normalize()
    last = spans["max"].dt.normalize() + pd.Timedelta(hours=23)
    counts = ((last - first) / pd.Timedelta(hours=1)).astype(int) + 1
    sid = np.repeat(spans.index.to_numpy(), counts.to_numpy())
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts.to_numpy()) - counts.to_numpy(), counts.to_numpy())
    grid = pd.DataFrame({"station_id": sid, "hour": np.repeat(first.to_numpy(), counts.to_numpy())
                         + offs * np.timedelta64(1, "h")})
    g = grid.merge(wide, on=["station_id", "hour"], how="left")
    for p in POLLUTANT_NAMES:
        if p not in g.columns:
            g[p] = np.nan
    g["date"] = g["hour"].dt.normalize()
    eds = editions_hj633(g["date"]) if edition is None else np.full(len(g), str(edition))
    g["edition"] = eds
    min_h = {e: int(float(_hj663_value(hj663_edition_for_hj633(e), "min_hours_day")["value"])) for e in set(eds)}
    min_8 = {e: int(float(_hj663_value(hj663_edition_for_hj633(e), "min_hours_8h")["value"])) for e in set(eds)}
    min_d8 = {e: int(float(_hj663_value(hj663_edition_for_hj633(e), "min_8h_values_mda8")["value"])) for e in set(eds)}
    g["min_h"] = g["edition"].map(min_h)
    g["min_8"] = g["edition"].map(min_8)
    o3_8 = pd.Series(np.nan, index=g.index)
    for m8 in set(min_8.values()):
        o3_8 = o3_8.where(g["min_8"] != m8, o3_8h_moving_mean(g, m8))
    # only windows inside the day: the window ending at hour start h covers h-7..h -> h >= 7
    g["o3_8h"] = np.where(g["hour"].dt.hour >= 7, o3_8, np.nan)
    keys = ["station_id", "date"]
    agg = g.groupby(keys, sort=True)
    means = agg[list(POLLUTANT_NAMES)].mean()
    n = agg[list(POLLUTANT_NAMES)].count()
    out = means.copy()
    out["o3_1h"] = agg["o3"].max()
    out["o3_8h"] = agg["o3_8h"].max()
    out["n_o3_8h"] = agg["o3_8h"].count()
    out["edition"] = agg["edition"].first()
    mh = out["edition"].map(min_h)
    flags = RowFlags(len(out))
    for p in POLLUTANT_NAMES:
        short = (n[p] < mh).to_numpy()
        out[p] = out[p].where(~short)
        out[f"n_{p}"] = n[p]
        flags.add(short & (n[p] > 0).to_numpy(), f"air.daily_insufficient_hours.{p}")
        flags.add((n[p] == 0).to_numpy(), f"air.daily_no_data.{p}")
    out["o3_1h"] = out["o3_1h"].where(n["o3"] >= mh)
    # MDA8 validity: >= 14 valid 8 h means, or fewer when the MDA8 exceeds the class-2 limit
    lim = _mda8_limits_vec(out)
    few = (out["n_o3_8h"] < out["edition"].map(min_d8)).to_numpy()
    keep = ~few | (out["o3_8h"].to_numpy() > lim)
    flags.add(few & ~keep & (out["n_o3_8h"] > 0).to_numpy(), "air.mda8_insufficient_values")
    flags.add(few & keep & ~np.isnan(out["o3_8h"].to_numpy()), "air.mda8_few_values_exceeds_limit")
    out["o3_8h"] = out["o3_8h"].where(keep)
    out["flags"] = flags.labels().astype(object)
    out = out.reset_index()
    out["date"] = out["date"].dt.date
    return out


def _mda8_limits_vec(out: pd.DataFrame) -> np.ndarray:
    days = pd.Series(out.index.get_level_values("date"))
    uniq = pd.DataFrame({"edition": out["edition"].to_numpy(), "date": days.to_numpy()}).drop_duplicates()
    # one lookup per distinct day (not per record)
    uniq["lim"] = [_mda8_limit(e, pd.Timestamp(d).date()) for e, d in zip(uniq["edition"], uniq["date"], strict=True)]
    key = pd.DataFrame({"edition": out["edition"].to_numpy(), "date": days.to_numpy()})
    return key.merge(uniq, on=["edition", "date"], how="left")["lim"].to_numpy()


@cache
def _mda8_limit(edition: str, day: dt.date) -> float:
    rows = [r for r in reference.load("gb3095_limits").valid_on(day)
            if r["pollutant"] == "o3" and r["averaging"] == "8h" and r["class"] == 2]
    return float(rows[0]["value"]) if rows else np.inf


def city_daily_aqi_hj663(daily: pd.DataFrame, edition=None, report: str = "daily") -> AQIResult:
    """Park (city) daily AQI: station concentrations averaged per day first, then the AQI (HJ 663 city method).

    ``daily``: rows ``station_id, date`` and the daily columns of :func:`aqi_hj633`
    ([ug/m3], CO [mg/m3]); a station's missing (NaN) value is left out of that day's mean.
    Returns the AQIResult of the per-day means, with ``n_stations`` per day.
    """
    cols = [c for c in (*REQUIRED_ITEMS[report], *OPTIONAL_ITEMS[report]) if c in daily.columns]
    key = "date" if report == "daily" else "timestamp"
    g = daily.groupby(key, sort=True)
    city = g[cols].mean()
    city["n_stations"] = g["station_id"].nunique()
    return aqi_hj633(city.reset_index(), report=report, edition=edition)
