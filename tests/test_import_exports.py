"""Real exports of Chinese meter systems and utility portals import as they are (issue 15):
the corpus of tests/data/exports (made by its make_corpus.py) with exact totals, and a clear zh/en
message for each bad variant."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from greenpark import ingest
from greenpark import park as park_mod
from greenpark.core import units
from greenpark.core.energy import parse_period
from greenpark.i18n import text
from greenpark.services import energy as energy_service
from greenpark.store import Store

from conftest import run

D = Path(__file__).parent / "data" / "exports"
NOW = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)


@pytest.fixture
def park():
    return park_mod.load(D / "park.toml")


@pytest.fixture
def store(park):
    s = Store(":memory:", park.park.timezone)
    with s.transaction():
        s.sync_park(park)
    yield s
    s.close()


def totals(store) -> dict[str, tuple[float, int]]:
    return {m: (round(v, 6), n) for m, v, n in store.con.execute(
        "SELECT meter_id, sum(value), count(*) FROM readings GROUP BY 1").fetchall()}


def local_times(store, meter: str) -> list[str]:
    return [r[0] for r in store.con.execute(
        "SELECT strftime(timezone('Asia/Shanghai', timezone('UTC', ts)), '%Y-%m-%d %H:%M') FROM readings "
        "WHERE meter_id = ? ORDER BY ts", [meter]).fetchall()]


@pytest.mark.parametrize(("name", "profile", "expected"), [
    # 表计编号/采集时间/读数/单位 in an .xlsx; 度 千瓦时 kwh KWH 万千瓦时
    ("chinese_headers.xlsx", None, {"K-EL-01": (12.0, 5)}),
    # GBK (the default of Chinese Windows software), 表号/抄表时间/用量/单位, 度 and MWH
    ("gbk.csv", None, {"K-EL-02": (60.25, 3)}),
    ("bom.csv", None, {"K-EL-02": (11.0, 2)}),
    # "1,234,008.0", full-width １２３４．５, " 12 ", "1,000,000.25"; "1,5" is no number without a profile
    ("numbers.csv", None, {"K-EL-01": (2235254.75, 4)}),
    # GBK, a title line, a units row, one column per transformer, 2025/03/05 00:15 timestamps
    ("wide_report.csv", "wide_report", {"K-EL-01": (4656.0, 96), "K-EL-02": (9312.0, 96)}),
    # monthly bill labelled 2025-01, 2025年2月, 202503, 2025/4, 2025年5月1日, 20250601 ...; 立方米 方 Nm³ 标方 m³
    ("gas_bill_2025.csv", None, {"K-GAS": (78000.0, 12)}),
    # water in 吨 t T 方 m³ 立方米 (1 m3 of water = 1 t)
    ("water_bill_2025.csv", None, {"K-WA": (7800.0, 12)}),
    ("daily.csv", None, {"K-EL-DAY": (24.0, 3)}),
    # an HTML table saved as .xls (导出Excel), gb2312, 计量点/数据时间/数值/计量单位, 吉焦 and GJ
    ("portal_export.xls", None, {"K-HT": (4.0, 2)}),
    # a real .xls (BIFF8, xlrd) on its second sheet, Excel dates, meter names, 吨 T t
    ("legacy.xls", "steam_xls", {"K-ST": (7.0, 3)}),
    # 01.03.2025 00:15, decimal comma, dot thousands, ';' separated
    ("ems_eu.csv", "ems_eu", {"K-EL-02": (1235.0, 2)}),
])
def test_export_imports_with_exact_totals(store, park, name, profile, expected):
    res = ingest.ingest_file(store, D / name, park=park, now=NOW, profile=profile)
    assert totals(store) == expected
    assert res.accepted == sum(n for _, n in expected.values())
    assert res.rejected == (1 if name == "numbers.csv" else 0), res.rejected_by_reason


def test_period_labels_are_the_period_they_name(store, park):
    """A monthly reading labelled 2025-01 is January's consumption (no first-instant-of-the-next-month
    trick); a daily one labelled 2025年3月1日 is that day's."""
    ingest.ingest_file(store, D / "gas_bill_2025.csv", park=park, now=NOW)
    ingest.ingest_file(store, D / "daily.csv", park=park, now=NOW)
    assert local_times(store, "K-GAS") == [f"2025-{m:02d}-01 00:00" for m in range(1, 13)]
    assert local_times(store, "K-EL-DAY") == ["2025-03-01 00:00", "2025-03-02 00:00", "2025-03-03 00:00"]
    ingest.ingest_file(store, D / "wide_report.csv", park=park, now=NOW, profile="wide_report")
    assert local_times(store, "K-EL-01")[0] == "2025-03-05 00:15"


def test_completeness_counts_months_of_a_bill(store, park):
    ingest.ingest_file(store, D / "gas_bill_2025.csv", park=park, now=NOW)
    out = energy_service.compute(store.con, park, parse_period("2025"))
    gas = next(m for m in out["lineage"]["meters"] if m["meter_id"] == "K-GAS")
    assert (gas["readings"], gas["expected_readings"], gas["completeness_pct"]) == (12, 12, 100.0)
    assert gas["expected_unit"] == "month" and gas["quantity"] == 78000.0
    water = next(m for m in out["lineage"]["meters"] if m["meter_id"] == "K-WA")
    assert water["expected_readings"] == 12 and water["readings"] == 0
    flags = [f for f in out["flags"] if f["code"] == "energy.incomplete_data" and f.get("meter_id") == "K-WA"]
    assert flags and "0 of 12 months" in flags[0]["message"]


def test_bad_variants_have_zh_and_en_messages(store, park, tmp_path):
    cases = [
        (D / "bad_headers.xlsx", {}, "import.missing_columns", "编号, 时刻, 数"),
        (D / "not_a_table.xls", {}, "import.not_readable", "not_a_table.xls"),
        (D / "gbk.csv", {"encoding": "utf-8"}, "import.bad_encoding", "utf-8"),
        (D / "gbk.csv", {"encoding": "klingon"}, "import.no_such_encoding", "klingon"),
        (D / "bom.csv", {"profile": "nope"}, "import.unknown_profile", "wide_report"),
        (D / "bom.csv", {"profile": "wide_report"}, "import.wide_no_time", "k-el-02"),
    ]
    (tmp_path / "x.ods").write_text("x")
    cases.append((tmp_path / "x.ods", {}, "import.unsupported_type", ".ods"))
    for path, kw, code, shown in cases:
        with pytest.raises(ingest.IngestError) as info:
            ingest.ingest_file(store, path, park=park, now=NOW, **kw)
        exc = info.value
        assert exc.message_code == code, (path, str(exc))
        assert shown in str(exc) and shown in exc.localized("zh"), (code, str(exc))
        assert exc.localized("zh") != exc.localized("en")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.localized("zh").replace(shown, ""))


def test_unknown_unit_names_meter_unit_and_spellings(store, park, tmp_path):
    res = ingest.ingest_file(store, D / "unknown_unit.csv", park=park, now=NOW)
    assert res.accepted == 1 and res.rejected_by_reason == {"unit_not_convertible": 1}
    detail = store.con.execute("SELECT detail FROM quarantine").fetchall()[0][0]
    assert "'千焦耳'" in detail and "meter unit kWh" in detail and "度" in detail and "千瓦时" in detail
    # in park.toml: the meter, its unit and the accepted spellings, in the catalogue's words
    toml = (D / "park.toml").read_text(encoding="utf-8").replace('unit = "GJ"', 'unit = "千焦耳"')
    (tmp_path / "park.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(Exception) as info:
        park_mod.load(tmp_path / "park.toml")
    assert "meter K-HT: unknown unit '千焦耳'" in str(info.value) and "度" in str(info.value)
    assert "无法识别单位" in text("import.unknown_unit", "zh", meter="K-HT", unit="千焦耳", accepted="")


@pytest.mark.parametrize(("spelling", "unit", "carrier", "factor"), [
    ("kwh", "kWh", "electricity", 1), ("KWH", "kWh", "electricity", 1), ("千瓦时", "kWh", "electricity", 1),
    ("度", "kWh", "electricity", 1), ("万千瓦时", "kWh", "electricity", 1e4), ("MWh", "kWh", "electricity", 1e3),
    ("立方米", "m3", "natural_gas", 1), ("方", "m3", "natural_gas", 1), ("m³", "m3", "natural_gas", 1),
    ("Nm³", "m3", "natural_gas", 1), ("标方", "m3", "natural_gas", 1), ("万标方", "m3", "natural_gas", 1e4),
    ("吨", "t", "steam", 1), ("t", "t", "steam", 1), ("T", "t", "steam", 1), ("T", "kg", "steam", 1e3),
    ("GJ", "MJ", "heat", 1e3), ("m³", "t", "water", 1), ("方", "t", "water", 1), ("立方米", "t", "softened_water", 1),
])
def test_unit_spellings(spelling, unit, carrier, factor):
    assert units.conversion_factor_for(spelling, unit, carrier) == pytest.approx(factor, rel=1e-12)


def test_m3_is_t_only_for_water():
    with pytest.raises(units.UnitError):
        units.conversion_factor_for("m3", "t", "steam")
    assert units.canonical("m³", "water") == "t" and units.canonical("m³", "natural_gas") == "m3"


def test_cli_imports_gbk_and_wide_and_speaks_chinese(tmp_path):
    for f in ("park.toml", "gbk.csv", "wide_report.csv", "bad_headers.xlsx"):
        shutil.copy(D / f, tmp_path / f)
    p = run("ingest", "gbk.csv", "--format", "json", cwd=tmp_path)
    assert '"accepted": 3' in p.stdout and "Traceback" not in p.stderr
    p = run("ingest", "wide_report.csv", "--profile", "wide_report", "--encoding", "gbk", "--format", "json",
            cwd=tmp_path)
    assert '"accepted": 192' in p.stdout
    env = {**os.environ, "GREENPARK_LANG": "zh", "COLUMNS": "200"}
    import subprocess
    import sys

    q = subprocess.run([sys.executable, "-m", "greenpark.cli", "ingest", "bad_headers.xlsx"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert q.returncode == 1 and "Traceback" not in q.stderr + q.stdout
    assert "缺少列" in q.stdout, q.stdout


def test_wide_file_takes_the_bulk_path_and_bad_cells_keep_their_lines(tmp_path, store):
    """A wide file written long goes through the bulk path; with a bad cell it takes the general path
    and the quarantined reading names the line of the original file."""
    toml = (D / "park.toml").read_text(encoding="utf-8").replace('unit = "度"\n\n# an energy', '\n# an energy')
    (tmp_path / "park.toml").write_text(toml, encoding="utf-8")
    park = park_mod.load(tmp_path / "park.toml")
    res = ingest.ingest_file(store, D / "wide_report.csv", park=park, now=NOW, profile="wide_report")
    assert res.path == "bulk" and res.accepted == 192
    assert totals(store) == {"K-EL-01": (4656.0, 96), "K-EL-02": (9312.0, 96)}
    lines = (D / "wide_report.csv").read_bytes().decode("gb18030").splitlines()
    lines[3] = lines[3].replace(",1,", ",x1,")  # line 4 of the file: the first data line
    lines[5] = lines[5].replace("00:45", "01:00")  # line 6 repeats the quarter hour of line 7
    bad = tmp_path / "wide_bad.csv"
    bad.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    s2 = Store(":memory:", park.park.timezone)
    with s2.transaction():
        s2.sync_park(park)
    res = ingest.ingest_file(s2, bad, park=park, now=NOW, profile="wide_report")
    assert res.path == "general"
    got = s2.con.execute("SELECT line_no, reason, raw FROM quarantine ORDER BY line_no, raw").fetchall()
    assert got[0] == (4, "unparsable_value", "K-EL-01,2025/03/05 00:15,x1")
    assert {r[1] for r in got[1:]} == {"duplicate_in_file"} and {r[0] for r in got[1:]} == {6, 7}
    s2.close()


def test_profile_meter_map_must_name_meters(tmp_path):
    toml = (D / "park.toml").read_text(encoding="utf-8").replace('"2#变压器" = "K-EL-02"', '"2#变压器" = "K-EL-99"')
    (tmp_path / "park.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(Exception, match="profiles 'wide_report': meters maps to K-EL-99"):
        park_mod.load(tmp_path / "park.toml")


def test_api_upload_reads_profiles_and_encodings(tmp_path):
    from fastapi.testclient import TestClient

    from greenpark.api import create_app
    from greenpark.services import users

    for f in ("park.toml", "wide_report.csv", "gbk.csv", "legacy.xls"):
        shutil.copy(D / f, tmp_path / f)
    park = park_mod.load(tmp_path / "park.toml")
    db = str(tmp_path / "greenpark.duckdb")
    s = Store(db, park.park.timezone)
    with s.transaction() as con:
        s.sync_park(park)
        users.add_user(con, park, "admin", "park_admin", created_by=users.cli_principal().username)
        token, _ = users.create_token(con, "admin", "tests")
    s.close()
    with TestClient(create_app(park, db)) as client:
        h = {"Authorization": f"Bearer {token}"}
        up = lambda name, q="": client.post(f"/api/v1/imports{q}", headers=h,  # noqa: E731
                                            files={"file": (name, (tmp_path / name).read_bytes())})
        r = up("wide_report.csv", "?profile=wide_report")
        assert r.status_code == 201 and r.json()["accepted"] == 192, r.text
        r = up("legacy.xls", "?profile=steam_xls")
        assert r.status_code == 201 and r.json()["accepted"] == 3, r.text
        r = up("gbk.csv", "?profile=nope")
        assert r.status_code == 400 and "no import profile 'nope'" in r.text, r.text
        r = up("gbk.csv", "?encoding=utf-8")
        assert r.status_code == 400 and "line 1 is not utf-8 text" in r.text, r.text
        r = up("gbk.csv")
        assert r.status_code == 201 and r.json()["accepted"] == 3, r.text


def test_xlsx_sheet_header_row_and_misnamed_xlsx(tmp_path, store):
    import openpyxl

    toml = (D / "park.toml").read_text(encoding="utf-8") + (
        '\n[profiles.second_sheet]\nsheet = 2\nheader_row = 2\nskip_rows = 1\nmeters = { "总表" = "K-EL-01" }\n')
    (tmp_path / "park.toml").write_text(toml, encoding="utf-8")
    park = park_mod.load(tmp_path / "park.toml")
    wb = openpyxl.Workbook()
    wb.active.title = "封面"
    ws = wb.create_sheet("数据")
    ws.append(["某厂电量报表"])
    ws.append(["仪表编号", "时间", "读数"])
    ws.append(["", "", "kWh"])
    ws.append(["总表", "2025-03-10 00:15", "1,500.5"])
    ws.append(["总表", "2025-03-10 00:30", "bad"])
    wb.save(tmp_path / "report.xls")  # an .xlsx saved under the old name
    res = ingest.ingest_file(store, tmp_path / "report.xls", park=park, now=NOW, profile="second_sheet")
    assert totals(store) == {"K-EL-01": (1500.5, 1)} and res.rejected_by_reason == {"unparsable_value": 1}
    assert store.con.execute("SELECT line_no FROM quarantine").fetchall() == [(5,)]
    bad = dataclass_replace_sheet(park, "nope")
    with pytest.raises(ingest.IngestError, match="no sheet 'nope'; sheets: 封面, 数据"):
        ingest.ingest_file(store, tmp_path / "report.xls", park=bad, now=NOW, profile="second_sheet", force=True)


def dataclass_replace_sheet(park, sheet):
    prof = park.profiles["second_sheet"].model_copy(update={"sheet": sheet})
    return park.model_copy(update={"profiles": {**park.profiles, "second_sheet": prof}})


def test_apostrophe_text_marker_of_spreadsheets_is_no_part_of_a_number(store, park, tmp_path):
    """Spreadsheets (and greenpark's own CSV exports, which guard formula-like cells such as -3 with
    a leading apostrophe) mark numbers kept as text with ' : the number is read, not quarantined."""
    f = tmp_path / "marked.csv"
    f.write_text("meter_id,timestamp,value,unit\nK-EL-01,2025-03-05 00:15,'12.5,kWh\n"
                 "K-EL-01,2025-03-05 00:30,\"'1,000\",kWh\nK-EL-01,2025-03-05 00:45,'x,kWh\n", encoding="utf-8")
    res = ingest.ingest_file(store, f, park=park, now=NOW)
    assert totals(store) == {"K-EL-01": (1012.5, 2)}
    assert res.rejected_by_reason == {"unparsable_value": 1}
