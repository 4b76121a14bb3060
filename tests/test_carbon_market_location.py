"""Issue 16 #12: where both Scope 2 figures are shown and market-based exceeds location-based, a finding
explains why (the residual-mix factor lies above the grid average)."""

from __future__ import annotations

import json

from conftest import run


def test_market_exceeds_location_is_explained(demo_dir):
    d = json.loads(run("carbon", "--period", "2025", "--method", "both", "--format", "json", cwd=demo_dir).stdout)
    over = sorted(e["id"] for e in d["enterprises"] if e["scope2_market_t"] > e["scope2_location_t"])
    assert over, "the demo has enterprises without certificates: market above location"
    flags = {f["code"]: f for f in d["lineage"]["flags"]}
    f = flags["carbon.market_exceeds_location"]
    assert f["ids"] == over and f["severity"] == "info"
    assert "residual" in f["message"] and "grid-average" in f["message"]
    # enterprises whose certificates bring market below location are not named
    under = {e["id"] for e in d["enterprises"] if e["scope2_market_t"] <= e["scope2_location_t"]}
    assert not under & set(f["ids"])
    table = run("carbon", "--period", "2025", "--method", "both", cwd=demo_dir).stdout
    assert "carbon.market_exceeds_location" in table


def test_no_explanation_when_only_one_method_is_shown(demo_dir):
    for method in ("location", "market"):
        d = json.loads(run("carbon", "--period", "2025", "--method", method, "--format", "json", cwd=demo_dir).stdout)
        assert "carbon.market_exceeds_location" not in {f["code"] for f in d["lineage"]["flags"]}
