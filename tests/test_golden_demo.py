"""The demo's accounts, pinned: the CLI JSON of energy, carbon, targets, air, water and M&V savings
is identical to the files in tests/golden/ (recorded before the architecture change of issue 10).

Only values that depend on the run are left out: when a carbon result was published and where a
plot was written. Every figure, flag, factor and lineage entry must match exactly. When a change of
figures is intended, regenerate with tests/golden/regenerate.py and say why in the commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run

GOLDEN = Path(__file__).parent / "golden"
RUN_DEPENDENT = {"published_at", "plot", "plot_path", "greenpark_version"}

import sys  # noqa: E402

sys.path.insert(0, str(GOLDEN))
from regenerate import COMMANDS  # noqa: E402


def _strip(x):
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if k not in RUN_DEPENDENT}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def _diff(a, b, path="$", out=None):
    out = [] if out is None else out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'golden' if k in a else 'now'}")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b or type(a) is not type(b):
        out.append(f"{path}: golden {a!r} now {b!r}")
    return out


@pytest.mark.parametrize(("name", "args"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_demo_json_identical_to_golden(demo_dir, name, args):
    golden = _strip(json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8")))
    now = _strip(json.loads(run(*args, "--format", "json", cwd=demo_dir).stdout))
    diffs = _diff(golden, now)
    assert not diffs, f"{len(diffs)} differences, first: " + "\n".join(diffs[:20])
