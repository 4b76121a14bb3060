"""The HTTP edge (issue 16 items 11 and 15): the unauthenticated health check, request-body size
limits with a 413 in the error shape, security headers, same-origin login redirects, refused weak
passwords, and a password change that ends the user's other sessions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_support import PASSWORD, assert_error, build_api_park
from greenpark.api import create_app
from greenpark.api.security import Settings
from greenpark.store import SCHEMA_VERSION

V = "/api/v1"
LIMITS = Settings(max_json_bytes=4_000, max_upload_bytes=20_000)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    ap = build_api_park(tmp_path_factory.mktemp("edges") / "park", days=2)
    with TestClient(create_app(ap.park, ap.db, settings=LIMITS)) as client:
        ap.client = client
        yield ap


def auth(api, role):
    return api.headers(role)


# -- health ----------------------------------------------------------------------------------------
def test_health_needs_no_login_and_names_version_and_schema(api):
    r = api.client.get(V + "/health")
    assert r.status_code == 200, r.text
    body = r.json()
    from greenpark import __version__

    assert body == {"status": "ok", "version": __version__,
                    "store": {"engine": "duckdb", "reachable": True, "schema_version": SCHEMA_VERSION,
                              "expected_schema_version": SCHEMA_VERSION}}
    assert str(api.dir) not in r.text  # nothing about where the store is


def test_health_is_503_when_the_store_does_not_answer(api, monkeypatch):
    def broken():
        raise RuntimeError("connection lost")

    monkeypatch.setattr(api.client.app.state.backend, "cursor", broken)
    r = api.client.get(V + "/health")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable" and r.json()["store"]["reachable"] is False


# -- body size limits ------------------------------------------------------------------------------
def _push(n: int) -> dict:
    return {"readings": [{"meter_id": "E1-EL", "timestamp": f"2025-01-01T{h:02d}:{m:02d}:00", "value": 1.0}
                         for h in range(24) for m in (15, 30, 45)][:n]}


def test_json_body_over_the_limit_is_413_before_it_is_read(api):
    small = api.client.post(V + "/readings", json=_push(3), headers=auth(api, "admin"))
    assert small.status_code == 200, small.text
    big = json.dumps(_push(72)).encode()
    assert len(big) > LIMITS.max_json_bytes
    r = api.client.post(V + "/readings", content=big, headers={**auth(api, "admin"), "Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large", contains="at most")


def test_default_json_limit_takes_a_full_push_batch():
    from greenpark.api.schemas import MAX_PUSH_ROWS

    row = {"meter_id": "E01-EL-MAIN-SUB-COMPRESSED-AIR", "timestamp": "2025-03-01T10:15:00+08:00",
           "value": 12345.678, "unit": "kWh"}
    body = json.dumps({"source": "gateway 1", "readings": [row] * MAX_PUSH_ROWS})
    assert len(body.encode()) < Settings().max_json_bytes < Settings().max_upload_bytes


def test_streamed_body_without_length_is_cut_at_the_limit(api):
    big = json.dumps(_push(72)).encode()

    def chunks():
        for i in range(0, len(big), 500):
            yield big[i:i + 500]

    r = api.client.post(V + "/readings", content=chunks(),
                        headers={**auth(api, "admin"), "Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_upload_limit_is_separate_and_larger(api):
    rows = "".join(f"E1-EL,2025-01-{d:02d}T{h:02d}:15:00,1\n" for d in range(3, 10) for h in range(24))
    ok = ("ok.csv", ("meter_id,timestamp,value\n" + rows).encode(), "text/csv")
    assert LIMITS.max_json_bytes < len(ok[1]) < LIMITS.max_upload_bytes
    r = api.client.post(V + "/imports", files={"file": ok}, headers=auth(api, "admin"))
    assert r.status_code == 201, r.text
    big = ("big.csv", b"meter_id,timestamp,value\n" + b"E1-EL,2025-01-03T00:15:00,1\n" * 1000, "text/csv")
    assert len(big[1]) > LIMITS.max_upload_bytes
    assert_error(api.client.post(V + "/imports", files={"file": big}, headers=auth(api, "admin")), 413,
                 "payload_too_large", contains="file upload")


# -- headers ---------------------------------------------------------------------------------------
def test_security_headers_on_api_pages_and_errors(api):
    for r in (api.client.get(V + "/park", headers=auth(api, "admin")), api.client.get(V + "/park"),
              api.client.get(V + "/health")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store"
    page = api.client.get("/login")
    assert page.headers["x-content-type-options"] == "nosniff"
    csp = page.headers["content-security-policy"]
    assert "base-uri 'none'" in csp and "frame-ancestors 'none'" in csp
    static = api.client.get("/static/app.js")
    assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in static.headers.get("cache-control", "")  # static files may be cached


# -- login redirect --------------------------------------------------------------------------------
APP_JS = Path(__file__).resolve().parent.parent / "src" / "greenpark" / "web" / "static" / "app.js"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the dashboard's function")
def test_login_next_stays_on_this_origin():
    src = APP_JS.read_text(encoding="utf-8")
    fn = re.search(r"function sameOriginPath\(next, origin\) \{.*?\n  \}\n", src, re.S)
    assert fn, "app.js has no sameOriginPath"
    cases = {"/\\host": None, "/\thost": "/host", "/\t/host": None, "//host": None, "/\\/host": None,
             "https://evil.example/": None, "javascript:alert(1)": None, "\n/\\host": None, "": None,
             "/meters/E01-EL-MAIN": "/meters/E01-EL-MAIN", "/mv?x=1#y": "/mv?x=1#y", "/": "/"}
    script = fn.group(0) + (f"const cases = {json.dumps(list(cases))};\n"
                            "console.log(JSON.stringify(cases.map(c => sameOriginPath(c, 'http://127.0.0.1:8000'))));")
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True).stdout
    assert dict(zip(cases, json.loads(out), strict=True)) == cases


# -- passwords -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("username", "password", "says"), [
    ("weak1", "Password123", "common passwords"),
    ("weak2", "qwertyuiop", "common passwords"),
    ("longusername", "LongUserName", "username"),
    ("longusername2", "longusername22024", "username"),
    ("weak3", "aaaaaaaaaaaa", "different"),
])
def test_weak_passwords_are_refused(api, username, password, says):
    r = api.client.post(V + "/users", json={"username": username, "role": "auditor", "password": password},
                        headers=auth(api, "admin"))
    assert_error(r, 400, contains=says)


def _login(api, username, password):
    c = TestClient(api.client.app)
    r = c.post(V + "/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


def test_password_change_ends_the_other_sessions_only(api):
    made = api.client.post(V + "/users", json={"username": "pw-user", "role": "auditor", "password": PASSWORD},
                           headers=auth(api, "admin"))
    assert made.status_code == 201, made.text
    a, csrf_a = _login(api, "pw-user", PASSWORD)
    b, _ = _login(api, "pw-user", PASSWORD)
    assert b.get(V + "/auth/me").status_code == 200
    wrong = a.post(V + "/auth/password", json={"current_password": "not the password", "new_password": "x" * 12},
                   headers={"X-CSRF-Token": csrf_a})
    assert_error(wrong, 403, contains="current password")
    weak = a.post(V + "/auth/password", json={"current_password": PASSWORD, "new_password": "password123"},
                  headers={"X-CSRF-Token": csrf_a})
    assert_error(weak, 400, contains="common")
    new = "a new passphrase for the audit"
    r = a.post(V + "/auth/password", json={"current_password": PASSWORD, "new_password": new},
               headers={"X-CSRF-Token": csrf_a})
    assert r.status_code == 204, r.text
    assert a.get(V + "/auth/me").status_code == 200  # the session that changed it stays
    assert_error(b.get(V + "/auth/me"), 401)  # the other one has ended
    assert_error(TestClient(api.client.app).post(V + "/auth/login", json={"username": "pw-user",
                                                                           "password": PASSWORD}), 401)
    _login(api, "pw-user", new)
    audit = api.client.get(V + "/audit?action=user.password", headers=auth(api, "admin")).json()
    rows = audit["rows"] if isinstance(audit, dict) else audit
    assert any(e.get("action") == "user.password" for e in rows)


def test_set_password_as_the_cli_does_ends_every_session(api):
    """`greenpark user password NAME` (no session of its own) ends all the user's browser sessions."""
    from greenpark.services import users

    api.client.post(V + "/users", json={"username": "cli-pw", "role": "auditor", "password": PASSWORD},
                    headers=auth(api, "admin"))
    a, _ = _login(api, "cli-pw", PASSWORD)
    b, _ = _login(api, "cli-pw", PASSWORD)

    def change(store):
        with store.transaction() as con:
            return users.set_password(con, "cli-pw", "another long passphrase")

    assert api.client.app.state.backend.write_sync(change) == 2
    for c in (a, b):
        assert_error(c.get(V + "/auth/me"), 401)
    with pytest.raises(users.AccountError, match="username"):
        api.client.app.state.backend.write_sync(
            lambda store: users.set_password(store.con, "cli-pw", "Cli-Pw2025"))


@pytest.mark.parametrize("path", ["/energy?period=9999", "/energy?period=0000", "/energy?period=9999-Q4",
                                  "/energy?period=9999-12", "/overview?period=9999", "/air?period=9999",
                                  "/water?period=0000", "/carbon?period=9999", "/targets?year=9999"])
def test_extreme_periods_are_400_not_500(api, path):
    """Issue 16 #3: a parseable period at the edge of the calendar is a 400 naming the range."""
    r = api.client.get(V + path, headers=auth(api, "admin"))
    assert r.status_code == 400, (path, r.status_code, r.text[:300])
