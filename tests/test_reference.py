"""Golden tests: every GB/T 2589-2020 coefficient shipped, against standards.md (status included)."""

import datetime as dt

import pytest

from greenpark import reference

# (id, value [kgce/unit], unit, status) as transcribed in shared/reference/standards.md §1.2-1.3
GOLDEN = [
    ("electricity_equivalent", 0.1229, "kgce/kWh", "C2+"),
    ("heat_equivalent", 0.03412, "kgce/MJ", "C2+"),
    ("steam_low_pressure", 0.1286, "kgce/kg", "C2+"),
    ("natural_gas_oilfield", 1.3300, "kgce/m3", "C2+"),
    ("natural_gas_gasfield", 1.2143, "kgce/m3", "C1"),
    ("diesel", 1.4571, "kgce/kg", "C2+"),
    ("gasoline", 1.4714, "kgce/kg", "C2+"),
    ("raw_coal", 0.7143, "kgce/kg", "C1"),
    ("cleaned_coal", 0.9000, "kgce/kg", "C1"),
    ("coke", 0.9714, "kgce/kg", "C1"),
    ("crude_oil", 1.4286, "kgce/kg", "C1"),
    ("fuel_oil", 1.4286, "kgce/kg", "C1"),
    ("lpg", 1.7143, "kgce/kg", "UNVERIFIED"),
    ("kerosene", 1.4714, "kgce/kg", "UNVERIFIED"),
    ("fresh_water", 0.0857, "kgce/t", "C1"),
    ("softened_water", 0.4857, "kgce/t", "C1"),
    ("deaerated_water", 0.9714, "kgce/t", "C1"),
    ("compressed_air", 0.0400, "kgce/m3", "UNVERIFIED"),
]


@pytest.mark.parametrize(("cid", "value", "unit", "status"), GOLDEN)
def test_gbt2589_coefficient_matches_golden(cid, value, unit, status):
    row = reference.load("gbt2589_coefficients").get(cid)
    assert row["value"] == value
    assert row["unit"] == unit
    assert row["status"] == status
    assert "GB/T 2589-2020" in row["source"]


def test_every_shipped_coefficient_has_a_golden_value():
    assert sorted(reference.load("gbt2589_coefficients").ids) == sorted(g[0] for g in GOLDEN)


def test_calorific_equivalent_of_electricity_is_consistent_with_its_ncv():
    # 3600 kJ/kWh / 29307.6 kJ/kgce = 0.12283 -> 0.1229 as printed (the table rounds up the 4th decimal)
    row = reference.load("gbt2589_coefficients").get("electricity_equivalent")
    assert abs(row["ncv_kj"] / 29307.6 - row["value"]) < 1e-4


def test_unknown_id_error_lists_valid_ids():
    with pytest.raises(reference.ReferenceError, match="Valid ids: .*diesel"):
        reference.load("gbt2589_coefficients").get("dieselx")


def test_every_carrier_default_coefficient_exists():
    coefs = reference.load("gbt2589_coefficients")
    for c in reference.load("carriers").rows:
        assert coefs.get(c["default_coefficient"])["carrier"] == c["id"]


@pytest.mark.parametrize(("standard", "day", "edition"), [
    ("HJ 633", dt.date(2026, 2, 28), "2012"), ("HJ 633", dt.date(2026, 3, 1), "2026"),
    ("GB/T 32150", dt.date(2026, 6, 30), "2015"), ("GB/T 32150", dt.date(2026, 7, 1), "2025"),
])
def test_edition_selected_by_date(standard, day, edition):
    assert reference.edition_for(standard, day) == edition
