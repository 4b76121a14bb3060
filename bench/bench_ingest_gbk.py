"""Benchmark (issue 15): a real export vs a clean file.

A GBK-encoded wide file of 1 million readings (a title line, the header 时间, 1#表, 2#表 ...,
one column per meter, ``2025/01/01 00:15`` timestamps; read with an import profile: detection of
the encoding, transcoding, the melt of the wide table, the meter-name map) imported through
``greenpark.ingest`` next to the same readings as a clean UTF-8 long CSV (meter_id, timestamp,
value), each into a new file-backed store, in the same run. Goal: the GBK wide file imports at no
less than half the rate of the clean file (``ratio_gbk_wide_to_clean >= 0.5``). Registered in
bench/run.py by its name (``python bench/run.py ingest_gbk``).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import numpy as np

from greenpark import ingest
from greenpark import park as park_mod
from greenpark.store import Store

WORK = Path(__file__).parent / "work"
N_METERS = int(os.environ.get("GP_BENCH_GBK_METERS", 100))
N_STEPS = int(os.environ.get("GP_BENCH_GBK_STEPS", 10_000))
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _park_toml(n: int) -> str:
    head = ('[park]\nid = "bench"\nname_zh = "基准园区"\nname_en = "Benchmark park"\n\n[[enterprises]]\nid = "E1"\n'
            'name_zh = "甲"\nname_en = "A"\nindustry = "electronics"\n')
    meters = "".join(f'\n[[meters]]\nid = "M{i:04d}"\nowner = "E1"\ncarrier = "electricity"\nunit = "度"\n'
                     for i in range(n))
    names = ", ".join(f'"{i + 1}#表" = "M{i:04d}"' for i in range(n))
    profile = f'\n[profiles.wide_gbk]\nlayout = "wide"\nheader_row = 2\nmeters = {{ {names} }}\n'
    return head + meters + profile


def _make_files(clean: Path, wide: Path) -> int:
    rng = np.random.default_rng(15)
    values = np.round(5 + 20 * rng.random((N_STEPS, N_METERS)), 3)
    times = np.datetime64("2025-01-01T00:15") + np.arange(N_STEPS) * np.timedelta64(15, "m")
    iso = np.datetime_as_string(times, unit="s")
    text = np.char.mod("%.3f", values)
    with clean.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("meter_id,timestamp,value\n")
        for j in range(N_METERS):  # meter by meter, as a long export is usually sorted
            mid = f"M{j:04d}"
            fh.write("".join(f"{mid},{t},{v}\n" for t, v in zip(iso, text[:, j], strict=True)))
    slash = [f"{t[:4]}/{t[5:7]}/{t[8:10]} {t[11:16]}" for t in iso]
    with wide.open("w", encoding="gb18030", newline="\r\n") as fh:
        fh.write("某厂 电表数据导出\n")
        fh.write("时间," + ",".join(f"{i + 1}#表" for i in range(N_METERS)) + "\n")
        for i in range(N_STEPS):
            fh.write(slash[i] + "," + ",".join(text[i]) + "\n")
    return N_METERS * N_STEPS


def _fresh(path: Path) -> Path:
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    return path


def _import(park, path: Path, profile: str | None) -> tuple[float, ingest.ImportResult]:
    store = Store(str(_fresh(WORK / "gbk_store.duckdb")), park.park.timezone)
    with store.transaction():
        store.sync_park(park)
    t = time.perf_counter()
    res = ingest.ingest_file(store, path, now=NOW, park=park, profile=profile)
    took = time.perf_counter() - t
    store.close()
    return took, res


def run() -> dict:
    WORK.mkdir(exist_ok=True)
    clean, wide = WORK / "readings_1m_clean.csv", WORK / "readings_1m_wide_gbk.csv"
    rows = N_METERS * N_STEPS
    (WORK / "gbk_park.toml").write_text(_park_toml(N_METERS), encoding="utf-8")
    park = park_mod.load(WORK / "gbk_park.toml")
    if not clean.exists() or not wide.exists():
        _make_files(clean, wide)
    clean_s, wide_s = [], []
    for _ in range(3):  # alternate, best of three each
        t, res = _import(park, clean, None)
        assert res.accepted == rows and res.rejected == 0, res
        clean_s.append(t)
        t, res = _import(park, wide, "wide_gbk")
        assert res.accepted == rows and res.rejected == 0, res
        wide_s.append(t)
    c, w = min(clean_s), min(wide_s)
    return {"readings": rows, "meters": N_METERS, "clean_utf8_long_mb": round(clean.stat().st_size / 1e6, 1),
            "gbk_wide_mb": round(wide.stat().st_size / 1e6, 1),
            "clean_utf8_long_s": round(c, 3), "clean_rows_per_s": round(rows / c),
            "gbk_wide_s": round(w, 3), "gbk_wide_rows_per_s": round(rows / w),
            "ratio_gbk_wide_to_clean": round(c / w, 3), "goal_ratio": 0.5,
            "paths": {"clean": "bulk (DuckDB's typed reader)", "gbk_wide": res.path}}
