"""Benchmark: greenpark HJ 633 AQI vs python-aqi (and aqi-hub when installed), side by side.

- daily AQI for 1,500 stations x 365 days (547,500 records), HJ 633-2012 (python-aqi's edition);
- hourly AQI for one year of a 100-station set (876,000 records);
- python-aqi (and aqi-hub) timed on a random subsample of the daily records (best of 3), and
  python-aqi once on every record of both sets (``same_records``); ratio = greenpark / peer.

Concentrations are drawn inside every library's table range (python-aqi crashes above the top
breakpoint), so the timing compares like with like.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from greenpark.core import aqi

N_STATIONS, N_DAYS = 1500, 365
N_HOURLY_STATIONS = 100
PEER_SAMPLE = 20_000


def _daily_records(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "so2": rng.integers(2, 120, n).astype(float), "no2": rng.integers(5, 150, n).astype(float),
        "pm10": rng.integers(10, 400, n).astype(float), "pm25": rng.integers(5, 300, n).astype(float),
        "co": np.round(rng.uniform(0.2, 5.0, n), 1), "o3_8h": rng.integers(10, 400, n).astype(float)})


def _hourly_records(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "so2": rng.integers(2, 700, n).astype(float), "no2": rng.integers(5, 400, n).astype(float),
        "pm10": rng.integers(10, 500, n).astype(float), "pm25": rng.integers(5, 400, n).astype(float),
        "co": np.round(rng.uniform(0.2, 12.0, n), 1), "o3": rng.integers(10, 600, n).astype(float)})


REPEAT = 5  # every timing is the best of REPEAT runs, ours and the peers' alike


def _time(fn, repeat: int = REPEAT) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run() -> dict:
    rng = np.random.default_rng(633)
    out: dict = {"notes": "records/s; ratio = greenpark / peer on the same records, same run"}

    daily = _daily_records(rng, N_STATIONS * N_DAYS)
    t_daily = _time(lambda: aqi.aqi_hj633(daily, report="daily", edition="2012"))
    out["daily"] = {"records": len(daily), "seconds": round(t_daily, 3),
                    "greenpark_records_per_s": round(len(daily) / t_daily)}

    hourly = _hourly_records(rng, N_HOURLY_STATIONS * 8760)
    t_hourly = _time(lambda: aqi.aqi_hj633(hourly, report="hourly", edition="2026"))
    out["hourly"] = {"records": len(hourly), "seconds": round(t_hourly, 3),
                     "greenpark_records_per_s": round(len(hourly) / t_hourly)}

    sample = daily.sample(PEER_SAMPLE, random_state=1).reset_index(drop=True)
    t_gp = _time(lambda: aqi.aqi_hj633(sample, report="daily", edition="2012"))
    gp_rate = len(sample) / t_gp
    out["peers"] = {"sample_records": len(sample), "greenpark_records_per_s_on_sample": round(gp_rate),
                    "greenpark_records_per_s_full": out["daily"]["greenpark_records_per_s"]}
    full_rate = out["daily"]["greenpark_records_per_s"]

    try:
        import aqi as paqi  # python-aqi
        from aqi.constants import POLLUTANT_CO_24H, POLLUTANT_NO2_24H, POLLUTANT_SO2_24H

        recs = sample.astype(str).to_numpy()

        def python_aqi():
            for so2, no2, pm10, pm25, co, o3 in recs:
                paqi.to_aqi([(POLLUTANT_SO2_24H, so2), (POLLUTANT_NO2_24H, no2), (paqi.POLLUTANT_PM10, pm10),
                             (paqi.POLLUTANT_PM25, pm25), (POLLUTANT_CO_24H, co), (paqi.POLLUTANT_O3_8H, o3)],
                            algo=paqi.ALGO_MEP)

        t = _time(python_aqi, repeat=3)
        rate = len(sample) / t
        out["peers"]["python_aqi"] = {"records_per_s": round(rate), "us_per_record": round(1e6 * t / len(sample), 1),
                                      "ratio_vs_greenpark_full": round(full_rate / rate, 1),
                                      "ratio_vs_greenpark_sample": round(gp_rate / rate, 1)}
        # and on every record of both sets (the "same records"), once each
        from aqi.constants import POLLUTANT_CO_1H, POLLUTANT_NO2_1H, POLLUTANT_O3_1H, POLLUTANT_SO2_1H

        all_daily = daily.astype(str).to_numpy()
        all_hourly = hourly.astype(str).to_numpy()

        def python_aqi_all_daily():
            for so2, no2, pm10, pm25, co, o3 in all_daily:
                paqi.to_aqi([(POLLUTANT_SO2_24H, so2), (POLLUTANT_NO2_24H, no2), (paqi.POLLUTANT_PM10, pm10),
                             (paqi.POLLUTANT_PM25, pm25), (POLLUTANT_CO_24H, co), (paqi.POLLUTANT_O3_8H, o3)],
                            algo=paqi.ALGO_MEP)

        def python_aqi_all_hourly():
            for so2, no2, pm10, pm25, co, o3 in all_hourly:
                paqi.to_aqi([(POLLUTANT_SO2_1H, so2), (POLLUTANT_NO2_1H, no2), (paqi.POLLUTANT_PM10, pm10),
                             (paqi.POLLUTANT_PM25, pm25), (POLLUTANT_CO_1H, co), (POLLUTANT_O3_1H, o3)],
                            algo=paqi.ALGO_MEP)

        same = {}
        for name, fn, n_rec, ours in (("daily", python_aqi_all_daily, len(daily), out["daily"]),
                                      ("hourly", python_aqi_all_hourly, len(hourly), out["hourly"])):
            t = _time(fn, repeat=1)
            same[name] = {"records": n_rec, "python_aqi_seconds": round(t, 2),
                          "python_aqi_records_per_s": round(n_rec / t), "greenpark_seconds": ours["seconds"],
                          "ratio": round((n_rec / ours["seconds"]) / (n_rec / t), 1)}
        out["same_records"] = same
    except ImportError as exc:
        out["peers"]["python_aqi"] = {"error": f"not installed: {exc}"}

    try:
        from aqi_hub.aqi_cn import cal_aqi_cn

        recs = sample.to_numpy()

        def aqi_hub():
            for so2, no2, pm10, pm25, co, o3 in recs:
                cal_aqi_cn(pm25, pm10, so2, no2, co, o3, data_type="daily")

        t = _time(aqi_hub, repeat=3)
        rate = len(sample) / t
        out["peers"]["aqi_hub"] = {"records_per_s": round(rate), "us_per_record": round(1e6 * t / len(sample), 1),
                                   "ratio_vs_greenpark_full": round(full_rate / rate, 1),
                                   "note": "aqi-hub implements HJ 633-2026 only; timing comparison only"}
    except ImportError as exc:
        out["peers"]["aqi_hub"] = {"error": f"not installed: {exc}"}
    return out
