"""End-to-end: `greenpark carbon` and `greenpark targets` on a small park (subprocesses, as a user runs them).

The worked example is computed by hand below and reproduced through the CLI to the 4 decimals of the JSON
output [tCO2]. Factors (reference data files): Jiangsu provincial grid average 2023 0.5827 tCO2/MWh and
national residual 2023 0.6096 tCO2/MWh (MEE/NBS 公告2025年第47号, chosen for 2025 by the rule
latest_published), natural gas NCV 389.31 GJ/10^4 Nm3, CC 15.3 tC/TJ, OF 0.99; diesel 42.652 GJ/t,
20.2 tC/TJ, 0.98 (GB/T 32151.22-2024 Table C.1); steam 3.763 GJ/t (GB/T 2589-2020 Annex A) x heat
0.11 tCO2/GJ (GB/T 32150-2015 row, UNVERIFIED).
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from greenpark import ingest
from greenpark import park as park_mod
from greenpark.core import carbon
from greenpark.store import Store

from conftest import GP, NOW

PARK = """
[park]
id = "cp"
name_zh = "碳测试园区"
name_en = "Carbon test park"
province = "jiangsu"

[carbon]
level = "provincial"

[[enterprises]]
id = "E1"
name_zh = "甲厂"
name_en = "Plant A"
industry = "die_casting"
economics = [{ year = 2025, output_value_10k_cny = 1000.0, value_added_10k_cny = 250.0 }]

[[enterprises]]
id = "E2"
name_zh = "乙厂"
name_en = "Plant B"
industry = "electronics"
economics = [{ year = 2025, output_value_10k_cny = 500.0, value_added_10k_cny = 100.0 }]

[[meters]]
id = "E1-EL"
owner = "E1"
carrier = "electricity"
unit = "kWh"
interval_minutes = 1440
interval_label = "start"

[[meters]]
id = "E1-PV"
owner = "E1"
carrier = "electricity"
unit = "kWh"
renewable_generation = true
interval_minutes = 1440
interval_label = "start"

[[meters]]
id = "E1-EXP"
owner = "E1"
carrier = "electricity"
unit = "kWh"
export = true
interval_minutes = 1440
interval_label = "start"

[[meters]]
id = "E1-NG"
owner = "E1"
carrier = "natural_gas"
unit = "m3"
interval_minutes = 1440
interval_label = "start"

[[meters]]
id = "E1-DSL"
owner = "E1"
carrier = "diesel"
unit = "kg"
interval_minutes = 1440
interval_label = "start"

[[meters]]
id = "E1-ST"
owner = "E1"
carrier = "steam"
unit = "t"
interval_minutes = 1440
interval_label = "start"

[[meters]]
id = "E2-EL"
owner = "E2"
carrier = "electricity"
unit = "kWh"
interval_minutes = 1440
interval_label = "start"

[[process_emissions]]
id = "E1-CARB"
enterprise = "E1"
process = "carbonate decomposition"
year = 2025
monthly_quantity = [50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
unit = "t"
factor = 0.44
factor_unit = "tCO2/t"
source = "test: plant lab analysis (USER)"
"""

CERTS = """
[[certificates]]
id = "G1"
kind = "gec"
enterprise = "E1"
serial_start = "T0001"
serial_end = "T0060"
mwh = 60
generation_start = 2025-01-01
generation_end = 2025-06-30
project = "PV farm"
province = "jiangsu"

[[certificates]]
id = "C2"
kind = "green_power_contract"
enterprise = "E2"
mwh = {c2_mwh}
generation_start = 2025-01-01
generation_end = 2025-12-31
project = "wind farm"
province = "jiangsu"
"""

DOUBLE = """
[[certificates]]
id = "G3"
kind = "gec"
enterprise = "E2"
serial_start = "T0050"
serial_end = "T0070"
mwh = 21
generation_start = 2025-01-01
generation_end = 2025-03-31
"""

TARGETS = """
[[targets]]
entity = "E1"
year = 2025
metric = "co2_t"
cap = 200
source = "test allocation"

[[targets]]
entity = "E2"
year = 2025
metric = "co2_t"
cap = 110
source = "test allocation"

[[targets]]
entity = "cp"
year = 2025
metric = "co2_t"
cap = 300
source = "test allocation"

[[targets]]
entity = "E1"
year = 2025
metric = "co2_intensity"
cap = 1.0
source = "test allocation"

[[targets]]
entity = "E1"
year = 2025
metric = "energy_tce"
cap = 50
source = "test allocation"
"""

READINGS = """meter_id,timestamp,value
E1-EL,2025-01-15T00:00,100000
E1-EL,2025-02-15T00:00,50000
E1-PV,2025-01-15T00:00,20000
E1-EXP,2025-01-15T00:00,5000
E1-NG,2025-01-15T00:00,10000
E1-DSL,2025-03-15T00:00,1000
E1-ST,2025-02-15T00:00,100
E2-EL,2025-01-15T00:00,200000
"""

# ---- the worked example, by hand [tCO2] ------------------------------------------------------
# natural gas 10 000 m3 = 1 x 10^4 Nm3: 389.31 GJ x 15.3e-3 tC/GJ = 5.956443 tC; x 0.99 = 5.89687857 tC;
#   x 44/12 = 259.46265708 / 12 = 21.621888090
# diesel 1 000 kg = 1 t: 42.652 GJ x 20.2e-3 = 0.8615704 tC; x 0.98 = 0.844338992; x 44/12 = 3.095909637
# process 50 t x 0.44 tCO2/t = 22
E1_S1 = 21.621888090 + 3.095909637333 + 22.0            # 46.717797727
STEAM = 100 * 3.763 * 0.11                             # 376.3 GJ x 0.11 = 41.393
E1_S2_LOC = 150 * 0.5827 + STEAM                       # grid 150 MWh (PV and export: 0) -> 128.798
E1_S2_MKT = (150 - 60) * 0.6096 + STEAM                # G1 covers 60 MWh of January -> 96.257
E2_S2_LOC = 200 * 0.5827                               # 116.54
E2_S2_MKT = (200 - 50) * 0.6096                        # C2 covers 50 MWh -> 91.44
PARK_S1 = E1_S1
PARK_S2_LOC = E1_S2_LOC + E2_S2_LOC                    # 245.338
PARK_S2_MKT = E1_S2_MKT + E2_S2_MKT                    # 187.697


def run(*args, cwd, check=True):
    p = subprocess.run([*GP, *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                       env={**os.environ, "COLUMNS": "160"})
    if check and p.returncode != 0:
        raise AssertionError(f"greenpark {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def jrun(*args, cwd) -> dict:
    return json.loads(run(*args, "--format", "json", cwd=cwd).stdout)


def make_park(d: Path, extra: str = "", c2_mwh: float = 50, readings: str = READINGS) -> Path:
    """park.toml and a store with the readings (imported in-process: the commands under test run as users do)."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "park.toml").write_text(textwrap.dedent(PARK) + CERTS.format(c2_mwh=c2_mwh) + extra, encoding="utf-8")
    (d / "readings.csv").write_text(readings, encoding="utf-8")
    p = park_mod.load(d / "park.toml")
    with Store(p.db_path, p.park.timezone) as store:
        with store.transaction():
            store.sync_park(p)
        res = ingest.ingest_file(store, d / "readings.csv", now=NOW)
        assert res.rejected == 0
    return d


@pytest.fixture(scope="module")
def park_dir(tmp_path_factory) -> Path:
    return make_park(tmp_path_factory.mktemp("carbon") / "park", extra=TARGETS)


def r4(x: float) -> float:
    return round(x, 4)


def test_carbon_json_keys_and_worked_example_to_the_digit(park_dir):
    d = jrun("carbon", "--period", "2025", "--publish", cwd=park_dir)
    assert list(d) == ["period", "method", "park", "enterprises", "certificates", "factors", "lineage"]
    assert d["period"] == 2025 and d["method"] == "both"
    assert {"scope1_t", "scope2_location_t", "scope2_market_t", "total_t"} <= set(d["park"])
    ents = {e["id"]: e for e in d["enterprises"]}
    for e in ents.values():
        assert {"id", "scope1_t", "scope2_location_t", "scope2_market_t", "total_t"} <= set(e)
    assert ents["E1"]["scope1_t"] == r4(E1_S1) == 46.7178
    assert ents["E1"]["scope2_location_t"] == r4(E1_S2_LOC) == 128.798
    assert ents["E1"]["scope2_market_t"] == r4(E1_S2_MKT) == 96.257
    assert ents["E1"]["total_t"] == r4(E1_S1 + E1_S2_LOC) == 175.5158   # total = location-based for "both"
    assert ents["E2"]["scope1_t"] == 0 and ents["E2"]["scope2_location_t"] == r4(E2_S2_LOC)
    assert ents["E2"]["scope2_market_t"] == r4(E2_S2_MKT)
    p = d["park"]
    assert (p["scope1_t"], p["scope2_location_t"], p["scope2_market_t"]) == (r4(PARK_S1), r4(PARK_S2_LOC),
                                                                          r4(PARK_S2_MKT))
    assert p["total_t"] == r4(PARK_S1 + PARK_S2_LOC) == 292.0558
    assert p["total_market_t"] == r4(PARK_S1 + PARK_S2_MKT)
    # certificates: applied MWh by enterprise, within consumption
    by = {c["id"]: c for c in d["certificates"]["by_enterprise"]}
    assert by["E1"]["applied_mwh"] == 60 and by["E1"]["grid_import_mwh"] == 150
    assert by["E2"]["applied_mwh"] == 50 and d["certificates"]["rejected"] == []
    # every factor used, with source and status; the UNVERIFIED heat row is named as such
    f = {x["id"]: x for x in d["factors"]}
    for x in f.values():
        assert {"id", "value", "unit", "source", "status"} <= set(x)
    assert f["jiangsu_avg_2023"]["value"] == 0.5827 and f["cn_residual_2023"]["value"] == 0.6096
    assert f["heat_gbt32150_2015"]["status"] == "UNVERIFIED"
    assert f["process:carbonate decomposition"]["status"] == "USER"
    lin = d["lineage"]
    assert lin["level"] == "provincial" and lin["region"] == "jiangsu"
    assert lin["factor_year_rule"] == "latest_published" and "2023" in lin["selections"]["electricity_location"]["reason"]
    assert "carbon.factor.unverified" in {x["code"] for x in lin["flags"]}
    assert lin["published"]["status"] in ("published_now", "pinned")


def test_carbon_table_shows_calculation_factors_and_unverified(park_dir):
    out = run("carbon", "--period", "2025", "--enterprise", "E1", cwd=park_dir).stdout
    assert "Calculation" in out and "Scope 1" in out and "0.5827 tCO2/MWh" in out
    zh = run("--lang", "zh", "carbon", "--period", "2025", "--enterprise", "E1", cwd=park_dir).stdout
    assert "计算 — E1 2025" in zh and "范围一" in zh and "电网购入" in zh and "发布状态" in zh and "Scope 1" not in zh
    assert "⚠ UNVERIFIED" in out and "heat_gbt32150_2015" in out and "GB/T 32151.22-2024" in out
    assert "87.4050" in out  # E1 grid import 150 MWh x 0.5827, printed next to its factor
    assert "21.6219" in out and "22.0000" in out  # natural gas and process lines


def test_carbon_method_level_enterprise_and_csv(park_dir):
    d = jrun("carbon", "--period", "2025", "--method", "location", "--level", "national", "--enterprise", "E1",
             cwd=park_dir)
    assert d["method"] == "location" and d["park"]["scope2_market_t"] is None
    assert {f["id"] for f in d["factors"]} >= {"cn_avg_2023"} and "cn_residual_2023" not in {f["id"] for f in d["factors"]}
    assert d["park"]["scope2_location_t"] == r4(350 * 0.5306 + STEAM)
    assert [e["id"] for e in d["enterprises"]] == ["E1"] and d["enterprises"][0]["total_t"] == r4(E1_S1 + 150 * 0.5306
                                                                                                  + STEAM)
    csv = run("carbon", "--period", "2025", "--method", "market", "--format", "csv", cwd=park_dir).stdout.splitlines()
    assert csv[0].startswith("entity,id,name_zh,scope1_t") and len(csv) == 4 and csv[1].startswith("park,cp,")
    e1 = next(line for line in csv if line.startswith("enterprise,E1,"))
    assert f",{r4(E1_S1 + E1_S2_MKT)}," in e1  # total_t is market-based with --method market


def test_carbon_errors_are_clear(park_dir):
    p = run("carbon", "--period", "2025-Q1", cwd=park_dir, check=False)
    assert p.returncode == 2 and "calendar year" in p.stderr
    p = run("carbon", "--period", "2019", cwd=park_dir, check=False)
    assert p.returncode == 2 and "no activity data for 2019" in p.stderr


def test_double_gec_registration_rejected_with_both_uses_named(tmp_path):
    d = make_park(tmp_path / "p", extra=DOUBLE)
    p = run("carbon", "--period", "2025", "--format", "json", cwd=d)
    assert "rejected" in p.stderr
    res = json.loads(p.stdout)
    rej = res["certificates"]["rejected"]
    assert sorted(r["id"] for r in rej) == ["G1", "G3"]
    for r in rej:
        assert r["code"] == "serial_registered_twice"
        assert "'G1'" in r["message"] and "'G3'" in r["message"]
        assert "enterprise E1" in r["message"] and "enterprise E2" in r["message"] and "50..60" in r["message"]
    assert "carbon.certificates.rejected" in {f["code"] for f in res["lineage"]["flags"]}
    # both registrations are left out; the contract still counts
    e1 = next(e for e in res["enterprises"] if e["id"] == "E1")
    assert e1["scope2_market_t"] == r4(150 * 0.6096 + STEAM)
    assert {c["id"]: c["applied_mwh"] for c in res["certificates"]["by_enterprise"]} == {"E2": 50}
    out = run("carbon", "--period", "2025", cwd=d).stdout
    assert "Rejected certificate registrations" in out and "G3" in out and "serial_registered_twice" in out


def test_certificates_never_above_consumption(tmp_path):
    d = make_park(tmp_path / "p", c2_mwh=500)
    res = jrun("carbon", "--period", "2025", cwd=d)
    c2 = next(c for c in res["certificates"]["by_certificate"] if c["id"] == "C2")
    assert (c2["applied_mwh"], c2["unapplied_mwh"]) == (200, 300)  # E2 imported 200 MWh
    e2 = next(e for e in res["enterprises"] if e["id"] == "E2")
    assert e2["scope2_market_t"] == 0
    for c in res["certificates"]["by_enterprise"]:
        assert c["applied_mwh"] <= c["grid_import_mwh"]
    assert "carbon.certificates.exceed_consumption_capped" in {f["code"] for f in res["lineage"]["flags"]}


NEW_FACTOR = """
[[carbon_grid_factors]]
id = "jiangsu_avg_2024_test"
data_year = 2024
basis = "average"
level = "provincial"
region = "jiangsu"
value = 0.5
published = 2025-11-30
source = "test: a hypothetical newer provincial factor"
"""


def test_restate_changes_exactly_the_affected_figures(tmp_path):
    d = make_park(tmp_path / "p")
    computed = jrun("carbon", "--period", "2025", cwd=d)  # computing never publishes
    assert computed["lineage"]["published"]["status"] == "not_published"
    assert jrun("carbon", "--period", "2025", cwd=d)["lineage"]["published"]["status"] == "not_published"
    first = jrun("carbon", "--period", "2025", "--publish", cwd=d)
    assert first["lineage"]["published"]["status"] == "published_now"
    assert first["park"] == computed["park"]
    with (d / "park.toml").open("a", encoding="utf-8") as fh:
        fh.write(NEW_FACTOR)
    # a newer factor does not change the published year...
    kept = jrun("carbon", "--period", "2025", cwd=d)
    assert kept["park"] == first["park"] and kept["enterprises"] == first["enterprises"]
    assert kept["lineage"]["published"]["status"] == "pinned"
    assert "carbon.published.restatement_pending" in {f["code"] for f in kept["lineage"]["flags"]}
    assert kept["lineage"]["restatement"]["applied"] is False
    # ...until asked
    res = jrun("carbon", "--period", "2025", "--restate", cwd=d)
    assert res["lineage"]["published"]["status"] == "restated" and res["lineage"]["published"]["restates"] == 1
    ch = res["lineage"]["restatement"]["changes"]
    figs = {"scope2_location_t", "total_t", "total_location_t"}
    assert {(c["entity"], c["figure"]) for c in ch} == {(e, f) for e in ("park", "E1", "E2") for f in figs}
    by = {(c["entity"], c["figure"]): c for c in ch}
    # E1 150 MWh x (0.5 - 0.5827) = -12.405; E2 200 MWh x -0.0827 = -16.54; park -28.945
    assert by[("E1", "scope2_location_t")]["change_t"] == pytest.approx(-12.405, abs=1e-9)
    assert by[("E2", "total_t")]["change_t"] == pytest.approx(-16.54, abs=1e-9)
    assert by[("park", "scope2_location_t")]["factor_effect_t"] == pytest.approx(-28.945, abs=1e-9)
    assert by[("park", "scope2_location_t")]["data_effect_t"] == 0
    roles = {f.get("role") for f in res["lineage"]["restatement"]["factors"]}
    assert roles == {"electricity_location"}
    e1 = next(e for e in res["enterprises"] if e["id"] == "E1")
    assert e1["scope2_location_t"] == r4(150 * 0.5 + STEAM) and e1["scope1_t"] == r4(E1_S1)
    assert e1["scope2_market_t"] == r4(E1_S2_MKT)
    # the restatement is now the published result: nothing left to restate
    out = run("carbon", "--period", "2025", "--restate", "--enterprise", "E1", cwd=d).stdout
    assert "Result #2" in out and "nothing to restate" in out
    assert "0.5 tCO2/MWh" in out and "75.0000" in out  # E1 grid import 150 MWh x 0.5


def test_serial_applied_in_a_published_year_is_rejected_later(tmp_path):
    readings = READINGS + "E1-EL,2024-06-15T00:00,80000\n"
    old = textwrap.dedent("""
        [[certificates]]
        id = "G0"
        kind = "gec"
        enterprise = "E1"
        serial_start = "Q0001"
        serial_end = "Q0040"
        mwh = 40
        generation_start = 2024-01-01
        generation_end = 2024-12-31
        """)
    d = make_park(tmp_path / "p", extra=old, readings=readings)
    y24 = jrun("carbon", "--period", "2024", "--publish", cwd=d)
    assert {c["id"]: c["applied_mwh"] for c in y24["certificates"]["by_enterprise"]} == {"E1": 40}
    # park.toml is edited: G0 is gone and the same serials come back under a 2025 id
    text = (d / "park.toml").read_text(encoding="utf-8").replace(old, "")
    (d / "park.toml").write_text(text + old.replace('"G0"', '"G5"').replace("2024-", "2025-"), encoding="utf-8")
    res = jrun("carbon", "--period", "2025", cwd=d)
    rej = res["certificates"]["rejected"]
    assert [r["id"] for r in rej] == ["G5"] and rej[0]["code"] == "serial_used_in_other_period"
    assert "2024 result #1" in rej[0]["message"] and "'G0'" in rej[0]["message"]


def test_targets_status_from_the_carbon_and_energy_accounts(park_dir):
    d = jrun("targets", "--year", "2025", "--as-of", "2025-12", cwd=park_dir)
    t = {(r["entity_id"], r["metric"]): r for r in d["targets"]}
    e1 = t[("E1", "co2_t")]
    assert e1["to_date"] == r4(E1_S1 + E1_S2_LOC) and e1["status"] == "on_track"
    assert e1["margin"] == r4(200 - (E1_S1 + E1_S2_LOC))
    assert t[("E2", "co2_t")]["status"] == "exceeded" and t[("E2", "co2_t")]["margin"] == r4(110 - E2_S2_LOC)
    park = t[("cp", "co2_t")]
    assert park["to_date"] == r4(PARK_S1 + PARK_S2_LOC) and park["status"] == "at_risk"  # 292.06 > 0.95 x 300
    assert t[("E1", "co2_intensity")]["to_date"] == r4((E1_S1 + E1_S2_LOC) / 250) and \
        t[("E1", "co2_intensity")]["status"] == "on_track"
    # energy: the same GB/T 2589 figure as `greenpark energy` (165 000 kWh x 0.1229 + 10 000 m3 x 1.33
    # + 100 000 kg steam x 0.1286 + 1 000 kg diesel x 1.4571 = 47 895.6 kgce)
    assert t[("E1", "energy_tce")]["to_date"] == 47.8956 and t[("E1", "energy_tce")]["status"] == "at_risk"
    assert d["basis"]["co2"]["2025"]["method"] == "location"
    out = run("targets", "--year", "2025", cwd=park_dir).stdout  # as of the last month with data (March)
    assert "as of 2025-03" in out and "exceeded" in out and "at risk" in out and "test allocation" in out
    zh = run("--lang", "zh", "targets", "--year", "2025", cwd=park_dir).stdout
    assert "截至 2025-03" in zh and "超标" in zh and "预警" in zh and "综合能耗总量 [吨标准煤]" in zh
    p = run("targets", "--year", "2030", cwd=park_dir, check=False)
    assert p.returncode == 2 and "no [[targets]] for 2030" in p.stderr


def test_park_toml_carbon_sections_are_cross_checked():
    bad = textwrap.dedent(PARK) + textwrap.dedent("""
        [[certificates]]
        id = "X"
        kind = "gec"
        enterprise = "E9"
        serial_start = "A1"
        serial_end = "A2"
        mwh = 2
        generation_start = 2025-01-01
        generation_end = 2025-01-31

        [[targets]]
        entity = "E7"
        year = 2025
        metric = "co2_t"
        cap = 1
        source = "x"
        """)
    with pytest.raises(park_mod.ParkError) as exc:
        park_mod.parse(bad, source="park.toml")
    msg = str(exc.value)
    assert "park.toml: (cross-references): certificates 'X': enterprise 'E9' is neither an enterprise id" in msg
    assert "targets[0]: entity 'E7'" in msg
    with pytest.raises(park_mod.ParkError, match="unknown factor_year_rule 'newest'.*latest_published"):
        park_mod.parse(textwrap.dedent(PARK).replace('level = "provincial"', 'factor_year_rule = "newest"'))


def test_screen_certificates_keeps_the_valid_ones():
    c = pd.DataFrame([dict(id="A", kind="gec", enterprise_id="E1", serial_start="S1", serial_end="S9", mwh=9,
                           generation_start="2025-01-01", generation_end="2025-01-31"),
                      dict(id="B", kind="gec", enterprise_id="E2", serial_start="S5", serial_end="S5", mwh=1,
                           generation_start="2025-01-01", generation_end="2025-01-31"),
                      dict(id="C", kind="green_power_contract", enterprise_id="E2", serial_start=None,
                           serial_end=None, mwh=3, generation_start="2025-01-01", generation_end="2025-02-28")])
    ok, rej, flags = carbon.screen_certificates(c)
    assert ok["id"].tolist() == ["C"] and sorted(rej["id"]) == ["A", "B"]
    assert [f["code"] for f in flags] == ["carbon.certificates.rejected"] and flags[0]["severity"] == "error"
    with pytest.raises(carbon.CertificateError, match="'A'.*'B'"):
        carbon.validate_certificates(c)


MINIMAL = """
[park]
id = "mp"
name_zh = "园"
name_en = "Park"
province = "jiangsu"

[[enterprises]]
id = "E01"
name_zh = "甲"
name_en = "A"
industry = "die_casting"
"""


def test_readme_documents_every_carbon_field_and_its_example_is_valid():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Carbon sections", 1)[1]
    block = section.split("```toml", 1)[1].split("```", 1)[0]
    p = park_mod.parse(textwrap.dedent(MINIMAL) + block, source="README")
    assert p.carbon.level == "provincial" and len(p.certificates) == 1 and len(p.targets) == 1
    models = {"carbon": park_mod.Carbon, "carbon_fuels": park_mod.CarbonFuel,
              "carbon_grid_factors": park_mod.CarbonGridFactor, "carbon_heat_factors": park_mod.CarbonHeatFactor,
              "certificates": park_mod.Certificate, "process_emissions": park_mod.ProcessEmission,
              "targets": park_mod.Target}
    for name, model in models.items():
        assert name in block, name
        for fld in model.model_fields:
            assert f"\n{fld} = " in block or f"\n# {fld} = " in block, f"{name}.{fld} is not in the README"


def test_init_template_carbon_examples_are_valid_when_uncommented():
    import re
    from importlib import resources

    text = resources.files("greenpark").joinpath("templates/park.toml").read_text(encoding="utf-8")
    head, carbon_part = text.split("# --- carbon accounts", 1)
    body = "\n".join(line[2:] if re.match(r"^# (\[\[|[a-z_]+ += )", line) else line
                     for line in carbon_part.splitlines()[1:])
    p = park_mod.parse(head + body, source="template")
    assert (len(p.certificates), len(p.targets), len(p.carbon_fuels), len(p.carbon_grid_factors),
            len(p.carbon_heat_factors), len(p.process_emissions)) == (1, 1, 1, 1, 1, 1)


def test_late_readings_after_publication_are_a_data_effect(tmp_path):
    from greenpark.services import carbon_accounts

    d = make_park(tmp_path / "p")
    p = park_mod.load(d / "park.toml")
    with Store(p.db_path, p.park.timezone) as store:
        assert carbon_accounts.carbon_report(store, p, 2025).status == "published_now"
        (d / "late.csv").write_text("meter_id,timestamp,value\nE2-EL,2025-03-15T00:00,10000\n", encoding="utf-8")
        ingest.ingest_file(store, d / "late.csv", now=NOW)
        rep = carbon_accounts.carbon_report(store, p, 2025)
        assert rep.status == "pinned" and rep.changes.empty  # no factor changed: nothing pending
        flags = {f["code"]: f for f in rep.result.flags}
        assert flags["carbon.published.data_changed"]["ids"] == ["E2", "park"]
        assert rep.result.park["scope2_location_t"] == pytest.approx(PARK_S2_LOC + 10 * 0.5827, abs=1e-9)
        rep = carbon_accounts.carbon_report(store, p, 2025, restate=True)
        assert rep.status == "restated"
        e2 = rep.changes.set_index(["entity", "figure"]).loc[("E2", "scope2_location_t")]
        assert e2["data_effect_t"] == pytest.approx(10 * 0.5827, abs=1e-9) and e2["factor_effect_t"] == 0
