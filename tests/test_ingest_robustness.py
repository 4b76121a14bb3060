"""Import robustness (issue 16 items 3, 4, 6, 15): extreme but parseable input gets a quarantine
reason on every path, plausibility limits are configurable, --force is idempotent for the
quarantine and does not revert later corrections, files are bounded before parsing."""

from __future__ import annotations

import time
import zipfile

import pyarrow as pa
import pytest

from greenpark import ingest
from greenpark.ingest import REASONS, ingest_batch, ingest_file
from greenpark.park import Plausibility, PlausibleRange
from greenpark.services import environment

from conftest import NOW, write


def q(store, sql, *params):
    return store.con.execute(sql, list(params)).fetchall()


GOOD = "meter_id,timestamp,value\nE1-EL,2025-01-01 00:15,10\n"


@pytest.mark.parametrize(("line", "reason"), [
    ("E1-EL,2025-01-01 00:30,1e33", "value_out_of_range"),
    ("E1-EL,2025-01-01 00:30,1e308", "value_out_of_range"),
    ("E1-EL,0001-01-01 00:30,1", "timestamp_too_early"),
    ("E1-EL,1970-01-01 00:00,1", "timestamp_too_early"),
    ("E1-EL,1899-12-30 00:00,1", "timestamp_too_early"),
    ("E1-EL,1999-12-31 23:45,1", "timestamp_too_early"),
    ("E2-EL,2025-01-01 00:30,1e300", "value_out_of_range"),   # a cumulative register
    ("E1-EL,infinity,1", "unparsable_timestamp"),   # DuckDB parses it, but it is no instant (PostgreSQL: COPY failed)
    ("E1-EL,-infinity,1", "unparsable_timestamp"),
])
def test_extreme_values_and_clock_resets_are_quarantined_on_the_file_path(tmp_path, store, line, reason):
    res = ingest_file(store, write(tmp_path / "x.csv", GOOD + line + "\n"), now=NOW)
    assert reason in REASONS
    assert res.rejected_by_reason == {reason: 1} and res.accepted == 1
    assert q(store, "SELECT line_no, reason FROM quarantine") == [(3, reason)]
    assert q(store, "SELECT sum(quantity) FROM rollup_monthly") == [(10.0,)]
    assert q(store, "SELECT count(*) FROM readings") == [(1,)]


@pytest.mark.parametrize("ts", ["infinity", "-infinity", "+infinity"])
def test_an_infinite_timestamp_is_unparsable_on_the_push_path(store, ts):
    """Found by schemathesis on PostgreSQL: an infinite timestamp reached COPY and gave a 500."""
    table = pa.table({"meter_id": ["E1-EL"], "timestamp": [ts], "value": [1.0]})
    res = ingest_batch(store, None, table, source="push:test", now=NOW)
    assert res.rejected_by_reason == {"unparsable_timestamp": 1}
    assert q(store, "SELECT count(*) FROM readings") == [(0,)]


@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_not_a_number(store, value):
    table = pa.table({"meter_id": ["E1-EL"], "timestamp": ["2025-01-01T00:15:00"], "value": [value]})
    res = ingest_batch(store, None, table, source="push:test", now=NOW)
    assert res.rejected_by_reason == {"unparsable_value": 1}
    assert q(store, "SELECT count(*) FROM readings") == [(0,)]
    assert q(store, "SELECT detail FROM quarantine") == [(f"value '{str(value).lower()}'",)]


def test_park_toml_plausibility_overrides_the_defaults(tmp_path, store, park):
    custom = park.model_copy(update={"plausibility": Plausibility(
        earliest="1990-01-01", carriers={"electricity": PlausibleRange(max=100)})})
    text = GOOD + "E1-EL,1995-06-01 00:15,5\nE1-EL,2025-01-01 00:30,150\nE1-NG,2025-01-01 01:00,150\n"
    res = ingest_file(store, write(tmp_path / "p.csv", text), now=NOW, park=custom)
    assert res.rejected_by_reason == {"value_out_of_range": 1} and res.accepted == 3
    (detail,) = q(store, "SELECT detail FROM quarantine")[0]
    assert "150" in detail and "100" in detail


def test_the_range_is_in_the_carriers_unit_whatever_the_meters_unit(tmp_path, park):
    from greenpark.store import Store

    # E1-ST is metered in t, the steam carrier's unit is kg: 2e6 t = 2e9 kg is above the default 1e9 kg
    s = Store(":memory:", park.park.timezone)
    with s.transaction():
        s.sync_park(park)
    text = "meter_id,timestamp,value\nE1-ST,2025-01-01 01:00,900000\nE1-ST,2025-01-01 02:00,2000000\n"
    res = ingest_file(s, write(tmp_path / "s.csv", text), now=NOW)
    assert res.rejected_by_reason == {"value_out_of_range": 1} and res.accepted == 1
    s.close()


def test_bulk_path_applies_the_same_plausibility(tmp_path, store):
    text = GOOD + "E1-EL,2025-01-01 00:30,5e9\nE1-EL,1970-01-01 00:30,5\n"
    res = ingest_file(store, write(tmp_path / "b.csv", text), now=NOW)
    assert res.path == "general"
    assert res.rejected_by_reason == {"timestamp_too_early": 1, "value_out_of_range": 1}


def test_an_observation_of_1e308_is_quarantined_and_the_air_record_still_computes(env_store, env_park):
    rows = [("AQ1", f"2025-01-01T{h:02d}:00:00", "pm25", "35") for h in range(1, 24)]
    rows += [("AQ1", "2025-01-02T01:00:00", "pm25", "1e308"), ("WX1", "2025-01-02T01:00:00", "temperature", "99"),
             ("AQ1", "1970-01-01T00:00:00", "pm25", "30")]
    table = pa.table({k: [r[i] for r in rows] for i, k in enumerate(("station_id", "timestamp", "parameter", "value"))})
    res = ingest_batch(env_store, env_park, table, source="push:gw", now=NOW)
    assert res.rejected_by_reason == {"timestamp_too_early": 1, "value_out_of_range": 2}
    assert q(env_store, "SELECT max(value) FROM observations") == [(35.0,)]
    hourly = environment.air_hourly(env_store.con, env_park.park.timezone, NOW.date().replace(year=2025, day=1),
                                    NOW.date().replace(year=2025, day=31))
    assert len(hourly) == 23 and hourly["value"].max() == 35.0


# -- --force: quarantine idempotent, later corrections kept --------------------------------------
def test_force_reimport_does_not_duplicate_quarantine_rows(tmp_path, store):
    f = write(tmp_path / "a.csv", GOOD + "E9-EL,2025-01-01 00:30,1\nE1-EL,2025-01-01 00:45,abc\n")
    first = ingest_file(store, f, now=NOW)
    again = ingest_file(store, f, now=NOW, force=True)
    assert first.rejected == again.rejected == 2 and again.unchanged == 1
    assert q(store, "SELECT count(*) FROM quarantine") == [(2,)]
    assert q(store, "SELECT count(*) FROM imports") == [(2,)]


def test_force_reimport_of_an_older_file_keeps_later_corrections(tmp_path, store):
    old = write(tmp_path / "old.csv", GOOD + "E1-EL,2025-01-01 00:30,20\n")
    fix = write(tmp_path / "fix.csv", "meter_id,timestamp,value\nE1-EL,2025-01-01 00:30,25\n")
    ingest_file(store, old, now=NOW)
    assert ingest_file(store, fix, now=NOW).corrected == 1
    res = ingest_file(store, old, now=NOW, force=True)
    assert (res.kept, res.corrected, res.unchanged) == (1, 0, 1)
    assert q(store, "SELECT value FROM readings ORDER BY ts") == [(10.0,), (25.0,)]
    assert q(store, "SELECT sum(quantity) FROM rollup_hourly") == [(35.0,)]
    assert q(store, "SELECT count(*) FROM readings_history") == [(1,)]


# -- files bounded before parsing ------------------------------------------------------------------
def test_non_utf8_file_is_read_in_its_encoding_or_named_by_line(tmp_path, store):
    """A GBK file is detected and read (issue 15); given as UTF-8 it is refused naming its line."""
    f = tmp_path / "gbk.csv"
    f.write_bytes(b"meter_id,timestamp,value\nE1-EL,2025-01-01 00:15,10\n" + "电表,x,1\n".encode("gbk"))
    res = ingest_file(store, f, now=NOW)
    assert res.accepted == 1 and res.rejected_by_reason == {"unknown_meter": 1}
    with pytest.raises(ingest.IngestError, match="line 3 is not utf-8 text"):
        ingest_file(store, f, now=NOW, encoding="utf-8", force=True)


@pytest.mark.parametrize(("n", "message"), [(1000, "1,003 columns"), (100_000, "header line is longer")])
def test_header_with_too_many_columns_is_refused_before_parsing(tmp_path, store, n, message):
    f = tmp_path / "wide.csv"
    f.write_text("meter_id,timestamp,value," + ",".join(f"x{i}" for i in range(n)) + "\n", encoding="utf-8")
    with pytest.raises(ingest.IngestError, match=message):
        ingest_file(store, f, now=NOW)


def test_a_line_of_60k_fields_is_one_malformed_row_quickly(tmp_path, store):
    lines = [GOOD.rstrip("\n")] + ["E1-EL,2025-01-01 00:30," + ",".join(["1"] * 60_000)] + \
            [f"E1-EL,2025-01-02 {h:02d}:00,1" for h in range(24)]
    f = tmp_path / "long.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    t0 = time.perf_counter()
    res = ingest_file(store, f, now=NOW)
    assert time.perf_counter() - t0 < 10
    assert res.rejected_by_reason == {"malformed_row": 1} and res.accepted == 25
    (raw,) = q(store, "SELECT raw FROM quarantine")[0]
    assert len(raw) <= 1000


def test_many_rejected_lines_are_handled_in_linear_time(tmp_path, store):
    import datetime as dt

    t0 = dt.datetime(2025, 1, 1)
    lines = ["meter_id,timestamp,value"] + [
        (f"E1-EL,{t0 + dt.timedelta(minutes=15 * i):%Y-%m-%d %H:%M},1" if i % 2 else "a,b,c,d")
        for i in range(20_000)]
    f = tmp_path / "many.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    t0 = time.perf_counter()
    res = ingest_file(store, f, now=NOW)
    assert time.perf_counter() - t0 < 30
    assert res.rejected_by_reason == {"malformed_row": 10_000} and res.accepted == 10_000
    assert q(store, "SELECT min(line_no), max(line_no) FROM quarantine") == [(2, 20_000)]


def _xlsx(path, dimension: str, extra: bytes = b"", sheet_rows: str | None = None):
    rows = sheet_rows or ('<row r="1"><c r="A1" t="inlineStr"><is><t>meter_id</t></is></c>'
                          '<c r="B1" t="inlineStr"><is><t>timestamp</t></is></c>'
                          '<c r="C1" t="inlineStr"><is><t>value</t></is></c></row>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                   '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                   'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                   'relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                   'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                   '</Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet xmlns="http://schemas.'
                   f'openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>'
                   f'{rows}</sheetData></worksheet>')
        if extra:
            z.writestr("xl/media/padding.bin", extra)
    return path


def test_xlsx_declaring_a_huge_sheet_is_refused_before_reading(tmp_path, store):
    f = _xlsx(tmp_path / "dim.xlsx", "A1:XFD1048576")
    t0 = time.perf_counter()
    with pytest.raises(ingest.IngestError, match="declares"):
        ingest_file(store, f, now=NOW)
    assert time.perf_counter() - t0 < 5


def test_xlsx_zip_bomb_is_refused_before_inflating(tmp_path, store):
    f = _xlsx(tmp_path / "bomb.xlsx", "A1:C1", extra=b"\0" * (1 << 24))
    small = ingest.ReadLimits(max_xlsx_inflated_bytes=1 << 20)
    with pytest.raises(ingest.IngestError, match="inflates"):
        ingest_file(store, f, now=NOW, read_limits=small)


def test_a_small_valid_xlsx_still_imports(tmp_path, store):
    rows = ('<row r="1"><c r="A1" t="inlineStr"><is><t>meter_id</t></is></c><c r="B1" t="inlineStr"><is><t>'
            'timestamp</t></is></c><c r="C1" t="inlineStr"><is><t>value</t></is></c></row>'
            '<row r="2"><c r="A2" t="inlineStr"><is><t>E1-EL</t></is></c><c r="B2" t="inlineStr"><is><t>'
            '2025-01-01 00:15</t></is></c><c r="C2"><v>7</v></c></row>')
    res = ingest_file(store, _xlsx(tmp_path / "ok.xlsx", "A1:C2", sheet_rows=rows), now=NOW)
    assert res.accepted == 1 and q(store, "SELECT value FROM readings") == [(7.0,)]


def test_messages_name_the_file_not_the_server_path(tmp_path, store):
    f = tmp_path / "secret-dir-123"
    f.mkdir()
    g = write(f / "upload.pdf", "x")
    with pytest.raises(ingest.IngestError) as exc:
        ingest_file(store, g, now=NOW, name="report.pdf")
    assert "secret-dir-123" not in str(exc.value) and "report.pdf" in str(exc.value)


def test_the_templates_plausibility_block_parses_when_uncommented():
    import textwrap
    from importlib import resources

    from greenpark import park as park_mod

    from conftest import SMALL_PARK

    text = resources.files("greenpark").joinpath("templates/park.toml").read_text(encoding="utf-8")
    block = text[text.index("[plausibility]"):].split("\n\n", 1)[0]
    lines = [ln[2:] if ln.startswith("# ") and " = " in ln.split("#")[1] else ln for ln in block.splitlines()]
    p = park_mod.parse(textwrap.dedent(SMALL_PARK) + "\n" + "\n".join(lines) + "\n", source="template")
    limits = ingest.plausibility(p)
    assert str(limits.earliest) == "2000-01-01" and limits.carrier("electricity") == (None, 5e6)
    assert limits.parameter("pm25") == (None, 2000) and limits.register == (None, 1e12)
    assert limits.carrier("steam") == (None, 1e9) and limits.parameter("ph") == (0, 14)


def test_plausibility_names_unknown_carriers_and_parameters():
    import pydantic

    with pytest.raises(pydantic.ValidationError, match="plausibility.carriers: 'electric' is not one of"):
        Plausibility(carriers={"electric": PlausibleRange(max=1)})
    with pytest.raises(pydantic.ValidationError, match="plausibility.parameters: 'pm2.5'"):
        Plausibility(parameters={"pm2.5": PlausibleRange(max=1)})
    assert Plausibility(parameters={"*": PlausibleRange(max=1), "pm25": PlausibleRange(max=2)})
