"""Baseline models: a daily temperature change-point model and an hourly TOWT model.

Both are estimators in OpenDSM's manner: ``fit(data) -> self``, ``predict(data)`` returning a
DataFrame with ``observed`` and ``predicted``, and ``to_dict()`` / ``from_dict()`` (plain JSON types;
a deserialised model predicts identically).

References
----------
[1] CalTRACK Methods 2.0, section 3 (daily change-point models: candidate forms intercept-only,
    heating, cooling, heating+cooling; balance-point grid search; selection by adjusted R2;
    positive degree-day coefficients).
[2] ASHRAE Guideline 14-2014, whole-building regression models (change-point forms of the
    ASHRAE RP-1050 Inverse Modeling Toolkit: 3P heating/cooling, 5P heating+cooling).
[3] Mathieu, J. L., Price, P. N., Kiliccote, S., Piette, M. A. (2011), Quantifying changes in
    building electricity use, with application to demand response, IEEE Trans. Smart Grid 2(3)
    (LBNL-4944E): the time-of-week-and-temperature (TOWT) model.
[4] OpenDSM 1.2.7 (LF Energy, formerly OpenEEmeter), ``opendsm.eemeter.models.daily.model.DailyModel``:
    daily sub-models by season (summer/shoulder/winter) and weekday/weekend, split selection by a
    penalised information criterion (source code read, version 1.2.7).
[5] Schwarz, G. (1978), Estimating the dimension of a model, Annals of Statistics 6(2): 461-464
    (Bayesian information criterion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as _t_dist

from greenpark import reference
from greenpark.core.mv.data import DailyData, Flag, HourlyData, ModelError, degree_days
from greenpark.core.mv.stats import check_sufficiency, criterion_value, goodness_of_fit

FORMS = ("intercept_only", "heating", "cooling", "heating_cooling")
DAY_EFFECTS = ("holiday", "weekend", "makeup_workday")
N_TOW = 8 * 24  # 7 weekdays + a public-holiday profile


# --------------------------------------------------------------------------------------------
# Daily change-point model


SEGMENTATIONS = ("none", "season", "auto")
SEASONS = ("summer", "shoulder", "winter")
#: season partitions considered by a segmented model (those of OpenDSM's DailyModel [4])
SEASON_PARTITIONS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("summer", "shoulder", "winter"),),
    (("summer",), ("shoulder", "winter")),
    (("summer", "shoulder"), ("winter",)),
    (("summer", "winter"), ("shoulder",)),
    (("summer",), ("shoulder",), ("winter",)),
)
#: day classes: every day, working days (weekday, make-up working day), non-working days (weekend,
#: holiday), and weekends and public holidays apart (a plant that runs a weekend shift but stops for
#: Spring Festival)
DAY_CLASSES = ("all", "working", "non_working", "weekend", "holiday")


def _day_rows(days: str, working: np.ndarray, day_type: np.ndarray) -> np.ndarray | None:
    """Rows of a day class (None: every day)."""
    if days == "all":
        return None
    if days == "working":
        return working
    if days == "non_working":
        return ~working
    return day_type == days


def season_months(scheme: str = "opendsm") -> dict[str, list[int]]:
    """Calendar months (1..12) of each season in the ``mv_seasons`` reference dataset."""
    rows = [r for r in reference.load("mv_seasons").rows if r["scheme"] == scheme]
    if not rows:
        schemes = sorted({r["scheme"] for r in reference.load("mv_seasons").rows})
        raise ValueError(f"unknown season scheme {scheme!r}; valid schemes: {', '.join(schemes)}")
    out: dict[str, list[int]] = {s: [] for s in SEASONS}
    for r in rows:
        out[r["season"]].append(int(r["month"]))
    return {k: sorted(v) for k, v in out.items()}


def _segment_name(seasons: tuple[str, ...], days: str) -> str:
    return "+".join(seasons) + "/" + days


@dataclass
class _Segment:
    """One fitted segment: a temperature-response fit on the days of some seasons and a day class."""

    seasons: tuple[str, ...]
    days: str
    months: list[int]
    form: str
    heating: float | None
    cooling: float | None
    sd: float
    columns: list[str]
    coefficients: dict[str, float] = field(default_factory=dict)
    adj_r2: float = float("nan")
    sse: float = float("nan")
    n: int = 0
    candidates: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return _segment_name(self.seasons, self.days)

    @property
    def n_searched(self) -> int:
        """Parameters found by search, not by least squares: balance points and the smoothing sd."""
        n_bp = (self.heating is not None) + (self.cooling is not None)
        return n_bp + (1 if n_bp and self.sd > 0 else 0)

    def mask(self, df: pd.DataFrame) -> np.ndarray:
        m = np.isin(df.index.month, self.months)
        rows = _day_rows(self.days, df["working"].to_numpy(bool), df["day_type"].to_numpy())
        return m if rows is None else m & rows

    def design(self, df: pd.DataFrame) -> np.ndarray:
        prod = df["production"].to_numpy(float) if "production" in df.columns else None
        return self.design_arrays(df["temperature"].to_numpy(float), df["day_type"].to_numpy(), prod)

    def design_arrays(self, t: np.ndarray, day_type: np.ndarray, production: np.ndarray | None) -> np.ndarray:
        """Design matrix of the segment's columns: temperature [degC], day types, production."""
        cols = []
        for c in self.columns:
            if c == "intercept":
                cols.append(np.ones(len(t)))
            elif c in DAY_EFFECTS:
                cols.append((day_type == c).astype(float))
            elif c == "production":
                cols.append(production)
            elif c == "heating":
                cols.append(degree_days(t, self.heating, "hdd", self.sd))
            elif c == "cooling":
                cols.append(degree_days(t, self.cooling, "cdd", self.sd))
        return np.column_stack(cols) if cols else np.empty((len(t), 0))

    def to_dict(self) -> dict[str, Any]:
        return {"seasons": list(self.seasons), "days": self.days, "months": list(self.months), "form": self.form,
                "balance_points": {"heating": self.heating, "cooling": self.cooling}, "smoothing_sd": self.sd,
                "columns": list(self.columns), "coefficients": dict(self.coefficients), "adj_r2": self.adj_r2,
                "n": self.n, "candidates_adj_r2": dict(self.candidates)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> _Segment:
        bp = d["balance_points"]
        return cls(seasons=tuple(d["seasons"]), days=d["days"], months=[int(m) for m in d["months"]],
                   form=d["form"], heating=bp.get("heating"), cooling=bp.get("cooling"),
                   sd=float(d.get("smoothing_sd", 0.0)), columns=list(d["columns"]),
                   coefficients={k: float(v) for k, v in d["coefficients"].items()},
                   adj_r2=float(d.get("adj_r2", float("nan"))), n=int(d.get("n", 0)),
                   candidates=dict(d.get("candidates_adj_r2", {})))


@lru_cache(maxsize=4096)
def _t_critical(p_value: float, dof: int) -> float:
    """Critical |t| of a two-sided test at ``p_value`` with ``dof`` degrees of freedom."""
    return float(_t_dist.isf(p_value / 2.0, dof))


def _search_segment(y: np.ndarray, t: np.ndarray, z: np.ndarray, grid: np.ndarray, sds: list[float],
                    hdd: np.ndarray, cdd: np.ndarray, forms: tuple[str, ...], min_dd: float,
                    max_p: float) -> dict[str, tuple[float, int, int, int]]:
    """Best candidate of each form on one segment's days, over balance points and smoothing sd.

    ``z`` holds the segment's base columns (intercept, day types, production); ``hdd`` / ``cdd``
    (days x sd x balance point) the heating and cooling degree days of the segment's days at every
    grid balance point and smoothing sd. The degree-day columns are regressed on the residuals of
    ``z`` (Frisch-Waugh-Lovell), so every candidate is a one- or two-variable least-squares problem
    solved in closed form, all candidates at once. Returns ``{form: (adjusted R2, heating index,
    cooling index, sd index)}`` (index -1 = no term) of the qualified candidates [1].
    """
    n, q = z.shape
    qz, _ = np.linalg.qr(z)
    yr = y - qz @ (qz.T @ y)
    sse0 = float(yr @ yr)
    tot = float(np.sum((y - y.mean()) ** 2)) / (n - 1) or np.finfo(float).tiny
    best: dict[str, tuple[float, int, int, int]] = {}
    if "intercept_only" in forms:
        best["intercept_only"] = (1.0 - (sse0 / (n - q)) / tot, -1, -1, 0)
    if n - q - 2 <= 0:
        return best
    # CalTRACK 2.0 section 3 [1]: at least min_dd days with non-zero degree days at the balance point
    h_ok = (t[:, None] < grid[None, :]).sum(axis=0) >= min_dd
    c_ok = (t[:, None] > grid[None, :]).sum(axis=0) >= min_dd
    # a slope qualifies when positive with two-sided p <= max_p, i.e. t >= t_{1 - max_p/2, n - p}
    t1, t2 = _t_critical(max_p, n - q - 1), _t_critical(max_p, n - q - 2)
    ns, k = len(sds), len(grid)
    hr = hdd.reshape(n, -1)
    hr = (hr - qz @ (qz.T @ hr)).reshape(n, ns, k)
    cr = cdd.reshape(n, -1)
    cr = (cr - qz @ (qz.T @ cr)).reshape(n, ns, k)
    hh, cc = np.einsum("isk,isk->sk", hr, hr), np.einsum("isk,isk->sk", cr, cr)
    hy, cy = np.einsum("isk,i->sk", hr, yr), np.einsum("isk,i->sk", cr, yr)
    with np.errstate(all="ignore"):
        for form, ss, sy, ok in (("heating", hh, hy, h_ok), ("cooling", cc, cy, c_ok)):
            if form not in forms:
                continue
            b = sy / ss
            sse = sse0 - b * sy
            tstat = b / np.sqrt(sse / (n - q - 1) / ss)
            adj = 1.0 - (sse / (n - q - 1)) / tot
            adj[~(ok[None, :] & (ss > 1e-12 * n) & (b > 0) & (tstat >= t1))] = -np.inf
            i_s, i = np.unravel_index(int(np.argmax(adj)), adj.shape)
            if np.isfinite(adj[i_s, i]):
                best[form] = (float(adj[i_s, i]), i if form == "heating" else -1, i if form == "cooling" else -1,
                              int(i_s))
        if "heating_cooling" in forms:
            hc = np.matmul(hr.transpose(1, 2, 0), cr.transpose(1, 0, 2))          # sd x K x K
            hh3, cc3, hy3, cy3 = hh[:, :, None], cc[:, None, :], hy[:, :, None], cy[:, None, :]
            det = hh3 * cc3 - hc * hc
            bh = (cc3 * hy3 - hc * cy3) / det
            bc = (hh3 * cy3 - hc * hy3) / det
            s2 = (sse0 - bh * hy3 - bc * cy3) / (n - q - 2)
            valid = ((grid[:, None] <= grid[None, :]) & h_ok[:, None] & c_ok[None, :])[None]
            valid = valid & (det > 1e-9 * hh3 * cc3) & (bh > 0) & (bc > 0)
            valid &= (bh * bh * det >= t2 * t2 * s2 * cc3) & (bc * bc * det >= t2 * t2 * s2 * hh3)
            adj = np.where(valid, 1.0 - s2 / tot, -np.inf)
            i_s, i, j = np.unravel_index(int(np.argmax(adj)), adj.shape)
            if np.isfinite(adj[i_s, i, j]):
                best["heating_cooling"] = (float(adj[i_s, i, j]), int(i), int(j), int(i_s))
    return best


@dataclass
class DailyChangePointModel:
    """Daily change-point baseline with production and day-type effects, optionally segmented.

    In each segment (a set of seasons and a day class, see below):

    ``E_d = b0 + sum_t b_t [day_type_d = t] + b_p P_d + b_h HDD(T_d, T_h, s) + b_c CDD(T_d, T_c, s)``

    E_d daily energy [meter unit/d], T_d daily mean temperature [degC], P_d production
    [product unit/d], HDD/CDD degree days [degC d] at balance points T_h <= T_c [degC], smoothed
    by a within-day temperature spread s [degC] (:func:`greenpark.core.mv.degree_days`; s = 0 gives the
    plain CalTRACK degree days).

    **Within a segment** the four candidate forms of CalTRACK 2.0 [1] section 3 (intercept-only,
    heating, cooling, heating+cooling) are fitted for every balance point on the grid and every
    smoothing sd at once (closed-form least squares on the residuals of the base columns).
    Candidates with a non-positive degree-day slope, a slope p-value above
    ``caltrack_max_slope_p_value`` or fewer than ``caltrack_min_nonzero_dd_days`` days with
    non-zero degree days are discarded [1], and the candidate with the highest adjusted R2 is kept
    [1] 3.4. The winner is refitted with ``numpy.linalg.lstsq`` for exact coefficients.

    **Segments.** Buildings and plants respond to temperature differently by season (equipment
    staged, process heat recovered, different production mixes) and on non-working days. With
    ``segmentation="season"`` the season partitions of OpenDSM's daily model [4] are candidates
    (all seasons together; summer | shoulder+winter; summer+shoulder | winter; summer+winter |
    shoulder; summer | shoulder | winter; months per season from the ``mv_seasons`` dataset);
    ``"auto"`` also splits each season set into working and non-working days when the model has a
    ``weekend`` or ``holiday`` day effect. Each segment needs ``segment_min_days`` baseline days
    (``segment_min_nonworking_days`` for non-working days). The partition with the lowest Bayesian
    information criterion ``BIC = N ln(SSE/N) + k ln N`` [5] is kept, with k counting every fitted
    coefficient, balance point and smoothing sd of its segments, so a split must pay for its extra
    parameters and small baselines stay in one segment. ``"none"`` fits one segment (CalTRACK 2.0).

    Parameters
    ----------
    day_effects : day types that get their own intercept shift (dummy) relative to working
        weekdays; default non-working days: ``("holiday", "weekend")``. Make-up working days
        count as weekdays unless listed.
    production : ``"auto"`` (use production when the data have it), ``True`` (require it) or ``False``
    bp_step : balance-point grid step [degC]
    bp_min, bp_max : search range [degC]; default ``caltrack_bp_min`` / ``caltrack_bp_max``
    forms : candidate forms to consider
    segmentation : ``"auto"``, ``"season"`` or ``"none"`` (see above)
    smoothing : within-day temperature sd values to search [degC]; default 0 to
        ``dd_smoothing_sd_max`` by ``dd_smoothing_sd_step``; ``(0.0,)`` for plain degree days
    season_scheme : scheme of the ``mv_seasons`` dataset
    """

    day_effects: tuple[str, ...] = ("holiday", "weekend")
    production: bool | str = "auto"
    bp_step: float = 0.5
    bp_min: float | None = None
    bp_max: float | None = None
    forms: tuple[str, ...] = FORMS
    segmentation: str = "auto"
    smoothing: tuple[float, ...] | None = None
    season_scheme: str = "opendsm"
    # fitted state
    form: str | None = None
    balance_points: dict[str, float | None] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    coefficients: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    unit: str = "kWh"
    candidates: dict[str, float] = field(default_factory=dict)
    baseline_period: tuple[str, str] | None = None
    segments: list[_Segment] = field(default_factory=list)
    partitions: dict[str, float] = field(default_factory=dict)

    kind = "daily_change_point"

    def __post_init__(self):
        bad = [f for f in self.forms if f not in FORMS]
        if bad:
            raise ValueError(f"unknown form(s) {bad}; valid forms: {', '.join(FORMS)}")
        bad = [d for d in self.day_effects if d not in DAY_EFFECTS]
        if bad:
            raise ValueError(f"unknown day effect(s) {bad}; valid: {', '.join(DAY_EFFECTS)}")
        if self.segmentation not in SEGMENTATIONS:
            raise ValueError(f"unknown segmentation {self.segmentation!r}; valid: {', '.join(SEGMENTATIONS)}")
        if self.smoothing is not None and (not len(self.smoothing) or min(self.smoothing) < 0):
            raise ValueError("smoothing must be a non-empty sequence of sd values >= 0 degC, e.g. (0.0,)")
        self.day_effects = tuple(self.day_effects)
        self.forms = tuple(self.forms)
        if self.smoothing is not None:
            self.smoothing = tuple(float(s) for s in self.smoothing)

    @property
    def fitted(self) -> bool:
        return self.form is not None

    @property
    def n_params(self) -> int:
        """Number of least-squares coefficients over all segments (p of the G14 statistics)."""
        return sum(len(s.columns) for s in self.segments)

    # ---------------------------------------------------------------- search settings
    def _sd_grid(self) -> list[float]:
        if self.smoothing is not None:
            return sorted(set(self.smoothing))
        hi, step = criterion_value("dd_smoothing_sd_max"), criterion_value("dd_smoothing_sd_step")
        return [float(v) for v in np.round(np.arange(0.0, hi + 1e-9, step), 6)]

    def _partitions(self) -> list[tuple[tuple[tuple[str, ...], str], ...]]:
        """Candidate partitions of the days, simplest first: tuples of (seasons, day class) segments."""
        whole = ((SEASONS, "all"),)
        if self.segmentation == "none":
            return [whole]
        day_splits = [("all",)]
        if self.segmentation == "auto" and {"weekend", "holiday"} & set(self.day_effects):
            day_splits.append(("working", "non_working"))
            if "holiday" in self.day_effects:
                day_splits.append(("working", "weekend", "holiday"))
        out = []
        for split in day_splits:
            for part in SEASON_PARTITIONS:
                out.append(tuple((s, d) for d in split for s in part))
        return out

    # ---------------------------------------------------------------- fit
    def fit(self, data: DailyData) -> DailyChangePointModel:
        """Fit to a baseline :class:`DailyData`; never raises for poor data (see ``flags``)."""
        if not isinstance(data, DailyData):
            raise TypeError("fit expects a greenpark.core.mv.DailyData (use DailyData.from_series)")
        df = data.df
        self.unit = data.unit
        use_prod = (self.production is True or (self.production == "auto" and data.has_production
                                                 and df["production"].notna().any()))
        self.flags = check_sufficiency(data, require_production=use_prod)
        ok = df["energy"].notna() & df["temperature"].notna()
        if use_prod:
            ok &= df["production"].notna()
        d = df[ok]
        self.baseline_period = (df.index.min().date().isoformat(), df.index.max().date().isoformat()) \
            if len(df) else None
        self.form, self.segments, self.partitions = None, [], {}
        self.balance_points = {"heating": None, "cooling": None}
        if use_prod and len(d) and d["production"].nunique() <= 1:
            use_prod = False
            self.flags.append(Flag("mv.model.production_constant",
                                   "production is constant over the baseline; it is not used as a regressor",
                                   "warning"))
        n = len(d)
        if n <= 4:
            self.flags.append(Flag("mv.model.not_fitted", f"only {n} usable day(s): no model can be fitted", "fatal"))
            return self
        y = d["energy"].to_numpy(float)
        t = d["temperature"].to_numpy(float)
        lo = criterion_value("caltrack_bp_min") if self.bp_min is None else self.bp_min
        hi = criterion_value("caltrack_bp_max") if self.bp_max is None else self.bp_max
        grid = np.round(np.arange(np.ceil(lo / self.bp_step) * self.bp_step, hi + 1e-9, self.bp_step), 6)
        sds = self._sd_grid()
        min_dd = criterion_value("caltrack_min_nonzero_dd_days")
        max_p = criterion_value("caltrack_max_slope_p_value")
        min_seg = criterion_value("segment_min_days")
        min_nonwork = criterion_value("segment_min_nonworking_days")
        months = season_months(self.season_scheme)
        month = d.index.month.to_numpy()
        working = d["working"].to_numpy(bool)
        day_type = d["day_type"].to_numpy()
        prod = d["production"].to_numpy(float) if use_prod else None
        # degree days of every baseline day at every balance point and sd: days x sd x balance point
        hdd = np.stack([degree_days(t[:, None], grid[None, :], "hdd", sd) for sd in sds], axis=1)
        cdd = np.stack([degree_days(t[:, None], grid[None, :], "cdd", sd) for sd in sds], axis=1)

        fits: dict[tuple[tuple[str, ...], str], _Segment | None] = {}

        def fit_segment(seasons: tuple[str, ...], days: str, whole: bool) -> _Segment | None:
            seg_months = sorted(m for s in seasons for m in months[s])
            rows = np.isin(month, seg_months)
            day_rows = _day_rows(days, working, day_type)
            if day_rows is not None:
                rows &= day_rows
            idx = np.flatnonzero(rows)
            if not whole and len(idx) < (min_seg if days in ("all", "working") else min_nonwork):
                return None
            columns = ["intercept"]
            covered = np.zeros(len(idx), bool)
            for eff in self.day_effects:
                is_eff = day_type[idx] == eff
                # a dummy needs days of its own and must leave reference days (else it is collinear with
                # the intercept: e.g. weekend and holiday on the non-working days)
                if is_eff.any() and not (covered | is_eff).all():
                    columns.append(eff)
                    covered |= is_eff
            if prod is not None and np.ptp(prod[idx]) > 0:
                columns.append("production")
            if len(idx) <= len(columns) + 2:
                return None
            seg = _Segment(seasons, days, seg_months, "intercept_only", None, None, 0.0, columns)
            ys, ts, dts = y[idx], t[idx], day_type[idx]
            ps = None if prod is None else prod[idx]
            z = seg.design_arrays(ts, dts, ps)
            best = _search_segment(ys, ts, z, grid, sds, hdd[idx], cdd[idx], self.forms, min_dd, max_p)
            if not best:
                return None
            form = max(best, key=lambda f: best[f][0])
            adj, ih, ic, i_sd = best[form]
            seg.form, seg.sd = form, (sds[i_sd] if form != "intercept_only" else 0.0)
            seg.heating = float(grid[ih]) if ih >= 0 else None
            seg.cooling = float(grid[ic]) if ic >= 0 else None
            seg.columns = columns + [c for c, b in (("heating", seg.heating), ("cooling", seg.cooling))
                                     if b is not None]
            x = seg.design_arrays(ts, dts, ps)
            coef, *_ = np.linalg.lstsq(x, ys, rcond=None)
            seg.coefficients = dict(zip(seg.columns, (float(c) for c in coef), strict=True))
            seg.sse = float(np.sum((ys - x @ coef) ** 2))
            seg.n, seg.adj_r2 = len(idx), adj
            seg.candidates = {f: v[0] for f, v in best.items()}
            return seg

        def enough_days(seasons: tuple[str, ...], days: str) -> bool:
            rows = np.isin(month, [m for s in seasons for m in months[s]])
            day_rows = _day_rows(days, working, day_type)
            cnt = int((rows if day_rows is None else rows & day_rows).sum())
            return cnt >= (min_seg if days in ("all", "working") else min_nonwork)

        chosen, best_bic = None, np.inf
        for part in self._partitions():
            if len(part) > 1 and not all(enough_days(*key) for key in part):
                continue
            segs = []
            for key in part:
                if key not in fits:
                    fits[key] = fit_segment(key[0], key[1], whole=len(part) == 1)
                segs.append(fits[key])
            if any(s is None for s in segs):
                continue
            sse = max(sum(s.sse for s in segs), np.finfo(float).tiny)
            k = sum(len(s.columns) + s.n_searched for s in segs)
            bic = n * np.log(sse / n) + k * np.log(n)  # [5]
            self.partitions[" | ".join(s.name for s in segs)] = float(bic)
            if bic < best_bic - 1e-9:
                chosen, best_bic = segs, bic
        if chosen is None:
            self.flags.append(Flag("mv.model.not_fitted", "no candidate model could be fitted", "fatal"))
            return self
        self._set_segments(chosen)
        pred_full = self._predict_array(df)
        obs = df["energy"].to_numpy(float)
        mask = ok.to_numpy()
        self.metrics = goodness_of_fit(obs[mask], pred_full[mask], self.n_params)
        # autocorrelation over the calendar sequence (missing days break pairs)
        from greenpark.core.mv.stats import lag1_autocorrelation
        self.metrics["rho"] = lag1_autocorrelation(np.where(mask, obs - pred_full, np.nan))
        if all(s.form == "intercept_only" for s in chosen):
            self.flags.append(Flag("mv.model.intercept_only",
                                   "no heating or cooling term qualified: the baseline is a constant per day "
                                   "type (plus production); temperature does not explain energy use in this "
                                   "baseline", "warning", {"candidates_adj_r2": self.candidates}))
        for s in chosen:
            for name, b in (("heating", s.heating), ("cooling", s.cooling)):
                if b is not None and (b <= grid[0] + 1e-9 or b >= grid[-1] - 1e-9):
                    where = "" if len(chosen) == 1 else f" (segment {s.name})"
                    self.flags.append(Flag("mv.model.balance_point_at_search_limit",
                                           f"the {name} balance point {b:g} degC{where} is at the edge of the "
                                           "search range", "warning",
                                           {"balance_point": b, "range": [float(grid[0]), float(grid[-1])],
                                            "segment": s.name}))
        if len(chosen) > 1:
            self.flags.append(Flag("mv.model.segmented",
                                   f"separate temperature responses fitted for {len(chosen)} segments "
                                   f"({', '.join(s.name for s in chosen)}), chosen by BIC over "
                                   f"{len(self.partitions)} partitions", "info",
                                   {"segments": [s.name for s in chosen], "bic": self.partitions}))
        return self

    def _set_segments(self, segs: list[_Segment]) -> None:
        """Model-level summary of the chosen segments (one segment: the plain CalTRACK fields)."""
        self.segments = list(segs)
        if len(segs) == 1:
            s = segs[0]
            self.form = s.form
            self.balance_points = {"heating": s.heating, "cooling": s.cooling}
            self.columns = list(s.columns)
            self.coefficients = dict(s.coefficients)
            self.candidates = dict(s.candidates)
        else:
            self.form = "segmented"
            self.balance_points = {"heating": None, "cooling": None}
            self.columns = [f"{s.name}:{c}" for s in segs for c in s.columns]
            self.coefficients = {f"{s.name}:{c}": v for s in segs for c, v in s.coefficients.items()}
            self.candidates = {s.name: s.adj_r2 for s in segs}

    # ---------------------------------------------------------------- predict
    def _predict_array(self, df: pd.DataFrame) -> np.ndarray:
        if any("production" in s.columns for s in self.segments) and "production" not in df.columns:
            raise ModelError("the model uses production as a regressor; the data have no production column")
        pred = np.full(len(df), np.nan)
        for s in self.segments:
            m = s.mask(df)
            if m.any():
                sub = df[m]
                beta = np.array([s.coefficients[c] for c in s.columns])
                pred[m] = s.design(sub) @ beta
        return pred

    def predict(self, data: DailyData) -> pd.DataFrame:
        """Predicted baseline energy [meter unit/d] for each day of ``data``.

        Returns a DataFrame indexed by date with ``observed`` (energy, NaN where missing),
        ``predicted`` (NaN where temperature or a needed production figure is missing),
        ``temperature`` [degC] and ``day_type``.
        """
        if not self.fitted:
            raise ModelError("the model is not fitted (see its flags for why); call fit() on baseline data first")
        df = data.df if isinstance(data, DailyData) else data
        pred = self._predict_array(df)
        return pd.DataFrame({"observed": df["energy"].to_numpy(float), "predicted": pred,
                             "temperature": df["temperature"].to_numpy(float),
                             "day_type": df["day_type"].to_numpy()}, index=df.index)

    # ---------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description; :meth:`from_dict` rebuilds a model that predicts identically."""
        return {
            "kind": self.kind, "version": 2, "unit": self.unit,
            "settings": {"day_effects": list(self.day_effects), "production": self.production,
                         "bp_step": self.bp_step, "bp_min": self.bp_min, "bp_max": self.bp_max,
                         "forms": list(self.forms), "segmentation": self.segmentation,
                         "smoothing": None if self.smoothing is None else list(self.smoothing),
                         "season_scheme": self.season_scheme},
            "form": self.form, "balance_points": dict(self.balance_points), "columns": list(self.columns),
            "coefficients": dict(self.coefficients), "metrics": dict(self.metrics),
            "candidates_adj_r2": dict(self.candidates),
            "segments": [s.to_dict() for s in self.segments],
            "partitions_bic": dict(self.partitions),
            "baseline_period": list(self.baseline_period) if self.baseline_period else None,
            "flags": [f.to_dict() for f in self.flags],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DailyChangePointModel:
        if d.get("kind") != cls.kind:
            raise ModelError(f"not a {cls.kind} model: kind={d.get('kind')!r}")
        s = d["settings"]
        sm = s.get("smoothing")
        m = cls(day_effects=tuple(s["day_effects"]), production=s["production"], bp_step=s["bp_step"],
                bp_min=s["bp_min"], bp_max=s["bp_max"], forms=tuple(s["forms"]),
                segmentation=s.get("segmentation", "none"), smoothing=None if sm is None else tuple(sm),
                season_scheme=s.get("season_scheme", "opendsm"))
        m.unit = d.get("unit", "kWh")
        m.metrics = dict(d["metrics"])
        if "segments" in d:
            segs = [_Segment.from_dict(x) for x in d["segments"]]
        elif d["form"] is not None:  # version 1: one segment of plain degree days over every day
            bp = d["balance_points"]
            segs = [_Segment(SEASONS, "all", list(range(1, 13)), d["form"], bp.get("heating"), bp.get("cooling"),
                             0.0, list(d["columns"]), {k: float(v) for k, v in d["coefficients"].items()},
                             candidates=dict(d.get("candidates_adj_r2", {})))]
        else:
            segs = []
        m.form = d["form"]
        if segs:
            m._set_segments(segs)
        m.balance_points = dict(d["balance_points"])
        m.candidates = dict(d.get("candidates_adj_r2", {}))
        m.partitions = dict(d.get("partitions_bic", {}))
        bp = d.get("baseline_period")
        m.baseline_period = tuple(bp) if bp else None
        m.flags = [Flag(f["code"], f["message"], f["severity"], f.get("detail", {})) for f in d.get("flags", [])]
        return m

# --------------------------------------------------------------------------------------------
# Hourly TOWT


def _effective_tow(df: pd.DataFrame) -> np.ndarray:
    """Time-of-week index 0..191 (Monday 00h = 0) with Chinese calendar day types mapped.

    Public holidays get their own 24-hour profile (indices 168..191: factories stop for Spring
    Festival and National Day far more than on a weekend) and make-up working days take
    Wednesday's profile (a plain working day), so a holiday Monday is not fitted as a working Monday.
    """
    dow = df.index.day_of_week.to_numpy().copy()
    dt_ = df["day_type"].to_numpy()
    dow[dt_ == "holiday"] = 7
    dow[dt_ == "makeup_workday"] = 2
    return dow * 24 + df.index.hour.to_numpy()


def _segments(t: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """LBNL piecewise-linear temperature components [3] (n x len(knots)+1) [degC]."""
    edges = np.concatenate([[-np.inf], knots, [np.inf]])
    lo, hi = edges[:-1], edges[1:]
    first = np.minimum(t, knots[0])[:, None]
    mid = np.clip(t[:, None] - lo[None, 1:], 0.0, (hi - lo)[None, 1:])
    return np.concatenate([first, mid], axis=1)


@dataclass
class HourlyTOWTModel:
    """Time-of-week-and-temperature model for hourly data (LBNL TOWT, Mathieu et al. 2011 [3]).

    ``E_h = a_tow(h) + sum_j b_j^occ T_j(h)  (occupied)`` or ``... + sum_j b_j^unocc T_j(h)`` with 168
    time-of-week intercepts plus 24 for public holidays (make-up working days take Wednesday's),
    piecewise-linear temperature components ``T_j`` at the knots ``lbnl_towt_knot_1..5`` [degC]
    and separate temperature slopes for occupied and unoccupied times of week. A time of week is
    occupied when more than ``lbnl_towt_occupancy_share`` of the residuals of a temperature-only
    linear fit are positive [3]. One ``numpy.linalg.lstsq`` over all hours (vectorised).
    """

    form: str | None = None
    knots: list[float] = field(default_factory=list)
    occupied: list[bool] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    coefficients: list[float] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    unit: str = "kWh"

    kind = "hourly_towt"

    @property
    def fitted(self) -> bool:
        return self.form is not None

    def _design(self, df: pd.DataFrame) -> np.ndarray:
        tow = _effective_tow(df)
        t = df["temperature"].to_numpy(float)
        knots = np.asarray(self.knots)
        seg = _segments(np.nan_to_num(t, nan=0.0), knots)
        occ = np.asarray(self.occupied)[tow]
        cols = []
        for c in self.columns:
            kind, _, idx = c.partition("_")
            if kind == "tow":
                cols.append((tow == int(idx)).astype(float))
            elif kind == "occ":
                cols.append(seg[:, int(idx)] * occ)
            elif kind == "unocc":
                cols.append(seg[:, int(idx)] * ~occ)
        x = np.column_stack(cols)
        x[~np.isfinite(t)] = np.nan
        return x

    def fit(self, data: HourlyData) -> HourlyTOWTModel:
        if not isinstance(data, HourlyData):
            raise TypeError("fit expects a greenpark.core.mv.HourlyData (use HourlyData.from_series)")
        df = data.df
        self.unit = data.unit
        self.flags = check_sufficiency(data)
        ok = (df["energy"].notna() & df["temperature"].notna()).to_numpy()
        d = df[ok]
        if len(d) < 24 * 14:
            self.form = None
            self.flags.append(Flag("mv.model.not_fitted", f"only {len(d)} usable hour(s): TOWT needs weeks of data",
                                   "fatal"))
            return self
        self.knots = [criterion_value(f"lbnl_towt_knot_{i}") for i in range(1, 6)]
        y = d["energy"].to_numpy(float)
        t = d["temperature"].to_numpy(float)
        tow = _effective_tow(d)
        # occupancy detection [3]: share of positive residuals of a temperature-only fit per time of week
        a = np.column_stack([np.ones_like(t), t])
        c, *_ = np.linalg.lstsq(a, y, rcond=None)
        pos = np.bincount(tow, weights=(y - a @ c > 0).astype(float), minlength=N_TOW)
        cnt = np.bincount(tow, minlength=N_TOW)
        share = np.divide(pos, cnt, out=np.zeros(N_TOW), where=cnt > 0)
        self.occupied = [bool(v) for v in share > criterion_value("lbnl_towt_occupancy_share")]
        seg = _segments(t, np.asarray(self.knots))
        occ = np.asarray(self.occupied)[tow]
        cols = [f"tow_{i}" for i in range(N_TOW) if cnt[i] > 0]
        for prefix, m in (("occ", occ), ("unocc", ~occ)):
            for j in range(seg.shape[1]):
                col = seg[:, j] * m
                # a segment without spread in this regime is not identifiable: drop it
                if m.sum() > 0 and np.ptp(col[m]) > 1e-9:
                    cols.append(f"{prefix}_{j}")
        self.columns = cols
        self.form = "towt"
        x = self._design(d)
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        self.coefficients = [float(v) for v in coef]
        pred = x @ coef
        self.metrics = goodness_of_fit(y, pred, len(cols))
        full_resid = np.full(len(df), np.nan)
        full_resid[ok] = y - pred
        from greenpark.core.mv.stats import lag1_autocorrelation
        self.metrics["rho"] = lag1_autocorrelation(full_resid)
        return self

    def predict(self, data: HourlyData) -> pd.DataFrame:
        if not self.fitted:
            raise ModelError("the model is not fitted (see its flags for why); call fit() on baseline data first")
        df = data.df
        x = self._design(df)
        pred = x @ np.asarray(self.coefficients)
        tow = _effective_tow(df)
        known = {int(c.split("_")[1]) for c in self.columns if c.startswith("tow_")}
        pred[~np.isin(tow, list(known))] = np.nan
        return pd.DataFrame({"observed": df["energy"].to_numpy(float), "predicted": pred,
                             "temperature": df["temperature"].to_numpy(float),
                             "day_type": df["day_type"].to_numpy()}, index=df.index)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": 1, "unit": self.unit, "form": self.form, "knots": list(self.knots),
                "occupied": list(self.occupied), "columns": list(self.columns),
                "coefficients": list(self.coefficients), "metrics": dict(self.metrics),
                "flags": [f.to_dict() for f in self.flags]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HourlyTOWTModel:
        if d.get("kind") != cls.kind:
            raise ModelError(f"not a {cls.kind} model: kind={d.get('kind')!r}")
        return cls(form=d["form"], knots=list(d["knots"]), occupied=[bool(v) for v in d["occupied"]],
                   columns=list(d["columns"]), coefficients=[float(v) for v in d["coefficients"]],
                   metrics=dict(d["metrics"]), unit=d.get("unit", "kWh"),
                   flags=[Flag(f["code"], f["message"], f["severity"], f.get("detail", {}))
                          for f in d.get("flags", [])])


def model_from_dict(d: dict[str, Any]) -> DailyChangePointModel | HourlyTOWTModel:
    """Rebuild either model from its ``to_dict`` output, by ``kind``."""
    kinds = {DailyChangePointModel.kind: DailyChangePointModel, HourlyTOWTModel.kind: HourlyTOWTModel}
    if d.get("kind") not in kinds:
        raise ModelError(f"unknown model kind {d.get('kind')!r}; valid kinds: {', '.join(kinds)}")
    return kinds[d["kind"]].from_dict(d)
