"""The demo park's M&V case: a retrofit of die-casting plant E01 with a known, planted saving.

Story: E01 (the first die-casting plant) replaced its compressed-air station (variable-speed
compressors, leak repair) and upgraded the insulation and burners of its melting furnaces over
the New Year break of the demo year. The plant's sub-meters E01-EL-1 (melting furnaces) and
E01-EL-2 (compressed air) isolate the retrofit: IPMVP Option B.

What this module adds to :func:`greenpark.demo.generate` (all deterministic, seeded):

- :func:`plant_retrofit_saving` (the hook called before the data files are written): from the
  end of the installation period on, E01-EL-1 uses ``FURNACE_CUT`` and E01-EL-2 ``AIR_CUT`` less
  energy, and the main meter E01-EL-MAIN the sum of both less, so the plant's data actually
  contain the saving. Returns a :class:`Retrofit` record (what was planted).
- :func:`demo_files`: the baseline year (the year before the demo year) of the three E01
  electricity meters, generated with the demo's own load model (``demo.series.profile``) at the same
  scale; a weather station ``WX01`` with two years of hourly temperature [degC] equal to the
  temperature that drives the demo's load model (the Suzhou-like sinusoid of ``demo.series.calendar``
  plus its daily swing, with 0.3 degC sensor noise and a 5-hour maintenance gap), imported as a
  station file through ``greenpark ingest`` like any other; and the park.toml text of the
  station and of the ``[[mv_projects]]`` entry.

Design choices (why the demo's M&V model passes ASHRAE Guideline 14-2014):

- baseline = the whole previous year (365/366 days: CalTRACK 2.0 and IPMVP ask for a full
  operating cycle; a half-year baseline would be refused with ``mv.sufficiency.baseline_too_short``),
  installation = 1-5 January, reporting = 6 January to 31 December. Baseline and reporting
  periods both contain one Spring Festival, so the seasons match.
- the demo's load model stops die-casting plants 4 days longer than the official Spring Festival
  holiday (see ``demo.series.calendar``). A plant's own closure is not in the national calendar, so the
  project lists those days as ``shutdowns`` (taken as holidays by the model); without them the
  baseline CV(RMSE) is about 19 % instead of about 6 %.
- production is not a regressor: the demo's products hold the demo year only, so the baseline
  year has no production figures.
- the designed saving written into park.toml is the planted saving over the reporting period
  scaled to a year (x 365 / reporting days), rounded to 1,000 kWh; ``greenpark mv savings``
  pro-rates it back by days, so verified and designed savings agree within the uncertainty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from greenpark.demo.series import calendar, frame, profile, year_index

ENTERPRISE = "E01"
FURNACE = f"{ENTERPRISE}-EL-1"
AIR = f"{ENTERPRISE}-EL-2"
MAIN = f"{ENTERPRISE}-EL-MAIN"
PROJECT_ID = "E01-retrofit"
STATION = "WX01"
#: planted savings [1]: share of the sub-meter's energy saved after the installation
FURNACE_CUT = 0.10
AIR_CUT = 0.30
#: installation (blackout) period: 1 .. INSTALL_DAYS January of the demo year
INSTALL_DAYS = 5
#: the demo's die-casting load model (demo.generate: shifts and cooling share of die casting)
SHIFTS = "three"
COOLING_SHARE = 0.18
SEED_OFFSET = 505  # own random stream: never draws from demo.generate's generator


@dataclass
class Retrofit:
    """What :func:`plant_retrofit_saving` planted in the demo data."""

    year: int
    installed: np.datetime64           # end of installation: readings stamped after it are saved [park time]
    saved: dict[str, float] = field(default_factory=dict)       # per meter, reporting period [kWh]
    totals: dict[str, float] = field(default_factory=dict)      # per meter, demo year before saving [kWh]

    @property
    def saving(self) -> float:
        """Planted saving of the project meters (furnaces + compressed air) [kWh]."""
        return self.saved[FURNACE] + self.saved[AIR]

    @property
    def reporting(self) -> tuple[dt.date, dt.date]:
        return dt.date(self.year, 1, INSTALL_DAYS + 1), dt.date(self.year, 12, 31)


def _find(tables: list[pa.Table], meter_id: str) -> int:
    for i, t in enumerate(tables):
        if t.num_rows and t["meter_id"][0].as_py() == meter_id:
            return i
    raise KeyError(meter_id)


def _ts(table: pa.Table) -> np.ndarray:
    return np.array(table["timestamp"].to_numpy(zero_copy_only=False), dtype="datetime64[m]")


def plant_retrofit_saving(tables: dict[str, list[pa.Table]], year: int) -> Retrofit | None:
    """Hook of ``demo.generate``: cut E01's furnace and compressed-air energy after the installation.

    Mutates ``tables["sub"]`` (E01-EL-1, E01-EL-2) and ``tables["elec"]`` (E01-EL-MAIN) in place:
    every 15-minute value stamped after ``year``-01-(INSTALL_DAYS+1) 00:00 is reduced by
    ``FURNACE_CUT`` / ``AIR_CUT`` of the sub-meter value, and the main meter by the sum of both.
    Returns None (and changes nothing) when the chinese-calendar package does not cover the
    baseline year ``year - 1``: the demo then has no M&V project.
    """
    from greenpark.core.mv.data import _year_covered

    if not _year_covered(year - 1):
        return None

    installed = np.datetime64(f"{year}-01-{INSTALL_DAYS + 1:02d}T00:00", "m")
    rec = Retrofit(year, installed)
    cuts = {}
    for meter, cut in ((FURNACE, FURNACE_CUT), (AIR, AIR_CUT)):
        i = _find(tables["sub"], meter)
        t = tables["sub"][i]
        ts, v = _ts(t), t["value"].to_numpy()
        after = ts > installed
        saved = np.where(after, v * cut, 0.0)
        rec.totals[meter] = float(v.sum())
        new = np.round(v - saved, 3)
        rec.saved[meter] = float((v - new).sum())
        cuts[meter] = (ts, v - new)
        tables["sub"][i] = frame(meter, ts, new)
    i = _find(tables["elec"], MAIN)
    t = tables["elec"][i]
    ts, v = _ts(t), t["value"].to_numpy()
    rec.totals[MAIN] = float(v.sum())
    total_cut = np.zeros_like(v)
    for sts, c in cuts.values():   # same 15-minute index as the main meter (E01 has no gap)
        total_cut += np.interp(ts.astype("int64"), sts.astype("int64"), c)
    new = np.round(v - total_cut, 2)
    rec.saved[MAIN] = float((v - new).sum())
    tables["elec"][i] = frame(MAIN, ts, new, decimals=2)
    return rec


def _baseline_year(rec: Retrofit, rng: np.random.Generator) -> pa.Table:
    """E01's three electricity meters for the year before the demo year, at the demo year's scale."""

    prev = rec.year - 1
    ts_now = year_index(rec.year, 15)
    ts_prev = year_index(prev, 15)
    # the demo scales a plant's profile to its annual energy: kWh = prof / sum(prof) x annual
    scale = rec.totals[MAIN] / profile(ts_now, calendar(rec.year), SHIFTS, rng, COOLING_SHARE).sum()
    kwh = profile(ts_prev, calendar(prev), SHIFTS, rng, COOLING_SHARE) * scale
    parts = [frame(MAIN, ts_prev, kwh, decimals=2)]
    for meter in (FURNACE, AIR):
        share = rec.totals[meter] / rec.totals[MAIN]
        parts.append(frame(meter, ts_prev, kwh * share * rng.normal(1.0, 0.02, kwh.size).clip(0.9, 1.1)))
    return pa.concat_tables(parts)


def temperature_hourly(years: tuple[int, ...], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hourly air temperature [degC] at each park-time hour of ``years``: the demo's load-model
    temperature (daily sinusoid + 3 degC daily swing peaking at 15:00) plus 0.3 degC noise."""

    ts, vals = [], []
    for y in years:
        cal = calendar(y)
        hours = np.arange(np.datetime64(f"{y}-01-01T00", "h"), np.datetime64(f"{y + 1}-01-01T00", "h"))
        day_i = (hours.astype("datetime64[D]") - cal["days"][0]).astype(int)
        hod = (hours - hours.astype("datetime64[D]")).astype(int)
        ts.append(hours)
        vals.append(cal["temp"][day_i] + 3.0 * np.sin(2 * np.pi * (hod - 9) / 24.0))
    t = np.concatenate(ts)
    v = np.concatenate(vals) + rng.normal(0.0, 0.3, sum(len(x) for x in ts))
    return t, np.round(v, 1)


def _spring_shutdown(year: int) -> tuple[dt.date, dt.date]:

    cal = calendar(year)
    days = cal["days"][cal["spring"]]
    return days[0].astype(dt.date), days[-1].astype(dt.date)


def demo_files(data_dir: Path, year: int, rec: Retrofit | None, seed: int = 2025) -> tuple[str, list[Path]]:
    """Write the baseline year and the weather file; return (park.toml text, files to import)."""
    if rec is None:
        return "", []
    rng = np.random.default_rng(seed + SEED_OFFSET)
    prev = year - 1
    base = data_dir / f"e01_electricity_{prev}.parquet"
    pq.write_table(_baseline_year(rec, rng), base, compression="zstd")
    t, v = temperature_hourly((prev, year), rng)
    keep = ~((t >= np.datetime64(f"{year}-07-15T10", "h")) & (t <= np.datetime64(f"{year}-07-15T14", "h")))
    t, v = t[keep], v[keep]   # five hours without samples: station maintenance
    weather = data_dir / f"weather_{STATION}_{prev}_{year}.csv"
    text = np.char.add(np.char.add(f"{STATION},", np.datetime_as_string(t, unit="m")),
                       np.char.add(",temperature,", np.char.add(v.astype(str), ",degC")))
    weather.write_text("station_id,timestamp,parameter,value,unit\n" + "\n".join(text) + "\n", encoding="utf-8")
    r0, r1 = rec.reporting
    designed = round(rec.saving * 365.0 / ((r1 - r0).days + 1), -3)
    shut = [(*_spring_shutdown(y), y) for y in (prev, year)]
    shutdowns = ",\n".join(f'    {{ start = {a.isoformat()}, end = {b.isoformat()}, reason = "extended Spring Festival '
                           f'shutdown {y} (plant closed beyond the official holiday)" }}' for a, b, y in shut)
    toml = f"""
[[stations]]
id = "{STATION}"
name_zh = "园区气象站"
name_en = "Park weather station"
kind = "weather"

# M&V (IPMVP Option B): the compressed-air and furnace retrofit of E01, installed over the New Year
# break. The demo's data contain the saving (greenpark.demo.mv: furnaces -{FURNACE_CUT:.0%}, compressed
# air -{AIR_CUT:.0%} after the installation); `greenpark mv savings {PROJECT_ID}` verifies it.
[[mv_projects]]
id = "{PROJECT_ID}"
name_zh = "空压站与熔化炉节能改造"
name_en = "Compressed-air station and melting-furnace retrofit"
enterprise = "{ENTERPRISE}"
meters = ["{FURNACE}", "{AIR}"]            # melting furnaces, compressed air (sub-meters: retrofit isolation)
weather_station = "{STATION}"
baseline = {{ start = {prev}-01-01, end = {prev}-12-31 }}
installation = {{ start = {year}-01-01, end = {year}-01-{INSTALL_DAYS:02d} }}
reporting = {{ start = {r0.isoformat()}, end = {r1.isoformat()} }}
option = "B"
model = "auto"
designed_saving = {{ value = {designed:.0f}, unit = "kWh", per = "year", source = "retrofit design (demo: planted in the generated data)" }}
shutdowns = [
{shutdowns},
]
"""
    return toml, [base, weather]
