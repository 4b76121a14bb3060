"""The quarantine workflow (issue 15 item 7): filters, superseded rows hidden by default, export in
the file layout, resubmit (twice changes nothing), and enterprise users who see and fix their own
rejected rows only (the leak tested both ways), on both engines."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess

import pytest
from fastapi.testclient import TestClient

from api_support import build_api_park
from greenpark import ingest
from greenpark.services import quarantine as service
from greenpark.services.users import cli_principal
from greenpark.store import quarantine as store_quarantine

from conftest import ENGINES, GP, NOW, run, store_url, write

BAD = """\
    meter_id,timestamp,value
    E1-EL,2025-01-02T00:15:00,5
    E1-EL,2025-01-02T00:30:00,abc
    E1-EL,2025-01-02T00:45:00,-3
    E2-EL,2025-01-02T00:45:00,x
    NOPE,2025-01-02T00:45:00,1
    E1-EL,2025-13-02T00:45:00,1
    E1-EL,2025-02-02T00:45:00,y
    """


def _keys(rows):
    return [(r["import_id"], r["line_no"]) for r in rows]


def test_superseded_rows_hidden_and_filters(tmp_path, store, park):
    ingest.ingest_file(store, write(tmp_path / "a.csv", BAD), now=NOW)
    # the re-import of a corrected row of line 3 (E1-EL 00:30) supersedes it
    ingest.ingest_file(store, write(tmp_path / "b.csv", "meter_id,timestamp,value\nE1-EL,2025-01-02T00:30:00,6\n"),
                       now=NOW)
    sel = service.Selection().check(park)
    page = service.listing(store.con, sel)
    assert _keys(page["rows"]) == [(1, 4), (1, 5), (1, 6), (1, 7), (1, 8)]
    assert page["by_status"] == {"open": 5, "resolved": 0, "superseded": 1}
    every = service.listing(store.con, service.Selection(status="all").check(park))["rows"]
    sup = [r for r in every if r["resolution"] == "superseded"]
    assert _keys(sup) == [(1, 3)] and sup[0]["resolved_by_import"] == 2
    # filters: meter, reason, file, import, period (park time, January 2025), an enterprise's meters
    assert _keys(service.listing(store.con, service.Selection(meter="E2-EL").check(park))["rows"]) == [(1, 5)]
    assert _keys(service.listing(store.con, service.Selection(meter="NOPE").check(park))["rows"]) == [(1, 6)]
    by_reason = service.listing(store.con, service.Selection(reason="unparsable_value").check(park))
    assert by_reason["by_reason"] == {"unparsable_value": 2}
    assert service.listing(store.con, service.Selection(source="b.csv").check(park))["total"] == 0
    assert service.listing(store.con, service.Selection(import_id=1).check(park))["total"] == 5
    jan = service.listing(store.con, service.Selection(period="2025-01").check(park))["rows"]
    assert _keys(jan) == [(1, 4), (1, 5), (1, 6)]
    e2 = service.listing(store.con, service.Selection(meters=["E2-EL"]).check(park))["rows"]
    assert _keys(e2) == [(1, 5)]
    assert service.listing(store.con, service.Selection(meters=[]).check(park))["total"] == 0


def test_resubmit_resolves_and_twice_changes_nothing(tmp_path, store, park):
    ingest.ingest_file(store, write(tmp_path / "a.csv", BAD), now=NOW)
    rows = service.export_rows(store_quarantine.list_rows(store.con))
    assert list(rows[0])[:4] == ["meter_id", "timestamp", "value", "unit"]
    fixed = [dict(r, value="7") if r["reason"] == "unparsable_value" else r for r in rows]
    out = service.resubmit(store, park, fixed, cli_principal())
    assert len(out["resolved"]) == 6 and out["import"].accepted == 3  # abc, x, y -> 7; -3, NOPE, month 13 fail again
    assert store.con.execute("SELECT register FROM registers WHERE meter_id = 'E2-EL'").fetchall() != []
    open_rows = store_quarantine.list_rows(store.con)
    assert {r["import_id"] for r in open_rows} == {out["import"].import_id} and len(open_rows) == 3
    before = store.con.execute("SELECT count(*) FROM imports").fetchall()
    again = service.resubmit(store, park, fixed, cli_principal())
    assert again["import"] is None and len(again["skipped"]) == 6
    assert store.con.execute("SELECT count(*) FROM imports").fetchall() == before


def test_cli_export_fix_resubmit_and_reimport(tmp_path, park_dir):
    write(park_dir / "a.csv", BAD)
    run("ingest", "a.csv", cwd=park_dir)
    shown = run("quarantine", cwd=park_dir).stdout
    assert "Rows by reason" in shown and "unparsable value" in shown
    zh = subprocess.run([*GP, "quarantine"], cwd=park_dir, capture_output=True, text=True, timeout=300,
                        env={**os.environ, "GREENPARK_LANG": "zh"}).stdout
    assert "按原因统计" in zh and "无法解析的数值" in zh
    run("quarantine", "export", "fix.csv", cwd=park_dir)
    text = (park_dir / "fix.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].startswith("meter_id,timestamp,value,unit,reason,detail,import_id,line_no")
    assert len(rows) == 6 and rows[1]["value"] == "'-3"  # neutralised for spreadsheets; resubmit undoes it
    for r in rows:
        if r["reason"] == "negative_consumption":
            r["value"] = "3"
        if r["reason"] == "unparsable_timestamp":
            r["timestamp"] = "2025-01-03T00:45:00"
    with (park_dir / "fixed.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = json.loads(run("quarantine", "resubmit", "fixed.csv", "--format", "json", cwd=park_dir).stdout)
    assert len(out["resolved"]) == 6 and out["import"]["accepted"] == 2 and out["import"]["rejected"] == 4
    second = run("quarantine", "resubmit", "fixed.csv", cwd=park_dir).stdout
    assert "nothing changed" in second
    page = json.loads(run("quarantine", "--format", "json", cwd=park_dir).stdout)
    assert page["total"] == 4 and page["by_status"]["resolved"] == 6
    # the plain import of a corrected export works too: the row it accepts supersedes its original
    write(park_dir / "again.csv", "meter_id,timestamp,value,unit,reason,import_id,line_no\n"
                                  "E2-EL,2025-01-02T00:45:00,8,,unparsable_value,1,5\n")
    run("ingest", "again.csv", cwd=park_dir)
    page = json.loads(run("quarantine", "--format", "json", cwd=park_dir).stdout)
    assert page["total"] == 3 and page["by_status"]["superseded"] >= 1
    assert "E2-EL" not in {r["meter_id"] for r in page["rows"]}
    bad = run("quarantine", "--reason", "nope", cwd=park_dir, check=False)
    assert bad.returncode == 2 and "reason codes" in bad.stderr and "Traceback" not in bad.stderr


@pytest.fixture(scope="module", params=ENGINES)
def api(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("quar") / "park"
    ap = build_api_park(d, days=1, db=store_url(request.param, d, request))
    with TestClient(ap_app(ap)) as client:
        ap.client = client
        yield ap


def ap_app(ap):
    from greenpark.api import create_app

    return create_app(ap.park, ap.db)


def call(ap, role, method, path, **kw):
    return ap.client.request(method, "/api/v1" + path, headers=ap.headers(role), **kw)


def test_enterprise_sees_and_fixes_only_its_own_rows(api):
    # bad.csv: E9-EL (no such meter, line 2), E1-EL n/a (line 3), E2-EL oops (line 4)
    admin = call(api, "admin", "GET", "/quarantine?source=bad.csv").json()
    bad_import = admin["rows"][0]["import_id"]
    assert {r["meter_id"] for r in admin["rows"]} == {"E9-EL", "E1-EL", "E2-EL"}
    e1 = call(api, "ent1", "GET", "/quarantine?limit=100000").json()
    e2 = call(api, "ent2", "GET", "/quarantine?limit=100000").json()
    assert {r["meter_id"] for r in e1["rows"]} == {"E1-EL"} and e1["total"] == 1
    assert {r["meter_id"] for r in e2["rows"]} == {"E2-EL"} and e2["total"] == 1
    csv_e1 = call(api, "ent1", "GET", "/quarantine?format=csv").text
    assert "E2-EL" not in csv_e1 and "E9-EL" not in csv_e1 and "E1-EL" in csv_e1
    assert call(api, "ent1", "GET", "/quarantine?meter=E2-EL").status_code == 403
    # the other enterprise's row is "not found" (as a row that does not exist), both ways
    body = {"meter_id": "E1-EL", "timestamp": "2025-01-01T12:15:00", "value": 1}
    assert call(api, "ent1", "POST", f"/quarantine/{bad_import}/4/fix", json=body).status_code == 404
    assert call(api, "ent2", "POST", f"/quarantine/{bad_import}/3/fix",
                json=dict(body, meter_id="E2-EL")).status_code == 404
    assert call(api, "ent2", "POST", "/quarantine/resubmit",
                json={"rows": [{"import_id": bad_import, "line_no": 3}]}).status_code == 404
    assert call(api, "ent1", "POST", f"/quarantine/{bad_import}/2/fix", json=body).status_code == 404
    # its own row with another enterprise's meter in the fix: refused
    assert call(api, "ent1", "POST", f"/quarantine/{bad_import}/3/fix",
                json=dict(body, meter_id="E2-EL")).status_code == 403
    ok = call(api, "ent1", "POST", f"/quarantine/{bad_import}/3/fix", json=body)
    assert ok.status_code == 200, ok.text
    assert call(api, "ent1", "GET", "/quarantine").json()["total"] == 0
    assert call(api, "ent2", "GET", "/quarantine").json()["total"] == 1


def test_bulk_path_rejects_name_meter_and_time_and_are_superseded(tmp_path, park):
    from greenpark.store import Store

    store = Store(":memory:", park.park.timezone)  # the bulk CSV path is DuckDB's reader
    with store.transaction():
        store.sync_park(park)
    lines = ["meter_id,timestamp,value"] + [f"E1-EL,2025-01-02 {h:02d}:{m:02d}:00,{1 + m}"
                                             for h in range(3) for m in (0, 15, 30, 45)]
    lines[5] = "E1-EL,2025-01-02 01:00:00,n/a"
    r = ingest.ingest_file(store, write(tmp_path / "big.csv", "\n".join(lines) + "\n"), now=NOW)
    assert r.rejected == 1 and r.path == "bulk"
    (row,) = store_quarantine.list_rows(store.con)
    assert (row["meter_id"], str(row["ts"])) == ("E1-EL", "2025-01-01 17:00:00")  # 01:00 park time = 17:00 UTC
    ingest.ingest_file(store, write(tmp_path / "fix.csv", "meter_id,timestamp,value\nE1-EL,2025-01-02T01:00:00,1\n"),
                       now=NOW)
    assert store_quarantine.list_rows(store.con) == []
    assert store_quarantine.count_by_status(store.con) == {"open": 0, "resolved": 0, "superseded": 1}
    store.close()


def test_enterprise_exports_fixes_and_resubmits_a_file_in_the_api(api):
    text = call(api, "ent2", "GET", "/quarantine?format=csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["meter_id"] for r in rows] == ["E2-EL"] and rows[0]["value"] == "oops"
    fixed = text.replace(",oops,", ",1234,").encode()
    files = {"file": ("fixed.csv", fixed, "text/csv")}
    # the other enterprise's rows: as if they did not exist
    assert call(api, "ent1", "POST", "/quarantine/resubmit-file", files=files).status_code == 404
    r = call(api, "ent2", "POST", "/quarantine/resubmit-file", files=files)
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["resolved"]) == 1 and out["import"]["accepted"] == 1 and out["import"]["rejected"] == 0
    assert call(api, "ent2", "GET", "/quarantine").json()["total"] == 0
    again = call(api, "ent2", "POST", "/quarantine/resubmit-file", files=files).json()
    assert again["import"] is None and len(again["skipped"]) == 1
    bad = call(api, "ent2", "POST", "/quarantine/resubmit-file", files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
    assert bad.status_code == 400 and "missing columns" in bad.text


def test_export_of_a_row_from_a_wide_file_names_its_meter_and_park_time(park):
    import datetime as dt

    row = {"import_id": 3, "line_no": 7, "source": "wide.csv", "reason": "unparsable_value", "detail": "value 'x'",
           "raw": "2025-01-02 08:00,12.5,x,7.0,3.1", "meter_id": "E1-NG", "ts": dt.datetime(2025, 1, 2, 0, 0)}
    (out,) = service.export_rows([row], park.tz)
    assert (out["meter_id"], out["timestamp"], out["value"], out["raw"]) == ("E1-NG", "2025-01-02T08:00:00", "",
                                                                          row["raw"])
