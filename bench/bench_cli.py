"""Benchmark: start-up of the command line. ``greenpark --help`` and an argument error
(``greenpark energy --period``) against a bare ``python -c pass``, side by side: the runs are
interleaved (bare, help, error, bare, ...) and each figure is the median of N runs. Issue 10's
target: ``greenpark --help`` within 0.25 s of the bare interpreter.

The console script of the interpreter running the benchmark (``<venv>/bin/greenpark``) is timed
when it exists, else ``python -m greenpark.cli``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

N = 15
TARGET_S = 0.25


def _greenpark() -> list[str]:
    script = Path(sys.executable).parent / "greenpark"
    return [str(script)] if script.exists() else [sys.executable, "-m", "greenpark.cli"]


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU (user + system of the child) is what a busy machine
    does not inflate, wall is what a user waits."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped by wait4
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime


def run() -> dict:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    gp = _greenpark()
    cases = {"bare_python": [sys.executable, "-c", "pass"], "greenpark_help": [*gp, "--help"],
             "greenpark_argument_error": [*gp, "energy", "--period"]}
    for cmd in cases.values():  # warm the file cache and the .pyc files once
        _time(cmd, env)
    wall: dict[str, list[float]] = {k: [] for k in cases}
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(N):
        for k, cmd in cases.items():
            w, c = _time(cmd, env)
            wall[k].append(w)
            cpu[k].append(c)
    out = {"command": " ".join(gp), "runs": N, "load_average": os.getloadavg()[0],
           "target_over_bare_python_s": TARGET_S}
    for name, times in (("wall", wall), ("cpu", cpu)):
        med = {k: statistics.median(v) for k, v in times.items()}
        over = {k: med[k] - med["bare_python"] for k in ("greenpark_help", "greenpark_argument_error")}
        out[f"median_{name}_s"] = {k: round(v, 4) for k, v in med.items()}
        out[f"over_bare_python_{name}_s"] = {k: round(v, 4) for k, v in over.items()}
        out[f"within_target_{name}"] = all(v <= TARGET_S for v in over.values())
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
