"""Province scale (issue 14): ingest and annual accounts of a generated region on Spark (local[N])
and on DuckDB, side by side in one run, at several sizes to show how the Spark time grows.

Sizes in millions of readings: ``GREENPARK_BENCH_SPARK_MILLIONS`` (default ``25,50,100``; the issue's
full run); each size is a region of units x 30 meters x 365 days x 96 readings (1.05 million a unit).
``GREENPARK_BENCH_SPARK_METERS`` sets the meters per unit (smaller units for small runs),
``GREENPARK_BENCH_SPARK_MASTER`` (default ``local[2]``), ``GREENPARK_BENCH_SPARK_DUCKDB=0`` skips
DuckDB (``largest``: DuckDB at the largest size only). The Spark driver gets ``GREENPARK_SPARK_MEMORY``
(default here 8g). Steps timed per size and engine: ``ingest`` (the Parquet files into the lake / the DuckDB
store, validation, rollups) and ``accounts`` (``greenpark region report``: energy by carrier and
month, day sums, completeness, carbon of every unit). Nothing is collected to the driver that grows
with the readings, so the driver's memory stays flat.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

METERS = int(os.environ.get("GREENPARK_BENCH_SPARK_METERS", "30"))
PER_UNIT = METERS * 365 * 96


def _duckdb(region_mod, reg, data: Path, workdir: Path) -> dict:
    from greenpark.ingest import ingest_file
    from greenpark.store import Store

    parks = list(reg.parks.values())
    merged = parks[0].model_copy(update={
        "enterprises": [e for p in parks for e in p.enterprises],
        "meters": [m for p in parks for m in p.meters]})
    store = Store(str(workdir / "region.duckdb"), merged.park.timezone)
    with store.transaction():
        store.sync_park(merged)
    t = time.perf_counter()
    for f in sorted(data.glob("*.parquet")):
        ingest_file(store, f)
    ingest_s = time.perf_counter() - t
    t = time.perf_counter()
    region_mod.report(reg, 2025, store=store)
    accounts_s = time.perf_counter() - t
    store.close()
    return {"ingest_s": round(ingest_s, 2), "accounts_s": round(accounts_s, 2)}


def run() -> dict:
    from greenpark.demo.region import generate_region
    from greenpark.services import region as region_mod
    from greenpark.store import spark

    # the driver of local[N] is the executor too: give it room (the machine's RAM; it spills to disk)
    os.environ.setdefault("GREENPARK_SPARK_MEMORY", "8g")

    sizes = [float(x) for x in os.environ.get("GREENPARK_BENCH_SPARK_MILLIONS", "25,50,100").split(",")]
    master = os.environ.get("GREENPARK_BENCH_SPARK_MASTER", "local[2]")
    duck_mode = os.environ.get("GREENPARK_BENCH_SPARK_DUCKDB", "1")
    rows = []
    t = time.perf_counter()
    spark.session(master)
    startup = time.perf_counter() - t
    for millions in sizes:
        units = max(1, round(millions * 1e6 / PER_UNIT))
        work = Path(tempfile.mkdtemp(prefix="gp-bench-spark-"))
        try:
            t = time.perf_counter()
            gen = generate_region(work / "rg", units, meters=METERS, seed=2025)
            gen_s = time.perf_counter() - t
            reg = region_mod.load(gen.region_toml)
            t = time.perf_counter()
            res = region_mod.ingest(reg, str(gen.data), master=master)
            print(f"  spark ingest {gen.readings:,} readings: {res['steps']}", flush=True)
            ingest_s = time.perf_counter() - t
            t = time.perf_counter()
            out = region_mod.report(reg, 2025)
            accounts_s = time.perf_counter() - t
            row = {"readings": gen.readings, "units": units, "meters_per_unit": METERS, "generate_s": round(gen_s, 2),
                   "spark": {"ingest_s": round(ingest_s, 2), "accounts_s": round(accounts_s, 2),
                             "ingest_readings_per_s": round(gen.readings / ingest_s),
                             "accepted": res["accepted"], "partitions": res["partitions"],
                             "ingest_steps_s": res["steps"]},
                   "lake_bytes": sum(f.stat().st_size for f in Path(reg.lake).rglob("*.parquet")),
                   "input_bytes": sum(f.stat().st_size for f in gen.data.glob("*.parquet")),
                   "energy_tce": round(sum(u["energy_tce"] for u in out["units"]), 3)}
            if duck_mode == "1" or (duck_mode == "largest" and millions == max(sizes)):
                row["duckdb"] = _duckdb(region_mod, reg, gen.data, work)
                row["duckdb"]["ingest_readings_per_s"] = round(gen.readings / row["duckdb"]["ingest_s"])
            rows.append(row)
            print(row, flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    base = rows[0]
    for r in rows:  # growth against the smallest size: 1.0 = linear
        r["spark"]["time_per_reading_vs_smallest"] = round(
            (r["spark"]["ingest_s"] + r["spark"]["accounts_s"]) / r["readings"]
            / ((base["spark"]["ingest_s"] + base["spark"]["accounts_s"]) / base["readings"]), 3)
    spark.stop()
    return {"master": master, "spark_startup_s": round(startup, 2), "sizes_millions": sizes, "runs": rows,
            "cpus_shared": "timings depend on the load of the machine: compare the engines within one run"}
