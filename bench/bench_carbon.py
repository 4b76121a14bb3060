"""Benchmark (issue 3): carbon accounts of the demo park year from rollups.

1. ``accounts_from_rollups``: activity from the monthly rollups (``greenpark.services.energy.monthly_activity``) and
   the whole account (``greenpark.core.carbon.account``: Scope 1 fuels and process, Scope 2 location- and
   market-based with the demo's certificates, heat/steam) of the demo park's year. Goal: < 200 ms.
2. ``accounts_from_raw_scan``: the same computation with ``rollup_monthly`` replaced by a view that
   aggregates the raw ``readings`` (what the accounts would cost without rollups), in the same run.
3. ``carbon_report``: what ``greenpark carbon --period 2025`` computes on a published year (screening
   of certificates, the account with the published factors pinned and with the factors in force now).

The demo park is rebuilt under bench/work/demo_carbon on every run (deterministic; a store left by an
older greenpark may differ).
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import duckdb

from greenpark import demo, ingest
from greenpark import park as park_mod
from greenpark.core import carbon
from greenpark.services import carbon_accounts
from greenpark.store import Store

WORK = Path(__file__).parent / "work" / "demo_carbon"
YEAR = 2025
RUNS = 20


def _build() -> park_mod.Park:
    shutil.rmtree(WORK, ignore_errors=True)
    files = demo.generate(WORK, year=YEAR)
    park = park_mod.load(files.park_toml)
    store = Store(park.db_path, park.park.timezone)
    with store.transaction():
        store.sync_park(park)
    for f in files.data_files:
        ingest.ingest_file(store, f)
    carbon_accounts.carbon_report(store, park, YEAR)  # publish the year, as the demo does
    store.close()
    return park


def _account(con, park: park_mod.Park, lib, certs, process) -> carbon.CarbonResult:
    act = carbon_accounts.activity(con, park, YEAR)
    return carbon.account(act, YEAR, method="both", level="provincial", region=park.carbon_region,
                          certificates=certs, process=process, library=lib)


def _stats(ts: list[float]) -> dict:
    s = sorted(ts)
    return {"median_ms": round(1000 * statistics.median(s), 1),
            "p95_ms": round(1000 * s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))], 1), "runs": len(s)}


def run() -> dict:
    park = _build()
    store = Store(park.db_path, park.park.timezone, read_only=True)
    lib = carbon_accounts.factor_library(park)
    certs, _, _ = carbon_accounts.screen(store.con, park, YEAR, lib)
    process = carbon_accounts.process_table(park)
    _account(store.con, park, lib, certs, process)  # warm-up (imports, pint cache)
    roll = []
    for _ in range(RUNS):
        t = time.perf_counter()
        res = _account(store.con, park, lib, certs, process)
        roll.append(time.perf_counter() - t)
    report_t = []
    for _ in range(RUNS // 2):
        t = time.perf_counter()
        rep = carbon_accounts.carbon_report(store, park, YEAR, write=False)
        report_t.append(time.perf_counter() - t)
    n_readings = store.con.execute("SELECT count(*) FROM readings").fetchone()[0]
    n_rollup = store.con.execute("SELECT count(*) FROM rollup_monthly").fetchone()[0]
    store.close()
    # the same computation over a raw scan: rollup_monthly is a view aggregating readings
    con = duckdb.connect()
    con.execute(f"ATTACH '{park.db_path}' AS s (READ_ONLY)")
    con.execute(f"SET TimeZone = '{park.park.timezone}'")
    con.execute("CREATE VIEW meters AS SELECT * FROM s.meters")
    con.execute(f"""CREATE VIEW rollup_monthly AS
        SELECT r.meter_id, CAST(date_trunc('month', timezone('{park.park.timezone}', timezone('UTC', r.ts))
                 - CASE m.interval_label WHEN 'end' THEN INTERVAL 1 MICROSECOND ELSE INTERVAL 0 MICROSECOND END) AS DATE)
                 AS month, sum(r.value) AS quantity, count(*) AS n_readings
        FROM s.readings r JOIN s.meters m USING (meter_id) GROUP BY ALL""")
    raw = []
    for _ in range(3):
        t = time.perf_counter()
        raw_res = _account(con, park, lib, certs, process)
        raw.append(time.perf_counter() - t)
    con.close()
    for k in ("scope1_t", "scope2_location_t", "scope2_market_t"):
        assert abs(raw_res.park[k] - res.park[k]) <= 1e-6 * abs(res.park[k]), k
    r, s = _stats(roll), _stats(raw)
    return {
        "readings": n_readings, "rollup_monthly_rows": n_rollup, "enterprises": int(len(res.enterprises)),
        "park_total_location_t": round(res.park["total_location_t"], 3),
        "park_total_market_t": round(res.park["total_market_t"], 3),
        "certificates_applied": int(len(res.certificates)) if res.certificates is not None else 0,
        "accounts_from_rollups": r, "accounts_from_raw_scan": s,
        "speedup": round(s["median_ms"] / r["median_ms"], 1),
        "carbon_report_published_year": _stats(report_t), "report_status": rep.status,
        "goal_ms": 200,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
