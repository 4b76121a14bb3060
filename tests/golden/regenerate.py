"""Regenerate the demo's CLI JSON that tests/test_golden_demo.py compares against.

Run only when a change of figures is intended (and say why in the commit):
    .venv/bin/python tests/golden/regenerate.py
It builds the demo in a temporary folder and writes one JSON file per command beside this script.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
GP = [sys.executable, "-m", "greenpark.cli"]

#: (file name, CLI arguments): the accounts the architecture change must leave identical
COMMANDS = [
    ("energy_period_2025", ["energy", "--period", "2025"]),
    ("energy_period_2025Q3_enterprise_E01", ["energy", "--period", "2025-Q3", "--enterprise", "E01"]),
    ("carbon_period_2025", ["carbon", "--period", "2025"]),
    ("carbon_period_2025_method_market_level_provincial",
     ["carbon", "--period", "2025", "--method", "market", "--level", "provincial"]),
    ("targets_year_2025", ["targets", "--year", "2025"]),
    ("air_period_2025", ["air", "--period", "2025"]),
    ("water_period_2025", ["water", "--period", "2025"]),
    ("mv_savings_E01retrofit", ["mv", "savings", "E01-retrofit"]),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        park = Path(tmp) / "park"
        subprocess.run([*GP, "demo", str(park)], check=True, capture_output=True)
        for name, args in COMMANDS:
            out = subprocess.run([*GP, *args, "--format", "json"], cwd=park, check=True,
                                 capture_output=True, text=True).stdout
            (HERE / f"{name}.json").write_text(out, encoding="utf-8")
            print("wrote", name)


if __name__ == "__main__":
    main()
