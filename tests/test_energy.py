"""GB/T 2589 energy accounts: a worked example computed by hand."""

from __future__ import annotations

import pytest

from greenpark.core import energy as core_energy
from greenpark.ingest import ingest_file
from greenpark.services import energy

from conftest import NOW, write

# One month (2025-03) of E1, all values in the meters' units:
#   E1-EL   grid electricity  1000 kWh   (sub-meter E1-EL-AIR 300 kWh: compressed air)
#   E1-PV   rooftop PV         200 kWh   (renewable generation)
#   E1-EXP  export to grid      50 kWh
#   E1-NG   natural gas        100 m3
#   E1-ST   steam                2 t     = 2000 kg
#   E1-DSL  diesel              10 kg
#   E1-WA   water               40 t     (working medium: reported, not counted)
DATA = """
meter_id,timestamp,value
E1-EL,2025-03-10 10:15,600
E1-EL,2025-03-20 10:15,400
E1-EL-AIR,2025-03-10 10:15,300
E1-PV,2025-03-10 12:15,200
E1-EXP,2025-03-10 12:15,50
E1-NG,2025-03-10 11:00,100
E1-ST,2025-03-10 11:00,2
E1-DSL,2025-03-10 00:00,10
E1-WA,2025-03-10 11:00,40
"""

# electricity consumed = 1000 + 200 - 50 = 1150 kWh -> x 0.1229 = 141.335 kgce
# natural gas 100 m3 x 1.3300 = 133.0 kgce; steam 2000 kg x 0.1286 = 257.2 kgce; diesel 10 x 1.4571 = 14.571 kgce
# comprehensive = 141.335 + 133.0 + 257.2 + 14.571 = 546.106 kgce = 0.546106 tce
# equal value: electricity at 300 gce/kWh = 1150 x 0.300 = 345.0 kgce -> 345.0 + 133.0 + 257.2 + 14.571 = 749.771 kgce
# renewable: (200 - 50) kWh x 0.1229 = 18.435 kgce -> share 18.435 / 546.106
EXPECTED_KGCE = 141.335 + 133.0 + 257.2 + 14.571


@pytest.fixture
def accounts(tmp_path, store, park):
    ingest_file(store, write(tmp_path / "m.csv", DATA), now=NOW)
    return energy.compute(store.con, park, core_energy.parse_period("2025-03"))


def test_worked_example_comprehensive_consumption(accounts):
    e1 = next(e for e in accounts["enterprises"] if e["id"] == "E1")
    assert e1["tce"] == pytest.approx(EXPECTED_KGCE / 1000, rel=1e-12)
    assert e1["tce_equal_value"] == pytest.approx((345.0 + 133.0 + 257.2 + 14.571) / 1000, rel=1e-12)
    assert e1["renewable_share"] == pytest.approx(150 * 0.1229 / EXPECTED_KGCE, rel=1e-12)
    carriers = {c["carrier"]: c for c in e1["carriers"]}
    assert carriers["electricity"]["quantity"] == pytest.approx(1150.0)
    # quantities in the meter's unit (steam metered in t), the coefficient in its own unit
    assert carriers["steam"]["quantity"] == pytest.approx(2.0) and carriers["steam"]["unit"] == "t"
    assert carriers["steam"]["coefficient"] == 0.1286 and carriers["steam"]["coefficient_unit"] == "kgce/kg"
    assert carriers["water"]["quantity"] == pytest.approx(40.0) and not carriers["water"]["counted_in_total"]
    assert accounts["park"]["tce"] == pytest.approx(EXPECTED_KGCE / 1000, rel=1e-12)


def test_submeters_break_down_without_double_counting(accounts):
    rows = {(r["owner"], r["carrier"], r["end_use"]): r["quantity"] for r in accounts["breakdowns"]["end_use"]}
    assert rows[("E1", "electricity", "compressed air")] == pytest.approx(300.0)
    assert rows[("E1", "electricity", "(unmetered remainder)")] == pytest.approx(700.0)
    elec_total = sum(v for (o, c, _), v in rows.items() if o == "E1" and c == "electricity")
    assert elec_total == pytest.approx(1150.0)
    # PV generation less export is one row, labelled as what it is (not "(unassigned)")
    assert rows[("E1", "electricity", "(on-site generation, self-consumed)")] == pytest.approx(150.0)


def test_working_media_count_the_same_way_in_every_view(accounts):
    e1 = next(e for e in accounts["enterprises"] if e["id"] == "E1")
    water = next(c for c in e1["carriers"] if c["carrier"] == "water")
    assert not water["counted_in_total"]
    for view in ("end_use", "building"):
        rows = [r for r in accounts["breakdowns"][view] if r["owner"] == "E1"]
        w = [r for r in rows if r["carrier"] == "water"]
        assert w and all(r["tce"] is None and not r["counted_in_total"] and r["unit"] == "t" for r in w)
        assert w[0]["quantity"] == pytest.approx(40.0)
        # the counted rows of a breakdown add up to the enterprise's comprehensive consumption
        assert sum(r["tce"] for r in rows if r["tce"] is not None) == pytest.approx(e1["tce"], rel=1e-12)
        steam = next(r for r in rows if r["carrier"] == "steam")
        assert steam["quantity"] == pytest.approx(2.0) and steam["unit"] == "t"


def test_lineage_names_meters_readings_and_coefficients(accounts):
    lin = accounts["lineage"]
    m = {x["meter_id"]: x for x in lin["meters"]}
    assert m["E1-EL"]["readings"] == 2 and m["E1-EL"]["expected_readings"] == 31 * 96
    assert m["E1-EL-AIR"]["role"] == "sub-meter" and m["E1-EXP"]["role"] == "export"
    coefs = {c["id"]: c for c in lin["coefficients"]}
    assert coefs["electricity_equivalent"]["value"] == 0.1229 and coefs["electricity_equivalent"]["status"] == "C2+"
    assert lin["equal_value_coal_rate"]["value"] == 300.0
    assert {"period", "park", "enterprises", "lineage"} <= set(accounts)
    assert {"tce", "tce_equal_value", "renewable_share"} <= set(accounts["park"])


def test_intensity_only_for_full_years(tmp_path, store, park):
    ingest_file(store, write(tmp_path / "m.csv", DATA), now=NOW)
    year = energy.compute(store.con, park, core_energy.parse_period("2025"))
    e1 = next(e for e in year["enterprises"] if e["id"] == "E1")
    assert e1["intensity"]["tce_per_10k_cny_value_added"] == pytest.approx(EXPECTED_KGCE / 1000 / 250.0)
    assert e1["products"][0]["kgce_per_unit"] == pytest.approx(EXPECTED_KGCE / 120.0)
    month = next(e for e in energy.compute(store.con, park, core_energy.parse_period("2025-03"))["enterprises"]
                 if e["id"] == "E1")
    assert "full years" in month["intensity"]["note"]


@pytest.mark.parametrize(("text", "start", "end"), [("2025", "2025-01-01", "2026-01-01"),
                                                    ("2025-Q4", "2025-10-01", "2026-01-01"),
                                                    ("2025-03", "2025-03-01", "2025-04-01")])
def test_parse_period(text, start, end):
    p = core_energy.parse_period(text)
    assert (p.start.isoformat(), p.end.isoformat()) == (start, end)


def test_bad_period_is_a_clear_error():
    with pytest.raises(core_energy.PeriodError, match="not a year"):
        core_energy.parse_period("2025-13")


# ---- issue 16 #14b: a bulk import with the default "end" label; month boundaries ---------------------
END_LABEL_PARK = """
[park]
id = "ep"
name_zh = "期末标签园区"
name_en = "End-label park"

[[enterprises]]
id = "E1"
name_zh = "甲厂"
name_en = "Plant A"
industry = "die_casting"

[[enterprises]]
id = "E2"
name_zh = "乙厂"
name_en = "Plant B"
industry = "electronics"

[[meters]]
id = "E1-EL"
owner = "E1"
carrier = "electricity"
unit = "kWh"
interval_minutes = 60

[[meters]]
id = "E1-EL-AIR"
owner = "E1"
carrier = "electricity"
unit = "kWh"
interval_minutes = 60
parent = "E1-EL"

[[meters]]
id = "E2-NG"
owner = "E2"
carrier = "natural_gas"
unit = "m3"
interval_minutes = 60
"""

# hourly readings labelled at the END of their hour (park default): the reading stamped 00:00 on the
# 1st is the consumption of 23:00-24:00 on the last day of the previous month
END_LABEL_READINGS = """meter_id,timestamp,value
E1-EL,2025-01-31 23:00,10
E1-EL,2025-02-01 00:00,20
E1-EL,2025-02-01 01:00,40
E1-EL,2025-03-01 00:00,80
E1-EL,2025-03-01 01:00,160
E1-EL-AIR,2025-02-01 00:00,5
E2-NG,2025-01-01 00:00,7
E2-NG,2025-02-01 00:00,3
E2-NG,2025-04-01 00:00,11
"""

# by hand, per month (top-level meters; the sub-meter E1-EL-AIR is part of E1-EL):
#   E1 electricity: Jan 10 + 20 = 30, Feb 40 + 80 = 120, Mar 160 [kWh]
#   E2 natural gas: Dec 2024 7, Jan 3, Feb 0, Mar 11 [m3]
#   kgce: Jan 30 x 0.1229 + 3 x 1.3300 = 7.677; Feb 120 x 0.1229 = 14.748; Mar 160 x 0.1229 + 11 x 1.3300 = 34.294
END_LABEL_MONTHS = {"2025-01": 30 * 0.1229 + 3 * 1.33, "2025-02": 120 * 0.1229, "2025-03": 160 * 0.1229 + 11 * 1.33}


@pytest.fixture(params=["duckdb", "postgresql"])
def end_label_store(request, tmp_path):
    from greenpark import park as park_mod
    from greenpark.store import Store

    (tmp_path / "park.toml").write_text(END_LABEL_PARK, encoding="utf-8")
    (tmp_path / "r.csv").write_text(END_LABEL_READINGS, encoding="utf-8")
    p = park_mod.load(tmp_path / "park.toml")
    assert {m.interval_label for m in p.meters} == {None} and p.park.interval_label == "end"
    s = Store(":memory:" if request.param == "duckdb" else request.getfixturevalue("pg_url"), p.park.timezone)
    with s.transaction():
        s.sync_park(p)
    res = ingest_file(s, tmp_path / "r.csv", now=NOW)
    assert res.rejected == 0 and res.accepted == 9
    assert res.path == ("bulk" if request.param == "duckdb" else "general")  # DuckDB takes the bulk path
    yield s, p
    s.close()


def test_end_label_reading_at_midnight_on_the_1st_is_previous_month(end_label_store):
    import datetime as dt

    store, p = end_label_store
    acc = energy.compute(store.con, p, core_energy.parse_period("2025"))
    months = {b["month"]: b for b in acc["breakdowns"]["month"]}
    assert sorted(months) == ["2025-01", "2025-02", "2025-03"]
    for m, kgce in END_LABEL_MONTHS.items():
        assert months[m]["kgce"] == pytest.approx(kgce, rel=1e-12)
    assert months["2025-01"]["carriers"] == {"electricity": pytest.approx(30.0), "natural_gas": pytest.approx(3.0)}
    # every month names every carrier of the period (0 where it had none): aligned table/CSV columns
    assert months["2025-02"]["carriers"] == {"electricity": pytest.approx(120.0), "natural_gas": 0.0}
    rows = core_energy.rows_for(acc, core_energy.By.month)
    assert [list(r) for r in rows] == [["month", "tce", "electricity", "natural_gas"]] * 3
    assert acc["park"]["tce"] == pytest.approx(sum(END_LABEL_MONTHS.values()) / 1000, rel=1e-12)

    # the carbon and targets input: the same months, the reading of 2025-01-01 00:00 in December 2024
    act = energy.monthly_activity(store.con, p, dt.date(2024, 1, 1), dt.date(2026, 1, 1)).to_pylist()
    got = {(r["enterprise_id"], r["month"].isoformat()[:7]): r["quantity"] for r in act}
    assert got == {("E1", "2025-01"): pytest.approx(30.0), ("E1", "2025-02"): pytest.approx(120.0),
                   ("E1", "2025-03"): pytest.approx(160.0), ("E2", "2024-12"): pytest.approx(7.0),
                   ("E2", "2025-01"): pytest.approx(3.0), ("E2", "2025-03"): pytest.approx(11.0)}
    tce = energy.monthly_energy_tce(store.con, p, dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    by_month = tce.groupby(tce["month"].dt.strftime("%Y-%m"))["energy_tce"].sum().to_dict()
    assert by_month == {m: pytest.approx(k / 1000, rel=1e-12) for m, k in END_LABEL_MONTHS.items()}


def test_park_carriers_sum_every_quantity_of_the_enterprises(tmp_path, store, park):
    """The park's carrier entries add the enterprises' quantities in every unit they carry (the
    quantity in the coefficient's unit too: it once kept the first enterprise's value)."""
    # E2-EL is a register x 2: 100 -> 225 adds (225 - 100) x 2 = 250 kWh to what the first reading brings
    registers = "E2-EL,2025-03-11 10:00,100\nE2-EL,2025-03-11 10:15,225\n"
    ingest_file(store, write(tmp_path / "m.csv", DATA + registers), now=NOW)
    acc = energy.compute(store.con, park, core_energy.parse_period("2025-03"))
    e2 = next(c for e in acc["enterprises"] if e["id"] == "E2" for c in e["carriers"] if c["carrier"] == "electricity")
    assert e2["quantity"] >= 250.0
    elec = next(c for c in acc["park"]["carriers"] if c["carrier"] == "electricity")
    assert elec["quantity"] == pytest.approx(1150.0 + e2["quantity"])
    assert elec["quantity_coefficient_unit"] == pytest.approx(1150.0 + e2["quantity"])
    steam = next(c for c in acc["park"]["carriers"] if c["carrier"] == "steam")
    assert steam["quantity"] == pytest.approx(2.0) and steam["quantity_coefficient_unit"] == pytest.approx(2000.0)
    for c in acc["park"]["carriers"]:
        per_enterprise = [x for e in acc["enterprises"] for x in e["carriers"] if x["carrier"] == c["carrier"]]
        for key in ("quantity", "quantity_coefficient_unit", "kgce"):
            assert c[key] == pytest.approx(sum(x[key] for x in per_enterprise), rel=1e-12), (c["carrier"], key)
