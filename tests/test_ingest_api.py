"""Ingest through the API and the CLI (issue 16 items 3, 4, 6, 7, 15; issue 10: one quarantine
listing): extreme pushes get a reason (never a 500), uploads that cannot be read get a 4xx without
server paths, exports neutralise formulas, the CLI and the API list the same quarantine, and
``greenpark readings --format json|csv`` streams."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from fastapi.testclient import TestClient

from api_support import build_api_park
from greenpark.api import create_app

from conftest import run

V = "/api/v1"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    d = tmp_path_factory.mktemp("ingest-api") / "park"
    ap = build_api_park(d, days=3)
    app = create_app(ap.park, ap.db)
    with TestClient(app) as client:
        ap.client = client
        yield ap


def call(api, role, method, path, **kw):
    return api.client.request(method, V + path, headers=api.headers(role), **kw)


@pytest.mark.parametrize(("row", "reason"), [
    ({"value": 1e33}, "value_out_of_range"),
    ({"value": 1e308}, "value_out_of_range"),
    ({"value": True}, "unparsable_value"),
    ({"timestamp": "0001-01-01T00:00:00"}, "timestamp_too_early"),
    ({"timestamp": "1970-01-01T00:00:00"}, "timestamp_too_early"),
    ({"timestamp": "1899-12-30T00:00:00"}, "timestamp_too_early"),
])
def test_extreme_pushes_are_quarantined_not_500(api, row, reason):
    body = {"readings": [{"meter_id": "E1-EL", "timestamp": "2025-01-02T05:15:00", "value": 3.0} | row]}
    r = call(api, "admin", "POST", "/readings", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["rejected_by_reason"] == {reason: 1}
    raw = call(api, "admin", "GET", "/readings?meter=E1-EL&start=2025-01-02T05:00&end=2025-01-02T05:30"
                                    "&resolution=raw").json()["rows"]
    assert 1.0 not in [x["value"] for x in raw] and all(x["value"] < 1e6 for x in raw)
    years = call(api, "admin", "GET", "/energy?period=2025-01")
    assert years.status_code == 200


def test_observation_of_1e308_is_quarantined_and_air_still_answers(api):
    body = {"observations": [{"station_id": "AQ1", "timestamp": "2025-01-02T03:00:00", "parameter": "pm25",
                              "value": 1e308}]}
    r = call(api, "admin", "POST", "/observations", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["rejected_by_reason"] == {"value_out_of_range": 1}
    assert call(api, "admin", "GET", "/air?period=2025").status_code == 200


def test_upload_named_dotdot_or_not_utf8_is_a_4xx_without_server_paths(api):
    good = b"meter_id,timestamp,value\nE1-EL,2025-01-03T10:15:00,5\n"
    r = call(api, "admin", "POST", "/imports", files={"file": ("..", good, "text/csv")})
    assert r.status_code < 500, r.text
    assert "greenpark-upload" not in r.text and "/tmp" not in r.text
    gbk = b"meter_id,timestamp,value\n" + "电表,2025-01-03T10:30:00,5\n".encode("gbk")
    r = call(api, "admin", "POST", "/imports", files={"file": ("gbk.csv", gbk, "text/csv")})
    assert r.status_code == 201 and r.json()["rejected"] == 1, r.text  # GBK is detected (issue 15)
    r = call(api, "admin", "POST", "/imports?encoding=utf-8&force=true",
             files={"file": ("gbk.csv", gbk, "text/csv")})
    assert r.status_code == 400 and "line 2 is not utf-8 text" in r.text, r.text
    assert "greenpark-upload" not in r.text and "/tmp" not in r.text
    r = call(api, "admin", "POST", "/imports", files={"file": ("../../x.txt", b"\xff\xfe", "text/csv")})
    assert r.status_code == 400 and "/tmp" not in r.text


def test_quarantine_csv_export_neutralises_formulas(api):
    data = b"meter_id,timestamp,value\n=HYPERLINK(\"http://evil\"),2025-01-03T11:15:00,5\n@SUM(A1),x,1\n"
    r = call(api, "admin", "POST", "/imports", files={"file": ("inj.csv", data, "text/csv")})
    assert r.status_code == 201, r.text
    out = call(api, "admin", "GET", f"/quarantine?format=csv&import_id={r.json()['import_id']}").text
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [x["raw"][:2] for x in rows] == ["'=", "'@"]
    assert all(not x["detail"].startswith(("=", "+", "-", "@")) for x in rows)


def test_cli_and_api_list_the_same_quarantine_rows(tmp_path):
    ap = build_api_park(tmp_path / "park", days=1)
    with TestClient(create_app(ap.park, ap.db)) as client:
        ap.client = client
        row = call(ap, "admin", "GET", "/quarantine?limit=100000").json()["rows"][0]
        fix = call(ap, "admin", "POST", f"/quarantine/{row['import_id']}/{row['line_no']}/fix",
                   json={"meter_id": "E1-EL", "timestamp": "2025-01-01T12:15:00", "value": 1})
        assert fix.status_code == 200, fix.text
        api_rows = call(ap, "admin", "GET", "/quarantine?limit=100000").json()["rows"]
    # the server is stopped (it holds the store's write lock); the CLI opens the store after it
    cli_rows = json.loads(run("quarantine", "--format", "json", cwd=ap.dir).stdout)["rows"]
    resolved = json.loads(run("quarantine", "--format", "json", "--status", "resolved", cwd=ap.dir).stdout)["rows"]
    key = lambda r: (r["import_id"], r["line_no"])  # noqa: E731
    assert sorted(map(key, cli_rows)) == sorted(map(key, api_rows))
    assert key(row) not in set(map(key, cli_rows)) and key(row) in set(map(key, resolved))


def test_cli_readings_json_and_csv_stream(tmp_path):
    ap = build_api_park(tmp_path / "park", days=3)
    t0 = time.perf_counter()
    out = run("readings", "E1-EL", "--format", "json", cwd=ap.dir).stdout
    elapsed = time.perf_counter() - t0
    doc = json.loads(out)
    assert doc["meter"] == "E1-EL" and doc["unit"] == "kWh" and len(doc["readings"]) == 3 * 96
    first = doc["readings"][0]
    assert set(first) == {"time_local", "value", "import_id", "source", "corrections"}
    assert elapsed < 20
    text = run("readings", "E1-EL", "--format", "csv", cwd=ap.dir).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(doc["readings"]) and rows[0]["time_local"] == first["time_local"]
    assert float(rows[0]["value"]) == first["value"]


def test_stream_json_writes_rows_batch_by_batch():
    import pyarrow as pa

    from greenpark.cli.data import _stream_csv, _stream_json

    t = pa.table({"time_local": ["2025-01-01 00:15:00", "2025-01-01 00:30:00"], "value": [1.5, 2.0],
                  "source": ["=cmd", "a.csv"]})
    buf = io.StringIO()
    _stream_json(pa.RecordBatchReader.from_batches(t.schema, t.to_batches(1)), {"meter": "M"}, "readings", buf)
    assert json.loads(buf.getvalue()) == {"meter": "M", "readings": t.to_pylist()}
    empty = io.StringIO()
    _stream_json(pa.RecordBatchReader.from_batches(t.schema, []), {"meter": "M"}, "readings", empty)
    assert json.loads(empty.getvalue()) == {"meter": "M", "readings": []}
    out = io.StringIO()
    _stream_csv(pa.RecordBatchReader.from_batches(t.schema, t.to_batches(1)), out)
    assert out.getvalue().splitlines() == ["time_local,value,source", "2025-01-01 00:15:00,1.5,'=cmd",
                                           "2025-01-01 00:30:00,2.0,a.csv"]
