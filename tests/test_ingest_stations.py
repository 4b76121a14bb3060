"""Station observations (air, water, weather) through the same import path as meter readings."""

from __future__ import annotations

import pytest

from greenpark.ingest import REASONS, ingest_file

from conftest import NOW, write


def q(store, sql, *params):
    return store.con.execute(sql, list(params)).fetchall()


AIR = """station_id,timestamp,parameter,value,unit
AQ1,2025-01-01 01:00,pm25,35,
AQ1,2025-01-01 01:00,co,2,
AQ1,2025-01-01 01:00,CO,2000,ug/m3
WX1,2025-01-01 01:00,temperature,41,degF
W1,2025-01-15,tp,0.1,mg/L
"""


def test_station_rows_are_stored_in_the_parameters_unit(tmp_path, env_store):
    res = ingest_file(env_store, write(tmp_path / "a.csv", AIR), now=NOW)
    # CO 2 mg/m3 and CO 2000 ug/m3 name one key (parameters are case-insensitive) with one value once
    # converted: an identical duplicate, so the first line is kept and the second quarantined
    assert res.path == "general" and res.rejected_by_reason == {"duplicate_in_file": 1}
    assert q(env_store, "SELECT line_no FROM quarantine") == [(4,)]
    rows = q(env_store, "SELECT station_id, strftime(ts, '%Y-%m-%d %H:%M'), parameter, round(value, 9) "
                        "FROM observations ORDER BY 1, 2, 3")
    assert ("AQ1", "2024-12-31 17:00", "pm25", 35.0) in rows
    assert ("WX1", "2024-12-31 17:00", "temperature", 5.0) in rows  # 41 degF = 5 degC
    assert ("W1", "2025-01-14 16:00", "tp", 0.1) in rows             # a date is local midnight


@pytest.mark.parametrize(("line", "reason"), [
    ("AQ9,2025-01-01 01:00,pm25,35,", "unknown_station"),
    ("AQ1,2025-01-01 01:00,temperature,3,", "unknown_parameter"),
    ("W1,2025-01-01 01:00,pm25,3,", "unknown_parameter"),
    ("AQ1,2025-01-01 01:00,pm25,-3,", "negative_value"),
    ("AQ1,2025-01-01 01:00,pm25,x,", "unparsable_value"),
    ("AQ1,yesterday,pm25,3,", "unparsable_timestamp"),
    ("AQ1,2025-01-01 01:00,pm25,3,kWh", "unit_not_convertible"),
    ("AQ1,2030-01-01 01:00,pm25,3,", "timestamp_in_future"),
])
def test_station_reason_codes(tmp_path, env_store, line, reason):
    f = write(tmp_path / "s.csv", "station_id,timestamp,parameter,value,unit\nAQ1,2025-01-01 02:00,no2,20,\n" + line + "\n")
    res = ingest_file(env_store, f, now=NOW)
    assert reason in REASONS
    assert res.rejected_by_reason == {reason: 1} and res.accepted == 1
    assert q(env_store, "SELECT line_no, reason FROM quarantine") == [(3, reason)]


def test_negative_temperatures_are_fine_and_corrections_keep_history(tmp_path, env_store):
    ingest_file(env_store, write(tmp_path / "a.csv", "station_id,timestamp,parameter,value\nWX1,2025-01-01 01:00,temperature,-3.5\n"), now=NOW)
    res = ingest_file(env_store, write(tmp_path / "b.csv", "station_id,timestamp,parameter,value\nWX1,2025-01-01 01:00,temperature,-3.0\n"), now=NOW)
    assert (res.accepted, res.corrected) == (0, 1)
    assert q(env_store, "SELECT parameter, old_value, new_value FROM observations_history") == [("temperature", -3.5, -3.0)]
    again = ingest_file(env_store, tmp_path / "b.csv", now=NOW)
    assert again.skipped_as_duplicate_of == 2
