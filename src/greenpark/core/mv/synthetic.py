"""Deterministic synthetic M&V series with known truth (tests, benchmark, demo).

The reference case is a die-casting plant near Kunshan (Jiangsu) that retrofits its compressed-air
system and melting furnaces on 2025-01-01 with a designed saving of 12 % of the energy it would
otherwise have used. Every series is a pure function of its arguments and ``seed``.

Energy model of the plant (kWh per day, before the retrofit)::

    E = base + k_p P + b_h HDD(T, bp_h) + b_c CDD(T, bp_c) + d_weekend + d_holiday + noise

with production P [t/d] of aluminium castings set by the Chinese working calendar (make-up
working days run full shifts, public holidays almost stop), outdoor temperature T [degC] an
annual cycle with AR(1) weather noise, and multiplicative noise of ``noise`` (fraction).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from greenpark.core.mv.data import day_types

DIE_CASTING = {
    "base": 6000.0,          # [kWh/d] furnace holding, lighting, offices
    "k_production": 9.0,     # [kWh/t]
    "heating_bp": 10.0,      # [degC]
    "heating_slope": 350.0,  # [kWh/(degC d)]
    "cooling_bp": 22.0,      # [degC]
    "cooling_slope": 600.0,  # [kWh/(degC d)]
    "weekend": -800.0,       # [kWh/d]
    "holiday": -2000.0,      # [kWh/d]
}


def temperature_daily(dates: pd.DatetimeIndex, seed: int = 0, mean: float = 16.5, amplitude: float = 12.0,
                      sigma: float = 2.5, phi: float = 0.7) -> np.ndarray:
    """Daily mean temperature [degC]: annual cosine (coldest mid-January) plus AR(1) noise."""
    from scipy.signal import lfilter  # imported here: scipy.signal costs ~0.8 s at CLI start-up

    rng = np.random.default_rng(seed)
    doy = dates.day_of_year.to_numpy()
    shocks = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), len(dates))
    return mean - amplitude * np.cos(2 * np.pi * (doy - 15) / 365.25) + lfilter([1.0], [1.0, -phi], shocks)


def die_casting_daily(start: str = "2024-01-01", end: str = "2025-12-31", retrofit: str = "2025-01-01",
                      saving: float = 0.12, seed: int = 42, noise: float = 0.025,
                      params: dict[str, float] | None = None) -> dict[str, Any]:
    """Daily energy, temperature and production of the die-casting plant, with the known truth.

    Returns
    -------
    dict: ``energy`` [kWh/d], ``temperature`` [degC], ``production`` [t/d] (Series indexed by
    naive local dates), ``counterfactual`` [kWh/d] (energy without the retrofit, noise included),
    ``truth`` {parameters, ``saving_fraction``, ``avoided_energy`` [kWh] over the reporting period,
    ``retrofit``}.
    """
    p = {**DIE_CASTING, **(params or {})}
    rng = np.random.default_rng(seed + 1)
    dates = pd.date_range(start, end, freq="D", name="date")
    temp = temperature_daily(dates, seed)
    dtypes, _ = day_types(dates)
    kind = dtypes.to_numpy()
    prod = np.select([kind == "holiday", kind == "weekend"], [50.0, 500.0], 900.0)
    prod = prod * (1 + rng.normal(0.0, 0.05, len(dates)))
    e = (p["base"] + p["k_production"] * prod
         + p["heating_slope"] * np.maximum(p["heating_bp"] - temp, 0.0)
         + p["cooling_slope"] * np.maximum(temp - p["cooling_bp"], 0.0)
         + np.where(kind == "weekend", p["weekend"], 0.0) + np.where(kind == "holiday", p["holiday"], 0.0))
    cf = e * (1 + rng.normal(0.0, noise, len(dates)))
    after = dates >= pd.Timestamp(retrofit)
    actual = np.where(after, cf * (1 - saving), cf)
    return {
        "energy": pd.Series(actual, dates, name="energy"),
        "temperature": pd.Series(temp, dates, name="temperature"),
        "production": pd.Series(prod, dates, name="production"),
        "counterfactual": pd.Series(cf, dates, name="counterfactual"),
        "truth": {**p, "saving_fraction": saving, "retrofit": retrofit,
                  "avoided_energy": float((cf - actual)[after].sum()),
                  "reporting_counterfactual": float(cf[after].sum())},
    }


def die_casting_hourly(start: str = "2024-01-01", end: str = "2025-12-31", retrofit: str = "2025-01-01",
                       saving: float = 0.12, seed: int = 7, noise: float = 0.03,
                       tz: str = "Asia/Shanghai") -> dict[str, Any]:
    """Hourly energy [kWh/h] and temperature [degC] of the same plant, timezone-aware in ``tz``.

    Working days run three shifts (700 kW with dips at shift changes 08, 16, 24 h), weekends one
    day shift (600 kW 08-16 h, 200 kW otherwise), holidays 150 kW; cooling adds 25 kW/degC above
    22 degC and heating 15 kW/degC below 10 degC while the plant works.
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    tday = temperature_daily(days, seed)
    idx = pd.date_range(start, pd.Timestamp(end) + pd.Timedelta(hours=23), freq="h")
    hour = idx.hour.to_numpy()
    tmp = np.repeat(tday, 24) + 4.0 * np.sin(2 * np.pi * (hour - 8) / 24)
    dtypes, _ = day_types(idx)
    kind = dtypes.to_numpy()
    working = (kind == "weekday") | (kind == "makeup_workday")
    dip = np.isin(hour, [0, 8, 16])
    load = np.where(working, np.where(dip, 550.0, 700.0),
                    np.where(kind == "weekend", np.where((hour >= 8) & (hour < 16), 600.0, 200.0), 150.0))
    active = load > 300
    load = load + active * (25.0 * np.maximum(tmp - 22.0, 0) + 15.0 * np.maximum(10.0 - tmp, 0))
    cf = load * (1 + rng.normal(0.0, noise, len(idx)))
    after = idx >= pd.Timestamp(retrofit)
    actual = np.where(after, cf * (1 - saving), cf)
    aware = idx.tz_localize(tz)
    return {
        "energy": pd.Series(actual, aware, name="energy"),
        "temperature": pd.Series(tmp, aware, name="temperature"),
        "counterfactual": pd.Series(cf, aware, name="counterfactual"),
        "truth": {"saving_fraction": saving, "retrofit": retrofit,
                  "avoided_energy": float((cf - actual)[after].sum())},
    }


def many_meters(n: int, start: str = "2024-01-01", days: int = 366, seed: int = 0) -> list[pd.DataFrame]:
    """``n`` daily baseline frames (energy [kWh/d], temperature [degC], production [t/d]) with
    random but plausible parameters — generated as one n x days array (for the benchmark)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D", name="date")
    temp = temperature_daily(dates, seed)[None, :] + rng.normal(0, 1.0, (n, 1))
    dtypes, _ = day_types(dates)
    kind = dtypes.to_numpy()
    base_prod = np.select([kind == "holiday", kind == "weekend"], [0.05, 0.55], 1.0)
    prod = rng.uniform(100, 2000, (n, 1)) * base_prod[None, :] * (1 + rng.normal(0, 0.05, (n, days)))
    bh = rng.uniform(6, 14, (n, 1))
    bc = rng.uniform(18, 26, (n, 1))
    e = (rng.uniform(1000, 20000, (n, 1)) + rng.uniform(2, 15, (n, 1)) * prod
         + rng.uniform(0, 500, (n, 1)) * np.maximum(bh - temp, 0)
         + rng.uniform(0, 800, (n, 1)) * np.maximum(temp - bc, 0))
    e *= 1 + rng.normal(0, 0.03, (n, days))
    return [pd.DataFrame({"energy": e[i], "temperature": temp[i], "production": prod[i]}, index=dates)
            for i in range(n)]


# --------------------------------------------------------------------------- meters with known truth
#: annual mean and amplitude of the daily mean temperature [degC] (rounded climate normals)
CITY_CLIMATE = {
    "harbin": (4.5, 22.0), "shenyang": (8.0, 19.0), "beijing": (12.5, 15.5), "tianjin": (13.0, 15.0),
    "qingdao": (13.0, 12.0), "nanjing": (16.0, 12.5), "suzhou": (16.5, 12.0), "shanghai": (17.0, 11.5),
    "wuhan": (17.0, 13.0), "chengdu": (16.5, 9.5), "guangzhou": (22.5, 7.5), "shenzhen": (23.0, 6.5),
}

#: Twelve daily meters of Chinese plants and buildings. Energy per day [kWh/d] before the retrofit::
#:
#:     E = base + k_p P + heat_slope HDD(T, heat_bp) + cool_slope CDD(T, cool_bp) + weekend + holiday
#:
#: production P per day type [product unit/d] (``prod``: weekday, weekend, holiday; make-up working
#: days produce as weekdays; ``prod_season``: summer swing), ``noise`` the multiplicative daily noise.
#: ``saving``: fractions of the components the retrofit removes (``total``, ``base``, ``production``,
#: ``heating``, ``cooling``).
TRUTH_METERS: tuple[dict[str, Any], ...] = (
    {"id": "harbin-office", "kind": "office building, heating-dominated", "city": "harbin", "base": 8000.0,
     "weekend": -3500.0, "holiday": -4000.0, "heat_bp": 14.0, "heat_slope": 900.0, "cool_bp": 24.0,
     "cool_slope": 300.0, "noise": 0.04, "saving": {"total": 0.12}},
    {"id": "beijing-office", "kind": "office building, heating and cooling", "city": "beijing", "base": 10000.0,
     "weekend": -4000.0, "holiday": -5000.0, "heat_bp": 12.0, "heat_slope": 600.0, "cool_bp": 22.0,
     "cool_slope": 900.0, "noise": 0.04, "saving": {"heating": 0.2, "cooling": 0.2, "base": 0.05}},
    {"id": "shanghai-mall", "kind": "shopping mall open every day, cooling-dominated", "city": "shanghai",
     "base": 25000.0, "weekend": 2000.0, "holiday": 3000.0, "heat_bp": 10.0, "heat_slope": 500.0, "cool_bp": 20.0,
     "cool_slope": 1500.0, "noise": 0.035, "saving": {"cooling": 0.3, "base": 0.05}},
    {"id": "guangzhou-datacentre", "kind": "data centre, cooling only", "city": "guangzhou", "base": 40000.0,
     "cool_bp": 16.0, "cool_slope": 800.0, "noise": 0.015, "saving": {"cooling": 0.3, "base": 0.03}},
    {"id": "shenzhen-electronics", "kind": "electronics plant, production-driven, stops on holidays",
     "city": "shenzhen", "base": 3000.0, "prod": (120.0, 60.0, 0.0), "unit": "1000 pcs", "k_p": 80.0,
     "cool_bp": 22.0, "cool_slope": 400.0, "noise": 0.03, "saving": {"production": 0.1}},
    {"id": "suzhou-diecasting", "kind": "die-casting plant, production, heating and cooling", "city": "suzhou",
     "base": 6000.0, "prod": (900.0, 500.0, 50.0), "unit": "t", "k_p": 9.0, "heat_bp": 10.0, "heat_slope": 350.0,
     "cool_bp": 22.0, "cool_slope": 600.0, "weekend": -800.0, "holiday": -2000.0, "noise": 0.025,
     "saving": {"total": 0.12}},
    {"id": "wuhan-rolling-mill", "kind": "steel rolling mill, production-driven, weak temperature dependence",
     "city": "wuhan", "base": 20000.0, "prod": (2000.0, 2000.0, 300.0), "unit": "t", "k_p": 110.0,
     "cool_bp": 26.0, "cool_slope": 150.0, "noise": 0.03, "saving": {"production": 0.08}},
    {"id": "chengdu-hospital", "kind": "hospital, heating and cooling, open every day", "city": "chengdu",
     "base": 15000.0, "weekend": -500.0, "holiday": -500.0, "heat_bp": 12.0, "heat_slope": 400.0, "cool_bp": 22.0,
     "cool_slope": 700.0, "noise": 0.03, "saving": {"total": 0.15}},
    {"id": "tianjin-chemical", "kind": "continuous chemical process, weak temperature dependence",
     "city": "tianjin", "base": 30000.0, "prod": (500.0, 500.0, 500.0), "unit": "t", "k_p": 60.0, "heat_bp": 5.0,
     "heat_slope": 200.0, "noise": 0.02, "saving": {"total": 0.06}},
    {"id": "guangzhou-cold-store", "kind": "cold store, cooling only", "city": "guangzhou", "base": 5000.0,
     "cool_bp": 10.0, "cool_slope": 400.0, "noise": 0.04, "saving": {"total": 0.15}},
    {"id": "nanjing-textile", "kind": "textile mill, stops on holidays, works make-up days", "city": "nanjing",
     "base": 4000.0, "prod": (60.0, 30.0, 0.0), "unit": "t", "k_p": 250.0, "heat_bp": 8.0, "heat_slope": 150.0,
     "cool_bp": 24.0, "cool_slope": 300.0, "noise": 0.035, "saving": {"production": 0.1, "base": 0.1}},
    {"id": "qingdao-brewery", "kind": "brewery, seasonal production and cooling", "city": "qingdao",
     "base": 6000.0, "prod": (3000.0, 2000.0, 500.0), "prod_season": 0.35, "unit": "hl", "k_p": 4.0,
     "cool_bp": 18.0, "cool_slope": 300.0, "noise": 0.04, "saving": {"total": 0.12}},
)


def truth_meter(spec: dict[str, Any], seed: int = 0, start: str = "2024-01-01", end: str = "2025-12-31",
                retrofit: str = "2025-01-01") -> dict[str, Any]:
    """One daily meter of :data:`TRUTH_METERS` with its exactly known avoided energy.

    The counterfactual (no retrofit) and the actual series share the weather, the production, the
    Chinese working calendar and the noise draw of every day: ``counterfactual = E (1 + e_d)``,
    ``actual = (E - S) (1 + e_d)`` from ``retrofit`` on, with S the components the retrofit removes.
    So the true avoided energy over the reporting period is ``sum(counterfactual - actual)``, with
    no estimation in it.

    Returns dict: ``energy`` [kWh/d], ``temperature`` [degC], ``production`` (None for meters
    without production) [unit/d], ``counterfactual`` [kWh/d] (Series on naive local dates),
    ``truth`` {``avoided_energy`` [kWh], ``reporting_counterfactual`` [kWh], ``saving_fraction``}.
    """
    p = {"base": 0.0, "weekend": 0.0, "holiday": 0.0, "heat_slope": 0.0, "heat_bp": 0.0, "cool_slope": 0.0,
         "cool_bp": 0.0, "k_p": 0.0, **spec}
    # a stable per-meter stream: the seed and the meter's position in the table
    index = next((i for i, m in enumerate(TRUTH_METERS) if m["id"] == spec["id"]), 99)
    rng = np.random.default_rng([seed, index])
    dates = pd.date_range(start, end, freq="D", name="date")
    mean, amp = CITY_CLIMATE[p["city"]]
    temp = temperature_daily(dates, seed=int(rng.integers(1 << 30)), mean=mean, amplitude=amp)
    kind = day_types(dates)[0].to_numpy()
    weekend, holiday = kind == "weekend", kind == "holiday"
    prod = None
    if "prod" in p:
        wd, we, ho = p["prod"]
        level = np.select([holiday, weekend], [ho, we], wd)
        season = 1 + p.get("prod_season", 0.0) * np.sin(2 * np.pi * (dates.day_of_year.to_numpy() - 105) / 365.25)
        prod = level * season * (1 + rng.normal(0.0, 0.05, len(dates)))
    parts = {
        "base": np.full(len(dates), p["base"]) + np.where(weekend, p["weekend"], 0.0) + np.where(holiday, p["holiday"], 0.0),
        "production": np.zeros(len(dates)) if prod is None else p["k_p"] * prod,
        "heating": p["heat_slope"] * np.maximum(p["heat_bp"] - temp, 0.0),
        "cooling": p["cool_slope"] * np.maximum(temp - p["cool_bp"], 0.0),
    }
    e = sum(parts.values())
    sav = p["saving"]
    s = sav.get("total", 0.0) * e + sum(sav.get(k, 0.0) * v for k, v in parts.items())
    factor = 1 + rng.normal(0.0, p["noise"], len(dates))
    cf = e * factor
    after = dates >= pd.Timestamp(retrofit)
    actual = np.where(after, (e - s) * factor, cf)
    return {
        "id": p["id"], "kind": p["kind"], "city": p["city"], "unit": p.get("unit"),
        "energy": pd.Series(actual, dates, name="energy"),
        "temperature": pd.Series(temp, dates, name="temperature"),
        "production": None if prod is None else pd.Series(prod, dates, name="production"),
        "counterfactual": pd.Series(cf, dates, name="counterfactual"),
        "truth": {"avoided_energy": float((cf - actual)[after].sum()),
                  "reporting_counterfactual": float(cf[after].sum()),
                  "saving_fraction": float((cf - actual)[after].sum() / cf[after].sum()), "retrofit": retrofit},
    }
