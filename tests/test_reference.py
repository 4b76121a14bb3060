"""Golden tests: every GB/T 2589-2020 coefficient shipped, against standards.md (status included)."""

import datetime as dt
from pathlib import Path

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
        if c["energy"]:  # non-energy carriers (reused water, recovered heat) borrow a coefficient's unit only
            assert coefs.get(c["default_coefficient"])["carrier"] == c["id"]
        else:
            assert coefs.get(c["default_coefficient"])["unit"].endswith("/" + c["unit"])


@pytest.mark.parametrize(("standard", "day", "edition"), [
    ("HJ 633", dt.date(2026, 2, 28), "2012"), ("HJ 633", dt.date(2026, 3, 1), "2026"),
    ("GB/T 32150", dt.date(2026, 6, 30), "2015"), ("GB/T 32150", dt.date(2026, 7, 1), "2025"),
])
def test_edition_selected_by_date(standard, day, edition):
    assert reference.edition_for(standard, day) == edition


# ------------------------------------------------------------------ sources travel with the data (issue 10 #6)
DATA_SETS = [n for n in reference.catalog() if n != "sources"]


@pytest.mark.parametrize("name", DATA_SETS)
def test_every_row_cites_sources_that_exist(name):
    known = {r["id"] for r in reference.load("sources").rows}
    rows = reference.source_ids(name)
    assert rows
    for rid, ids in rows:
        assert ids, f"{name}/{rid}: no source id"
        missing = [i for i in ids if i not in known]
        assert not missing, f"{name}/{rid}: source ids {missing} not in sources.csv"


def test_sources_table_is_complete():
    rows = reference.load("sources").rows
    kinds = {"standard", "notice", "guideline", "method", "software", "secondary", "greenpark"}
    for r in rows:
        assert r["citation"] and r["kind"] in kinds and r["read"] in {"official text", "secondary", "not read"}, r
    used = {i for n in DATA_SETS for _, ids in reference.source_ids(n) for i in ids}
    # every primary document a row relies on is a standard, notice, guideline, method, software or greenpark's own rule
    primaries = {ids[0] for n in DATA_SETS for _, ids in reference.source_ids(n)}
    assert all(reference.source(i)["kind"] != "secondary" for i in primaries)
    assert used <= {r["id"] for r in rows}


def test_lineage_prints_full_citations():
    row = reference.load("carbon_electricity_factors").get("cn_avg_2023")
    src = reference.citation(row)["source"]
    assert src.startswith("生态环境部、国家统计局 2023年电力二氧化碳排放因子")
    for part in ("MEE / NBS", "公告2025年第47号", "2025-12-31", "mee.gov.cn/xxgk2018/xxgk/xxgk01/202512/t20251231_1139517.html",
                 "[mee-nbs-2023]", "read in:"):
        assert part in src
    lim = reference.load("gb3838_limits").get("gb3838-2002.tp.river")
    assert lim["source"].startswith("GB 3838-2002 地表水环境质量标准") and lim["clause"] == "GB 3838-2002 Table 1 (basic items)"


def test_unknown_source_id_lists_valid_ids():
    with pytest.raises(reference.ReferenceError, match="gb3838-2002"):
        reference.source("gb3838")


def test_no_reference_to_files_users_do_not_have():
    import greenpark

    root = Path(greenpark.__file__).parent
    hits = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.suffix not in (".pyc", ".png")
            and ("standards.md" in p.read_text(encoding="utf-8", errors="ignore")
                 or "peers.md" in p.read_text(encoding="utf-8", errors="ignore"))]
    assert hits == []
