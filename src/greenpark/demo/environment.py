"""Deterministic demo environment data for a Yangtze-delta park: hourly air and monthly water samples.

Synthetic, seeded (numpy ``default_rng``): the same arguments always give the same tables.

``air_hourly(year=2025, stations=("AQ01", "AQ02", "AQ03"), seed=20250101) -> DataFrame``
    Long rows ``station_id, timestamp, pollutant, value``: hour-ending timestamps (tz-aware,
    Asia/Shanghai), pollutants ``so2, no2, pm10, pm25, co, o3`` [ug/m3], CO [mg/m3]. Shapes:
    winter PM2.5 with multi-day episodes, summer afternoon ozone peaks, rush-hour NO2; about
    2 % of hours missing at random plus one multi-day outage per station.
``water_samples(year=2025, seed=20250101) -> (samples, sections)``
    Monthly samples for five sections (three rivers, two lakes/reservoirs): long rows
    ``section_id, date, parameter, value`` [mg/L] (pH [1]); ``sections`` has ``section_id,
    water_body, name_en``. TN is sampled on the lakes only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TZ = "Asia/Shanghai"
AIR_STATIONS = ("AQ01", "AQ02", "AQ03")
SECTIONS = pd.DataFrame({
    "section_id": ["W01", "W02", "W03", "W04", "W05"],
    "water_body": ["river", "river", "river", "lake", "lake"],
    "name_en": ["Canal upstream", "Canal downstream", "Outfall creek", "Park lake", "Reservoir"],
})


def air_hourly(year: int = 2025, stations=AIR_STATIONS, seed: int = 20250101) -> pd.DataFrame:
    """A year of synthetic hourly air concentrations for ``stations`` (see module docstring)."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(f"{year}-01-01 01:00", f"{year + 1}-01-01 00:00", freq="h", tz=TZ)
    n, k = len(ts), len(stations)
    start = ts - pd.Timedelta(hours=1)
    doy = start.day_of_year.to_numpy()
    hour = start.hour.to_numpy()
    winter = 0.5 * (1 + np.cos(2 * np.pi * (doy - 15) / 365.25))  # 1 mid-January, 0 mid-July
    summer = 1 - winter

    def ar1(scale_h: float, sd: float) -> np.ndarray:
        """Log-space AR(1) noise with e-folding time ``scale_h`` hours, per station."""
        phi = np.exp(-1 / scale_h)
        e = rng.normal(0, sd * np.sqrt(1 - phi**2), (k, n))
        x = np.empty_like(e)
        x[:, 0] = rng.normal(0, sd, k)
        # the AR(1) recursion as a convolution with its kernel phi**j (no loop over hours)
        w = phi ** np.arange(n)
        for s in range(k):  # k stations (3), not records
            x[s] = np.convolve(e[s], w)[:n] + x[s, 0] * w
        return x

    site = rng.normal(1.0, 0.08, (k, 1))
    # PM2.5: seasonal base, synoptic noise, winter episodes of 3-6 days
    pm_base = 12 + 28 * winter
    episodes = np.zeros(n)
    for _ in range(5):
        centre = rng.choice(np.flatnonzero(winter > 0.7))
        width = rng.integers(72, 144)
        episodes += rng.uniform(0.8, 1.8) * np.exp(-0.5 * ((np.arange(n) - centre) / (width / 2)) ** 2)
    pm25 = pm_base * (1 + episodes) * np.exp(ar1(36, 0.35)) * site
    pm10 = pm25 * rng.uniform(1.4, 1.6, (k, 1)) * np.exp(ar1(12, 0.15))
    rush = np.exp(-0.5 * ((hour - 8) / 1.5) ** 2) + np.exp(-0.5 * ((hour - 19) / 2.0) ** 2)
    no2 = (22 + 18 * winter + 15 * rush) * np.exp(ar1(18, 0.3)) * site
    so2 = (6 + 5 * winter) * np.exp(ar1(24, 0.35))
    co = (0.55 + 0.45 * winter + 0.15 * rush) * np.exp(ar1(24, 0.25))
    diurnal = np.clip(np.sin(np.pi * (hour - 7) / 12), 0, None)  # daytime photochemistry 07-19 h
    o3 = (25 + (55 + 100 * summer) * diurnal) * np.exp(ar1(30, 0.25)) * (1.05 - 0.25 * winter)
    values = {"so2": so2, "no2": no2, "pm10": pm10, "pm25": pm25, "co": co, "o3": o3}

    missing = rng.random((k, n)) < 0.02
    for s in range(k):  # one outage per station
        a = rng.integers(0, n - 96)
        missing[s, a:a + rng.integers(30, 96)] = True
    frames = []
    for p, v in values.items():
        dec = 1 if p == "co" else 0
        vv = np.round(np.where(missing, np.nan, v), dec + 1)
        frames.append(pd.DataFrame({
            "station_id": np.repeat(np.asarray(stations), n),
            "timestamp": ts[np.tile(np.arange(n), k)],
            "pollutant": p,
            "value": vv.ravel(),
        }))
    return pd.concat(frames, ignore_index=True).dropna(subset=["value"]).reset_index(drop=True)


def water_samples(year: int = 2025, seed: int = 20250101) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly samples for the five demo sections (see module docstring)."""
    rng = np.random.default_rng(seed + 1)
    dates = pd.date_range(f"{year}-01-10", periods=12, freq="MS") + pd.Timedelta(days=9)
    month = dates.month.to_numpy()
    warm = 0.5 * (1 - np.cos(2 * np.pi * (month - 1) / 12))  # 0 January, 1 July
    # per-section level: the outfall creek is the worst, the reservoir the best
    level = {"W01": 0.9, "W02": 1.1, "W03": 1.6, "W04": 1.0, "W05": 0.6}
    params = {  # (base, seasonal change in warm months, lognormal sd) [mg/L]
        "do": (8.5, -2.8, 0.08), "codmn": (4.0, 1.0, 0.15), "cod": (15.0, 4.0, 0.15),
        "bod5": (3.0, 0.8, 0.2), "nh3n": (0.55, -0.15, 0.35), "tp": (0.12, 0.05, 0.3),
        "tn": (1.2, 0.2, 0.2),
    }
    rows = []
    for _, sec in SECTIONS.iterrows():  # 5 sections
        f = level[sec["section_id"]]
        lake = sec["water_body"] == "lake"
        ph = np.round(7.4 + 0.4 * warm + rng.normal(0, 0.25, 12), 2)
        rows.append(pd.DataFrame({"section_id": sec["section_id"], "date": dates.date, "parameter": "ph", "value": ph}))
        for p, (base, season, sd) in params.items():
            if p == "tn" and not lake:
                continue
            mult = 1.0 if p == "do" else f * (0.45 if (p == "tp" and lake) else 1.0)
            v = (base + season * warm) * mult * np.exp(rng.normal(0, sd, 12))
            if p == "do":
                v = v / np.sqrt(f)
            rows.append(pd.DataFrame({"section_id": sec["section_id"], "date": dates.date, "parameter": p,
                                      "value": np.round(v, 3)}))
    return pd.concat(rows, ignore_index=True), SECTIONS.copy()


def demo_files(data_dir, year: int = 2025) -> tuple[str, list]:
    """park.toml text for the demo's stations and their data files (hourly air CSV, water samples CSV).

    Files use greenpark's station layout (``station_id, timestamp, parameter, value``), so they go
    through ``greenpark ingest`` like meter data.
    """
    from pathlib import Path

    data_dir = Path(data_dir)
    air = air_hourly(year)
    air_csv = data_dir / f"air_hourly_{year}.csv"
    out = pd.DataFrame({"station_id": air["station_id"],
                        "timestamp": air["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(
                            r"(\d\d)(\d\d)$", r"\1:\2", regex=True),
                        "parameter": air["pollutant"], "value": air["value"]})
    out.to_csv(air_csv, index=False)
    samples, sections = water_samples(year)
    water_csv = data_dir / f"water_samples_{year}.csv"
    samples.rename(columns={"section_id": "station_id"}).to_csv(water_csv, index=False)
    names_zh = {"AQ01": "管委会空气站", "AQ02": "东区空气站", "AQ03": "西区空气站"}
    water_zh = {"W01": "运河上游断面", "W02": "运河下游断面", "W03": "排口小河断面", "W04": "园区湖心", "W05": "水库取水口"}
    toml = []
    for sid in AIR_STATIONS:
        toml.append(f'[[stations]]\nid = "{sid}"\nname_zh = "{names_zh.get(sid, sid)}"\n'
                    f'name_en = "Air station {sid}"\nkind = "air"\n')
    for r in sections.itertuples():
        toml.append(f'[[stations]]\nid = "{r.section_id}"\nname_zh = "{water_zh.get(r.section_id, r.section_id)}"\n'
                    f'name_en = "{r.name_en}"\nkind = "water"\nwater_body = "{r.water_body}"\n')
    return "\n".join(toml), [air_csv, water_csv]
