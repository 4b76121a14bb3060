"""Import: one test per reason code, idempotency, corrections, cumulative registers, formats, rollups."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from greenpark import ingest
from greenpark.ingest import REASONS, ingest_file

from conftest import NOW, write


def q(store, sql, *params):
    return store.con.execute(sql, list(params)).fetchall()


def quarantined(store):
    return q(store, "SELECT line_no, reason, raw FROM quarantine ORDER BY line_no")


GOOD = "meter_id,timestamp,value\nE1-EL,2025-01-01 00:15,10\n"


@pytest.mark.parametrize(("line", "reason"), [
    ("E9-EL,2025-01-01 00:30,1", "unknown_meter"),
    ("E1-EL,not a time,1", "unparsable_timestamp"),
    ("E1-EL,,1", "unparsable_timestamp"),
    ("E1-EL,2025-01-01 00:30,abc", "unparsable_value"),
    ("E1-EL,2025-01-01 00:30,", "unparsable_value"),
    ("E1-EL,2025-01-01 00:30,NaN", "unparsable_value"),
    ("E1-EL,2025-01-01 00:30,-5", "negative_consumption"),
    ("E1-EL,2030-01-01 00:30,5", "timestamp_in_future"),
    ("E1-EL,2025-01-01 00:15,10", "duplicate_in_file"),
    ("E1-EL,2025-01-01 00:30,5,m3", "unit_not_convertible"),
    ("E1-EL,2025-01-01 00:30,5,kWh,extra", "malformed_row"),
])
def test_each_reason_code_quarantines_the_row_with_its_line(tmp_path, store, line, reason):
    header_unit = ",unit" if line.count(",") >= 3 else ""
    text = f"meter_id,timestamp,value{header_unit}\nE1-EL,2025-01-01 00:15,10{',' if header_unit else ''}\n{line}\n"
    f = write(tmp_path / "in.csv", text)
    res = ingest_file(store, f, now=NOW)
    assert reason in REASONS
    assert res.rejected_by_reason == {reason: 1}
    assert res.accepted == 1
    (row,) = quarantined(store)
    assert row[0] == 3 and row[1] == reason
    assert row[2].split(",")[:2] == line.split(",")[:2]
    assert q(store, "SELECT count(*) FROM readings") == [(1,)]


def test_conflicting_duplicates_are_all_quarantined(tmp_path, store):
    f = write(tmp_path / "d.csv", GOOD + "E1-EL,2025-01-01 00:15,11\nE1-EL,2025-01-01 00:30,1\n")
    res = ingest_file(store, f, now=NOW)
    assert res.rejected_by_reason == {"duplicate_in_file": 2}
    assert q(store, "SELECT value FROM readings") == [(1.0,)]


def test_offsets_and_naive_timestamps_and_units(tmp_path, store):
    f = write(tmp_path / "u.csv", """
        meter_id,timestamp,value,unit
        E1-EL,2025-01-01T00:15:00+08:00,0.5,MWh
        E1-EL,2024-12-31T16:30:00Z,2,kWh
        E1-EL,2025-01-01 00:45,3,
        E1-NG,2025-01-01 01:00,7,Nm3
        """)
    res = ingest_file(store, f, now=NOW)
    assert res.rejected == 0
    rows = q(store, "SELECT meter_id, strftime(ts, '%Y-%m-%d %H:%M'), value FROM readings ORDER BY 1, 2")
    assert rows == [("E1-EL", "2024-12-31 16:15", 500.0), ("E1-EL", "2024-12-31 16:30", 2.0),
                    ("E1-EL", "2024-12-31 16:45", 3.0), ("E1-NG", "2024-12-31 17:00", 7.0)]


def snapshot(store):
    tables = ["readings", "registers", "readings_history", "rollup_hourly", "rollup_daily", "rollup_monthly"]
    snap = {t: sorted(q(store, f"SELECT * FROM {t}"), key=repr) for t in (*tables, "quarantine")}
    snap["imports"] = q(store, "SELECT import_id, source, checksum, rows_read, accepted, unchanged, corrected, rejected "
                               "FROM imports ORDER BY import_id")
    return snap


def test_importing_the_same_file_twice_changes_nothing(tmp_path, store):
    f = write(tmp_path / "a.csv", GOOD + "E1-EL,2025-01-01 00:30,abc\nE2-EL,2025-01-01 00:00,900\n")
    first = ingest_file(store, f, now=NOW)
    before = snapshot(store)
    again = ingest_file(store, f, now=NOW)
    assert again.skipped_as_duplicate_of == first.import_id
    assert snapshot(store) == before
    # forced re-processing records an import but changes no reading or rollup
    forced = ingest_file(store, f, now=NOW, force=True)
    assert (forced.accepted, forced.unchanged, forced.corrected) == (0, 2, 0)
    after = snapshot(store)
    for t in ("readings", "registers", "readings_history", "rollup_hourly", "rollup_daily", "rollup_monthly"):
        assert after[t] == before[t]


def test_correction_keeps_old_value_in_history_and_updates_rollups(tmp_path, store):
    ingest_file(store, write(tmp_path / "a.csv", GOOD + "E1-EL,2025-01-01 00:30,5\n"), now=NOW)
    res = ingest_file(store, write(tmp_path / "b.csv", "meter_id,timestamp,value\nE1-EL,2025-01-01 00:30,7\n"), now=NOW)
    assert (res.accepted, res.unchanged, res.corrected) == (0, 0, 1)
    assert q(store, "SELECT value, import_id FROM readings WHERE value <> 10") == [(7.0, 2)]
    assert q(store, "SELECT old_value, old_import_id, new_value, new_import_id FROM readings_history") == [(5.0, 1, 7.0, 2)]
    assert q(store, "SELECT quantity, n_readings FROM rollup_hourly") == [(17.0, 2)]
    assert q(store, "SELECT quantity FROM rollup_monthly") == [(17.0,)]


def test_interval_end_label_puts_midnight_reading_in_previous_day(tmp_path, store):
    f = write(tmp_path / "m.csv", "meter_id,timestamp,value\nE1-EL,2025-01-01 00:00,4\nE1-DSL,2025-01-01 00:00,9\n")
    ingest_file(store, f, now=NOW)
    days = dict(q(store, "SELECT meter_id, strftime(day, '%Y-%m-%d') FROM rollup_daily"))
    # E1-EL labels interval ends (park default): 00:00 closes 31 Dec; the diesel log labels starts
    assert days == {"E1-EL": "2024-12-31", "E1-DSL": "2025-01-01"}


def test_cumulative_register_rollover_and_replacement(tmp_path, store):
    # E2-EL: multiplier 2, rolls over at 1000, replaced at 03:00 (old final 12, new initial 5)
    f = write(tmp_path / "c.csv", """
        meter_id,timestamp,value
        E2-EL,2025-01-01 00:00,900
        E2-EL,2025-01-01 01:00,950
        E2-EL,2025-01-01 02:00,990
        E2-EL,2025-01-01 02:30,10
        E2-EL,2025-01-01 02:45,5
        E2-EL,2025-01-01 03:00,7
        E2-EL,2025-01-01 04:00,17
        """)
    res = ingest_file(store, f, now=NOW)
    assert res.rejected_by_reason == {"negative_consumption": 1}
    vals = q(store, f"SELECT strftime({store.local_time_sql('ts')}, '%H:%M'), value FROM readings ORDER BY ts")
    # 50x2, 40x2, rollover (1010-990)x2, replacement (12-10)+(7-5) = 4 -> x2, (17-7)x2
    assert vals == [("01:00", 100.0), ("02:00", 80.0), ("02:30", 40.0), ("03:00", 8.0), ("04:00", 20.0)]
    assert all(v >= 0 for _, v in vals)


def test_register_glitch_does_not_create_a_spike(tmp_path, store):
    f = write(tmp_path / "g.csv", """
        meter_id,timestamp,value
        E2-EL,2025-01-01 00:00,100
        E2-EL,2025-01-01 00:15,110
        E2-EL,2025-01-01 00:30,3
        E2-EL,2025-01-01 00:45,120
        """)
    ingest_file(store, f, now=NOW)
    assert q(store, "SELECT value FROM readings ORDER BY ts") == [(20.0,), (20.0,)]


def test_parquet_and_excel_use_the_same_path(tmp_path, store):
    import openpyxl

    pq.write_table(pa.table({"meter_id": ["E1-EL", "E1-EL"], "timestamp": pa.array(
        [dt.datetime(2025, 1, 1, 0, 15), dt.datetime(2025, 1, 1, 0, 30)]), "value": [1.0, -1.0]}), tmp_path / "p.parquet")
    res = ingest_file(store, tmp_path / "p.parquet", now=NOW)
    assert (res.accepted, res.rejected_by_reason) == (1, {"negative_consumption": 1})
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["meter_id", "timestamp", "value", "unit"])
    ws.append(["E1-NG", dt.datetime(2025, 1, 1, 1, 0), 3.5, "m3"])
    ws.append(["E1-NG", "yesterday", 3.5, "m3"])
    wb.save(tmp_path / "x.xlsx")
    res = ingest_file(store, tmp_path / "x.xlsx", now=NOW)
    assert (res.accepted, res.rejected_by_reason) == (1, {"unparsable_timestamp": 1})
    assert q(store, "SELECT line_no, reason FROM quarantine ORDER BY import_id") == [(3, "negative_consumption"),
                                                                                   (3, "unparsable_timestamp")]


def test_missing_columns_is_a_clear_error(tmp_path, store):
    f = write(tmp_path / "bad.csv", "meter,time,v\nE1-EL,2025-01-01,1\n")
    with pytest.raises(ingest.IngestError, match="missing column.*meter_id, timestamp, value"):
        ingest_file(store, f, now=NOW)
    assert q(store, "SELECT count(*) FROM imports") == [(0,)]


def test_rollups_equal_a_fresh_aggregation_of_readings(tmp_path, store):
    lines = ["meter_id,timestamp,value"] + [
        f"E1-EL,2025-01-{d:02d} {h:02d}:{m:02d},{(d * 7 + h * 3 + m) % 11}" for d in range(1, 4) for h in range(24)
        for m in (0, 15, 30, 45)]
    ingest_file(store, write(tmp_path / "r.csv", "\n".join(lines) + "\n"), now=NOW)
    ingest_file(store, write(tmp_path / "s.csv", "meter_id,timestamp,value\nE1-EL,2025-01-02 10:15,100\n"), now=NOW)
    fresh = q(store, """
        SELECT CAST(timezone('Asia/Shanghai', timezone('UTC', ts)) - INTERVAL 1 MICROSECOND AS DATE) AS day,
               sum(value), count(*)
        FROM readings GROUP BY 1 ORDER BY 1""")
    assert q(store, "SELECT day, quantity, n_readings FROM rollup_daily ORDER BY day") == fresh
    assert q(store, "SELECT sum(quantity) FROM rollup_monthly") == q(store, "SELECT sum(value) FROM readings")


def test_bulk_csv_path_and_general_path_store_the_same(tmp_path, park):
    from greenpark.store import Store

    lines = ["meter_id,timestamp,value"] + [f"{m},2025-02-{d:02d} {h:02d}:{q:02d},{(d * 13 + h * 7 + q) % 17 / 3}"
                                            for m in ("E1-EL", "E1-EL-AIR", "E1-DSL") for d in range(1, 4)
                                            for h in range(24) for q in (0, 15, 30, 45)]
    csv = write(tmp_path / "clean.csv", "\n".join(lines) + "\n")
    rows = [ln.split(",") for ln in lines[1:]]
    pq.write_table(pa.table({"meter_id": [r[0] for r in rows], "timestamp": [r[1] for r in rows],
                             "value": [float(r[2]) for r in rows]}), tmp_path / "clean.parquet")
    stores = []
    for f, path in ((csv, "bulk"), (tmp_path / "clean.parquet", "general")):
        s = Store(":memory:", park.park.timezone)
        with s.transaction():
            s.sync_park(park)
        res = ingest_file(s, f, now=NOW)
        assert res.path == path and res.accepted == len(rows) and res.rejected == 0
        stores.append(s)
    for t in ("readings", "rollup_hourly", "rollup_daily", "rollup_monthly"):
        cols = "meter_id, ts, value" if t == "readings" else "*"
        a, b = (q(s, f"SELECT {cols} FROM {t} ORDER BY ALL") for s in stores)
        assert a == b, t


def test_bulk_path_rejects_carry_line_numbers(tmp_path, store):
    f = write(tmp_path / "b.csv", "meter_id,timestamp,value\nE1-EL,2025-01-01 00:15,1\nE1-EL,2025-01-01 00:30,1,2\n"
                                  "E1-EL,2025-01-01 00:30,x\nE1-EL,2025-01-01 00:45,2\n")
    res = ingest_file(store, f, now=NOW)
    # (the bulk path is DuckDB's; PostgreSQL stores take the general path with the same outcome)
    assert res.path == ("bulk" if store.engine == "duckdb" else "general") and res.accepted == 2
    assert q(store, "SELECT line_no, reason, raw FROM quarantine ORDER BY line_no") == [
        (3, "malformed_row", "E1-EL,2025-01-01 00:30,1,2"), (4, "unparsable_value", "E1-EL,2025-01-01 00:30,x")]
    assert q(store, "SELECT detail FROM quarantine WHERE line_no = 4") == [("value 'x'",)]


def test_general_path_line_numbers_count_the_malformed_lines_before(tmp_path, store):
    # a negative value sends the file down the general path; the malformed line 3 must not shift
    # the line numbers of the rows after it
    f = write(tmp_path / "g.csv", "meter_id,timestamp,value\nE1-EL,2025-01-01 00:15,1\nE1-EL,2025-01-01 00:30,1,2\n"
                                  "E1-EL,2025-01-01 00:30,-4\nE1-EL,2025-01-01 00:45,2\nE7-EL,2025-01-01 00:45,2\n")
    res = ingest_file(store, f, now=NOW)
    assert res.path == "general" and res.accepted == 2
    assert q(store, "SELECT line_no, reason, raw FROM quarantine ORDER BY line_no") == [
        (3, "malformed_row", "E1-EL,2025-01-01 00:30,1,2"), (4, "negative_consumption", "E1-EL,2025-01-01 00:30,-4"),
        (6, "unknown_meter", "E7-EL,2025-01-01 00:45,2")]


@pytest.mark.parametrize("line", ["E7-EL,2025-01-01 00:30,1", "E2-EL,2025-01-01 00:30,1", "E1-EL,2025-01-01 00:30,-1",
                                  "E1-EL,2025-01-01T00:30:00+08:00,1", "E1-EL,2025-01-01 00:15,1",
                                  "E1-EL,2025-01-01 00:30,", "E1-EL,,1", "E1-EL,2025-01-01 00:30,NaN",
                                  "E1-EL,2025-01-01 00:30,inf", "E1-EL,2030-01-01 00:30,1"])
def test_rows_the_bulk_path_cannot_take_send_the_file_down_the_general_path(tmp_path, store, line):
    f = write(tmp_path / "g.csv", f"meter_id,timestamp,value\nE1-EL,2025-01-01 00:15,1\n{line}\n")
    res = ingest_file(store, f, now=NOW)
    assert res.path == "general"
    assert q(store, "SELECT count(*) FROM imports") == [(1,)]
    assert res.accepted + res.rejected == 2


def test_huge_values_take_the_general_path_with_the_same_result(tmp_path, store, park):
    # values beyond the bulk path's 64-bit decimals (10^12), allowed by a park.toml [plausibility] range
    from greenpark.park import Plausibility, PlausibleRange

    big = park.model_copy(update={"plausibility": Plausibility(carriers={"electricity": PlausibleRange(max=1e13)})})
    f = write(tmp_path / "h.csv", "meter_id,timestamp,value\nE1-EL,2025-01-01 00:15,2000000000000.5\n"
                                  "E1-EL,2025-01-01 00:30,1\n")
    res = ingest_file(store, f, now=NOW, park=big)
    assert res.path == "general" and res.accepted == 2
    assert q(store, "SELECT quantity FROM rollup_hourly") == [(2000000000001.5,)]
