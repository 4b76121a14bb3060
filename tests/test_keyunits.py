"""Key-unit monitoring indicators without Spark (greenpark.core.keyunits): unit-product energy of
quota-covered products, on a hand-computed example."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from greenpark.core import energy as core_energy
from greenpark.core import keyunits

JAN, FEB, MAR = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)


def test_unit_product_energy_is_energy_over_output_of_one_product():
    assert core_energy.unit_product_energy(36000.0, 100.0, 1) == 360.0
    assert math.isnan(core_energy.unit_product_energy(36000.0, 100.0, 2))  # not allocated
    assert math.isnan(core_energy.unit_product_energy(36000.0, 0.0, 1))
    assert core_energy.unit_product_note(100.0, 2) == core_energy.NOT_ALLOCATED
    assert core_energy.unit_product_note(0.0, 1) == core_energy.NO_OUTPUT
    assert core_energy.unit_product_note(100.0, 1) is None
    v = core_energy.unit_product_energy(pd.Series([1000.0, 1000.0]), pd.Series([4.0, 0.0]), pd.Series([1, 1]))
    assert v[0] == 250.0 and math.isnan(v[1])


def test_complete_months_end_on_or_before_the_last_day_with_data():
    assert keyunits.complete_months(2025, dt.date(2025, 2, 28)) == [JAN, FEB]
    assert keyunits.complete_months(2025, dt.date(2025, 2, 27)) == [JAN]
    assert keyunits.complete_months(2024, dt.date(2024, 12, 31))[-1] == dt.date(2024, 12, 1)


def _example():
    # unit energy per month [kgce]; March is in progress (data up to 10 March)
    months = pd.DataFrame({"unit_id": ["A"] * 3 + ["B"] * 3 + ["C"] * 3 + ["D"] * 3,
                           "month": [JAN, FEB, MAR] * 4,
                           "energy_kgce": [36000.0, 30000.0, 5000.0, 13000.0, 12600.0, 4000.0,
                                           50000.0, 40000.0, 9000.0, 7000.0, 7000.0, 2000.0]})
    out = {"A-P": [100, 80, 90], "B-Q": [100, 100, 100], "C-R": [10, 10, 10], "C-S": [5, 5, 5]}
    products = pd.DataFrame([{"unit_id": pid[0], "product_id": pid, "name_zh": "产品", "name_en": "product",
                              "unit": "t", "month": dt.date(2025, m + 1, 1), "output": float(v[m]) if m < 3 else 50.0}
                             for pid, v in out.items() for m in range(12)])
    quotas = pd.DataFrame({"product_id": ["A-P", "B-Q", "C-R", "C-S"], "standard": ["synthetic demo value"] * 4,
                           "grade1": [300.0, 100.0, 1000.0, 1000.0], "grade2": [400.0, 120.0, 2000.0, 2000.0],
                           "quota_source": ["synthetic demo value"] * 4})
    return months, products, quotas


def test_product_energy_hand_computed():
    months, products, quotas = _example()
    ann, pm, flags = keyunits.product_energy(months, products, quotas, keyunits.complete_months(2025, dt.date(2025, 3, 10)))
    a = ann.set_index("product_id")
    # A: (36000 + 30000) kgce / (100 + 80) t = 366.6667 kgce/t: between grade 1 (300) and grade 2 (400)
    assert (a.loc["A-P", "months"], a.loc["A-P", "output"], a.loc["A-P", "energy_kgce"]) == (2, 180.0, 66000.0)
    assert round(a.loc["A-P", "kgce_per_unit"], 4) == 366.6667 and a.loc["A-P", "grade"] == "grade2"
    # B: (13000 + 12600) / 200 = 128.0 > grade 2 (120): flagged
    assert a.loc["B-Q", "kgce_per_unit"] == 128.0 and a.loc["B-Q", "grade"] == "above_grade2"
    assert flags == [{"code": "keyunit.product_above_grade2", "severity": "warning", "message": flags[0]["message"],
                      "ids": ["B:B-Q"]}]
    # C makes two products: energy is not split between them (None, not zero)
    for pid in ("C-R", "C-S"):
        assert pd.isna(a.loc[pid, "kgce_per_unit"]) and pd.isna(a.loc[pid, "energy_kgce"])
        assert a.loc[pid, "grade"] is None and a.loc[pid, "note"] == core_energy.NOT_ALLOCATED
    assert a.loc["C-R", "output"] == 20.0
    # D has no products: no rows
    assert set(ann["unit_id"]) == {"A", "B", "C"} and set(pm["unit_id"]) == {"A", "B", "C"}
    # per month: January 36000 / 100 = 360.0, February 30000 / 80 = 375.0; March in progress: none
    m = pm[pm["product_id"] == "A-P"].set_index("month")
    assert m.loc["2025-01-01T00:00", "kgce_per_unit"] == 360.0 and m.loc["2025-02-01T00:00", "kgce_per_unit"] == 375.0
    assert pd.isna(m.loc["2025-03-01T00:00", "kgce_per_unit"]) and m.loc["2025-03-01T00:00", "output"] == 90.0
    assert m.loc["2025-03-01T00:00", "note"] == keyunits.MONTH_IN_PROGRESS
    assert len(pm) == 4 * 3  # four products x the report's three months (not the twelve declared)


def test_product_energy_counting_an_incomplete_month_is_flagged():
    months, products, quotas = _example()
    months["completeness_ok"] = True
    months.loc[(months["unit_id"].isin(["A", "C"])) & (months["month"] == JAN), "completeness_ok"] = False
    ann, _, flags = keyunits.product_energy(months, products, quotas, [JAN, FEB])
    a = ann.set_index("product_id")
    assert (a.loc["A-P", "months_incomplete"], a.loc["B-Q", "months_incomplete"]) == (1, 0)
    # C has no unit-product energy (two products): nothing to warn about
    assert {f["code"]: f["ids"] for f in flags}["keyunit.product_energy_incomplete"] == ["A:A-P"]


def test_product_energy_without_products_or_quotas_has_no_rows():
    months, products, quotas = _example()
    for p, q in ((products.iloc[0:0], quotas), (products, quotas.iloc[0:0])):
        ann, pm, flags = keyunits.product_energy(months, p, q, [JAN])
        assert ann.empty and pm.empty and flags == []
        assert list(ann.columns) == keyunits.PRODUCT_COLUMNS


def test_no_complete_month_gives_no_annual_value():
    months, products, quotas = _example()
    ann, _, _ = keyunits.product_energy(months, products, quotas, [])
    a = ann.set_index("product_id")
    assert a.loc["A-P", "months"] == 0 and pd.isna(a.loc["A-P", "kgce_per_unit"]) and a.loc["A-P", "grade"] is None


@pytest.mark.parametrize("grade", ["grade1", "grade2", "above_grade2"])
def test_grades_have_labels(grade):
    from greenpark.findings import label

    assert label("grade", grade, "zh") != grade
