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
    assert carriers["steam"]["quantity"] == pytest.approx(2000.0) and carriers["steam"]["unit"] == "kg"
    assert carriers["water"]["quantity"] == pytest.approx(40.0) and not carriers["water"]["counted_in_total"]
    assert accounts["park"]["tce"] == pytest.approx(EXPECTED_KGCE / 1000, rel=1e-12)


def test_submeters_break_down_without_double_counting(accounts):
    rows = {(r["owner"], r["carrier"], r["end_use"]): r["quantity"] for r in accounts["breakdowns"]["end_use"]}
    assert rows[("E1", "electricity", "compressed air")] == pytest.approx(300.0)
    assert rows[("E1", "electricity", "(unmetered remainder)")] == pytest.approx(700.0)
    elec_total = sum(v for (o, c, _), v in rows.items() if o == "E1" and c == "electricity")
    assert elec_total == pytest.approx(1150.0)


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
