"""`greenpark user add|list|token|password|revoke` as a user runs them (subprocesses), and the
audit log they leave; concurrent API writes through the one writer."""

from __future__ import annotations

import json
import subprocess
import threading

import pytest

from greenpark.services import users
from greenpark.store import Store

from conftest import GP

PW = "a long enough passphrase"


def gp(park_dir, *args, stdin: str | None = None, check: bool = True):
    p = subprocess.run([*GP, *args], cwd=park_dir, input=stdin, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"greenpark {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def test_user_add_list_token_revoke(park_dir):
    out = gp(park_dir, "user", "add", "alice", "--role", "park_admin", "--password-stdin", "--token", "laptop",
             stdin=PW + "\n").stdout
    assert "added user alice" in out and "gpk_" in out
    token = next(w for w in out.split() if w.startswith("gpk_"))
    gp(park_dir, "user", "add", "plant-a", "--role", "enterprise", "--enterprise", "E1", "--password-stdin", stdin=PW + "\n")
    dev = gp(park_dir, "user", "add", "gw1", "--role", "device", "--meter", "E1-EL", "--meter", "E1-NG",
             "--token", "gateway 1").stdout
    assert "gpk_" in dev
    listing = json.loads(gp(park_dir, "user", "list", "--format", "json").stdout)
    by_name = {u["username"]: u for u in listing["users"]}
    assert by_name["plant-a"]["enterprise_id"] == "E1" and by_name["gw1"]["meters"] == ["E1-EL", "E1-NG"]
    assert by_name["gw1"]["has_password"] is False and by_name["alice"]["has_password"] is True
    assert token not in json.dumps(listing)  # tokens are shown once, never listed
    assert {t["name"] for t in listing["tokens"]} == {"laptop", "gateway 1"}
    assert "alice" in gp(park_dir, "user", "list").stdout
    tid = next(t["token_id"] for t in listing["tokens"] if t["name"] == "gateway 1")
    gp(park_dir, "user", "revoke", "--token", str(tid))
    gp(park_dir, "user", "revoke", "plant-a")
    listing = json.loads(gp(park_dir, "user", "list", "--format", "json").stdout)
    assert {u["username"]: u["revoked_at"] is not None for u in listing["users"]}["plant-a"]
    store = Store(str(park_dir / "greenpark.duckdb"), read_only=True)
    try:
        assert users.token_principal(store.con, token).username == "alice"
        actions = [a["action"] for a in users.audit_entries(store.con, limit=100)]
        assert actions.count("user.add") == 3 and "token.revoke" in actions and "user.revoke" in actions
        assert {a["username"] for a in users.audit_entries(store.con)} == {f"cli:{users.cli_principal().username[4:]}"}
    finally:
        store.close()


@pytest.mark.parametrize("args,message", [
    (["user", "add", "x", "--role", "boss"], "--role boss"),
    (["user", "add", "x", "--role", "enterprise", "--no-password"], "--enterprise"),
    (["user", "add", "x", "--role", "enterprise", "--enterprise", "E9", "--no-password"], "not in park.toml"),
    (["user", "add", "x", "--role", "auditor", "--meter", "E1-EL", "--no-password"], "device users only"),
    (["user", "add", "bad name", "--role", "auditor", "--no-password"], "username"),
    (["user", "revoke"], "USERNAME or --token"),
    (["user", "revoke", "nobody"], "no user 'nobody'"),
])
def test_user_errors_say_what_to_do(park_dir, args, message):
    p = gp(park_dir, *args, check=False)
    assert p.returncode == 2, p.stdout + p.stderr
    assert message in p.stderr.replace("\n", " "), p.stderr


def test_user_short_password_is_refused(park_dir):
    p = gp(park_dir, "user", "add", "bob", "--role", "auditor", "--password-stdin", stdin="short\n", check=False)
    assert p.returncode == 2 and "too short" in p.stderr


def test_concurrent_pushes_and_reads_go_through_one_writer(tmp_path):
    """Pushes from many threads are serialised by the writer; reads run beside them; nothing is lost."""
    from fastapi.testclient import TestClient

    from api_support import build_api_park
    from greenpark.api import create_app

    ap = build_api_park(tmp_path / "park", days=2)
    with TestClient(create_app(ap.park, ap.db)) as c:
        h = ap.headers("admin")
        errors: list[str] = []

        def push(k: int) -> None:
            rows = [{"meter_id": "E1-EL", "timestamp": f"2025-01-{10 + k:02d}T{hh:02d}:{mm:02d}:00", "value": 1.0}
                    for hh in range(0, 24) for mm in (15, 30, 45)]
            r = c.post("/api/v1/readings", headers=h, json={"readings": rows})
            if r.status_code != 200 or r.json()["accepted"] != len(rows):
                errors.append(r.text[:200])

        def read() -> None:
            for _ in range(5):
                if c.get("/api/v1/energy?period=2025-01&lineage=false", headers=h).status_code != 200:
                    errors.append("read failed")

        threads = [threading.Thread(target=push, args=(k,)) for k in range(8)] + \
                  [threading.Thread(target=read) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        pushes = [i for i in c.get("/api/v1/imports?limit=100", headers=h).json() if i["source"] == "push:admin"]
        assert len(pushes) == 8 and len({i["import_id"] for i in pushes}) == 8
        audit = c.get("/api/v1/audit?action=readings.push", headers=h).json()
        assert sorted(a["import_id"] for a in audit) == sorted(i["import_id"] for i in pushes)
        total = c.get("/api/v1/readings?meter=E1-EL&start=2025-01-10&end=2025-01-18&resolution=day",
                      headers=h).json()["rows"]
        assert sum(r["n_readings"] for r in total) == 8 * 72


def test_serve_refuses_a_store_another_process_writes(park_dir):
    """Only one process writes a DuckDB store: a second writer gets a clear message."""
    store = Store(str(park_dir / "greenpark.duckdb"))
    try:
        p = gp(park_dir, "user", "add", "carol", "--role", "auditor", "--no-password", check=False)
        assert p.returncode == 2
        assert "greenpark serve" in p.stderr and "one process writes" in p.stderr.replace("\n", " ")
    finally:
        store.close()
