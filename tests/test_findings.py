"""One finding type and one catalogue: no module defines another flag/finding class, and every code
the code base can emit (finding codes, reason codes, carriers, metrics, roles, error codes...) has a
Chinese and an English label."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import greenpark
from greenpark import errors, findings
from greenpark.findings import Finding, catalogue, label

SRC = Path(greenpark.__file__).parent
GOLDEN = Path(__file__).parent / "golden"
DOMAINS = ("energy", "carbon", "targets", "air", "aqi", "water", "mv", "reference", "ingest", "indicators")
CODE_RX = re.compile(rf"^({'|'.join(DOMAINS)})\.[a-z0-9_]*[a-z0-9](\.[a-z0-9_]*[a-z0-9])*$")


def _sources():
    for path in sorted(SRC.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _known(code: str) -> bool:
    return any(findings.lookup(kind, code) for kind in ("finding", "action"))


# ---------------------------------------------------------------------------------------------
# Finding
# ---------------------------------------------------------------------------------------------
def test_finding_shapes():
    f = Finding("energy.incomplete_data", "E1: 10 of 96 readings", "warning", {"meter_id": "E1"})
    assert f.to_dict() == {"code": "energy.incomplete_data", "severity": "warning", "message": "E1: 10 of 96 readings",
                           "detail": {"meter_id": "E1"}}
    assert f.to_dict(flat=True) == {"code": "energy.incomplete_data", "severity": "warning",
                                    "message": "E1: 10 of 96 readings", "meter_id": "E1"}
    with pytest.raises(ValueError, match="severity"):
        Finding("x.y", "m", "bad")
    with pytest.raises(AttributeError):
        f.code = "other"  # frozen
    assert f.label("zh") == "数据不完整"


def test_mv_flag_is_the_finding_and_carbon_flags_are_built_by_it():
    from greenpark.core import carbon
    from greenpark.core.mv import data

    assert data.Flag is Finding
    assert carbon._flag("carbon.factor.user", "m", ["b", "a", "a"]) == Finding(
        "carbon.factor.user", "m", "warning", {"ids": ["a", "b"]}).to_dict(flat=True)


def test_no_other_flag_or_finding_class():
    """No module but greenpark.findings defines a class with a finding's fields (code and severity)
    or one named like a flag/finding type."""
    offenders = []
    for path, tree in _sources():
        if path.name == "findings.py" and path.parent == SRC:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            fields = {t.target.id for t in node.body if isinstance(t, ast.AnnAssign) and isinstance(t.target, ast.Name)}
            if {"code", "severity"} <= fields:
                offenders.append(f"{path.relative_to(SRC)}: {node.name} {sorted(fields)}")
            if re.fullmatch(r"\w*(Flag|Finding)", node.name):
                offenders.append(f"{path.relative_to(SRC)}: class {node.name}")
    assert not offenders, offenders


# ---------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------
def test_every_row_has_both_labels_and_a_known_kind():
    rows = catalogue()
    assert len(rows) > 200
    for r in rows:
        assert r["kind"] in findings.KINDS and r["zh"].strip() and r["en"].strip(), r
    kinds = {r["kind"] for r in rows}
    assert {"finding", "reason", "carrier", "industry", "unit", "statistic", "metric", "role", "status",
            "verdict", "error"} <= kinds


def _literal_codes() -> set[str]:
    codes = set()
    for _path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE_RX.match(node.value):
                codes.add(node.value)
    return codes


def _fstring_shapes() -> set[str]:
    """f-string codes (f"air.insufficient_days.{p}") as shapes with anonymous holes: air.insufficient_days.{}"""
    shapes = set()
    for _path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                head = node.values[0].value
                shape = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
                if isinstance(head, str) and re.match(rf"^({'|'.join(DOMAINS)})\.[a-z0-9_.{{}}]+$", shape):
                    shapes.add(shape)
    return shapes


def test_every_literal_finding_code_in_the_source_has_labels():
    codes = _literal_codes()
    assert {"energy.incomplete_data", "carbon.factor.unverified", "mv.verdict.cvrmse_above_limit",
            "water.unknown_parameter", "targets.projection.linear_fallback"} <= codes
    missing = sorted(c for c in codes if not _known(c))
    assert not missing, f"codes without a catalogue entry (reference/data/catalogue.csv): {missing}"


def test_every_fstring_finding_code_has_a_pattern():
    patterns = {re.sub(r"\{\w+\}", "{}", r["code"]) for r in catalogue() if "{" in r["code"]}
    shapes = _fstring_shapes()
    assert "air.insufficient_days.{}" in shapes and "aqi.{}_{}_above_{}" in shapes
    missing = sorted(s for s in shapes if s not in patterns)
    assert not missing, f"f-string codes without a catalogue pattern: {missing}"


def test_codes_emitted_by_the_demo_have_labels():
    """Every flag code in the pinned demo JSON (energy, carbon, targets, air, water, M&V)."""
    seen = set()

    def walk(x, key=None):
        if isinstance(x, dict):
            if isinstance(x.get("code"), str) and key == "flags":
                seen.add(x["code"])
            for k, v in x.items():
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, key)

    for path in GOLDEN.glob("*.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    assert len(seen) > 20
    missing = sorted(c for c in seen if not _known(c))
    assert not missing, missing


def test_every_id_list_of_the_code_base_is_labelled():
    from greenpark import demo, ingest, reference
    from greenpark import park as park_mod
    from greenpark.api.errors import CODES
    from greenpark.collect import config as collect_config
    from greenpark.collect.mqtt import PAYLOAD_REASONS
    from greenpark.core import air, carbon, indicators, targets
    from greenpark.services import users

    want = {
        "reason": set(ingest.REASONS) | set(PAYLOAD_REASONS),
        "source_type": set(collect_config.DRIVERS),
        "certificate": set(carbon.CERTIFICATE_PROBLEMS) | {"serial_used_in_other_period"},
        "carrier": {r["id"] for r in reference.load("carriers").rows},
        "metric": set(targets.METRICS),
        "role": set(users.ROLES),
        "pollutant": set(air.POLLUTANTS),
        "parameter": {r["parameter"] for r in reference.load("station_parameters").rows},
        "error": set(CODES.values()) | {c.code for c in _error_classes()},
        "severity": set(findings.SEVERITIES),
        "action": _audit_actions(),
        "meter_kind": {"interval", "cumulative"},
        "industry": set(demo.INDUSTRIES),
        "end_use": {u for spec in demo.INDUSTRIES.values() for u in spec["uses"]} | _demo_end_uses(),
        "indicator": set(indicators.PARK_INDICATORS) | set(indicators.FACTORY_UNITS),
        "tier": set(park_mod.TIERS),
        "grade": {"grade1", "grade2", "above_grade2"},
        "energy_band": {b for b, _, _ in indicators.ENERGY_BANDS},
        "verdict": {"fit", "not_fit"} | set(indicators.VERDICTS),
        "unit": {u for _, _, u in targets.METRICS.values()} | set(indicators.FACTORY_UNITS.values())
        | {u for u, _ in indicators.PARK_INDICATORS.values()} - {"1"},
        "status": set(targets.STATUSES) | set(reference.STATUSES) | {"NOT FOUND"},
    }
    missing = {k: sorted(c for c in v if findings.lookup(k, c) is None) for k, v in want.items()}
    assert not any(missing.values()), {k: v for k, v in missing.items() if v}


def _demo_end_uses() -> set[str]:
    """end_use="..." literals of the demo park."""
    tree = ast.parse((SRC / "demo" / "__init__.py").read_text(encoding="utf-8"))
    return {k.value.value for node in ast.walk(tree) if isinstance(node, ast.Call) for k in node.keywords
            if k.arg == "end_use" and isinstance(k.value, ast.Constant)}


def _audit_actions() -> set[str]:
    """The action codes of every users.audit(con, who, "action", ...) call in the source."""
    out = set()
    for _path, tree in _sources():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "audit"
                    and len(node.args) >= 3):
                for sub in ast.walk(node.args[2]):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        out.add(sub.value)
    assert {"user.add", "carbon.publish", "readings.push"} <= out
    return out


def _error_classes():
    out, todo = set(), [errors.GreenparkError]
    while todo:
        c = todo.pop()
        out.add(c)
        todo += c.__subclasses__()
    return out


def test_labels_of_patterns_and_units():
    assert label("finding", "air.insufficient_days.pm25", "zh") == "有效天数不足：PM2.5"
    assert label("finding", "air.month_insufficient_days.no2.2025-02", "en") == "too few valid days in 2025-02: NO₂"
    assert label("finding", "aqi.o3_8h_above_800", "zh") == "臭氧（8小时）超过800"
    assert label("unit", "ug/m3", "en") == "µg/m³" and label("unit", "10^4 CNY", "zh") == "万元"
    assert label("carrier", "electricity", "zh") == "电力" and label("industry", "die_casting", "zh") == "压铸"
    assert label("statistic", "p98", "zh") == "第98百分位数"
    assert label("industry", "made_up_industry", "zh") == "made_up_industry"  # unknown: the code itself
    with pytest.raises(ValueError):
        label("unit", "kWh", "fr")


def test_api_serves_the_catalogue_without_a_token(park, tmp_path):
    from fastapi.testclient import TestClient

    from greenpark.api import create_app

    with TestClient(create_app(park, str(tmp_path / "gp.duckdb"), dashboard=False)) as c:
        whole = c.get("/api/v1/catalogue")
        assert whole.status_code == 200, whole.text
        body = whole.json()
        assert body["entries"] == catalogue() and "finding" in body["kinds"]
        zh = c.get("/api/v1/catalogue", params={"lang": "zh", "kind": ["carrier", "reason"]}).json()
        assert set(zh["labels"]) == {"carrier", "reason"}
        assert zh["labels"]["carrier"]["electricity"] == "电力" and zh["labels"]["reason"]["unknown_meter"] == "未知计量表"
        bad = c.get("/api/v1/catalogue", params={"lang": "fr"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


def test_cli_tables_show_labels(demo_dir):
    from conftest import run

    out = run("--lang", "zh", "energy", "--period", "2025", cwd=demo_dir).stdout
    assert "压铸" in out and "die_casting" not in out  # industry labels in the enterprise table
    assert "energy.incomplete_data 数据不完整 x" in out.replace("\n", " ")
    out = run("--lang", "en", "energy", "--period", "2025", cwd=demo_dir).stdout
    assert "die casting" in out.lower() and "energy.incomplete_data incomplete data x" in out.replace("\n", " ")


@pytest.mark.parametrize("name", ["air_period_2025", "water_period_2025", "carbon_period_2025", "targets_year_2025",
                                  "mv_savings_E01retrofit"])
def test_every_flag_has_the_finding_shape(name):
    """The flags of air, water, carbon, targets and M&V results are Findings: code, severity, message."""
    doc = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    flags = doc["flags"] if "flags" in doc else doc["lineage"]["flags"]
    assert flags
    for f in flags:
        assert {"code", "severity", "message"} <= set(f) and f["severity"] in findings.SEVERITIES, f
        assert isinstance(f["message"], str) and f["message"], f


def test_flag_helper_uses_the_catalogue_meaning():
    from greenpark.core import air

    f = findings.flag("air.insufficient_days.pm25", valid_days=200, required=324)
    assert f == {"code": "air.insufficient_days.pm25", "severity": "warning",
                 "message": "the period has fewer valid days for the pollutant than HJ 663 requires",
                 "valid_days": 200, "required": 324}
    assert air.flag is findings.flag
