"""Golden tests of greenpark.core.targets (dual control): hand-computed projections and statuses."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from greenpark.core import carbon, targets
from greenpark.core.targets import TargetsError

REL = 1e-12


def months(year, values, ent, key="co2_t"):
    return pd.DataFrame({"enterprise_id": ent, "month": pd.date_range(f"{year}-01-01", periods=len(values), freq="MS"),
                         key: values})


# E01 2024: Jan-Jun 50 t/month, Jul-Dec 100 t/month -> 900 t; share of Jan-Jun = 300/900 = 1/3
# E01 2025 Jan-Jun: 60 t/month -> to date 360 t; projection = 360 / (1/3) = 1080 t
# E02: no 2024 data; 2025 Jan-Jun 1 t per day of the month (31, 28, 31, 30, 31, 30) -> 181 t in 181 days;
#      linear projection = 181 x 365 / 181 = 365 t
MONTHLY = pd.concat([
    months(2024, [50] * 6 + [100] * 6, "E01"),
    months(2025, [60] * 6, "E01"),
    months(2025, [31, 28, 31, 30, 31, 30], "E02"),
], ignore_index=True)
ECON = pd.DataFrame({"enterprise_id": ["E01", "E02"], "year": [2025, 2025], "value_added_10k_cny": [100.0, 50.0]})


def run(rows, monthly=MONTHLY, **kw):
    t = pd.DataFrame(rows, columns=["entity_id", "year", "metric", "cap"])
    return targets.dual_control(t, monthly, 2025, economics=ECON, **kw).table.set_index(["entity_id", "metric"])


@pytest.mark.parametrize(("cap", "status", "margin"), [
    (1200, "on_track", 120.0),   # 1080 <= 0.95 x 1200 = 1140
    (1100, "at_risk", 20.0),     # 1080 >  0.95 x 1100 = 1045
    (350, "exceeded", -730.0),   # to date 360 > 350 already
])
def test_total_co2_cap_seasonal_projection(cap, status, margin):
    r = run([("E01", 2025, "co2_t", cap)]).loc[("E01", "co2_t")]
    assert r["to_date"] == 360 and r["months_to_date"] == 6
    assert r["share_last_year"] == pytest.approx(1 / 3, rel=REL)
    assert r["projection"] == pytest.approx(1080.0, rel=REL)
    assert r["projection_method"] == "seasonal_last_year"
    assert r["status"] == status
    assert r["margin"] == pytest.approx(margin, rel=REL)
    assert r["margin_pct"] == pytest.approx(100 * margin / cap, rel=REL)


def test_linear_fallback_without_last_year_is_flagged():
    t = pd.DataFrame([("E02", 2025, "co2_t", 380.0)], columns=["entity_id", "year", "metric", "cap"])
    res = targets.dual_control(t, MONTHLY, 2025)
    r = res.table.iloc[0]
    assert r["projection"] == pytest.approx(365.0, rel=REL)   # 181 x 365 / 181
    assert r["projection_method"] == "linear_days"
    assert r["status"] == "at_risk"                           # 365 > 0.95 x 380 = 361
    assert r["margin"] == pytest.approx(15.0, rel=REL)
    assert "targets.projection.linear_fallback" in r["flags"]
    assert any(f["code"] == "targets.projection.linear_fallback" and f["ids"] == ["E02"] for f in res.flags)


def test_intensity_cap_uses_value_added():
    # E01 projected 1080 t / 100 x 10^4 CNY = 10.8 tCO2/10^4 CNY; cap 12 -> 0.95 x 12 = 11.4 -> on_track, margin 1.2
    r = run([("E01", 2025, "co2_intensity", 12.0)]).loc[("E01", "co2_intensity")]
    assert r["projection"] == pytest.approx(10.8, rel=REL)
    assert r["unit"] == "tCO2/10^4 CNY"
    assert pd.isna(r["to_date"])  # the year is not complete: no actual intensity yet
    assert r["status"] == "on_track" and r["margin"] == pytest.approx(1.2, rel=1e-9)


def test_park_total_and_energy_targets():
    # park = E01 + E02: to date 360 + 181 = 541 t; last year only E01 (12 months, 900 t, Jan-Jun 300):
    # share 1/3, projection 541 x 3 = 1623 t. Park value added = 100 + 50 = 150 -> 10.82 tCO2/10^4 CNY
    # energy: E01 2024 120 tce/month (1440, Jan-Jun 720 -> share 1/2), 2025 Jan-Jun 130 -> 780 / 0.5 = 1560 tce
    energy = pd.concat([months(2024, [120] * 12, "E01", "energy_tce"), months(2025, [130] * 6, "E01", "energy_tce")])
    monthly = MONTHLY.merge(energy, on=["enterprise_id", "month"], how="outer")
    r = run([("P", 2025, "co2_t", 2000), ("P", 2025, "co2_intensity", 11.0), ("E01", 2025, "energy_tce", 1600)],
            monthly=monthly, park_id="P")
    assert r.loc[("P", "co2_t"), "to_date"] == 541
    assert r.loc[("P", "co2_t"), "projection"] == pytest.approx(1623.0, rel=REL)
    assert r.loc[("P", "co2_t"), "status"] == "on_track"          # 1623 <= 1900
    assert r.loc[("P", "co2_intensity"), "projection"] == pytest.approx(10.82, rel=REL)
    assert r.loc[("P", "co2_intensity"), "status"] == "at_risk"   # 10.82 > 0.95 x 11 = 10.45
    assert r.loc[("E01", "energy_tce"), "projection"] == pytest.approx(1560.0, rel=REL)
    assert r.loc[("E01", "energy_tce"), "status"] == "at_risk"    # 1560 > 0.95 x 1600 = 1520


def test_complete_year_intensity_exceeded():
    # E03 2025: 100 t/month -> 1200 t; value added 100 -> 12 tCO2/10^4 CNY > cap 10
    monthly = months(2025, [100] * 12, "E03")
    econ = pd.DataFrame({"enterprise_id": ["E03"], "year": [2025], "value_added_10k_cny": [100.0]})
    t = pd.DataFrame([("E03", 2025, "co2_intensity", 10.0)], columns=["entity_id", "year", "metric", "cap"])
    r = targets.dual_control(t, monthly, 2025, economics=econ).table.iloc[0]
    assert r["to_date"] == pytest.approx(12.0, rel=REL) and r["projection"] == pytest.approx(12.0, rel=REL)
    assert r["status"] == "exceeded" and r["margin"] == pytest.approx(-2.0, rel=REL)


def test_user_threshold_overrides_default():
    # cap 1150: default 0.95 x 1150 = 1092.5 >= 1080 -> on_track; USER 0.90 x 1150 = 1035 < 1080 -> at_risk
    assert run([("E01", 2025, "co2_t", 1150)]).loc[("E01", "co2_t"), "status"] == "on_track"
    lib = carbon.factor_library(user_rules=pd.DataFrame([dict(
        id="at_risk_share", topic="dual_control_status", kind="projection_share_of_cap", value=0.90,
        default=True, status="USER", source="park management committee decision 2025-03")]))
    assert run([("E01", 2025, "co2_t", 1150)], library=lib).loc[("E01", "co2_t"), "status"] == "at_risk"


def test_as_of_earlier_month_and_missing_value_added():
    # as of March: E01 to date 180; share last year Jan-Mar = 150/900 = 1/6 -> 1080
    t = pd.DataFrame([("E01", 2025, "co2_t", 2000.0), ("E09", 2025, "co2_intensity", 1.0)],
                     columns=["entity_id", "year", "metric", "cap"])
    res = targets.dual_control(t, MONTHLY, 2025, economics=ECON, as_of=dt.date(2025, 3, 1))
    r = res.table.set_index("entity_id")
    assert r.loc["E01", "to_date"] == 180 and r.loc["E01", "projection"] == pytest.approx(1080.0, rel=REL)
    assert r.loc["E09", "status"] == "unknown"
    codes = {f["code"] for f in res.flags}
    assert {"targets.intensity.no_value_added", "targets.data.no_monthly_data"} <= codes
    js = targets.to_json_dict(res)
    assert js["as_of"] == "2025-03" and js["thresholds"]["at_risk_share"] == 0.95
    assert {x["entity_id"] for x in js["targets"]} == {"E01", "E09"}


def test_unknown_metric_lists_valid():
    t = pd.DataFrame([("E01", 2025, "co2", 1.0)], columns=["entity_id", "year", "metric", "cap"])
    with pytest.raises(TargetsError, match="valid metrics: co2_t, co2_intensity, energy_tce, energy_intensity"):
        targets.dual_control(t, MONTHLY, 2025)


# ---- issue 16 #14a: a park with sub-meters, through the store (both engines) -----------------------
SUBMETER_PARK = """
[park]
id = "sp"
name_zh = "分表园区"
name_en = "Sub-meter park"
province = "jiangsu"

[carbon]
level = "provincial"

[[enterprises]]
id = "E1"
name_zh = "甲厂"
name_en = "Plant A"
industry = "die_casting"
economics = [{ year = 2025, output_value_10k_cny = 1000.0, value_added_10k_cny = 250.0 }]

[[meters]]
id = "E1-EL"
owner = "E1"
carrier = "electricity"
unit = "kWh"
interval_minutes = 1440
interval_label = "start"

[[meters]]
id = "E1-EL-AIR"
owner = "E1"
carrier = "electricity"
unit = "kWh"
parent = "E1-EL"
end_use = "compressed air"
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
id = "E1-NG-KILN"
owner = "E1"
carrier = "natural_gas"
unit = "m3"
parent = "E1-NG"
end_use = "kiln"
interval_minutes = 1440
interval_label = "start"

[[targets]]
entity = "E1"
year = 2025
metric = "co2_t"
cap = 1000
source = "test allocation"

[[targets]]
entity = "E1"
year = 2025
metric = "energy_tce"
cap = 100
source = "test allocation"

[[targets]]
entity = "sp"
year = 2025
metric = "co2_t"
cap = 1000
source = "test allocation"
"""

SUBMETER_READINGS = """meter_id,timestamp,value
E1-EL,2025-01-15T00:00,100000
E1-EL-AIR,2025-01-15T00:00,40000
E1-EL,2025-02-15T00:00,50000
E1-EL-AIR,2025-02-15T00:00,30000
E1-NG,2025-01-15T00:00,10000
E1-NG-KILN,2025-01-15T00:00,6000
"""

# By hand, parent meters only (the sub-meters E1-EL-AIR and E1-NG-KILN are parts of them):
# Scope 2 location: (100 000 + 50 000) kWh = 150 MWh x 0.5827 tCO2/MWh (Jiangsu 2023) = 87.405 tCO2
#   (counting the sub-meter too would give 220 MWh -> 128.194)
# Scope 1: natural gas 10 000 m3 = 1 x 10^4 Nm3: 389.31 GJ x 15.3 tC/TJ x 0.99 x 44/12 = 21.621888090 tCO2
#   (with the sub-meter: 16 000 m3 -> 34.595)
# energy: 150 000 kWh x 0.1229 + 10 000 m3 x 1.3300 = 18 435 + 13 300 = 31 735 kgce = 31.735 tce
SUB_S2_LOC = 150 * 0.5827
SUB_S1 = 389.31 * 15.3e-3 * 0.99 * 44 / 12
SUB_TCE = (150_000 * 0.1229 + 10_000 * 1.3300) / 1000


@pytest.fixture(params=["duckdb", "postgresql"])
def submeter_store(request, tmp_path):
    from greenpark import park as park_mod
    from greenpark.ingest import ingest_file
    from greenpark.store import Store

    from conftest import NOW

    (tmp_path / "park.toml").write_text(SUBMETER_PARK, encoding="utf-8")
    (tmp_path / "r.csv").write_text(SUBMETER_READINGS, encoding="utf-8")
    p = park_mod.load(tmp_path / "park.toml")
    s = Store(":memory:" if request.param == "duckdb" else request.getfixturevalue("pg_url"), p.park.timezone)
    with s.transaction():
        s.sync_park(p)
    assert ingest_file(s, tmp_path / "r.csv", now=NOW).rejected == 0
    yield s, p
    s.close()


def test_submeters_not_in_scope2_targets_or_energy(submeter_store):
    from greenpark.core.energy import parse_period
    from greenpark.services import carbon_accounts, energy
    from greenpark.services import targets as targets_svc

    store, p = submeter_store
    rep = carbon_accounts.carbon_report(store, p, 2025, write=False)
    e1 = rep.result.enterprises.set_index("id").loc["E1"]
    assert e1["scope2_location_t"] == pytest.approx(SUB_S2_LOC, rel=1e-9)
    assert e1["scope1_t"] == pytest.approx(SUB_S1, rel=1e-9)
    assert rep.result.park["scope2_location_t"] == pytest.approx(SUB_S2_LOC, rel=1e-9)
    act = carbon_accounts.activity(store.con, p, 2025)
    grid = act[act["flow"] == "grid_import"]
    assert dict(zip(grid["month"].astype(str).str[:7], grid["quantity"], strict=True)) == {"2025-01": pytest.approx(100_000.0), "2025-02": pytest.approx(50_000.0)}

    res = targets_svc.targets_json(targets_svc.targets_report(store, p, 2025))
    got = {(t["entity_id"], t["metric"]): t["to_date"] for t in res["targets"]}
    assert res["as_of"] == "2025-02"
    assert got[("E1", "co2_t")] == pytest.approx(SUB_S2_LOC + SUB_S1, abs=1e-4)
    assert got[("sp", "co2_t")] == pytest.approx(SUB_S2_LOC + SUB_S1, abs=1e-4)
    assert got[("E1", "energy_tce")] == pytest.approx(SUB_TCE, abs=1e-4)

    # the energy accounts read the same rollups with the same definition
    acc = energy.compute(store.con, p, parse_period("2025"))
    assert acc["park"]["tce"] == pytest.approx(SUB_TCE, rel=1e-12)
    months = {b["month"]: b["tce"] for b in acc["breakdowns"]["month"]}
    assert months == {"2025-01": pytest.approx((100_000 * 0.1229 + 13_300) / 1000, rel=1e-12),
                      "2025-02": pytest.approx(50_000 * 0.1229 / 1000, rel=1e-12)}
