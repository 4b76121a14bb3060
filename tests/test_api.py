"""REST API: every endpoint for every role (the role matrix), enterprise isolation through
filters, exports and error messages, pushes through the import path, quarantine fixes, tokens,
sessions with CSRF, and the audit log."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from api_support import E2_MARKERS, PASSWORD, assert_error, build_api_park
from greenpark.api import create_app

from conftest import ENGINES, store_url

V = "/api/v1"


@pytest.fixture(scope="module", params=ENGINES)
def api(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("api") / "park"
    ap = build_api_park(d, db=store_url(request.param, d, request))
    app = create_app(ap.park, ap.db)
    with TestClient(app) as client:
        ap.client = client
        yield ap


def call(api, role, method, path, **kw):
    headers = {**api.headers(role), **kw.pop("headers", {})}
    return api.client.request(method, V + path, headers=headers, **kw)


PUSH_E1 = {"readings": [{"meter_id": "E1-EL", "timestamp": "2025-01-20T00:15:00", "value": 1.0}]}
# the matrix's device is limited to listed meters: no station observations (routes/environment.py);
# the gateway is a device with neither --meter nor --enterprise: observations only (README role table)
PUSH_AQ1 = {"observations": [{"station_id": "AQ1", "timestamp": "2025-01-20T01:00:00", "parameter": "pm25", "value": 30}]}

# the README's role table, row by row: (method, path, body, expected status per role in MATRIX_ROLES)
MATRIX_ROLES = ("admin", "auditor", "ent1", "device", "gateway", "anon")
MATRIX = [
    ("GET", "/health", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/catalogue", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/auth/me", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/park", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/enterprises", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/enterprises/E1", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/enterprises/E2", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/enterprises/tp", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/meters", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/meters?enterprise=E2", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/meters/E1-EL", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/meters/E2-EL", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/meters/E1-EL/quality", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/meters/E2-EL/quality", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/readings?meter=E1-EL&start=2025-01-02&end=2025-01-03&resolution=raw", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/readings?meter=E2-EL", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/readings?enterprise=E2&format=csv", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/energy?period=2025-01", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/energy?period=2025-01&enterprise=E2", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/energy?period=2025-01&format=csv&by=carrier", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/overview?period=2025-01", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/air?period=2025-01", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/water?period=2025-01", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/carbon?period=2025", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/carbon?period=2025&enterprise=E2", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/targets?year=2025", None, (400, 400, 400, 403, 403, 401)),
    ("GET", "/indicators?period=2025", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/indicators?period=2025&enterprise=E2", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/mv", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/imports", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/imports/1", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/quarantine", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/quarantine?format=csv", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/audit", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/users", None, (200, 403, 403, 403, 403, 401)),
    ("GET", "/sources", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/reports/park?period=2025&format=xlsx", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/reports/enterprise?id=E1&period=2025&format=xlsx", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/reports/carbon?id=E2&period=2025&format=xlsx", None, (200, 200, 403, 403, 403, 401)),
    ("GET", "/tokens", None, (200, 200, 200, 403, 403, 401)),
    ("POST", "/readings", PUSH_E1, (200, 403, 403, 200, 403, 401)),
    ("POST", "/observations", PUSH_AQ1, (200, 403, 403, 403, 200, 401)),
    ("POST", "/users", {"username": "matrix-{role}", "role": "auditor"}, (201, 403, 403, 403, 403, 401)),
    ("POST", "/users/nobody/revoke", None, (404, 403, 403, 403, 403, 401)),
    ("POST", "/tokens", {"name": "matrix"}, (201, 403, 201, 403, 403, 401)),
    ("DELETE", "/tokens/999999", None, (404, 403, 404, 403, 403, 401)),
    ("POST", "/quarantine/999/2/fix", {"meter_id": "E1-EL", "timestamp": "2025-01-02T00:30:00", "value": 1},
     (404, 403, 404, 403, 403, 401)),
    ("POST", "/quarantine/resubmit", {"rows": [{"import_id": 999, "line_no": 2}]}, (404, 403, 404, 403, 403, 401)),
    ("POST", "/carbon/publish?period=2025", None, (200, 403, 403, 403, 403, 401)),
    ("POST", "/imports", "FILE", (201, 403, 403, 403, 403, 401)),
    # a readings file is no corrected quarantine export (no import_id, line_no): 400 for those who may resubmit
    ("POST", "/quarantine/resubmit-file", "FILE", (400, 403, 400, 403, 403, 401)),
    ("GET", "/mv/nope", None, (404, 404, 403, 403, 403, 401)),
    ("GET", "/mv/nope/series", None, (404, 404, 403, 403, 403, 401)),
    ("POST", "/auth/login", {"username": "nobody-{role}", "password": "not a password"}, (401, 401, 401, 401, 401, 401)),
    ("POST", "/auth/password", {"current_password": "not the password", "new_password": "a long new passphrase"},
     (403, 403, 403, 403, 403, 401)),
    ("POST", "/auth/logout", None, (204, 204, 204, 204, 204, 401)),
]
MATRIX_FILE = ("matrix.csv", b"meter_id,timestamp,value\nE1-EL,2025-01-21T00:15:00,2\n", "text/csv")


@pytest.mark.parametrize("method,path,body,expected", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_role_matrix(api, method, path, body, expected):
    for role, status in zip(MATRIX_ROLES, expected, strict=True):
        if body == "FILE":
            r = call(api, role, method, path, files={"file": MATRIX_FILE})
        else:
            b = None if body is None else {k: (v.format(role=role) if isinstance(v, str) else v) for k, v in body.items()}
            r = call(api, role, method, path, json=b)
        assert r.status_code == status, f"{role} {method} {path}: {r.status_code} {r.text[:300]}"
        if status >= 400:
            assert_error(r, status)


def test_every_api_route_is_in_the_role_matrix(api):
    """A new endpoint must join the matrix (its access is then decided, not forgotten)."""
    spec = api.client.get(V + "/openapi.json").json()
    covered = {(m, p.split("?")[0]) for m, p, _, _ in MATRIX}
    import re

    for path, ops in spec["paths"].items():
        for method in ops:
            template = re.escape(path.removeprefix(V)).replace(r"\{", "{").replace(r"\}", "}")
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
            assert any(m == method.upper() and re.fullmatch(pattern, p) for m, p in covered), \
                f"{method.upper()} {path} is not in MATRIX"


# -- enterprise isolation -------------------------------------------------------------------------
ENTERPRISE_GETS = [
    "/auth/me", "/park", "/enterprises", "/enterprises/E1", "/meters", "/meters/E1-EL", "/meters/E1-EL/quality",
    "/readings", "/readings?format=csv", "/readings?resolution=raw&limit=100000", "/readings?resolution=month",
    "/readings?enterprise=E1&resolution=day&format=csv",
    "/energy?period=2025-01", "/energy?period=2025", "/energy?period=2025-Q1", "/energy",
    *[f"/energy?period=2025-01&format=csv&by={b}" for b in ("enterprise", "carrier", "building", "end-use", "month")],
    "/carbon?period=2025", "/carbon?period=2025&method=market", "/mv", "/tokens",
    "/air?period=2025-01", "/water?period=2025-01",
]


@pytest.mark.parametrize("path", ENTERPRISE_GETS)
def test_enterprise_user_never_sees_another_enterprise(api, path):
    r = call(api, "ent1", "GET", path)
    assert r.status_code == 200, r.text[:300]
    for marker in E2_MARKERS:
        assert marker not in r.text, f"{marker!r} in {path}: {r.text[:300]}"


def test_enterprise_energy_has_no_park_totals_and_only_its_lineage(api):
    res = call(api, "ent1", "GET", "/energy?period=2025-01").json()
    assert "park" not in res and res["scope"] == {"kind": "enterprise", "id": "E1"}
    assert [e["id"] for e in res["enterprises"]] == ["E1"]
    assert {m["owner"] for m in res["lineage"]["meters"]} == {"E1"}
    admin = call(api, "admin", "GET", "/energy?period=2025-01").json()
    e1 = next(e for e in admin["enterprises"] if e["id"] == "E1")
    assert res["enterprises"][0]["tce"] == pytest.approx(e1["tce"], rel=1e-12)


OUTSIDE = ["/enterprises/{x}", "/meters/{x}", "/meters/{x}/quality", "/readings?meter={x}", "/readings?enterprise={x}",
           "/meters?enterprise={x}", "/energy?period=2025-01&enterprise={x}", "/carbon?period=2025&enterprise={x}"]


@pytest.mark.parametrize("template", OUTSIDE)
def test_enterprise_errors_do_not_tell_whether_another_enterprises_ids_exist(api, template):
    """A real id of another enterprise and an id that exists nowhere give the same answer."""
    real = "E2-EL" if "meter" in template.split("?")[0] or "meter=" in template else "E2"
    fake = "E2-XX" if real == "E2-EL" else "E7"
    a = assert_error(call(api, "ent1", "GET", template.format(x=real)), 403)
    b = assert_error(call(api, "ent1", "GET", template.format(x=fake)), 403)
    assert a["message"].replace(real, "X") == b["message"].replace(fake, "X")
    for marker in ("乙厂", "Plant B", "electronics"):  # nothing the user did not send
        assert marker not in a["message"] and marker not in b["message"]


def test_enterprise_targets_and_carbon_are_whitelisted(api):
    c = call(api, "ent1", "GET", "/carbon?period=2025").json()
    assert set(c) == {"period", "method", "scope", "enterprises", "certificates", "factors", "lineage", "by_month"}
    assert [e["id"] for e in c["enterprises"]] == ["E1"]
    assert all(f.get("status") != "USER" for f in c["factors"])


# -- readings: query and push --------------------------------------------------------------------
def test_read_readings_raw_in_park_time_with_offset(api):
    r = call(api, "admin", "GET", "/readings?meter=E1-EL&start=2025-01-02&end=2025-01-02T01:00&resolution=raw")
    rows = r.json()["rows"]
    assert [x["time"] for x in rows] == [f"2025-01-02T00:{m:02d}:00+08:00" for m in (0, 15, 30, 45)]
    hour = call(api, "admin", "GET", "/readings?meter=E1-EL&start=2025-01-02T00:00&end=2025-01-02T01:00").json()
    assert hour["rows"][0]["time"] == "2025-01-02T00:00" and hour["rows"][0]["expected"] == 4


def test_read_readings_csv_export(api):
    r = call(api, "auditor", "GET", "/readings?meter=E1-NG&resolution=day&format=csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows and set(rows[0]) == {"meter_id", "time", "value", "n_readings", "expected"}
    assert {x["meter_id"] for x in rows} == {"E1-NG"}


def test_read_readings_bad_time_says_what_to_send(api):
    assert_error(call(api, "admin", "GET", "/readings?meter=E1-EL&start=yesterday"), 400, contains="ISO 8601")
    assert_error(call(api, "admin", "GET", "/readings?meter=E1-EL&start=2025-02-01&end=2025-01-01"), 400)
    assert_error(call(api, "admin", "GET", "/readings?resolution=minute"), 422, "validation_error")


def test_push_readings_goes_through_the_import_path(api):
    body = {"source": "gw-test", "readings": [
        {"meter_id": "E1-EL", "timestamp": "2025-01-25T10:15:00+08:00", "value": 12.5},
        {"meter_id": "E1-EL", "timestamp": "2025-01-25T10:30:00", "value": "13.0", "unit": "kWh"},
        {"meter_id": "E1-EL", "timestamp": "2025-01-25T10:45:00", "value": 0.014, "unit": "MWh"},
        {"meter_id": "E9-EL", "timestamp": "2025-01-25T10:15:00", "value": 1},
        {"meter_id": "E1-EL", "timestamp": "not a time", "value": 1},
        {"meter_id": "E1-EL", "timestamp": "2025-01-25T11:00:00", "value": -3},
        {"meter_id": "E1-EL", "timestamp": "2099-01-01T00:00:00", "value": 1},
        {"meter_id": "E1-EL", "timestamp": "2025-01-25T11:15:00", "value": None},
        {"meter_id": "E1-EL", "timestamp": "2025-01-25T11:30:00", "value": 1, "unit": "m3"},
    ]}
    r = call(api, "admin", "POST", "/readings", json=body)
    out = r.json()
    assert r.status_code == 200, out
    assert out["source"] == "push:admin:gw-test" and out["rows_read"] == 9
    assert out["accepted"] == 3 and out["rejected"] == 6
    assert out["rejected_by_reason"] == {"unknown_meter": 1, "unparsable_timestamp": 1, "negative_consumption": 1,
                                         "timestamp_in_future": 1, "unparsable_value": 1, "unit_not_convertible": 1}
    assert {x["index"]: x["reason"] for x in out["rejected_rows"]} == {
        3: "unknown_meter", 4: "unparsable_timestamp", 5: "negative_consumption", 6: "timestamp_in_future",
        7: "unparsable_value", 8: "unit_not_convertible"}
    q = call(api, "admin", "GET", f"/quarantine?import_id={out['import_id']}").json()
    assert q["total"] == 6
    rows = call(api, "admin", "GET", "/readings?meter=E1-EL&start=2025-01-25T10:00&end=2025-01-25T11:00&resolution=raw")
    assert [x["value"] for x in rows.json()["rows"]] == pytest.approx([12.5, 13.0, 14.0])
    # the same batch again: unchanged; a new value: a correction with the old one in history
    again = call(api, "admin", "POST", "/readings", json={"readings": body["readings"][:3]}).json()
    assert (again["accepted"], again["unchanged"]) == (0, 3)
    fix = call(api, "admin", "POST", "/readings",
               json={"readings": [{"meter_id": "E1-EL", "timestamp": "2025-01-25T10:15:00", "value": 20}]}).json()
    assert fix["corrected"] == 1
    qual = call(api, "admin", "GET", "/meters/E1-EL/quality?start=2025-01-25&end=2025-01-26").json()
    assert qual["correction_count"] == 1 and qual["corrections"][0]["old_value"] == 12.5
    audit = call(api, "auditor", "GET", "/audit?action=readings.push&username=admin").json()
    assert any(a["import_id"] == out["import_id"] and a["after_state"]["rejected"] == 6 for a in audit)


def test_push_rollups_follow_the_pushed_readings(api):
    call(api, "admin", "POST", "/readings", json={"readings": [
        {"meter_id": "E1-NG", "timestamp": f"2025-01-28T{h:02d}:00:00", "value": 2.0} for h in range(1, 5)]})
    day = call(api, "admin", "GET", "/readings?meter=E1-NG&start=2025-01-28&end=2025-01-29&resolution=day").json()
    assert day["rows"][0]["value"] == pytest.approx(8.0) and day["rows"][0]["n_readings"] == 4


def test_device_pushes_only_for_its_meters(api):
    n = len(call(api, "admin", "GET", "/imports?limit=1000").json())
    ok = call(api, "device", "POST", "/readings", json={"readings": [
        {"meter_id": "E1-NG", "timestamp": "2025-01-26T01:00:00", "value": 3}]})
    assert ok.status_code == 200 and ok.json()["source"] == "push:device"
    err = assert_error(call(api, "device", "POST", "/readings", json={"readings": [
        {"meter_id": "E1-NG", "timestamp": "2025-01-26T02:00:00", "value": 3},
        {"meter_id": "E2-EL", "timestamp": "2025-01-26T02:00:00", "value": 3}]}), 403)
    assert "nothing was imported" in err["message"] and "E1-EL, E1-NG" in err["message"]
    e2dev = assert_error(call(api, "device_e2", "POST", "/readings", json=PUSH_E1), 403)
    assert "E2-EL" in e2dev["message"]
    assert len(call(api, "admin", "GET", "/imports?limit=1000").json()) == n + 1
    assert_error(call(api, "device", "GET", "/meters"), 403)


def test_push_validation_errors_use_the_error_shape(api):
    assert_error(call(api, "admin", "POST", "/readings", json={"readings": []}), 400, contains="meter_id")
    assert_error(call(api, "admin", "POST", "/readings", json={"rows": []}), 422, "validation_error")
    assert_error(call(api, "admin", "POST", "/readings", content=b"{not json", headers={"Content-Type": "application/json"}),
                 422)


# -- quarantine --------------------------------------------------------------------------------------
def _open_row(api, reason: str) -> dict:
    rows = call(api, "admin", "GET", f"/quarantine?reason={reason}&import_id=4").json()["rows"]
    assert rows, reason
    return rows[0]


def test_fix_quarantined_row_imports_it_and_marks_it_resolved(api):
    row = _open_row(api, "unknown_meter")  # E9-EL: a typo for E1-EL
    key = f"/quarantine/{row['import_id']}/{row['line_no']}/fix"
    r = call(api, "admin", "POST", key, json={"meter_id": "E1-EL", "timestamp": "2025-01-02T00:15:00", "value": 1})
    out = r.json()
    assert r.status_code == 200, out
    assert out["resolved"] == [{"import_id": row["import_id"], "line_no": row["line_no"]}]
    assert out["imports"][0]["source"].startswith("fix:") and out["imports"][0]["rejected"] == 0
    again = call(api, "admin", "POST", key, json={"meter_id": "E1-EL", "timestamp": "2025-01-02T00:15:00", "value": 1})
    assert_error(again, 409, contains="already resolved")
    resolved = call(api, "admin", "GET", "/quarantine?status=resolved").json()["rows"]
    assert any(x["line_no"] == row["line_no"] and x["resolution"] == "fix" for x in resolved)
    audit = call(api, "admin", "GET", "/audit?action=quarantine.fix").json()[0]
    assert audit["before_state"]["raw"] == row["raw"] and audit["after_state"]["row"]["meter_id"] == "E1-EL"


def test_fix_that_fails_again_is_quarantined_anew(api):
    row = _open_row(api, "unparsable_value")
    r = call(api, "admin", "POST", f"/quarantine/{row['import_id']}/{row['line_no']}/fix",
             json={"meter_id": row["raw"].split(",")[0], "timestamp": "2025-01-02T00:30:00", "value": "still bad"})
    new = r.json()["imports"][0]
    assert new["rejected"] == 1 and new["rejected_rows"][0]["reason"] == "unparsable_value"
    assert call(api, "admin", "GET", f"/quarantine?import_id={new['import_id']}").json()["total"] == 1


def test_resubmit_and_fix_input_errors(api):
    assert_error(call(api, "admin", "POST", "/quarantine/4/2/fix", json={"timestamp": "x", "value": 1}), 400,
                 contains="meter_id")
    rows = call(api, "admin", "GET", "/quarantine?status=open&import_id=4").json()["rows"]
    r = call(api, "admin", "POST", "/quarantine/resubmit",
             json={"rows": [{"import_id": x["import_id"], "line_no": x["line_no"]} for x in rows]})
    assert r.status_code == 200, r.text
    assert len(r.json()["resolved"]) == len(rows) and r.json()["imports"][0]["source"] == "resubmit:admin"
    assert call(api, "admin", "GET", "/quarantine?status=open&import_id=4").json()["total"] == 0


def test_upload_import_as_the_cli_does(api):
    data = "meter_id,timestamp,value\nE1-EL,2025-01-27T00:15:00,5\nE1-EL,2025-01-27T00:30:00,x\n"
    r = call(api, "admin", "POST", "/imports", files={"file": ("late.csv", data.encode(), "text/csv")})
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "late.csv" and r.json()["accepted"] == 1 and r.json()["rejected"] == 1
    again = call(api, "admin", "POST", "/imports", files={"file": ("late.csv", data.encode(), "text/csv")})
    assert again.json()["skipped_as_duplicate_of"] == r.json()["import_id"]
    assert_error(call(api, "admin", "POST", "/imports", files={"file": ("x.pdf", b"%PDF", "application/pdf")}), 400,
                 contains="unsupported file type")
    assert_error(call(api, "auditor", "POST", "/imports", files={"file": ("late.csv", data.encode(), "text/csv")}), 403)


# -- accounts ----------------------------------------------------------------------------------------
def test_tokens_listed_and_revoked(api):
    made = call(api, "ent1", "POST", "/tokens", json={"name": "laptop", "expires_in_days": 30})
    assert made.status_code == 201
    tok = made.json()
    assert tok["token"].startswith("gpk_") and tok["prefix"] == tok["token"][:10]
    mine = call(api, "ent1", "GET", "/tokens").json()
    assert {t["username"] for t in mine} == {"ent1"} and "token" not in mine[0]
    h = {"Authorization": f"Bearer {tok['token']}"}
    assert api.client.get(V + "/auth/me", headers=h).status_code == 200
    assert_error(call(api, "ent1", "POST", "/tokens", json={"name": "x", "username": "admin"}), 403)
    assert_error(call(api, "auditor", "DELETE", f"/tokens/{tok['token_id']}"), 403)  # auditors write nothing
    assert_error(call(api, "ent2", "DELETE", f"/tokens/{tok['token_id']}"), 404)  # not theirs: not shown
    assert call(api, "ent1", "DELETE", f"/tokens/{tok['token_id']}").json()["revoked_at"] is not None
    assert_error(api.client.get(V + "/auth/me", headers=h), 401, "unauthenticated")
    assert_error(call(api, "ent1", "DELETE", f"/tokens/{tok['token_id']}"), 409)


def test_create_user_rules_and_revoke(api):
    assert_error(call(api, "admin", "POST", "/users", json={"username": "x1", "role": "enterprise"}), 400,
                 contains="enterprise")
    assert_error(call(api, "admin", "POST", "/users", json={"username": "x2", "role": "enterprise",
                                                             "enterprise_id": "E7"}), 400, contains="not in park.toml")
    assert_error(call(api, "admin", "POST", "/users", json={"username": "x3", "role": "device",
                                                             "password": "long enough password"}), 400)
    assert_error(call(api, "admin", "POST", "/users", json={"username": "x4", "role": "auditor",
                                                             "password": "short"}), 400, contains="too short")
    made = call(api, "admin", "POST", "/users", json={"username": "gw9", "role": "device", "meters": ["E1-EL"]})
    assert made.status_code == 201 and made.json()["meters"] == ["E1-EL"]
    assert_error(call(api, "admin", "POST", "/users", json={"username": "gw9", "role": "auditor"}), 409)
    tok = call(api, "admin", "POST", "/tokens", json={"name": "gw9", "username": "gw9"}).json()["token"]
    h = {"Authorization": f"Bearer {tok}"}
    assert api.client.post(V + "/readings", headers=h, json=PUSH_E1).status_code == 200
    assert call(api, "admin", "POST", "/users/gw9/revoke").json()["revoked_at"] is not None
    assert_error(api.client.post(V + "/readings", headers=h, json=PUSH_E1), 401)
    assert_error(call(api, "admin", "POST", "/users/admin/revoke"), 400, contains="yourself")
    actions = [a["action"] for a in call(api, "auditor", "GET", "/audit?limit=1000").json()]
    assert {"user.add", "token.create", "user.revoke", "readings.push"} <= set(actions)


def test_session_login_csrf_and_logout(api, tmp_path):
    c = TestClient(api.client.app)  # its own cookie jar; no second lifespan (the app is running)
    assert_error(c.post(V + "/auth/login", json={"username": "ent1", "password": "wrong password!"}), 401)
    assert_error(c.post(V + "/auth/login", json={"username": "device", "password": PASSWORD}), 401)
    r = c.post(V + "/auth/login", json={"username": "ent1", "password": PASSWORD})
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf_token"]
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert c.get(V + "/auth/me").json()["user"]["username"] == "ent1"
    assert c.get(V + "/auth/me").json()["csrf_token"] == csrf
    assert c.get(V + "/energy?period=2025-01").status_code == 200
    assert_error(c.post(V + "/tokens", json={"name": "no csrf"}), 403, "csrf_failed")
    assert_error(c.post(V + "/tokens", json={"name": "bad"}, headers={"X-CSRF-Token": "nope"}), 403, "csrf_failed")
    assert_error(c.post(V + "/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf,
                                                                       "Origin": "http://evil.example"}),
                 403, "csrf_failed")
    assert c.post(V + "/tokens", json={"name": "with csrf"}, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert c.post(V + "/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    c.cookies.set("gp_session", cookie.split(";")[0].split("=", 1)[1])
    assert_error(c.get(V + "/auth/me"), 401, contains="log in again")
    audit = call(api, "admin", "GET", "/audit?username=ent1").json()
    assert {"auth.login", "auth.logout", "token.create"} <= {a["action"] for a in audit}


def test_unauthenticated_and_bad_tokens(api):
    assert_error(api.client.get(V + "/park"), 401, "unauthenticated", contains="log in")
    assert_error(api.client.get(V + "/park", headers={"Authorization": "Basic abc"}), 401)
    assert_error(api.client.get(V + "/park", headers={"Authorization": "Bearer gpk_nonsense"}), 401)
    assert api.client.get(V + "/park").headers["www-authenticate"] == "Bearer"


# -- the error shape everywhere ----------------------------------------------------------------------
def test_error_shape_for_unknown_routes_methods_and_ids(api):
    assert_error(call(api, "admin", "GET", "/nothing-here"), 404, "not_found", contains="openapi.json")
    assert_error(call(api, "admin", "PUT", "/park"), 405, "method_not_allowed")
    assert_error(call(api, "admin", "GET", "/meters/NOPE"), 404, contains="GET /api/v1/meters")
    assert_error(call(api, "admin", "GET", "/imports/424242"), 404)
    assert_error(call(api, "admin", "GET", "/energy?period=2025-13"), 400, contains="2025-03")
    assert_error(call(api, "admin", "GET", "/air?period=2024"), 400, contains="greenpark ingest")
    assert_error(call(api, "admin", "GET", "/quarantine?reason=nope"), 400, contains="reason codes")
    assert_error(call(api, "admin", "GET", "/mv/nope"), 404, contains="no M&V project")


def test_openapi_document_has_readable_operation_ids(api):
    spec = api.client.get(V + "/openapi.json").json()
    ids = {op["operationId"] for ops in spec["paths"].values() for op in ops.values()}
    assert {"read_park", "push_readings", "query_readings", "read_energy", "read_overview", "list_quarantine",
            "fix_quarantined_row", "list_audit", "create_token", "revoke_token"} <= ids


def test_overview_adds_up(api):
    ov = call(api, "auditor", "GET", "/overview?period=2025-01").json()
    assert sum(e["tce"] for e in ov["by_enterprise"]) == pytest.approx(ov["park"]["tce"], rel=1e-9)
    assert sum(m["tce"] for m in ov["by_month"]) == pytest.approx(ov["park"]["tce"], rel=1e-9)
    assert 0 < ov["completeness"]["pct"] <= 100 and ov["targets"] is None
    assert {c["carrier"] for c in ov["by_carrier"]} >= {"electricity", "natural_gas"}
