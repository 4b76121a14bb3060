"""Server pieces beyond the role matrix, on both engines: login throttling (per username and per
client address, on an injected clock), the purge of ended sessions and tokens (by the server's
periodic task, by users.purge_sessions and by `greenpark user purge-sessions`), pushes of
station observations, and the M&V savings series the dashboard draws (on the demo park)."""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pytest
from fastapi.testclient import TestClient

from api_support import PASSWORD, assert_error, build_api_park
from greenpark import park as park_mod
from greenpark.api import create_app
from greenpark.api.ratelimit import LoginThrottle
from greenpark.api.security import Settings
from greenpark.services import users
from greenpark.store import Store

from conftest import ENGINES, GP, store_url

V = "/api/v1"
#: the server's housekeeping runs often here, so that a test sees it happen
SETTINGS = Settings(purge_interval=dt.timedelta(seconds=0.2))


@pytest.fixture(scope="module", params=ENGINES)
def api(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("extras") / "park"
    ap = build_api_park(d, days=3, db=store_url(request.param, d, request))
    app = create_app(ap.park, ap.db, settings=SETTINGS)
    with TestClient(app) as client:
        ap.client = client
        yield ap


def call(api, role, method, path, **kw):
    return api.client.request(method, V + path, headers=api.headers(role), **kw)


class Clock:
    """A monotonic clock that tests move by hand [s]."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(api) -> Clock:
    """A fresh login throttle (the server's settings) on a clock of the test's own."""
    c = Clock()
    api.client.app.state.login_throttle = LoginThrottle.from_settings(SETTINGS, clock=c)
    return c


def browser(api, address: str = "10.0.0.1") -> TestClient:
    """A client with its own cookie jar and client address, on the running application."""
    return TestClient(api.client.app, client=(address, 50000))


def login(c: TestClient, username: str, password: str = PASSWORD):
    return c.post(V + "/auth/login", json={"username": username, "password": password})


# -- login throttling ------------------------------------------------------------------------------
def test_login_throttled_after_five_failures_until_the_window_passes(api, clock):
    c = browser(api)
    for _ in range(SETTINGS.login_max_failures):
        assert_error(login(c, "admin", "wrong password!"), 401, "unauthenticated")
    r = login(c, "admin", "wrong password!")
    err = assert_error(r, 429, "too_many_requests", contains="for this username")
    window = int(SETTINGS.login_window.total_seconds())
    assert int(r.headers["retry-after"]) == window == err["details"]["retry_after"]
    assert_error(login(c, "admin"), 429, "too_many_requests")  # the right password is refused too
    assert login(browser(api), "ent1").status_code == 200  # other usernames, same address: unaffected
    clock.now += 600
    r = assert_error(login(c, "admin"), 429)
    assert r["details"]["retry_after"] == window - 600
    clock.now += window - 600
    ok = login(c, "admin")
    assert ok.status_code == 200, ok.text
    audit = call(api, "auditor", "GET", "/audit?action=auth.login_failed&username=admin&limit=10").json()
    assert len(audit) >= SETTINGS.login_max_failures
    last = audit[0]
    assert last["user_id"] is None and last["role"] is None and last["remote"] == "10.0.0.1"
    assert last["after_state"] == {"throttled": True, "failures": {"username": 5, "address": 5}}


def test_login_success_resets_the_usernames_count(api, clock):
    c = browser(api, "10.0.0.2")
    for _ in range(2):
        for _ in range(SETTINGS.login_max_failures - 1):
            assert_error(login(c, "ent1", "wrong password!"), 401)
        assert login(c, "ent1").status_code == 200
    assert_error(login(c, "ent1", "wrong password!"), 401)


def test_login_throttled_per_client_address(api, clock):
    """Guessing many usernames from one address; a login of one's own does not reset the address."""
    c = browser(api, "10.0.0.3")
    limit = SETTINGS.login_max_failures_per_address
    for i in range(limit - 1):
        assert_error(login(c, f"guess{i}", "wrong password!"), 401)
    assert login(c, "admin").status_code == 200
    assert_error(login(c, "another-guess", "wrong password!"), 401)
    err = assert_error(login(c, "yet-another", "wrong password!"), 429, contains="from your address")
    assert err["details"]["limited"] == "address"
    assert_error(login(c, "admin"), 429)
    assert login(browser(api, "10.0.0.4"), "admin").status_code == 200  # another address
    clock.now += SETTINGS.login_window.total_seconds()
    assert login(c, "admin").status_code == 200


def test_login_throttle_forgets_old_keys_within_its_memory_bound():
    c = Clock()
    t = LoginThrottle(5, 20, 900, clock=c, max_keys=10)
    for i in range(25):
        t.failed(f"u{i}", None)
        c.now += 100
    assert len(t._fails) <= 10
    assert t.retry_after("u24", None) is None and t.failed("u24", None) == (False, {"username": 2})


# -- purge of ended sessions and tokens --------------------------------------------------------------
def _principal(con, username: str) -> users.Principal:
    return users._principal(users.get_user(con, username) | {"meters": None}, "session")


def test_server_purges_ended_sessions_and_keeps_live_ones(api):
    backend = api.client.app.state.backend

    def make(store):
        with store.transaction() as con:
            p = _principal(con, "ent1")
            live, _ = users.create_session(con, p, dt.timedelta(hours=1))
            expired, _ = users.create_session(con, p, dt.timedelta(seconds=-1))
            ended, _ = users.create_session(con, p, dt.timedelta(hours=1))
            users.end_session(con, users.secret_hash(ended))
        return live, expired, ended

    live, expired, ended = backend.write_sync(make)
    cur = backend.cursor()

    def present(sid):
        return cur.execute("SELECT count(*) FROM sessions WHERE session_hash = ?",
                           [users.secret_hash(sid)]).fetchall()[0][0] == 1

    deadline = time.monotonic() + 20
    while (present(expired) or present(ended)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not present(expired) and not present(ended)
    assert present(live)
    c = browser(api)
    c.cookies.set("gp_session", live)
    assert c.get(V + "/auth/me").json()["user"]["username"] == "ent1"
    purges = call(api, "auditor", "GET", "/audit?action=sessions.purge&username=server").json()
    assert purges and purges[0]["after_state"]["sessions"] >= 2


@pytest.mark.parametrize("engine", ENGINES)
def test_purge_sessions_deletes_ended_sessions_and_old_dead_tokens(engine, park, tmp_path, request):
    store = Store(store_url(engine, tmp_path, request), park.park.timezone)
    try:
        with store.transaction() as con:
            store.sync_park(park)
            users.add_user(con, park, "ann", "auditor", password=PASSWORD, created_by="test")
            p = _principal(con, "ann")
            live, _ = users.create_session(con, p, dt.timedelta(hours=12))
            users.create_session(con, p, dt.timedelta(hours=-1))
            ended, _ = users.create_session(con, p, dt.timedelta(hours=12))
            users.end_session(con, users.secret_hash(ended))
            now = dt.datetime.now(dt.UTC)
            for name, expires in (("live", None), ("later", now + dt.timedelta(days=5)),
                                  ("expired-old", now - dt.timedelta(days=100)),
                                  ("expired-recent", now - dt.timedelta(days=10)), ("revoked-old", None),
                                  ("revoked-recent", None)):
                _, row = users.create_token(con, "ann", name, expires_at=expires)
                if name.startswith("revoked"):
                    days = 100 if name.endswith("old") else 1
                    con.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?",
                                [now - dt.timedelta(days=days), row["token_id"]])
        with store.transaction() as con:
            assert users.ended_counts(con, now=now) == {"sessions": 2, "tokens": 2}
            assert users.purge_sessions(con, now=now) == {"sessions": 2, "tokens": 2}
            assert users.purge_sessions(con, now=now) == {"sessions": 0, "tokens": 0}
            left = con.execute("SELECT session_hash FROM sessions").fetchall()
            assert left == [(users.secret_hash(live),)]
            assert users.session_principal(con, live).username == "ann"
            assert {t["name"] for t in users.list_tokens(con)} == {"live", "later", "expired-recent",
                                                                     "revoked-recent"}
            assert users.purge_sessions(con, now=now, token_retention=dt.timedelta(0)) == {"sessions": 0,
                                                                                              "tokens": 2}
    finally:
        store.close()


def test_purge_sessions_command(park_dir):
    import subprocess

    p = park_mod.load(park_dir / "park.toml")
    store = Store(str(park_dir / "greenpark.duckdb"), p.park.timezone)
    try:
        with store.transaction() as con:
            store.sync_park(p)
            users.add_user(con, p, "ann", "auditor", password=PASSWORD, created_by="test")
            live, _ = users.create_session(con, _principal(con, "ann"), dt.timedelta(hours=1))
            users.create_session(con, _principal(con, "ann"), dt.timedelta(hours=-1))
    finally:
        store.close()
    out = subprocess.run([*GP, "user", "purge-sessions"], cwd=park_dir, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "deleted 1 ended session(s) and 0 API token(s)" in out.stdout
    bad = subprocess.run([*GP, "user", "purge-sessions", "--token-retention-days", "-1"], cwd=park_dir,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "--token-retention-days" in bad.stdout + bad.stderr
    store = Store(str(park_dir / "greenpark.duckdb"), read_only=True)
    try:
        assert store.con.execute("SELECT session_hash FROM sessions").fetchall() == [(users.secret_hash(live),)]
        assert users.audit_entries(store.con, action="sessions.purge")[0]["after_state"] == {"sessions": 1,
                                                                                              "tokens": 0}
    finally:
        store.close()


# -- station observations pushed over HTTP -----------------------------------------------------------
def test_push_observations_goes_through_the_import_path(api):
    body = {"source": "aq gateway", "observations": [
        {"station_id": "AQ1", "timestamp": "2025-01-03T10:00:00+08:00", "parameter": "pm25", "value": 41.5},
        {"station_id": "AQ1", "timestamp": "2025-01-03T11:00:00", "parameter": "so2", "value": "12", "unit": "µg/m3"},
        {"station_id": "WX1", "timestamp": "2025-01-03T11:00:00", "parameter": "temperature", "value": 3.5},
        {"station_id": "W1", "timestamp": "2025-01-10", "parameter": "cod", "value": 14.0},
        {"station_id": "AQ9", "timestamp": "2025-01-03T10:00:00", "parameter": "pm25", "value": 1},
        {"station_id": "AQ1", "timestamp": "2025-01-03T10:00:00", "parameter": "cod", "value": 1},
        {"station_id": "AQ1", "timestamp": "yesterday", "parameter": "pm25", "value": 1},
    ]}
    r = call(api, "admin", "POST", "/observations", json=body)
    out = r.json()
    assert r.status_code == 200, out
    assert out["source"] == "push:admin:aq gateway" and out["rows_read"] == 7
    assert out["accepted"] + out["corrected"] + out["unchanged"] == 4 and out["rejected"] == 3
    assert {x["index"]: x["reason"] for x in out["rejected_rows"]} == {
        4: "unknown_station", 5: "unknown_parameter", 6: "unparsable_timestamp"}
    cur = api.client.app.state.backend.cursor()
    got = cur.execute("SELECT station_id, parameter, value FROM observations WHERE station_id IN ('AQ1', 'W1') "
                      "AND parameter IN ('pm25', 'cod') AND value IN (41.5, 14.0) ORDER BY station_id").fetchall()
    assert got == [("AQ1", "pm25", 41.5), ("W1", "cod", 14.0)]
    audit = call(api, "auditor", "GET", "/audit?action=observations.push&username=admin").json()
    assert audit[0]["import_id"] == out["import_id"] and audit[0]["after_state"]["rejected"] == 3
    again = call(api, "admin", "POST", "/observations", json={"observations": body["observations"][:1]}).json()
    assert again["unchanged"] == 1


def test_push_observations_role_rules(api):
    one = {"observations": [{"station_id": "WX1", "timestamp": "2025-01-03T12:00:00", "parameter": "temperature",
                             "value": 4.0}]}
    n = len(call(api, "admin", "GET", "/imports?limit=1000").json())
    err = assert_error(call(api, "device", "POST", "/observations", json=one), 403, "forbidden")
    assert "E1-EL, E1-NG" in err["message"] and "nothing was imported" in err["message"]
    assert_error(call(api, "device_e2", "POST", "/observations", json=one), 403, contains="meters of E2")
    for role in ("auditor", "ent1"):
        assert_error(call(api, role, "POST", "/observations", json=one), 403)
    assert_error(api.client.post(V + "/observations", json=one), 401)
    assert len(call(api, "admin", "GET", "/imports?limit=1000").json()) == n
    # a station gateway: a device user limited to no meters and no enterprise
    assert call(api, "admin", "POST", "/users", json={"username": "wx-gw", "role": "device"}).status_code == 201
    tok = call(api, "admin", "POST", "/tokens", json={"name": "wx", "username": "wx-gw"}).json()["token"]
    r = api.client.post(V + "/observations", json=one, headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200 and r.json()["source"] == "push:wx-gw"


def test_push_observations_input_errors_use_the_error_shape(api):
    assert_error(call(api, "admin", "POST", "/observations", json={"observations": []}), 400, contains="station_id")
    assert_error(call(api, "admin", "POST", "/observations", json={"readings": []}), 422, "validation_error")
    assert_error(call(api, "admin", "POST", "/observations", json={"observations": [
        {"station_id": "AQ1", "timestamp": "2025-01-03T10:00:00", "value": 1}]}), 422, "validation_error")


def test_mv_series_of_a_park_without_projects(api):
    assert_error(call(api, "admin", "GET", "/mv/nope/series"), 404, contains="no M&V project")
    assert_error(call(api, "ent1", "GET", "/mv/nope/series"), 403)
    assert_error(call(api, "admin", "GET", "/mv/nope/series?step=year"), 422)


# -- the M&V savings series (demo park: project E01-retrofit) ---------------------------------------------
@pytest.fixture(scope="module")
def demo_api(demo_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("mv") / "park"
    shutil.copytree(demo_dir, d)
    p = park_mod.load(d / "park.toml")
    store = Store(p.db_path, p.park.timezone)
    try:
        with store.transaction() as con:
            users.add_user(con, p, "adm", "park_admin", created_by="test")
            users.add_user(con, p, "e02", "enterprise", enterprise_id="E02", created_by="test")
            tokens = {u: users.create_token(con, u, "test")[0] for u in ("adm", "e02")}
    finally:
        store.close()
    with TestClient(create_app(p)) as client:
        yield client, {u: {"Authorization": f"Bearer {t}"} for u, t in tokens.items()}


def test_mv_series_adds_up_to_the_verified_savings(demo_api):
    client, h = demo_api
    mv = client.get(V + "/mv/E01-retrofit", headers=h["adm"]).json()
    day = client.get(V + "/mv/E01-retrofit/series?step=day", headers=h["adm"]).json()
    assert day["unit"] == "kWh/d" and day["resolution"] == mv["project"]["model_used"] == "daily"
    rep = [r for r in day["rows"] if r["phase"] == "reporting"]
    base = [r for r in day["rows"] if r["phase"] == "baseline"]
    s = mv["savings"]
    assert len(rep) == s["periods"]["used"] and rep[0]["date"] == day["reporting_start"] == "2025-01-06"
    assert sum(r["predicted"] for r in rep) == pytest.approx(s["adjusted_baseline"], rel=1e-12)
    assert sum(r["actual"] for r in rep) == pytest.approx(s["reporting"], rel=1e-12)
    assert sum(r["predicted"] - r["actual"] for r in rep) == pytest.approx(s["routine_savings"], rel=1e-9)
    assert base[0]["date"] == "2024-01-01" and base[-1]["date"] <= "2024-12-31"
    week = client.get(V + "/mv/E01-retrofit/series", headers=h["adm"]).json()
    assert week["step"] == "week" and 100 < len(week["rows"]) < 110
    assert {dt.date.fromisoformat(r["date"]).weekday() for r in week["rows"][1:]} == {0}  # weeks from Monday
    month = client.get(V + "/mv/E01-retrofit/series?step=month", headers=h["adm"]).json()
    assert [r["date"] for r in month["rows"] if r["phase"] == "reporting"][0] == "2025-01-01"
    assert_error(client.get(V + "/mv/E01-retrofit/series", headers=h["e02"]), 403, contains="not one of E02's")
