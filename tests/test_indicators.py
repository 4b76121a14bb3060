"""Golden tests of the zero-carbon park and green-factory indicators (greenpark.core.indicators and
greenpark.services.indicators), every figure computed by hand on a two-enterprise park.

The park (2025, daily meters, timestamps label the start of the day):
- E1: grid electricity 1,000 kWh/day (365,000 kWh), PV 100 kWh/day consumed on site (36,500 kWh), fresh
  water 10 t/day (3,650 t), reused water 40 t/day (14,600 t), recovered heat 1 GJ/day (365 GJ);
  records: solid waste 200 t generated / 170 t utilised, waste heat available 1,000 GJ; output value
  1,000 x 10^4 CNY; product E1-P 10 t/month (120 t), quota grades 400 / 450 kgce/t.
- E2: grid electricity 500 kWh/day (182,500 kWh), a green-power contract of 50 MWh; records: solid
  waste 100 t / 60 t.
- USER grid factors: average 0.5, residual 0.6 tCO2/MWh; electricity 0.1229 kgce/kWh (GB/T 2589).

Energy = (365,000 + 36,500 + 182,500) kWh x 0.1229 = 71,773.6 kgce = 71.7736 tce (water, reused water
and recovered heat are not energy). CO2 market = (365 + 182.5 - 50) MWh x 0.6 = 298.5 t; location =
547.5 x 0.5 = 273.75 t.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import pandas as pd
import pyarrow as pa
import pytest

from greenpark import park as park_mod
from greenpark.core import indicators as core
from greenpark.ingest import ingest_batch
from greenpark.services import indicators as si
from greenpark.store import Store

REL = 1e-9
ENERGY_TCE = 71.7736
PARK = """
[park]
id = "zp"
name_zh = "零碳测试园区"
name_en = "Zero-carbon test park"
timezone = "Asia/Shanghai"
interval_label = "start"

[carbon]
factor_year_rule = "latest_published"

[[carbon_grid_factors]]
id = "test-average"
data_year = 2025
basis = "average"
value = 0.5
published = 2025-06-01
source = "test value"

[[carbon_grid_factors]]
id = "test-residual"
data_year = 2025
basis = "residual"
value = 0.6
published = 2025-06-01
source = "test value"

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

[[meters]]
id = "E1-PV"
owner = "E1"
carrier = "electricity"
unit = "kWh"
interval_minutes = 1440
renewable_generation = true

[[meters]]
id = "E1-WA"
owner = "E1"
carrier = "water"
unit = "t"
interval_minutes = 1440

[[meters]]
id = "E1-RW"
owner = "E1"
carrier = "reused_water"
unit = "t"
interval_minutes = 1440

[[meters]]
id = "E1-RH"
owner = "E1"
carrier = "recovered_heat"
unit = "GJ"
interval_minutes = 1440

[[meters]]
id = "E2-EL"
owner = "E2"
carrier = "electricity"
unit = "kWh"
interval_minutes = 1440

[[products]]
id = "E1-P"
enterprise = "E1"
name_zh = "铸件"
name_en = "castings"
unit = "t"
year = 2025
monthly_output = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10]

[[certificates]]
id = "GPC-E2"
kind = "green_power_contract"
enterprise = "E2"
mwh = 50.0
generation_start = 2025-01-01
generation_end = 2025-12-31

[[indicator_records]]
enterprise = "E1"
year = 2025
solid_waste_generated_t = 200.0
solid_waste_utilised_t = 170.0
waste_heat_available_gj = 1000.0
source = "test records"

[[indicator_records]]
enterprise = "E2"
year = 2025
solid_waste_generated_t = 100.0
solid_waste_utilised_t = 60.0
source = "test records"

[[energy_quotas]]
product = "E1-P"
standard = "test quota"
grade1 = 400.0
grade2 = 450.0
source = "test quota source"

[[benchmarks]]
indicator = "energy_per_output"
benchmark = 40.0
leading = 30.0
source = "test benchmark"

[[benchmarks]]
indicator = "water_reuse"
enterprise = "E1"
benchmark = 0.75
leading = 0.9
source = "test benchmark"

[[benchmarks]]
indicator = "renewable_share"
energy_band = "lt_3000"
benchmark = 0.1
source = "test benchmark"

[[green_factories]]
enterprise = "E2"
tier = "municipal"
year_awarded = 2024
reevaluation_due = 2026
platform_functions = ["energy_flow"]
source = "test status"

[programme]
target_count = 2
min_tier = "provincial"
by = 2026-12-31
source = "test programme"
"""
DAILY = {"E1-EL": 1000.0, "E1-PV": 100.0, "E1-WA": 10.0, "E1-RW": 40.0, "E1-RH": 1.0, "E2-EL": 500.0}


def _build(d, text):
    (d / "park.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    p = park_mod.load(d / "park.toml")
    store = Store(str(d / "greenpark.duckdb"), p.park.timezone)
    with store.transaction():
        store.sync_park(p)
    days = pd.date_range("2025-01-01", "2025-12-31", freq="D").strftime("%Y-%m-%dT00:00").tolist()
    rows = [(m, t, v) for m, v in DAILY.items() for t in days]
    table = pa.table({"meter_id": [r[0] for r in rows], "timestamp": [r[1] for r in rows],
                      "value": [r[2] for r in rows]})
    ingest_batch(store, p, table, source="test", now=dt.datetime(2026, 1, 15, tzinfo=dt.UTC))
    return p, store


@pytest.fixture(scope="module")
def zpark(tmp_path_factory):
    p, store = _build(tmp_path_factory.mktemp("zp"), PARK)
    yield p, store
    store.close()


@pytest.fixture(scope="module")
def result(zpark):
    p, store = zpark
    return si.park_indicators(p, store, 2025, what_if_pv_mwh=100.0, what_if_green_mwh=0.0)


def by_id(d):
    return {i["id"]: i for i in d["indicators"]}


def test_core_indicator_is_scope12_over_energy(result):
    core_ = by_id(result)["carbon_per_energy"]
    assert result["park"]["energy_tce"] == pytest.approx(ENERGY_TCE, rel=REL)
    assert core_["inputs"]["co2_t"] == pytest.approx(298.5, rel=REL)          # market: (547.5 - 50) x 0.6
    assert core_["value"] == pytest.approx(round(298.5 / ENERGY_TCE, 6), abs=1e-6)   # 4.158967
    # 71.77 tce/yr is below the 200,000 tce band: no published threshold, never invented
    assert core_["threshold"] is None and core_["verdict"] == "no_threshold"
    assert core_["threshold_status"] == "NOT FOUND"
    assert "indicators.threshold.not_found" in {f["code"] for f in result["flags"]}


def test_guiding_indicators_by_hand(result):
    i = by_id(result)
    # clean: PV 36.5 MWh + green contract 50 MWh over 584 MWh of electricity (the park's only energy)
    assert i["clean_energy_share"]["value"] == pytest.approx(round(86.5 / 584.0, 6), abs=1e-6)   # 0.148116
    assert i["clean_energy_share"]["verdict"] == "fail"
    assert i["solid_waste_utilisation"]["value"] == pytest.approx(round(230 / 300, 6), abs=1e-6)  # 0.766667 < 0.80
    assert i["solid_waste_utilisation"]["verdict"] == "fail"
    assert i["waste_heat_utilisation"]["value"] == pytest.approx(0.365, abs=1e-9)  # metered 365 GJ / 1000 GJ
    assert i["waste_heat_utilisation"]["verdict"] == "fail"
    assert i["water_reuse"]["value"] == pytest.approx(0.8, abs=1e-9)   # 14,600 / (14,600 + 3,650)
    assert i["water_reuse"]["verdict"] == "pass"                       # >= 0.80
    assert i["product_energy"]["value"] == 1.0 and i["product_energy"]["verdict"] == "pass"  # 411.2 <= grade 2
    assert i["clean_energy_share"]["threshold_status"] == "C2+"
    assert i["product_energy"]["threshold_status"] == "C1"
    codes = {f["code"] for f in result["flags"]}
    assert {"indicators.clean_energy.greenpark_reading", "indicators.threshold.single_source"} <= codes


def test_non_energy_carriers_leave_energy_and_carbon_alone(zpark):
    from greenpark.core.energy import parse_period
    from greenpark.services import energy

    p, store = zpark
    e = energy.compute(store.con, p, parse_period("2025"))
    carriers = {c["carrier"]: c for c in e["park"]["carriers"]}
    assert e["park"]["tce"] == pytest.approx(ENERGY_TCE, rel=REL)
    assert not carriers["reused_water"]["counted_in_total"] and carriers["reused_water"]["kgce"] == 0.0
    assert carriers["recovered_heat"]["quantity"] == pytest.approx(365.0, rel=REL)  # GJ: the meter's unit
    assert carriers["recovered_heat"]["unit"] == "GJ"
    assert carriers["recovered_heat"]["quantity_coefficient_unit"] == pytest.approx(365_000.0, rel=REL)  # MJ
    assert not carriers["recovered_heat"]["counted_in_total"]


def test_what_if_pv(result):
    w = result["what_if"]["after"]
    # 100 MWh of PV replaces residual-mix grid electricity: 298.5 - 100 x 0.6 = 238.5 t; energy unchanged
    assert w["co2_t"] == pytest.approx(238.5, rel=REL)
    assert w["carbon_per_energy"] == pytest.approx(round(238.5 / ENERGY_TCE, 6), abs=1e-6)
    assert w["clean_energy_share"] == pytest.approx(round(186.5 / 584.0, 6), abs=1e-6)
    assert result["what_if"]["before"]["carbon_per_energy"] == by_id(result)["carbon_per_energy"]["value"]


def test_trajectory_and_projection(result):
    t = result["trajectory"]
    assert [m["month"] for m in t] == [f"2025-{k:02d}" for k in range(1, 13)]
    jan = t[0]
    assert jan["energy_tce"] == pytest.approx(31 * 1600 * 0.1229 / 1000, abs=1e-6)  # 31 days x 1,600 kWh
    # the projection of a complete year is the year itself
    assert result["projection"]["carbon_per_energy"] == pytest.approx(by_id(result)["carbon_per_energy"]["value"],
                                                                      abs=1e-6)


def test_programme_and_candidates(result):
    g = result["programme"]
    assert g["target"]["achieved"] == 0 and g["target"]["remaining"] == 2    # E2 is municipal only
    cands = {c["enterprise_id"]: c for c in g["candidates"]}
    # E1: energy 49.34435 kgce/10^4 CNY > 40 (missed, shortfall 0.2336); water reuse 0.8 >= 0.75 (met);
    # renewable 36.5/401.5 = 0.0909 < 0.1 (missed, 0.0909); unit product 411.2 <= 450 (met) -> 2 of 4
    e1 = cands["E1"]
    assert (e1["with_benchmark"], e1["met"]) == (4, 2)
    assert [x["indicator"] for x in e1["gaps"]] == ["energy_per_output", "renewable_share"]
    assert e1["gaps"][0]["shortfall"] == pytest.approx(round((49.34435 - 40) / 40, 6), abs=1e-6)
    # E2: energy 182.5 x 0.1229 = 22.42925 t -> 44.8585 kgce/10^4 CNY > 40; renewable 50/182.5 = 0.274 >= 0.1
    assert (cands["E2"]["with_benchmark"], cands["E2"]["met"]) == (2, 1)
    # equal share met (1/2): the smaller sum of shortfalls first: E2 0.1215 (44.8585 vs 40) before E1 0.3245
    assert [c["enterprise_id"] for c in g["candidates"]] == ["E2", "E1"]
    assert cands["E2"]["total_shortfall"] == pytest.approx(round((44.8585 - 40) / 40, 6), abs=1e-6)


def test_enterprise_green_factory_indicators(zpark):
    p, store = zpark
    d = si.enterprise_indicators(p, store, "2025", "E1")
    i = by_id(d)
    assert i["energy_per_output"]["value"] == pytest.approx(49.34435, abs=1e-6)     # 49,344.35 kgce / 1,000
    assert i["energy_per_output"]["meets_benchmark"] is False
    assert i["co2_per_output"]["value"] == pytest.approx(219.0, abs=1e-6)           # 365 MWh x 0.6 t -> kg / 1,000
    assert i["renewable_share"]["value"] == pytest.approx(round(36.5 / 401.5, 6), abs=1e-6)
    assert i["water_per_output"]["value"] == pytest.approx(3.65, abs=1e-9)
    assert i["water_reuse"]["meets_benchmark"] is True and i["water_reuse"]["meets_leading"] is False
    assert i["solid_waste_utilisation"]["value"] == pytest.approx(0.85, abs=1e-9)
    assert i["unit_product_energy"]["value"] == pytest.approx(round(49344.35 / 120, 6), abs=1e-6)  # 411.202917
    assert (i["unit_product_energy"]["benchmark"], i["unit_product_energy"]["leading"]) == (450.0, 400.0)
    assert d["products"][0]["grade"] == "grade2"
    assert d["enterprise"]["energy_band"] == "lt_3000"
    # the 6 functions greenpark provides; E1 declares none
    assert d["platform"]["count"] == 6 and i["platform_functions"]["value"] == 6
    assert d["lineage"]["records"] and all(s.startswith("E1") for v in d["lineage"]["records"].values() for s in v)
    e2 = si.enterprise_indicators(p, store, "2025", "E2")
    assert e2["platform"]["count"] == 7 and e2["status"]["tier"] == "municipal"


def test_size_bands_and_user_threshold():
    rows = [r for r in __import__("greenpark").reference.load("zero_carbon_park").rows
            if r["indicator"] == "carbon_per_energy"]
    mid = core.core_threshold(500_000, rows)
    assert (mid["value"], mid["status"], mid["band_status"]) == (0.20, "C2+", "C1")
    big = core.core_threshold(1_000_000, rows)
    assert (big["value"], big["status"]) == (0.30, "C1")
    small = core.core_threshold(199_999, rows)
    assert small["value"] is None and small["status"] == "NOT FOUND"
    user = core.core_threshold(50_000, rows, 0.25, "park plan")
    assert (user["value"], user["status"], user["source"]) == (0.25, "USER", "park plan")


def test_water_reuse_rate_and_verdicts():
    assert core.water_reuse_rate(80.0, 20.0) == 0.8
    assert core.verdict(0.2, 0.2, "le") == "pass" and core.verdict(0.2001, 0.2, "le") == "fail"
    assert core.verdict(None, 0.2, "le") == "no_data" and core.verdict(0.1, None, "le") == "no_threshold"
    assert list(core.energy_band(pd.Series([12000.0, 10000.0, 9999.0, 3000.0, 2999.0]))) == [
        "ge_10000", "ge_10000", "5000_10000", "3000_5000", "lt_3000"]


def test_bad_period_and_unknown_enterprise(zpark):
    from greenpark.errors import InputError, NotFoundError

    p, store = zpark
    with pytest.raises(InputError, match="calendar year"):
        si.park_indicators(p, store, "2025-03")
    with pytest.raises(NotFoundError, match="valid ids: E1, E2"):
        si.enterprise_indicators(p, store, 2025, "E9")


# -- the demo park through the CLI (a fresh clone: `greenpark demo` then `greenpark indicators`) ----
def test_demo_every_indicator_has_a_value_some_pass_some_fail(demo_dir):
    import json

    from conftest import run

    d = json.loads(run("indicators", "--period", "2025", "--format", "json", cwd=demo_dir).stdout)
    assert all(i["value"] is not None for i in d["indicators"])
    verdicts = {i["id"]: i["verdict"] for i in d["indicators"]}
    assert verdicts["water_reuse"] == "pass" and verdicts["carbon_per_energy"] == "fail"
    assert {"pass", "fail"} <= set(verdicts.values())
    assert by_id(d)["carbon_per_energy"]["threshold_status"] == "USER"
    assert d["programme"]["target"]["count"] == 20 and d["programme"]["candidates"]
    e = json.loads(run("indicators", "--period", "2025", "--enterprise", "E02", "--format", "json",
                       cwd=demo_dir).stdout)
    assert all(i["value"] is not None for i in e["indicators"] if i["id"] != "platform_functions")
    assert by_id(e)["unit_product_energy"]["meets_benchmark"] is False   # 191.2 kgce/t above grade 2 (150)
    table = run("indicators", "--period", "2025", "--what-if-pv", "5000", cwd=demo_dir).stdout
    assert "单位能耗碳排放" in table and "What if" in table and "Candidates" in table
    bad = run("indicators", "--period", "2025-03", cwd=demo_dir, check=False)
    assert bad.returncode == 2 and "calendar year" in bad.stderr and "Traceback" not in bad.stderr


# -- the edges: API (role scoping) and CLI ---------------------------------------------------------
@pytest.fixture(scope="module")
def api(zpark):
    from fastapi.testclient import TestClient

    from greenpark.api import create_app
    from greenpark.services import users

    p, store = zpark
    tokens = {}
    with store.transaction() as con:
        who = users.cli_principal()
        for name, kw in {"admin": dict(role="park_admin"), "ent1": dict(role="enterprise", enterprise_id="E1")}.items():
            users.add_user(con, p, name, kw.pop("role"), created_by=who.username, **kw)
            tokens[name], _ = users.create_token(con, name, "tests")
    store.close()  # the app opens the file itself (this test runs last in the module)
    app = create_app(p, str(p.source_path.parent / "greenpark.duckdb"))
    with TestClient(app) as client:
        yield client, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}


def test_api_indicators_park_and_enterprise_scoping(api):
    client, h = api
    park = client.get("/api/v1/indicators?period=2025&what_if_pv=100", headers=h["admin"]).json()
    assert by_id(park)["water_reuse"]["value"] == pytest.approx(0.8, abs=1e-9)
    assert park["what_if"]["after"]["co2_t"] == pytest.approx(238.5, rel=REL)
    own = client.get("/api/v1/indicators?period=2025", headers=h["ent1"])   # an enterprise user: its own view
    assert own.status_code == 200 and own.json()["enterprise"]["id"] == "E1"
    assert "E2" not in own.text and "乙厂" not in own.text
    other = client.get("/api/v1/indicators?period=2025&enterprise=E2", headers=h["ent1"])
    assert other.status_code == 403
    bad = client.get("/api/v1/indicators?period=2025-03", headers=h["admin"])
    assert bad.status_code == 400 and "calendar year" in bad.json()["error"]["message"]


def test_year_end_projection_seasonal_by_hand():
    """2024: CO2 10 t/month Jan-Jun and 20 t/month Jul-Dec (180 t, Jan-Jun share 1/3); energy 5 tce/month
    (share 1/2); clean 1,000 kgce/month (share 1/2). 2025 Jan-Jun: CO2 12 t, energy 6 tce, clean 1,500 kgce
    per month -> projections 72 / (1/3) = 216 t, 36 / (1/2) = 72 tce, 9,000 / (1/2) = 18,000 kgce:
    core 216 / 72 = 3.0 tCO2/tce, clean share 18,000 / 72,000 = 0.25."""
    months = pd.date_range("2024-01-01", periods=18, freq="MS")
    m = pd.DataFrame({"month": months, "co2_t": [10.0] * 6 + [20.0] * 6 + [12.0] * 6,
                      "energy_tce": [5.0] * 12 + [6.0] * 6, "clean_kgce": [1000.0] * 12 + [1500.0] * 6})
    p = core.year_end_projection(m, 2025, dt.date(2025, 6, 1), "zp")
    assert p["method"] == "seasonal_last_year"
    assert (p["co2_t"], p["energy_tce"], p["clean_kgce"]) == pytest.approx((216.0, 72.0, 18000.0), rel=REL)
    assert p["carbon_per_energy"] == pytest.approx(3.0, rel=REL)
    assert p["clean_energy_share"] == pytest.approx(0.25, rel=REL)


@pytest.mark.parametrize(("edit", "message"), [
    (('platform_functions = ["energy_flow"]', 'platform_functions = ["energy_flows"]'),
     "unknown platform functions ['energy_flows']; valid: budget_management"),
    (("solid_waste_utilised_t = 60.0", "solid_waste_utilised_t = 160.0"),
     "solid_waste_utilised_t exceeds solid_waste_generated_t"),
    (("grade1 = 400.0", "grade1 = 500.0"), "grade1 (leading) must be at most grade2"),
    (('product = "E1-P"', 'product = "E1-Q"'), "product 'E1-Q' is not a [[products]] id"),
    (('enterprise = "E1"\nbenchmark', 'enterprise = "E9"\nbenchmark'), "enterprise 'E9' is not an enterprise id"),
])
def test_park_toml_indicator_sections_are_checked(edit, message):
    from greenpark.errors import InputError

    text = textwrap.dedent(PARK)
    assert edit[0] in text
    with pytest.raises(InputError) as exc:
        park_mod.parse(text.replace(edit[0], edit[1], 1))
    assert message in str(exc.value)


def test_partial_data_is_counted_conservatively_and_flagged(tmp_path):
    """E2 records 1,000 t of fresh water but no reused water: its water counts with no reuse,
    R = 14,600 / (14,600 + 3,650 + 1,000) = 0.758442 (fails 0.80), and the flag names E2."""
    text = PARK.replace("solid_waste_utilised_t = 60.0", "solid_waste_utilised_t = 60.0\nfresh_water_t = 1000.0")
    p, store = _build(tmp_path, text)
    try:
        d = si.park_indicators(p, store, 2025)
    finally:
        store.close()
    w = by_id(d)["water_reuse"]
    assert w["value"] == pytest.approx(round(14600 / 19250, 6), abs=1e-6) and w["verdict"] == "fail"
    partial = [f for f in d["flags"] if f["code"] == "indicators.data.partial"]
    assert len(partial) == 1 and partial[0]["ids"] == ["E2"] and partial[0]["indicator"] == "water_reuse"
