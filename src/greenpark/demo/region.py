"""A synthetic province: N key energy-using units with 15-minute readings as Parquet
(``greenpark demo DIR --region N``), deterministic from a seed, sized by arguments.

Layout of ``DIR``::

    region.toml                  the region file: its lake and every unit with its park.toml
    units/U0001/park.toml        one unit (park P0001, enterprise U0001), engine "spark", lake ../../lake
    data/U0001.parquet           its readings: meter_id, timestamp (park time, interval end), value
    monthly_reports.csv          the monthly energy each unit reported [tce] (day-vs-month check)

Generation is vectorised (numpy, one array per unit: meters x intervals) and written with pyarrow;
memory stays at one unit's rows. Figures are synthetic: load shapes, not statistics. Some units
are made to fail the monitoring checks on purpose (deterministically): every 7th unit misses
15 % of one month's readings (completeness), every 11th reported a month 8 % above its meters
(day-versus-month consistency).

Every unit makes one product (``U0001-P1``, synthetic aluminium die castings [t]) with a monthly
output in its park.toml and an energy quota whose grade values are synthetic demo values (not a
published standard's: its ``standard`` and ``source`` say so). The output is sized from the unit's
energy so that its unit-product energy is near :data:`PRODUCT_INTENSITY` of its kind: every 3rd unit
reaches grade 1, every 5th is above grade 2, the others grade 2 (a multiple of 15 is above grade 2).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: carriers of the synthetic meters (every 5th meter is natural gas)
_CARRIERS = (("electricity", "kWh"), ("natural_gas", "m3"))


def _kgce_per_unit(carrier: str) -> float:
    """The GB/T 2589-2020 default coefficient of ``carrier`` (reference/data), to size the monthly reports."""
    from greenpark import reference

    coef = reference.load("carriers").get(carrier)["default_coefficient"]
    return float(reference.load("gbt2589_coefficients").get(coef)["value"])


#: the synthetic quota of every unit's product [kgce/t]: grade 1 (leading), grade 2 (benchmark)
QUOTA = (330.0, 400.0)
#: unit-product energy the generator aims at [kgce/t]: grade 1, grade 2, above grade 2
PRODUCT_INTENSITY = {"grade1": 310.0, "grade2": 365.0, "above_grade2": 440.0}
SYNTHETIC = "synthetic demo value (greenpark demo --region): not a published energy-quota standard"


def _product_kind(u: int) -> str:
    return "above_grade2" if u % 5 == 0 else "grade1" if u % 3 == 0 else "grade2"


def _product_toml(unit: str, year: int, monthly_output: list[float]) -> list[str]:
    pid = f"{unit}-P1"
    return ["[[products]]", f'id = "{pid}"', f'enterprise = "{unit}"', 'name_zh = "铝合金压铸件（合成）"',
            'name_en = "Aluminium die castings (synthetic)"', 'unit = "t"', f"year = {year}",
            "monthly_output = [" + ", ".join(f"{v:.1f}" for v in monthly_output) + "]", "",
            "[[energy_quotas]]", f'product = "{pid}"', f'standard = "{SYNTHETIC}"',
            f"grade1 = {QUOTA[0]}", f"grade2 = {QUOTA[1]}", f'source = "{SYNTHETIC}"', ""]


@dataclass
class RegionFiles:
    root: Path
    region_toml: Path
    units: int
    readings: int
    data: Path


def _park_toml(unit: str, meters: list[tuple[str, str, str]], year: int, tz: str,
               monthly_output: list[float] | None = None) -> str:
    lines = [f'# synthetic key energy-using unit {unit} (greenpark demo --region): not real data', "",
             "[park]", f'id = "P{unit[1:]}"', f'name_zh = "重点用能单位 {unit}（合成）"',
             f'name_en = "Key energy-using unit {unit} (synthetic)"', f'timezone = "{tz}"',
             'engine = "spark"', 'lake = "../../lake"', "",
             "[[enterprises]]", f'id = "{unit}"', f'name_zh = "单位 {unit}"', f'name_en = "Unit {unit}"',
             'industry = "die_casting"', ""]
    for mid, carrier, unit_ in meters:
        lines += ["[[meters]]", f'id = "{mid}"', f'owner = "{unit}"', f'carrier = "{carrier}"', f'unit = "{unit_}"',
                  "interval_minutes = 15", ""]
    if monthly_output is not None:
        lines += _product_toml(unit, year, monthly_output)
    return "\n".join(lines)


def generate_region(out_dir: str | Path, units: int, *, meters: int = 10, days: int | None = None,
                    year: int = 2025, seed: int = 2025, timezone: str = "Asia/Shanghai") -> RegionFiles:
    """Write a region of ``units`` units x ``meters`` meters x ``days`` days (default the whole
    ``year``) of 15-minute readings; returns where. Rows = units x meters x days x 96."""
    if units < 1 or meters < 1:
        raise ValueError("--region needs at least 1 unit and 1 meter")
    root = Path(out_dir)
    (root / "units").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(parents=True, exist_ok=True)
    ndays = days or (366 if calendar.isleap(year) else 365)
    n_int = ndays * 96
    start = np.datetime64(f"{year}-01-01T00:00", "us")
    ts = start + np.arange(1, n_int + 1, dtype="int64") * np.timedelta64(15, "m")  # interval ends, park time
    hour = ((np.arange(n_int) % 96) // 4).astype(np.float64)
    dow = ((np.arange(n_int) // 96) + dt.date(year, 1, 1).weekday()) % 7
    shape = (0.55 + 0.45 * np.clip(np.sin((hour - 6) / 24 * 2 * np.pi) + 0.3, 0, 1.3)) * np.where(dow >= 5, 0.7, 1.0)
    # 0-based month of each interval (by its start: the reading stamped 1 Feb 00:00 is January's)
    month_of = ((ts - np.timedelta64(1, "m")).astype("datetime64[M]").astype(int) % 12)
    total = 0
    reports = []
    unit_lines = []
    for u in range(1, units + 1):
        uid = f"U{u:04d}"
        rng = np.random.default_rng([seed, u])
        mlist = [(f"{uid}-M{k:02d}", *(_CARRIERS[1] if k % 5 == 4 else _CARRIERS[0])[:2]) for k in range(1, meters + 1)]
        base = rng.uniform(40.0, 400.0, size=(meters, 1))
        gas = np.array([m[1] == "natural_gas" for m in mlist])[:, None]
        values = base * np.where(gas, 0.15, 1.0) * shape[None, :] * (1 + 0.05 * rng.standard_normal((meters, n_int)))
        values = np.round(np.maximum(values, 0.0), 3)
        keep = np.ones((meters, n_int), dtype=bool)
        if u % 7 == 0:  # a month with 15 % of its readings missing
            m = int(rng.integers(0, min(12, max(1, ndays // 31))))
            keep &= ~((month_of[None, :] == m) & (rng.random((meters, n_int)) < 0.15))
        mids = np.repeat(np.array([m[0] for m in mlist]), n_int).reshape(meters, n_int)
        tbl = pa.table({"meter_id": pa.array(mids[keep]), "timestamp": pa.array(np.broadcast_to(ts, (meters, n_int))[keep]),
                        "value": pa.array(values[keep])})
        pq.write_table(tbl, root / "data" / f"{uid}.parquet", row_group_size=1_000_000)
        total += tbl.num_rows
        coef = np.array([_kgce_per_unit(m[1]) for m in mlist])[:, None]
        kgce = values * keep * coef
        # the product's monthly output [t]: the month's energy as produced (before missing readings),
        # scaled to the whole month, over the unit's intensity; months without data: the mean day
        produced = (values * coef).sum(axis=0)
        per_day = np.bincount(month_of, weights=produced, minlength=12) / np.maximum(
            np.bincount(month_of, minlength=12) / 96, 1e-9)
        per_day[np.bincount(month_of, minlength=12) == 0] = produced.sum() / ndays
        month_days = np.array([calendar.monthrange(year, m)[1] for m in range(1, 13)])
        output = [round(float(x), 1) for x in per_day * month_days / PRODUCT_INTENSITY[_product_kind(u)]]
        (root / "units" / uid).mkdir(exist_ok=True)
        (root / "units" / uid / "park.toml").write_text(_park_toml(uid, mlist, year, timezone, output),
                                                         encoding="utf-8")
        unit_lines += ["[[units]]", f'id = "{uid}"', f'park = "units/{uid}/park.toml"', ""]
        for mo in sorted(set(month_of.tolist())):
            # the monthly report: the meters' month plus a reporting error
            err = 0.08 if (u % 11 == 0 and mo == 0) else float(rng.normal(0, 0.01))
            reports.append((uid, f"{year}-{mo + 1:02d}", round(float(kgce[:, month_of == mo].sum()) / 1000 * (1 + err), 3)))
    (root / "monthly_reports.csv").write_text(
        "unit_id,month,energy_tce\n" + "".join(f"{a},{b},{c}\n" for a, b, c in reports), encoding="utf-8")
    head = ["# synthetic region (greenpark demo --region): key energy-using units and their park.toml", "",
            "[region]", 'id = "demo-region"', 'name_zh = "合成省级重点用能单位"', 'name_en = "Synthetic province"',
            'lake = "lake"', 'monthly_reports = "monthly_reports.csv"', f"year = {year}", "",
            f"# {units} units x {meters} meters x {ndays} days x 96 = {total:,} readings (seed {seed})", ""]
    region = root / "region.toml"
    region.write_text("\n".join(head + unit_lines), encoding="utf-8")
    return RegionFiles(root=root, region_toml=region, units=units, readings=total, data=root / "data")
