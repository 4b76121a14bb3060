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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as _t_dist

from .data import DailyData, Flag, HourlyData, ModelError
from .stats import check_sufficiency, criterion_value, goodness_of_fit

FORMS = ("intercept_only", "heating", "cooling", "heating_cooling")
DAY_EFFECTS = ("holiday", "weekend", "makeup_workday")
N_TOW = 8 * 24  # 7 weekdays + a public-holiday profile


# --------------------------------------------------------------------------------------------
# batched least squares over candidate designs


def _batch_fit(gram: np.ndarray, rhs: np.ndarray, yy: float, sst: float, n: int,
               slopes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares for every candidate design k from its normal equations, batched.

    ``gram[k] = X_k'X_k``, ``rhs[k] = X_k'y``. Returns the coefficients (K x p), the adjusted R2
    of each candidate (SSE = y'y - beta'X'y) and the two-sided p-values of the last ``slopes``
    coefficients (t = beta / se, se = sqrt(sigma2 * diag((X'X)^-1)), n - p degrees of freedom).
    """
    p = gram.shape[-1]
    try:
        inv = np.linalg.inv(gram)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(gram)
    beta = np.einsum("kij,kj->ki", inv, rhs)
    sse = np.maximum(yy - np.einsum("kp,kp->k", beta, rhs), 0.0)
    adj = 1.0 - (sse / (n - p)) / (sst / (n - 1))
    sigma2 = sse / (n - p)
    diag = np.diagonal(inv, axis1=1, axis2=2)[:, p - slopes:]
    se = np.sqrt(np.maximum(sigma2[:, None] * diag, 1e-300))
    pval = 2.0 * _t_dist.sf(np.abs(beta[:, p - slopes:] / se), n - p)
    return beta, adj, pval


@dataclass
class DailyChangePointModel:
    """Daily change-point baseline with production and day-type effects.

    ``E_d = b0 + sum_t b_t [day_type_d = t] + b_p P_d + b_h HDD(T_d, T_h) + b_c CDD(T_d, T_c)``

    E_d daily energy [meter unit/d], T_d daily mean temperature [degC], P_d production
    [product unit/d], HDD/CDD degree days [degC d] at balance points T_h <= T_c [degC].
    The four candidate forms of CalTRACK 2.0 [1] section 3 (intercept-only, heating, cooling,
    heating+cooling) are fitted for every balance point on the grid at once (batched normal
    equations), candidates with a non-positive degree-day slope, a slope p-value above
    ``caltrack_max_slope_p_value`` or fewer than ``caltrack_min_nonzero_dd_days`` days with
    non-zero degree days are discarded [1], and the
    candidate with the highest adjusted R2 is kept [1] 3.4. The winner is refitted with
    ``numpy.linalg.lstsq`` for exact coefficients.

    Parameters
    ----------
    day_effects : day types that get their own intercept shift (dummy) relative to working
        weekdays; default non-working days: ``("holiday", "weekend")``. Make-up working days
        count as weekdays unless listed.
    production : ``"auto"`` (use production when the data have it), ``True`` (require it) or ``False``
    bp_step : balance-point grid step [degC]
    bp_min, bp_max : search range [degC]; default ``caltrack_bp_min`` / ``caltrack_bp_max``
    forms : candidate forms to consider
    """

    day_effects: tuple[str, ...] = ("holiday", "weekend")
    production: bool | str = "auto"
    bp_step: float = 0.5
    bp_min: float | None = None
    bp_max: float | None = None
    forms: tuple[str, ...] = FORMS
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

    kind = "daily_change_point"

    def __post_init__(self):
        bad = [f for f in self.forms if f not in FORMS]
        if bad:
            raise ValueError(f"unknown form(s) {bad}; valid forms: {', '.join(FORMS)}")
        bad = [d for d in self.day_effects if d not in DAY_EFFECTS]
        if bad:
            raise ValueError(f"unknown day effect(s) {bad}; valid: {', '.join(DAY_EFFECTS)}")
        self.day_effects = tuple(self.day_effects)
        self.forms = tuple(self.forms)

    # ---------------------------------------------------------------- design
    def _base_design(self, df: pd.DataFrame, columns: list[str]) -> np.ndarray:
        cols = []
        for c in columns:
            if c == "intercept":
                cols.append(np.ones(len(df)))
            elif c in DAY_EFFECTS:
                cols.append((df["day_type"].to_numpy() == c).astype(float))
            elif c == "production":
                cols.append(df["production"].to_numpy(float))
            elif c == "heating":
                cols.append(np.maximum(self.balance_points["heating"] - df["temperature"].to_numpy(float), 0.0))
            elif c == "cooling":
                cols.append(np.maximum(df["temperature"].to_numpy(float) - self.balance_points["cooling"], 0.0))
        return np.column_stack(cols) if cols else np.empty((len(df), 0))

    @property
    def fitted(self) -> bool:
        return self.form is not None

    @property
    def n_params(self) -> int:
        return len(self.columns)

    # ---------------------------------------------------------------- fit
    def fit(self, data: DailyData) -> DailyChangePointModel:
        """Fit to a baseline :class:`DailyData`; never raises for poor data (see ``flags``)."""
        if not isinstance(data, DailyData):
            raise TypeError("fit expects a greenpark.mv.DailyData (use DailyData.from_series)")
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
        columns = ["intercept"]
        for t in self.day_effects:
            cnt = int((d["day_type"] == t).sum())
            if 0 < cnt < len(d):
                columns.append(t)
        if use_prod and d["production"].nunique() > 1:
            columns.append("production")
        elif use_prod:
            self.flags.append(Flag("mv.model.production_constant",
                                   "production is constant over the baseline; it is not used as a regressor",
                                   "warning"))
        n = len(d)
        q = len(columns)
        if n <= q + 2:
            self.form = None
            self.flags.append(Flag("mv.model.not_fitted", f"only {n} usable day(s): no model can be fitted", "fatal"))
            return self
        y = d["energy"].to_numpy(float)
        t = d["temperature"].to_numpy(float)
        self.balance_points = {"heating": None, "cooling": None}
        z = self._base_design(d, columns)

        # scale columns for conditioning; positive scales keep coefficient signs
        ys = np.sqrt(np.mean(y**2)) or 1.0
        ysc = y / ys
        zs = np.sqrt(np.mean(z**2, axis=0))
        zs[zs == 0] = 1.0
        zsc = z / zs
        yy = float(ysc @ ysc)
        sst = float(np.sum((ysc - ysc.mean()) ** 2))
        if sst <= 0:
            sst = np.finfo(float).tiny
        zz = zsc.T @ zsc
        zy = zsc.T @ ysc

        lo = criterion_value("caltrack_bp_min") if self.bp_min is None else self.bp_min
        hi = criterion_value("caltrack_bp_max") if self.bp_max is None else self.bp_max
        grid = np.round(np.arange(np.ceil(lo / self.bp_step) * self.bp_step, hi + 1e-9, self.bp_step), 6)
        min_dd = criterion_value("caltrack_min_nonzero_dd_days")
        max_p = criterion_value("caltrack_max_slope_p_value")
        hdd = np.maximum(grid[None, :] - t[:, None], 0.0)   # n x K
        cdd = np.maximum(t[:, None] - grid[None, :], 0.0)
        h_ok = (hdd > 0).sum(axis=0) >= min_dd
        c_ok = (cdd > 0).sum(axis=0) >= min_dd
        bh, bc = grid[h_ok], grid[c_ok]
        hdd, cdd = hdd[:, h_ok], cdd[:, c_ok]
        hs = np.sqrt(np.mean(hdd**2, axis=0)) if hdd.size else np.ones(0)
        cs = np.sqrt(np.mean(cdd**2, axis=0)) if cdd.size else np.ones(0)
        hsc, csc = hdd / np.where(hs > 0, hs, 1.0), cdd / np.where(cs > 0, cs, 1.0)

        best: dict[str, tuple[float, float | None, float | None]] = {}
        if "intercept_only" in self.forms:
            _, adj, _ = _batch_fit(zz[None], zy[None], yy, sst, n, 0)
            best["intercept_only"] = (float(adj[0]), None, None)
        zh, zc = zsc.T @ hsc, zsc.T @ csc                    # q x Kh, q x Kc
        hy, cy = hsc.T @ ysc, csc.T @ ysc
        for form, blk, bps, yblk, zblk in (("heating", hsc, bh, hy, zh), ("cooling", csc, bc, cy, zc)):
            k = blk.shape[1]
            if form not in self.forms or k == 0:
                continue
            g = np.empty((k, q + 1, q + 1))
            g[:, :q, :q] = zz
            g[:, :q, q] = zblk.T
            g[:, q, :q] = zblk.T
            g[:, q, q] = np.sum(blk**2, axis=0)
            rhs = np.column_stack([np.broadcast_to(zy, (k, q)), yblk])
            beta, adj, pval = _batch_fit(g, rhs, yy, sst, n, 1)
            # CalTRACK 2.0 section 3: degree-day slopes must be positive and significant
            adj[(beta[:, q] <= 0) | (pval[:, 0] > max_p)] = -np.inf
            i = int(np.argmax(adj))
            if np.isfinite(adj[i]):
                best[form] = (float(adj[i]), bps[i] if form == "heating" else None,
                              bps[i] if form == "cooling" else None)
        if "heating_cooling" in self.forms and hsc.shape[1] and csc.shape[1]:
            ih, ic = np.nonzero(bh[:, None] <= bc[None, :])
            k = len(ih)
            if k:
                g = np.empty((k, q + 2, q + 2))
                g[:, :q, :q] = zz
                g[:, :q, q] = zh.T[ih]
                g[:, q, :q] = zh.T[ih]
                g[:, :q, q + 1] = zc.T[ic]
                g[:, q + 1, :q] = zc.T[ic]
                g[:, q, q] = np.sum(hsc**2, axis=0)[ih]
                g[:, q + 1, q + 1] = np.sum(csc**2, axis=0)[ic]
                hc = (hsc.T @ csc)[ih, ic]
                g[:, q, q + 1] = hc
                g[:, q + 1, q] = hc
                rhs = np.column_stack([np.broadcast_to(zy, (k, q)), hy[ih], cy[ic]])
                beta, adj, pval = _batch_fit(g, rhs, yy, sst, n, 2)
                adj[(beta[:, q] <= 0) | (beta[:, q + 1] <= 0) | (pval > max_p).any(axis=1)] = -np.inf
                i = int(np.argmax(adj))
                if np.isfinite(adj[i]):
                    best["heating_cooling"] = (float(adj[i]), float(bh[ih[i]]), float(bc[ic[i]]))
        if not best:
            self.form = None
            self.flags.append(Flag("mv.model.not_fitted", "no candidate model could be fitted", "fatal"))
            return self
        self.candidates = {f: v[0] for f, v in best.items()}
        form = max(best, key=lambda f: best[f][0])
        _, th, tc = best[form]
        self.form = form
        self.balance_points = {"heating": None if th is None else float(th),
                               "cooling": None if tc is None else float(tc)}
        self.columns = columns + [c for c, b in (("heating", th), ("cooling", tc)) if b is not None]
        x = self._base_design(d, self.columns)
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        self.coefficients = dict(zip(self.columns, (float(c) for c in coef), strict=True))
        pred_full = self._predict_array(df)
        resid_obs = df["energy"].to_numpy(float)
        mask = ok.to_numpy()
        self.metrics = goodness_of_fit(resid_obs[mask], pred_full[mask], self.n_params)
        # autocorrelation over the calendar sequence (missing days break pairs)
        from .stats import lag1_autocorrelation
        self.metrics["rho"] = lag1_autocorrelation(np.where(mask, resid_obs - pred_full, np.nan))
        if form == "intercept_only":
            self.flags.append(Flag("mv.model.intercept_only",
                                   "no heating or cooling term qualified: the baseline is a constant per day "
                                   "type (plus production); temperature does not explain energy use in this "
                                   "baseline", "warning", {"candidates_adj_r2": self.candidates}))
        for name, b in self.balance_points.items():
            if b is not None and (b <= grid[0] + 1e-9 or b >= grid[-1] - 1e-9):
                self.flags.append(Flag("mv.model.balance_point_at_search_limit",
                                       f"the {name} balance point {b:g} degC is at the edge of the search range",
                                       "warning", {"balance_point": b, "range": [float(grid[0]), float(grid[-1])]}))
        return self

    # ---------------------------------------------------------------- predict
    def _predict_array(self, df: pd.DataFrame) -> np.ndarray:
        if "production" in self.columns and "production" not in df.columns:
            raise ModelError("the model uses production as a regressor; the data have no production column")
        x = self._base_design(df, self.columns)
        beta = np.array([self.coefficients[c] for c in self.columns])
        return x @ beta

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
            "kind": self.kind, "version": 1, "unit": self.unit,
            "settings": {"day_effects": list(self.day_effects), "production": self.production,
                         "bp_step": self.bp_step, "bp_min": self.bp_min, "bp_max": self.bp_max,
                         "forms": list(self.forms)},
            "form": self.form, "balance_points": dict(self.balance_points), "columns": list(self.columns),
            "coefficients": dict(self.coefficients), "metrics": dict(self.metrics),
            "candidates_adj_r2": dict(self.candidates),
            "baseline_period": list(self.baseline_period) if self.baseline_period else None,
            "flags": [f.to_dict() for f in self.flags],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DailyChangePointModel:
        if d.get("kind") != cls.kind:
            raise ModelError(f"not a {cls.kind} model: kind={d.get('kind')!r}")
        s = d["settings"]
        m = cls(day_effects=tuple(s["day_effects"]), production=s["production"], bp_step=s["bp_step"],
                bp_min=s["bp_min"], bp_max=s["bp_max"], forms=tuple(s["forms"]))
        m.form = d["form"]
        m.unit = d.get("unit", "kWh")
        m.balance_points = dict(d["balance_points"])
        m.columns = list(d["columns"])
        m.coefficients = {k: float(v) for k, v in d["coefficients"].items()}
        m.metrics = dict(d["metrics"])
        m.candidates = dict(d.get("candidates_adj_r2", {}))
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
            raise TypeError("fit expects a greenpark.mv.HourlyData (use HourlyData.from_series)")
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
        from .stats import lag1_autocorrelation
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
