"""Run every benchmark (bench/bench_*.py) and write one JSON file per benchmark under bench/results/.

Each bench_*.py module exposes ``run() -> dict``; the dict is written as JSON with the machine and
time of the run. Ratios are always measured side by side in the same run. The benchmarks: api
(overview under load, push rate), aqi, carbon, cli (start-up of ``greenpark --help`` vs a bare
python), ingest, mv and report (the park report in HTML, PDF and xlsx). ``python bench/run.py cli`` runs one of them.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def main(argv: list[str]) -> int:
    RESULTS.mkdir(exist_ok=True)
    only = set(argv)
    failed = 0
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print(f"== {name}", flush=True)
        try:
            result = mod.run()
        except Exception as exc:  # a failing benchmark is reported, the others still run
            failed += 1
            result = {"error": repr(exc)}
        result = {"benchmark": name, "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                              "platform": platform.platform()}, **result}
        out = RESULTS / f"{name}.json"
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
