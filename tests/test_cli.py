"""End-to-end: the CLI on the demo park and on a small park (subprocesses, as a user runs it)."""

from __future__ import annotations

import json

import pytest

from conftest import run, write


def test_demo_prints_the_scorecards(demo_dir, demo_output):
    assert "GB/T 2589-2020" in demo_output and "Import summary" in demo_output and "tce" in demo_output
    assert "PM2.5" in demo_output and "classes I–III" in demo_output


def test_demo_energy_json_has_stable_keys_and_adds_up(demo_dir):
    res = json.loads(run("energy", "--period", "2025", "--format", "json", cwd=demo_dir).stdout)
    assert {"period", "park", "enterprises", "lineage"} <= set(res)
    assert {"tce", "tce_equal_value", "renewable_share"} <= set(res["park"])
    assert len(res["enterprises"]) >= 27
    for e in res["enterprises"]:
        assert {"id", "tce", "tce_equal_value", "carriers"} <= set(e)
    assert sum(e["tce"] for e in res["enterprises"]) == pytest.approx(res["park"]["tce"], rel=1e-9)
    months = res["breakdowns"]["month"]
    assert len(months) == 12 and sum(m["tce"] for m in months) == pytest.approx(res["park"]["tce"], rel=1e-9)
    assert 0 < res["park"]["renewable_share"] < 0.2
    codes = {f["code"] for f in res["flags"]}
    assert "energy.coal_rate.unverified" in codes  # the demo's coal rate is an assumption, and says so


def test_demo_quarters_add_up_to_the_year(demo_dir):
    year = json.loads(run("energy", "--period", "2025", "--format", "json", cwd=demo_dir).stdout)["park"]["tce"]
    quarters = [json.loads(run("energy", "--period", f"2025-Q{q}", "--format", "json", cwd=demo_dir).stdout)["park"]["tce"]
                for q in range(1, 5)]
    assert sum(quarters) == pytest.approx(year, rel=1e-9)


def test_demo_planted_faults_are_in_quarantine(demo_dir):
    rows = json.loads(run("quarantine", "--format", "json", cwd=demo_dir).stdout)["rows"]
    reasons = {r["reason"] for r in rows}
    assert {"duplicate_in_file", "unknown_meter", "unparsable_value", "unparsable_timestamp", "negative_consumption",
            "timestamp_in_future", "unit_not_convertible"} <= reasons


def test_energy_by_views_and_csv(demo_dir):
    out = run("energy", "--period", "2025-03", "--by", "end-use", "--enterprise", "E01", cwd=demo_dir).stdout
    assert "(unmetered remainder)" in out and "Lineage" in out
    csv_out = run("energy", "--period", "2025", "--by", "month", "--format", "csv", cwd=demo_dir).stdout
    assert csv_out.splitlines()[0].startswith("month,tce") and len(csv_out.splitlines()) == 13


def test_unknown_enterprise_and_bad_period_are_clear_errors(demo_dir):
    p = run("energy", "--period", "2025", "--enterprise", "E99", cwd=demo_dir, check=False)
    assert p.returncode == 2 and "no enterprise 'E99'" in p.stderr and "E01" in p.stderr
    p = run("energy", "--period", "25", cwd=demo_dir, check=False)
    assert p.returncode == 2 and "is not a year" in p.stderr


def test_ingest_exit_status_nonzero_only_when_nothing_could_be_read(park_dir):
    good = write(park_dir / "g.csv", "meter_id,timestamp,value\nE1-EL,2025-01-01 00:15,1\nE9,2025-01-01 00:15,1\n")
    assert run("ingest", str(good), str(park_dir / "missing.csv"), cwd=park_dir).returncode == 0
    p = run("ingest", str(park_dir / "missing.csv"), "--format", "json", cwd=park_dir, check=False)
    assert p.returncode == 1 and "no such file" in json.loads(p.stdout)[0]["error"]


def test_init_writes_a_valid_park(tmp_path):
    run("init", str(tmp_path / "new"))
    assert "[[meters]]" in (tmp_path / "new" / "park.toml").read_text()
    p = run("init", str(tmp_path / "new"), check=False)
    assert p.returncode == 2 and "--force" in p.stderr


def test_readings_are_shown_in_park_time_with_their_corrections(demo_dir):
    out = json.loads(run("readings", "E06-EL-MAIN", "--from", "2025-03-03T10:00", "--to", "2025-03-03T10:30",
                         "--format", "json", cwd=demo_dir).stdout)
    assert out["timezone"] == "Asia/Shanghai" and out["unit"] == "kWh"
    assert [r["time_local"] for r in out["readings"]] == ["2025-03-03 10:00:00", "2025-03-03 10:15:00",
                                                        "2025-03-03 10:30:00"]
    # the re-issued day (in MWh) replaced the first values: each reading has one correction in history
    assert all(r["corrections"] == 1 and r["source"].startswith("electricity_reissued") for r in out["readings"])
    hist = run("readings", "E06-EL-MAIN", "--from", "2025-03-04T10:00", "--to", "2025-03-04T10:00",
               "--format", "json", cwd=demo_dir)
    assert json.loads(hist.stdout)["readings"][0]["corrections"] == 0
