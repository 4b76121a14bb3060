"""A region: many key energy-using units (or parks), each with its park.toml, in one Parquet lake
on Spark (issue 14). A regulator gets one table of every unit's energy, carbon, completeness and
day-versus-month consistency; each unit's park.toml still opens on its own (``engine = "spark"``,
the same lake: its meters select its rows).

The region file (TOML)::

    [region]
    id = "demo-region"
    name_zh = "..."; name_en = "..."
    lake = "lake"                          # relative to the region file, or s3a://... (Spark reads it)
    monthly_reports = "monthly_reports.csv"  # optional: unit_id, month (YYYY-MM), energy_tce
    [[units]]
    id = "U0001"
    park = "units/U0001/park.toml"

A unit is an enterprise (meter owner) of its park.toml; meter ids must be unique in the region.
"""

from __future__ import annotations

import calendar
import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from greenpark.errors import InputError
from greenpark.park import Park


class RegionError(InputError, ValueError):
    """The region file cannot be used (missing, malformed, unknown units, duplicate meters)."""


@dataclass
class Region:
    id: str
    name_zh: str
    name_en: str
    lake: str
    monthly_reports: Path | None
    parks: dict[str, Park]
    source_path: Path


def load(path: str | Path) -> Region:
    """The region file at ``path`` and the park.toml of every unit."""
    from greenpark import park as park_mod

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegionError(f"{path}: no such region file") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegionError(f"{path}: not valid TOML ({exc})") from None
    head = data.get("region") or {}
    units = data.get("units") or []
    if not head.get("id") or not units:
        raise RegionError(f"{path}: a region file needs [region] id and at least one [[units]] entry (id, park)")
    base = path.parent
    parks: dict[str, Park] = {}
    meters: dict[str, str] = {}
    for u in units:
        if "id" not in u or "park" not in u:
            raise RegionError(f"{path}: every [[units]] entry needs id and park (the unit's park.toml)")
        p = park_mod.load(base / u["park"])
        if u["id"] not in {e.id for e in p.enterprises}:
            raise RegionError(f"{path}: unit {u['id']} is not an enterprise of {u['park']}")
        for m in p.meters:
            if m.owner == u["id"]:
                if m.id in meters:
                    raise RegionError(f"{path}: meter {m.id} belongs to units {meters[m.id]} and {u['id']}; "
                                      "meter ids must be unique in a region")
                meters[m.id] = u["id"]
        parks[u["id"]] = p
    lake = head.get("lake", "lake")
    reports = head.get("monthly_reports")
    return Region(id=head["id"], name_zh=head.get("name_zh", ""), name_en=head.get("name_en", ""),
                  lake=lake if "://" in lake else str((base / lake).resolve()),
                  monthly_reports=(base / reports) if reports else None, parks=parks, source_path=path)


def _units_meters(region: Region) -> dict[str, pa.Table]:
    from greenpark.store.lake import park_tables

    parts: dict[str, list[pa.Table]] = {}
    for uid, p in region.parks.items():
        for name, t in park_tables(p).items():
            if name == "meters":
                t = t.filter(pa.compute.equal(t["owner"], uid))
            parts.setdefault(name, []).append(t)
    return {k: pa.concat_tables(v) for k, v in parts.items()}


def open_store(region: Region, master: str | None = None):
    """The region's Spark store with every unit's meters (the units' time zones must agree)."""
    from greenpark.store.spark import SparkStore

    zones = {p.park.timezone for p in region.parks.values()}
    if len(zones) != 1:
        raise RegionError(f"the units of region {region.id} are in several time zones ({', '.join(sorted(zones))}); "
                          "one region holds one time zone")
    store = SparkStore(region.lake, zones.pop(), master=master)
    for name, t in _units_meters(region).items():
        store.con.register(name, t)
    return store


def ingest(region: Region, data: str, *, force: bool = False, master: str | None = None,
           now: dt.datetime | None = None, progress=None) -> dict[str, Any]:
    """Import the Parquet readings at ``data`` (a file or folder) for every unit of the region."""
    from greenpark import ingest as ingest_mod
    from greenpark.ingest import validate

    store = open_store(region, master)
    by_unit = {uid: validate.plausibility(p) for uid, p in region.parks.items()}
    unit_of = {m.id: uid for uid, p in region.parks.items() for m in p.meters if m.owner == uid}
    # each meter's plausible range from its unit's park.toml; the earliest plausible date the
    # earliest of the units' (one batch, one cut-off)
    first = min(by_unit.values(), key=lambda lim: lim.earliest)
    res = ingest_mod.ingest_lake(store, first, data, source=str(data), force=force, now=now, progress=progress,
                                 limits=lambda meter_id: by_unit[unit_of[meter_id]])
    return res.to_dict()


def _coefficients(region: Region) -> tuple[pa.Table, pa.Table]:
    from greenpark.core import energy as core

    coef, conv = [], []
    for uid, p in region.parks.items():
        c, _ = core.meter_coefficients(p)
        owners = {m.id for m in p.meters if m.owner == uid}
        coef.append(c.filter(pa.array([m in owners for m in c["meter_id"].to_pylist()])))
        v = core.activity_conversions(p)
        conv.append(v.filter(pa.array([m in owners for m in v["meter_id"].to_pylist()])))
    return pa.concat_tables(coef, promote_options="permissive"), pa.concat_tables(conv, promote_options="permissive")


def _products(region: Region, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """park.toml ``[[products]]`` of ``year`` (one row per unit, product and month) and the
    ``[[energy_quotas]]`` of those products, of every unit."""
    rows, quotas = [], []
    for uid, p in region.parks.items():
        mine = {x.id for x in p.products if x.enterprise == uid and x.year == year}
        for x in p.products:
            if x.id in mine:
                rows += [{"unit_id": uid, "product_id": x.id, "name_zh": x.name_zh, "name_en": x.name_en,
                          "unit": x.unit, "month": dt.date(year, i + 1, 1), "output": float(v)}
                         for i, v in enumerate(x.monthly_output)]
        quotas += [{"product_id": q.product, "standard": q.standard, "grade1": q.grade1, "grade2": q.grade2,
                    "quota_source": q.source} for q in p.energy_quotas if q.product in mine]
    return (pd.DataFrame(rows, columns=["unit_id", "product_id", "name_zh", "name_en", "unit", "month", "output"]),
            pd.DataFrame(quotas, columns=["product_id", "standard", "grade1", "grade2", "quota_source"]))


def report(region: Region, year: int, *, store=None, daily_out: str | None = None) -> dict[str, Any]:
    """Key-unit monitoring indicators of ``year``: per unit energy [tce], CO2 [t], completeness and
    day-versus-month consistency, per unit-month the same with carriers, per unit and quota-covered
    product the unit-product energy [kgce/unit] and its grade (annual and per month), and the flags."""
    from greenpark.core import carbon, keyunits
    from greenpark.services import carbon_accounts as ca
    from greenpark.store import lake, rollups

    store = store or open_store(region)
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    coef, conv = _coefficients(region)
    con = store.con
    by_carrier = rollups.monthly_energy(con, coef, start, end, by_carrier=True).to_pandas()
    as_of = lake.last_day(con, start, end)
    if as_of is None:
        raise RegionError(f"no readings of {year} in the lake {region.lake}: run 'greenpark region ingest' first")
    # expected readings up to the last day with data anywhere in the region (a month in progress counts
    # its days so far; later months are to come)
    months_ = [dt.date(year, m, 1) for m in range(1, as_of.month + 1)]
    minutes = [calendar.monthrange(year, d.month)[1] * 1440 for d in months_[:-1]] + [as_of.day * 1440]
    cal = pa.table({"month": pa.array(months_, pa.date32()), "minutes": pa.array(minutes, pa.int64())})
    comp = lake.unit_completeness(con, cal).to_pandas()
    days = lake.unit_day_sums(con, coef, start, end).to_pandas()
    act = rollups.monthly_activity(con, conv, start, end).to_pandas()
    if daily_out:
        lake.write_daily(con, coef, start, end, daily_out)
    energy = by_carrier.groupby(["owner", "month"], as_index=False)["kgce"].sum()
    months = comp.rename(columns={"owner": "unit_id"}).merge(
        energy.rename(columns={"owner": "unit_id"}), on=["unit_id", "month"], how="left").merge(
        days.rename(columns={"owner": "unit_id"})[["unit_id", "month", "day_kgce"]], on=["unit_id", "month"], how="left")
    months["energy_tce"] = months["kgce"].fillna(0.0) / 1000
    months["day_sum_tce"] = months["day_kgce"].fillna(0.0) / 1000
    reports = pd.read_csv(region.monthly_reports, dtype={"unit_id": str, "month": str}) \
        if region.monthly_reports and region.monthly_reports.exists() else None
    checked, flags = keyunits.monthly_checks(months, reports)
    units = keyunits.unit_table(checked)
    co2 = []
    for uid, p in region.parks.items():  # the carbon accounts of each unit (pandas, months x carriers rows)
        a = act[act["enterprise_id"] == uid]
        if a.empty:
            co2.append({"unit_id": uid, "co2_location_t": None, "co2_market_t": None})
            continue
        level, reg = ca.resolve_level(p, None, None)
        lib = ca.factor_library(p)
        certs, _, _ = carbon.screen_certificates(ca.certificates_table(p), p.carbon.certificate_matching, lib)
        try:
            res = carbon.account(a, year, method="both", level=level, region=reg, rule=p.carbon.factor_year_rule,
                                 certificates=certs, process=ca.process_table(p), library=lib,
                                 fuel_map=p.carbon.fuel_map or None, matching=p.carbon.certificate_matching)
        except carbon.CarbonError as exc:
            raise RegionError(f"unit {uid}: {exc}") from None
        row = res.enterprises.set_index("id").loc[uid] if uid in set(res.enterprises["id"]) else None
        co2.append({"unit_id": uid, "co2_location_t": None if row is None else round(float(row["total_location_t"]), 4),
                    "co2_market_t": None if row is None else round(float(row["total_market_t"]), 4)})
    units = units.merge(pd.DataFrame(co2), on="unit_id", how="left")
    econ = {uid: next((x for e in p.enterprises if e.id == uid for x in e.economics if x.year == year), None)
            for uid, p in region.parks.items()}
    units["park_id"] = units["unit_id"].map({u: p.park.id for u, p in region.parks.items()})
    units["value_added_10k_cny"] = units["unit_id"].map(lambda u: econ[u].value_added_10k_cny if econ.get(u) else None)
    units["output_value_10k_cny"] = units["unit_id"].map(lambda u: econ[u].output_value_10k_cny if econ.get(u) else None)
    units["tce_per_10k_cny_value_added"] = (units["energy_tce"] / units["value_added_10k_cny"]).where(
        units["value_added_10k_cny"].notna())
    products, product_months, pflags = keyunits.product_energy(
        checked.assign(energy_kgce=checked["kgce"].fillna(0.0))[["unit_id", "month", "energy_kgce", "completeness_ok"]],
        *_products(region, year), keyunits.complete_months(year, as_of))
    flags = flags + pflags
    carriers = by_carrier.rename(columns={"owner": "unit_id"})
    carriers["month"] = pd.to_datetime(carriers["month"]).dt.strftime("%Y-%m-01T00:00")
    out_months = checked[["unit_id", "month_label", "energy_tce", "day_sum_tce", "report_tce", "deviation",
                          "n_readings", "expected", "completeness", "completeness_ok", "day_month"]].copy()
    out_months["month"] = out_months.pop("month_label") + "-01T00:00"  # time label: start of the period
    lim = keyunits.limits()
    return {
        "region": {"id": region.id, "name_zh": region.name_zh, "name_en": region.name_en, "units": len(region.parks)},
        "year": year,
        "units": _records(units.round(6)),
        "months": _records(out_months.round(6)),
        "carriers": _records(carriers[["unit_id", "carrier", "month", "quantity", "kgce"]].round(6)),
        "products": _records(products.round(6)),
        "product_months": _records(product_months.round(6)),
        "flags": flags,
        "lineage": {"lake": region.lake, "engine": store.engine, "as_of": as_of.isoformat(),
                    "limits": {k: {"value": v["value"], "status": v["status"], "source": v["source"]}
                               for k, v in lim.items()},
                    "energy": "GB/T 2589-2020 comprehensive energy consumption from the monthly rollups "
                              "(greenpark.store.rollups.monthly_energy); day sums from the daily rollups",
                    "unit_product_energy": "GB/T 2589-2020 unit-product comprehensive energy consumption: the "
                                           "unit's energy over the output of its one product (park.toml "
                                           "[[products]]; energy is not allocated between several products) over "
                                           "the complete months, against park.toml [[energy_quotas]] grade 1 / "
                                           "grade 2 (each row's standard and quota_source); "
                                           "greenpark.core.energy.unit_product_energy",
                    "carbon": "greenpark.services.carbon_accounts (location- and market-based, park.toml [carbon])",
                    "upload_format": "not produced: the provincial upload standard (GB/T 37947.x) was not read"},
    }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if (isinstance(v, float) and v != v) else v) for k, v in r.items()}
            for r in df.astype(object).where(df.notna(), None).to_dict("records")]
