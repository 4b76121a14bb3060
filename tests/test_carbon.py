"""Golden tests of greenpark.core.carbon: hand-computed worked examples for every scope and method.

Tolerance: the arithmetic is exact in decimal and the code does the same multiplications in binary
floating point, so results agree to ~1e-12 relative; ``rel=1e-12`` is used throughout.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenpark.core import carbon
from greenpark.core.carbon import CarbonError, CertificateError

REL = 1e-12
COLS = ["enterprise_id", "month", "carrier", "flow", "quantity", "unit"]


def act(*rows):
    return pd.DataFrame(list(rows), columns=COLS)


def cert(id, enterprise, mwh, start, end, kind="gec", serial_start=None, serial_end=None):
    return dict(id=id, kind=kind, enterprise_id=enterprise, serial_start=serial_start, serial_end=serial_end,
                mwh=mwh, generation_start=start, generation_end=end, project="PV farm", province="jiangsu")


def fig(result, ent, key):
    return float(result.enterprises.set_index("id").loc[ent, key])


# ---------------------------------------------------------------------------------------------
# Scope 1, fuel combustion: E = AD x NCV x CC x 1e-3 x OF x 44/12 (GB/T 32151.22-2024 Table C.1)
# ---------------------------------------------------------------------------------------------
def test_fuel_combustion_natural_gas_golden():
    # 10 000 m3 = 1 x 10^4 Nm3; 1 x 389.31 GJ/10^4Nm3 = 389.31 GJ; x 15.3 tC/TJ x 0.001 TJ/GJ = 5.956443 tC;
    # x 0.99 = 5.89687857 tC; x 44/12 = 259.46265708 / 12 = 21.62188809 tCO2
    r = carbon.account(act(("E01", "2025-01-01", "natural_gas", "delivered", 10_000, "m3")), 2025)
    assert r.park["scope1_t"] == pytest.approx(21.62188809, rel=REL)
    line = r.lines.iloc[0]
    assert line["ad"] == pytest.approx(1.0, rel=REL) and line["ad_unit"] == "10^4 Nm3"
    assert line["factor_ids"] == "natural_gas:ncv,natural_gas:cc,natural_gas:of,co2_per_c"
    ids = {f["id"]: f for f in r.factors}
    assert ids["natural_gas:ncv"]["value"] == 389.31 and ids["natural_gas:ncv"]["status"] == "C2+"
    assert ids["co2_per_c"]["value"] == pytest.approx(44 / 12, rel=REL)


def test_fuel_combustion_diesel_and_lpg_in_kg_golden():
    # diesel 1 000 kg = 1 t: 42.652 GJ x 20.2e-3 tC/GJ = 0.8615704 tC; x 0.98 = 0.844338992; x 44/12 = 3.095909637
    # LPG 2 000 kg = 2 t: 100.358 GJ x 17.2e-3 = 1.7261576 tC; x 0.98 = 1.691634448; x 44/12 = 6.202659643
    r = carbon.account(act(("E01", "2025-03-01", "diesel", "delivered", 1000, "kg"),
                           ("E02", "2025-03-01", "lpg", "delivered", 2000, "kg")), 2025)
    assert fig(r, "E01", "scope1_t") == pytest.approx(3.0959096373, rel=1e-10)
    assert fig(r, "E02", "scope1_t") == pytest.approx(6.2026596427, rel=1e-10)
    assert r.park["scope1_t"] == pytest.approx(3.0959096373 + 6.2026596427, rel=1e-10)
    # diesel and LPG defaults are single-source (C1): flagged as such
    single = next(f for f in r.flags if f["code"] == "carbon.factor.single_source")
    assert "diesel:ncv" in single["ids"] and "lpg:cc" in single["ids"]


def test_fuel_combustion_user_measured_ncv_overrides_default():
    # measured NCV 380 GJ/10^4Nm3: 380 x 15.3e-3 = 5.814 tC; x 0.99 = 5.75586; x 44/12 = 21.10482 tCO2
    user = pd.DataFrame([dict(id="ng_measured_2025", fuel="natural_gas", ncv=380.0, status="USER",
                              source="supplier gas-quality report 2025-01, lab ABC")])
    lib = carbon.factor_library(user_fuels=user)
    r = carbon.account(act(("E01", "2025-01-01", "natural_gas", "delivered", 10_000, "m3")), 2025, library=lib)
    assert r.park["scope1_t"] == pytest.approx(21.10482, rel=REL)
    ids = {f["id"]: f for f in r.factors}
    assert ids["ng_measured_2025:ncv"]["status"] == "USER"
    assert ids["natural_gas:cc"]["status"] == "C2+"  # the default CC and OF still apply
    assert any(f["code"] == "carbon.factor.user" for f in r.flags)


def test_user_factor_without_source_is_rejected():
    with pytest.raises(CarbonError, match="provenance"):
        carbon.factor_library(user_fuels=pd.DataFrame([dict(id="x", fuel="natural_gas", ncv=1.0, source="")]))


def test_fuel_without_read_defaults_names_unverified():
    with pytest.raises(CarbonError, match="UNVERIFIED") as exc:
        carbon.account(act(("E01", "2025-01-01", "fuel_oil", "delivered", 1, "t")), 2025)
    assert "USER" in str(exc.value)


def test_raw_coal_needs_a_fuel_map():
    a = act(("E01", "2025-01-01", "raw_coal", "delivered", 1, "t"))
    with pytest.raises(CarbonError, match="Known fuels: .*bituminous_coal"):
        carbon.account(a, 2025)
    # 19.570 GJ x 26.1e-3 = 0.510777 tC; x 0.93 = 0.47502261; x 44/12 = 1.74174957 tCO2
    r = carbon.account(a, 2025, fuel_map={"raw_coal": "bituminous_coal"})
    assert r.park["scope1_t"] == pytest.approx(1.74174957, rel=REL)


def test_process_emissions_golden():
    # 50 000 kg = 50 t of carbonate x 0.44 tCO2/t = 22 tCO2
    proc = pd.DataFrame([dict(enterprise_id="E03", month="2025-05-01", process="carbonate_decomposition",
                              quantity=50_000, unit="kg", factor=0.44, factor_unit="tCO2/t",
                              source="plant lab analysis 2025 (USER)")])
    r = carbon.account(act(("E03", "2025-05-01", "diesel", "delivered", 0, "t")), 2025, process=proc)
    assert fig(r, "E03", "scope1_t") == pytest.approx(22.0, rel=REL)
    assert {f["id"] for f in r.factors} >= {"process:carbonate_decomposition"}


# ---------------------------------------------------------------------------------------------
# Factor selection
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("year", "rule", "level", "region", "expected"), [
    (2025, None, "national", None, "cn_avg_2023"),           # 2023 factors published 2025-12-31 (inclusive)
    (2024, None, "national", None, "cn_avg_2022"),           # 2022 factors published 2024-12-20
    (2026, None, "national", None, "cn_avg_2023"),           # 2024 factors not published
    (2025, "reporting_year_minus_2", "national", None, "cn_avg_2023"),
    (2023, "reporting_year_minus_2", "national", None, "cn_avg_2021"),
    (2024, None, "regional", "east_china", "east_china_avg_2022"),
    (2025, None, "regional", "east_china", "east_china_avg_2023"),
    (2025, None, "provincial", "jiangsu", "jiangsu_avg_2023"),
    (2023, "reporting_year_minus_2", "provincial", "jiangsu", "jiangsu_avg_2021"),
])
def test_select_electricity_factor_rule(year, rule, level, region, expected):
    ch = carbon.select_electricity_factor(year, level, region, "average", rule)
    assert ch.id == expected
    assert ch.rule == (rule or "latest_published")
    assert str(ch.row["data_year"]) in ch.reason


def test_select_electricity_factor_reason_names_notice():
    ch = carbon.select_electricity_factor(2025)
    assert ch.value == 0.5306
    assert "公告2025年第47号" in ch.reason and "2025-12-31" in ch.reason


def test_select_electricity_factor_nothing_published_lists_years():
    with pytest.raises(CarbonError) as exc:
        carbon.select_electricity_factor(2023)  # the 2021 factors came out 2024-04-12
    msg = str(exc.value)
    assert "2021 (published 2024-04-12)" in msg and "reporting_year_minus_2" in msg


def test_select_electricity_factor_missing_year_lists_years():
    with pytest.raises(CarbonError, match="data year 2024.*2023 \\(published 2025-12-31\\)"):
        carbon.select_electricity_factor(2026, rule="reporting_year_minus_2")


def test_select_electricity_factor_unknown_region_lists_what_exists():
    with pytest.raises(CarbonError, match=r"unknown province 'zhejiang' for level provincial .*valid: anhui, .*jiangsu"):
        carbon.select_electricity_factor(2025, "provincial", "zhejiang")
    with pytest.raises(CarbonError, match="Valid rules: latest_published, reporting_year_minus_2"):
        carbon.select_electricity_factor(2025, rule="newest")


def test_select_ets_and_residual_bases():
    assert carbon.select_electricity_factor(2023, basis="ets").id == "cn_ets_2022"  # 0.5703
    assert carbon.select_electricity_factor(2025, basis="residual").value == 0.6096
    assert carbon.select_electricity_factor(2024, basis="fossil").value == 0.8325


def test_select_user_electricity_factor_wins_same_key():
    user = pd.DataFrame([dict(id="js_2023_user", data_year=2023, basis="average", level="provincial",
                              region="jiangsu", value=0.58, published=dt.date(2025, 12, 31), status="USER",
                              source="official MEE PDF Table 3, checked 2026-01-10")])
    ch = carbon.select_electricity_factor(2025, "provincial", "jiangsu", factors=carbon.factor_library(user_electricity=user))
    assert ch.id == "js_2023_user" and ch.row["status"] == "USER"


def test_pinned_factor_is_used_regardless_of_rule():
    ch = carbon.select_electricity_factor(2025, factor_id="cn_avg_2022")
    assert ch.value == 0.5366 and ch.rule == "pinned"


# ---------------------------------------------------------------------------------------------
# Scope 2, location-based
# ---------------------------------------------------------------------------------------------
ELEC = act(
    ("E01", "2025-01-01", "electricity", "grid_import", 100_000, "kWh"),   # 100 MWh
    ("E01", "2025-02-01", "electricity", "grid_import", 50, "MWh"),
    ("E01", "2025-01-01", "electricity", "onsite_renewable", 20, "MWh"),  # PV self-consumption: not grid
    ("E01", "2025-01-01", "electricity", "export", 5, "MWh"),             # no credit
    ("E02", "2025-01-01", "electricity", "grid_import", 200, "MWh"),
)


@pytest.mark.parametrize(("level", "region", "factor", "park_t"), [
    ("national", None, 0.5306, 350 * 0.5306),        # 185.71
    ("regional", "east_china", 0.5500, 350 * 0.55),  # 192.5
    ("provincial", "jiangsu", 0.5827, 350 * 0.5827),  # 203.945
])
def test_scope2_location_grid_import_only(level, region, factor, park_t):
    # grid import E01 100 + 50 = 150 MWh, E02 200 MWh; PV and export rows carry 0 tCO2
    r = carbon.account(ELEC, 2025, method="location", level=level, region=region)
    assert r.park["scope2_location_t"] == pytest.approx(park_t, rel=REL)
    assert fig(r, "E01", "scope2_location_t") == pytest.approx(150 * factor, rel=REL)
    assert r.park["scope2_market_t"] is None
    assert r.park["total_t"] == pytest.approx(park_t, rel=REL)
    zero = r.lines[r.lines["flow"].isin(["onsite_renewable", "export"])]
    assert len(zero) == 2 and (zero["co2_t"] == 0).all()


def test_scope2_heat_and_steam_2015_edition_flagged_unverified():
    # 100 GJ x 0.11 = 11 tCO2; steam 10 t x 3.763 GJ/t = 37.63 GJ x 0.11 = 4.1393 tCO2
    a = act(("E02", "2025-01-01", "heat", "delivered", 100_000, "MJ"),
            ("E02", "2025-01-01", "steam", "delivered", 10, "t"))
    r = carbon.account(a, 2025)
    assert fig(r, "E02", "scope2_location_t") == pytest.approx(15.1393, rel=REL)
    assert fig(r, "E02", "scope2_market_t") == pytest.approx(15.1393, rel=REL)
    unv = next(f for f in r.flags if f["code"] == "carbon.factor.unverified")
    assert unv["ids"] == ["heat_gbt32150_2015"]
    assert {f["id"]: f["status"] for f in r.factors}["heat_gbt32150_2015"] == "UNVERIFIED"


def test_heat_edition_selected_by_month():
    # 2026: Jan under GB/T 32150-2015 (UNVERIFIED 0.11), Jul under GB/T 32150-2025 (C1 0.11)
    a = act(("E02", "2026-01-01", "heat", "delivered", 10, "GJ"), ("E02", "2026-07-01", "heat", "delivered", 10, "GJ"))
    r = carbon.account(a, 2026)
    assert r.lines.sort_values("month")["factor_ids"].tolist() == ["heat_gbt32150_2015", "heat_gbt32150_2025"]
    assert r.park["scope2_location_t"] == pytest.approx(2.2, rel=REL)


def test_supplier_heat_factor_for_one_enterprise():
    # E02's supplier measured 0.09 tCO2/GJ: 100 GJ x 0.09 = 9; E01 keeps the default: 100 x 0.11 = 11
    user = pd.DataFrame([dict(id="supplier_x_2025", kind="heat_factor", value=0.09, unit="tCO2/GJ",
                              enterprise_id="E02", status="USER", source="supplier X certificate 2025-02")])
    a = act(("E01", "2026-08-01", "heat", "delivered", 100, "GJ"), ("E02", "2026-08-01", "heat", "delivered", 100, "GJ"))
    r = carbon.account(a, 2026, library=carbon.factor_library(user_heat=user))
    assert fig(r, "E02", "scope2_location_t") == pytest.approx(9.0, rel=REL)
    assert fig(r, "E01", "scope2_location_t") == pytest.approx(11.0, rel=REL)


def test_activity_contract_errors():
    with pytest.raises(CarbonError, match="first day"):
        carbon.account(act(("E01", "2025-01-15", "diesel", "delivered", 1, "t")), 2025)
    with pytest.raises(CarbonError, match="flow"):
        carbon.account(act(("E01", "2025-01-01", "electricity", "delivered", 1, "MWh")), 2025)
    with pytest.raises(CarbonError, match="cannot convert"):
        carbon.account(act(("E01", "2025-01-01", "natural_gas", "delivered", 1, "kWh")), 2025)


# ---------------------------------------------------------------------------------------------
# Scope 2, market-based, certificates
# ---------------------------------------------------------------------------------------------
def test_scope2_market_golden():
    # E01: grid Jan 100, Feb 50 MWh; GEC G1 120 MWh (Jan 2025 generation, calendar-year matching):
    #   Jan 100 certified, Feb 20 certified, Feb 30 MWh residual x 0.6096 = 18.288 tCO2
    # E02: grid Jan 200 MWh; contract C1 500 MWh (March generation): 200 certified, 300 unapplied, 0 tCO2
    certs = pd.DataFrame([cert("G1", "E01", 120, "2025-01-01", "2025-01-31", serial_start="GEC0001",
                               serial_end="GEC0120"),
                          cert("C1", "E02", 500, "2025-03-01", "2025-03-31", kind="green_power_contract")])
    r = carbon.account(ELEC, 2025, certificates=certs)
    assert fig(r, "E01", "scope2_market_t") == pytest.approx(18.288, rel=REL)
    assert fig(r, "E02", "scope2_market_t") == 0.0
    assert r.park["scope2_market_t"] == pytest.approx(18.288, rel=REL)
    assert r.park["scope2_location_t"] == pytest.approx(350 * 0.5306, rel=REL)  # both methods
    s = r.certificates.set_index("id")
    assert s.loc["G1", "applied_mwh"] == 120 and s.loc["C1", "applied_mwh"] == 200
    assert s.loc["C1", "unapplied_mwh"] == 300
    capped = next(f for f in r.flags if f["code"] == "carbon.certificates.exceed_consumption_capped")
    assert capped["ids"] == ["C1"]
    months = r.certificate_months
    assert months[months["certificate_id"] == "G1"]["mwh"].tolist() == [100.0, 20.0]
    js = carbon.to_json_dict(r)
    assert set(js) >= {"period", "method", "park", "enterprises", "certificates", "factors", "lineage"}
    assert set(js["park"]) >= {"scope1_t", "scope2_location_t", "scope2_market_t", "total_t"}
    assert js["certificates"]["by_enterprise"] == [{"id": "E01", "grid_import_mwh": 150.0, "applied_mwh": 120.0},
                                                   {"id": "E02", "grid_import_mwh": 200.0, "applied_mwh": 200.0}]
    assert js["certificates"]["unapplied_mwh"] == 300.0
    assert {f["id"] for f in js["factors"]} >= {"cn_avg_2023", "cn_residual_2023", "certified_zero"}
    assert js["lineage"]["selections"]["electricity_residual"]["id"] == "cn_residual_2023"
    assert json.loads(json.dumps(js, ensure_ascii=False))["park"] == js["park"]  # plain JSON types only


def test_market_without_certificates_is_all_residual():
    # 350 MWh x 0.6096 = 213.36 tCO2
    r = carbon.account(ELEC, 2025, method="market")
    assert r.park["scope2_market_t"] == pytest.approx(213.36, rel=REL)
    assert r.park["total_t"] == pytest.approx(213.36, rel=REL) and r.park["scope2_location_t"] is None


def test_gec_serial_used_twice_names_both_uses():
    certs = pd.DataFrame([cert("G1", "E01", 100, "2025-01-01", "2025-01-31", serial_start="GEC1000", serial_end="GEC1099"),
                          cert("G2", "E02", 100, "2025-01-01", "2025-01-31", serial_start="GEC1050", serial_end="GEC1149")])
    with pytest.raises(CertificateError) as exc:
        carbon.account(ELEC, 2025, certificates=certs)
    msg = str(exc.value)
    assert "registered twice" in msg and "'G1'" in msg and "'G2'" in msg
    assert "enterprise E01" in msg and "enterprise E02" in msg and "1050..1099" in msg


def test_double_registration_rejected_even_without_electricity():
    certs = pd.DataFrame([cert("G1", "E01", 1, "2025-01-01", "2025-01-31", serial_start="GEC5", serial_end="GEC5"),
                          cert("G2", "E02", 1, "2025-01-01", "2025-01-31", serial_start="GEC5", serial_end="GEC5")])
    with pytest.raises(CertificateError, match="'G1'.*'G2'"):
        carbon.account(act(("E01", "2025-01-01", "diesel", "delivered", 1, "t")), 2025, certificates=certs)


def test_same_serial_and_same_id_twice_rejected():
    certs = pd.DataFrame([cert("G1", "E01", 1, "2025-01-01", "2025-01-31", serial_start="7", serial_end="7"),
                          cert("G1", "E01", 1, "2025-01-01", "2025-01-31", serial_start="7", serial_end="7")])
    with pytest.raises(CertificateError, match="id 'G1' is registered 2 times"):
        carbon.validate_certificates(certs)


def test_contract_bundled_serials_overlap_gec():
    certs = pd.DataFrame([cert("C1", "E01", 10, "2025-01-01", "2025-01-31", kind="green_power_contract",
                               serial_start="A00010", serial_end="A00019"),
                          cert("G9", "E01", 1, "2025-01-01", "2025-01-31", serial_start="A00019", serial_end="A00019")])
    with pytest.raises(CertificateError, match="'C1'.*'G9'"):
        carbon.validate_certificates(certs)


def test_non_overlapping_ranges_and_other_prefix_accepted():
    certs = pd.DataFrame([cert("G1", "E01", 100, "2025-01-01", "2025-01-31", serial_start="GEC1000", serial_end="GEC1099"),
                          cert("G2", "E01", 100, "2025-01-01", "2025-01-31", serial_start="GEC1100", serial_end="GEC1199"),
                          cert("G3", "E01", 100, "2025-01-01", "2025-01-31", serial_start="XYZ1000", serial_end="XYZ1099")])
    c, flags = carbon.validate_certificates(certs)
    assert len(c) == 3 and flags == []


def test_gec_without_serials_and_year_crossing_rejected():
    certs = pd.DataFrame([cert("G1", "E01", 10, "2024-12-01", "2025-01-31", serial_start="1", serial_end="10"),
                          cert("G2", "E01", 10, "2025-01-01", "2025-01-31")])
    with pytest.raises(CertificateError) as exc:
        carbon.validate_certificates(certs)
    assert "'G1': generation period crosses a year end" in str(exc.value)
    assert "'G2': a GEC needs serial_start and serial_end" in str(exc.value)


def test_generation_month_matching_covers_only_generation_months():
    # G1 generated in February: under generation_month it covers Feb only (50 MWh of its 120), 70 unapplied
    certs = pd.DataFrame([cert("G1", "E01", 120, "2025-02-01", "2025-02-28", serial_start="1", serial_end="120")])
    r = carbon.account(ELEC, 2025, certificates=certs, matching="generation_month")
    s = r.certificates.set_index("id")
    assert s.loc["G1", "applied_mwh"] == 50 and s.loc["G1", "unapplied_mwh"] == 70
    # E01 residual: Jan 100 MWh x 0.6096 = 60.96 tCO2
    assert fig(r, "E01", "scope2_market_t") == pytest.approx(60.96, rel=REL)


def test_certificates_never_cover_another_enterprise_or_year():
    # E03 has no grid import; a 2024 certificate does not cover 2025 consumption
    certs = pd.DataFrame([cert("G1", "E03", 100, "2025-01-01", "2025-01-31", serial_start="1", serial_end="100"),
                          cert("G0", "E01", 100, "2024-06-01", "2024-06-30", serial_start="101", serial_end="200")])
    r = carbon.account(ELEC, 2025, certificates=certs)
    assert r.certificates.set_index("id").loc["G1", "applied_mwh"] == 0
    assert "G0" not in set(r.certificates["id"])  # outside the reporting year
    assert r.park["scope2_market_t"] == pytest.approx(350 * 0.6096, rel=REL)


def test_allocation_oldest_vintage_first():
    # Jan cert (older vintage) fills Jan 100 then Feb 10; the Feb cert then gets Feb 40 of its 60
    certs = pd.DataFrame([cert("B", "E01", 60, "2025-02-01", "2025-02-28", serial_start="201", serial_end="260"),
                          cert("A", "E01", 110, "2025-01-01", "2025-01-31", serial_start="1", serial_end="110")])
    c, _ = carbon.validate_certificates(certs)
    grid = pd.DataFrame({"enterprise_id": "E01", "month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
                         "grid_mwh": [100.0, 50.0]})
    applied, summary, flags = carbon.allocate_certificates(c, grid)
    assert applied[["certificate_id", "mwh"]].values.tolist() == [["A", 100.0], ["A", 10.0], ["B", 40.0]]
    assert summary.set_index("id").loc["B", "unapplied_mwh"] == 20


@settings(max_examples=40, deadline=None)
@given(grid=st.lists(st.floats(0, 500), min_size=12, max_size=12),
       certs=st.lists(st.tuples(st.integers(1, 12), st.integers(1, 12), st.floats(0.5, 2000), st.sampled_from(["E1", "E2"])),
                      min_size=1, max_size=8))
def test_certificates_never_exceed_consumption(grid, certs):
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    g = pd.concat([pd.DataFrame({"enterprise_id": e, "month": months, "grid_mwh": np.array(grid) * k})
                   for e, k in (("E1", 1.0), ("E2", 0.5))], ignore_index=True)
    rows = [cert(f"C{i}", e, mwh, f"2025-{min(a, b):02d}-01", f"2025-{max(a, b):02d}-28", kind="green_power_contract")
            for i, (a, b, mwh, e) in enumerate(certs)]
    for matching in ("calendar_year", "generation_month"):
        c, _ = carbon.validate_certificates(pd.DataFrame(rows), matching)
        applied, summary, _ = carbon.allocate_certificates(c, g, matching)
        per_month = applied.groupby(["enterprise_id", "month"])["mwh"].sum()
        cap = g.set_index(["enterprise_id", "month"])["grid_mwh"]
        assert (per_month <= cap.reindex(per_month.index) + 1e-9).all()
        assert (summary["applied_mwh"] <= summary["mwh"] + 1e-9).all()
        assert (summary["unapplied_mwh"] >= -1e-9).all()
        own = applied.merge(c[["id", "enterprise_id"]], left_on="certificate_id", right_on="id")
        assert (own["enterprise_id_x"] == own["enterprise_id_y"]).all()


# ---------------------------------------------------------------------------------------------
# Restatement
# ---------------------------------------------------------------------------------------------
def test_restatement_changes_exactly_the_affected_figures():
    # published with the 2022 factors (pinned); restated with 2023 ones. E03 has only natural gas: unchanged.
    a = pd.concat([ELEC, act(("E03", "2025-01-01", "natural_gas", "delivered", 10_000, "m3"))], ignore_index=True)
    before = carbon.account(a, 2025, factor_ids={"electricity_location": "cn_avg_2022",
                                                 "electricity_residual": "cn_residual_2022"})
    assert before.selection == {"electricity_location": "cn_avg_2022", "electricity_residual": "cn_residual_2022"}
    # without --restate the pinned factors keep the published figures
    again = carbon.account(a, 2025, factor_ids=before.selection)
    assert carbon.restatement(before, again).empty
    after, diff = carbon.restate(before, a)
    assert after.selection == {"electricity_location": "cn_avg_2023", "electricity_residual": "cn_residual_2023"}
    changed = set(zip(diff["entity"], diff["figure"], strict=True))
    figs = {"scope2_location_t", "scope2_market_t", "total_t", "total_location_t", "total_market_t"}
    assert changed == {(e, f) for e in ("park", "E01", "E02") for f in figs}
    d = diff.set_index(["entity", "figure"])["change_t"]
    # E01 150 MWh: location 150 x (0.5306 - 0.5366) = -0.9; market 150 x (0.6096 - 0.5856) = +3.6
    assert d[("E01", "scope2_location_t")] == pytest.approx(-0.9, rel=1e-9)
    assert d[("E01", "scope2_market_t")] == pytest.approx(3.6, rel=1e-9)
    # park 350 MWh: -2.1 and +8.4
    assert d[("park", "total_location_t")] == pytest.approx(-2.1, rel=1e-9)
    assert d[("park", "scope2_market_t")] == pytest.approx(8.4, rel=1e-9)
    assert {f["role"]: (f["before_value"], f["after_value"]) for f in diff.attrs["factors"]} == {
        "electricity_location": (0.5366, 0.5306), "electricity_residual": (0.5856, 0.6096)}


def test_monthly_co2_feeds_targets():
    # E01 Jan: 100 MWh x 0.5306 = 53.06; Feb: 50 x 0.5306 = 26.53 (location); market all residual x 0.6096
    r = carbon.account(ELEC, 2025)
    m = carbon.monthly_co2(r).set_index(["enterprise_id", "month"])["co2_t"]
    assert m[("E01", pd.Timestamp("2025-01-01"))] == pytest.approx(53.06, rel=REL)
    assert m[("E01", pd.Timestamp("2025-02-01"))] == pytest.approx(26.53, rel=REL)
    mk = carbon.monthly_co2(r, "market").set_index(["enterprise_id", "month"])["co2_t"]
    assert mk[("E02", pd.Timestamp("2025-01-01"))] == pytest.approx(200 * 0.6096, rel=REL)
