"""kill -9 of a running import at 20 random points, each followed by a re-run, gives exactly the
totals of a clean run; after each kill the store is as it was before the import (or, if the kill
came after the commit, as after it)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from greenpark.store import Store

from conftest import write

GREENPARK = [sys.executable, "-m", "greenpark.cli"]


def digest(db: Path) -> tuple:
    s = Store(str(db), read_only=True)
    try:
        con = s.con
        parts = []
        for t, cols in (("readings", "meter_id, ts, value, import_id"), ("rollup_hourly", "meter_id, hour, quantity, n_readings"),
                        ("rollup_monthly", "meter_id, month, quantity, n_readings"),
                        ("quarantine", "import_id, line_no, reason"),
                        ("readings_history", "meter_id, ts, old_value, new_value, new_import_id"),
                        ("imports", "import_id, checksum, rows_read, accepted, unchanged, corrected, rejected")):
            parts.append(con.execute(f"SELECT count(*), coalesce(sum(hash({cols})::HUGEINT), 0) FROM {t}").fetchall()[0])
        return tuple(parts)
    finally:
        s.close()


def big_file(path: Path, rows_per_meter: int = 60000) -> Path:
    ts = np.arange(np.datetime64("2025-01-01T00:15"), np.datetime64("2025-01-01T00:15") + np.timedelta64(15 * rows_per_meter, "m"),
                   np.timedelta64(15, "m"))
    text = np.datetime_as_string(ts, unit="m")
    with path.open("w") as fh:
        fh.write("meter_id,timestamp,value\n")
        for meter, scale in (("E1-EL", 10.0), ("E1-EL-AIR", 3.0), ("E1-PV", 1.0)):
            vals = np.round((np.arange(ts.size) % 97) * scale / 7.0, 3)
            fh.writelines(f"{meter},{t},{v}\n" for t, v in zip(text, vals, strict=True))
        fh.write("E1-EL,2025-01-01T00:15,999\nE9-X,2025-01-01T00:15,1\n")  # a conflict and an unknown meter
    return path


def ingest(park_dir: Path, db: Path, f: Path) -> subprocess.Popen:
    return subprocess.Popen([*GREENPARK, "ingest", str(f), "--park", str(park_dir / "park.toml"), "--db", str(db),
                             "--format", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_kill9_at_random_points_then_rerun_gives_clean_totals(park_dir: Path, tmp_path: Path):
    first = write(tmp_path / "first.csv", "meter_id,timestamp,value\nE1-EL,2025-01-01T00:15,5\nE1-EL,2025-01-01T00:30,x\n")
    big = big_file(tmp_path / "big.csv")
    base = tmp_path / "base.duckdb"
    assert ingest(park_dir, base, first).wait() == 0
    before = digest(base)

    clean = tmp_path / "clean.duckdb"
    shutil.copy(base, clean)
    t0 = time.perf_counter()
    assert ingest(park_dir, clean, big).wait() == 0
    duration = time.perf_counter() - t0
    after = digest(clean)
    assert after != before

    rng = random.Random(20251126)
    outcomes = {"before": 0, "after": 0}
    for _ in range(20):
        db = tmp_path / "victim.duckdb"
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        shutil.copy(base, db)
        proc = ingest(park_dir, db, big)
        time.sleep(rng.uniform(0.0, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = digest(db)
        assert state in (before, after), "a killed import left a partial store"
        outcomes["before" if state == before else "after"] += 1
        assert ingest(park_dir, db, big).wait() == 0
        assert digest(db) == after
    assert outcomes["before"] > 0  # the kills did land inside running imports
    os.environ.get("GREENPARK_TEST_VERBOSE") and print(outcomes, f"clean import {duration:.2f} s")
