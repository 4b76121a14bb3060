"""The store's table families (store/readings.py, quarantine.py, imports.py, observations.py) on
both engines: the functions the ingest path, the API, the CLI and the services call."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from greenpark.ingest import ingest_batch, ingest_file
from greenpark.store import imports, observations, quarantine, readings

from conftest import NOW, write

FILE = """meter_id,timestamp,value
E1-EL,2025-01-01 00:15,10
E1-EL,2025-01-01 00:30,20
E9-EL,2025-01-01 00:30,1
E1-EL,2025-01-01 00:45,abc
"""


def _load(tmp_path, store):
    first = ingest_file(store, write(tmp_path / "a.csv", FILE), now=NOW)
    fix = ingest_batch(store, None, pa.table({"meter_id": ["E1-EL"], "timestamp": ["2025-01-01T00:30:00"],
                                              "value": ["25"]}), source="push:t", now=NOW)
    return first, fix


def test_import_log(tmp_path, store):
    first, fix = _load(tmp_path, store)
    assert imports.find_import(store.con, first.checksum) == first.import_id
    assert imports.imports_of(store.con, first.checksum) == [first.import_id]
    assert imports.find_import(store.con, "blake3:none") is None
    log = imports.list_imports(store.con)
    assert [r["import_id"] for r in log] == [fix.import_id, first.import_id]
    one = imports.get_import(store.con, first.import_id)
    assert one["source"] == "a.csv" and one["rejected"] == 2
    assert one["rejected_by_reason"] == {"unknown_meter": 1, "unparsable_value": 1}
    assert imports.get_import(store.con, 999) is None
    assert store.imports(1)[0]["import_id"] == fix.import_id


def test_quarantine_listing_resolution_and_keys(tmp_path, store):
    first, fix = _load(tmp_path, store)
    rows = quarantine.list_rows(store.con)
    assert [(r["line_no"], r["reason"]) for r in rows] == [(4, "unknown_meter"), (5, "unparsable_value")]
    assert quarantine.count_by_reason(store.con) == {"unknown_meter": 1, "unparsable_value": 1}
    with store.transaction():
        quarantine.resolve(store.con, [(first.import_id, 4)], fix.import_id, "fix", 1)
    assert [r["line_no"] for r in quarantine.list_rows(store.con)] == [5]
    done = quarantine.list_rows(store.con, status="resolved")
    assert [(r["line_no"], r["resolved_by_import"], r["resolution"]) for r in done] == [(4, fix.import_id, "fix")]
    assert len(quarantine.list_rows(store.con, status="all", limit=1, offset=1)) == 1
    assert quarantine.count_by_reason(store.con, status="all", reason="unknown_meter") == {"unknown_meter": 1}
    found = quarantine.rows_for_keys(store.con, [(first.import_id, 4), (first.import_id, 99)])
    assert list(found) == [(first.import_id, 4)] and found[(first.import_id, 4)]["resolved_by_import"] == fix.import_id
    assert [r[0] for r in quarantine.rows_of_import(store.con, first.import_id)] == [4, 5]
    assert list(quarantine.for_meter(store.con, "E1-EL")["line_no"]) == [5]


def test_readings_queries_and_stream(tmp_path, store):
    first, fix = _load(tmp_path, store)
    utc = dt.datetime(2024, 12, 31, 16, 0)
    raw = readings.query_readings(store.con, "E1-EL", None, "raw", utc, utc + dt.timedelta(hours=1), 10)
    assert [(r["time"], r["value"]) for r in raw] == [("2025-01-01T00:15:00+08:00", 10.0),
                                                       ("2025-01-01T00:30:00+08:00", 25.0)]
    hour = readings.query_readings(store.con, "E1-EL", "CAST(60 / 15 AS BIGINT)", "hour", None, None, 10)
    assert [(r["time"], r["value"], r["n_readings"], r["expected"]) for r in hour] == [("2025-01-01T00:00", 35.0, 2, 4)]
    assert list(readings.hourly_counts(store.con, "E1-EL", None, None)["n_readings"]) == [2]
    corr = readings.corrections(store.con, "E1-EL", None, None)
    assert list(zip(corr["old_value"], corr["new_value"], strict=True)) == [(20.0, 25.0)]
    reader = readings.meter_readings_reader(store, "E1-EL", utc, utc + dt.timedelta(days=1), batch_rows=1)
    rows = [r for b in reader for r in b.to_pylist()]
    assert rows == [{"time_local": "2025-01-01 00:15:00", "value": 10.0, "import_id": first.import_id,
                     "source": "a.csv", "corrections": 0},
                    {"time_local": "2025-01-01 00:30:00", "value": 25.0, "import_id": fix.import_id,
                     "source": "push:t", "corrections": 1}]


def test_observation_reads(tmp_path, env_store):
    text = ("station_id,timestamp,parameter,value\nAQ1,2025-01-01 01:00,pm25,35\nWX1,2025-01-01 01:00,temperature,4\n"
            "W1,2025-01-15,tp,0.1\n")
    ingest_file(env_store, write(tmp_path / "o.csv", text), now=NOW)
    lo, hi = dt.datetime(2024, 12, 1), dt.datetime(2025, 2, 1)
    air = observations.air_hourly(env_store.con, lo, hi)
    assert list(zip(air["station_id"], air["pollutant"], air["value"], strict=True)) == [("AQ1", "pm25", 35.0)]
    assert observations.air_hourly(env_store.con, lo, hi, station="AQX").empty
    water = observations.water_samples(env_store.con, lo, hi)
    assert list(zip(water["section_id"], water["parameter"], water["value"], strict=True)) == [("W1", "tp", 0.1)]
    assert list(observations.water_sections(env_store.con)["section_id"]) == ["W1"]
    temp = observations.samples(env_store.con, "WX1", "temperature", lo, hi)
    assert list(temp["value"]) == [4.0] and temp["ts"][0] == dt.datetime(2024, 12, 31, 17, 0)
