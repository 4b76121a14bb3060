"""Reads while `greenpark serve` holds the DuckDB file (issue 15 item 8): read commands give the
same output as without the server (they read a snapshot the server takes for them), write
commands get a message naming the server and what to do, a stale discovery file (dead process)
is ignored, and no command shows DuckDB's raw lock error. With a real server subprocess."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import httpx

from api_support import Server, build_api_park
from greenpark import discovery

from conftest import run

READS = [
    ("energy", "--period", "2025-01", "--format", "json"),
    ("quarantine", "--format", "json"),
    ("quarantine", "--format", "csv", "--all"),
    ("imports", "--format", "json"),
    ("readings", "E1-EL", "--format", "json"),
]


def _raw_lock_error(text: str) -> bool:
    return "Could not set lock" in text or "IO Error" in text or "Traceback" in text


def test_read_commands_work_and_writes_are_told_while_the_server_runs(tmp_path):
    ap = build_api_park(tmp_path / "park", days=1)
    before = {c: run(*c, cwd=ap.dir).stdout for c in READS}
    carbon_before = run("carbon", "--period", "2025", "--format", "json", cwd=ap.dir)
    server = Server(ap.dir, tmp_path / "serve.log")
    try:
        found = discovery.find(ap.db)
        assert found is not None and found.pid == server.proc.pid and found.url == server.url
        assert stat.S_IMODE(os.stat(discovery.file_for(ap.db)).st_mode) == 0o600
        for c in READS:
            p = run(*c, cwd=ap.dir)
            assert p.stdout == before[c], c
            assert "snapshot" in p.stderr and not _raw_lock_error(p.stderr)
        carbon = run("carbon", "--period", "2025", "--format", "json", cwd=ap.dir, check=False)
        if carbon.returncode == 0:  # computing without publishing reads only (issue 15 item 9)
            assert carbon.stdout == carbon_before.stdout
        else:  # a run that publishes writes: told what to do
            assert carbon.returncode == 2 and "holds the store" in carbon.stderr
        w = run("ingest", "readings.csv", cwd=ap.dir, check=False)
        assert w.returncode == 2 and not _raw_lock_error(w.stderr + w.stdout)
        assert f"pid {server.proc.pid}" in w.stderr and server.url in w.stderr and "/api/v1/imports" in w.stderr
        # the snapshot endpoint answers only with the discovery file's secret
        assert httpx.post(server.url + discovery.SNAPSHOT_PATH, timeout=30).status_code == 404
        assert httpx.post(server.url + discovery.SNAPSHOT_PATH, headers={discovery.SECRET_HEADER: "x" * 43},
                          timeout=30).status_code == 404
        assert "local/snapshot" not in httpx.get(server.url + "/api/v1/openapi.json", timeout=30).text
        assert not [f for f in os.listdir(ap.dir) if f.startswith(".greenpark-snapshot-")]
    finally:
        server.stop()
    assert not discovery.file_for(ap.db).exists()  # withdrawn when the server stops
    assert run("energy", "--period", "2025-01", "--format", "json", cwd=ap.dir).stdout == before[READS[0]]


def test_a_stale_discovery_file_is_ignored_and_a_lock_is_explained(tmp_path):
    ap = build_api_park(tmp_path / "park", days=1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    discovery.file_for(ap.db).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": int(dead.stdout),
                                                     "secret": "s", "db": os.path.abspath(ap.db)}))
    assert discovery.find(ap.db) is None
    p = run("quarantine", "--format", "json", cwd=ap.dir)
    assert "snapshot" not in p.stderr and json.loads(p.stdout)["total"] >= 1
    # another process holds the file (not a server): a clear message, never DuckDB's lock error
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(60)", ap.db], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        for cmd in (("energy", "--period", "2025-01"), ("ingest", "readings.csv")):
            r = run(*cmd, cwd=ap.dir, check=False)
            assert r.returncode == 2 and "in use by another process" in r.stderr, r.stderr
            assert f"pid {holder.pid}" in r.stderr and not _raw_lock_error(r.stderr)
        zh = subprocess.run([sys.executable, "-m", "greenpark.cli", "energy", "--period", "2025-01"], cwd=ap.dir,
                            capture_output=True, text=True, env={**os.environ, "GREENPARK_LANG": "zh"})
        assert "正被另一个进程占用" in zh.stderr
    finally:
        holder.kill()
        holder.wait()


def test_snapshot_is_a_consistent_copy_and_stale_ones_are_cleared(tmp_path):
    import duckdb

    from greenpark.store import snapshot

    db = tmp_path / "s.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT range AS x FROM range(1000)")
    con.execute("INSERT INTO t VALUES (5000)")  # still in the write-ahead log
    old = tmp_path / (snapshot.PREFIX + "old")
    old.mkdir()
    (old / "snapshot.duckdb").write_bytes(b"x")
    os.utime(old, (0, 0))
    path = snapshot.copy_duckdb(con, str(db))
    assert not old.exists() and path.parent.name.startswith(snapshot.PREFIX)
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    copy = duckdb.connect(str(path), read_only=True)
    assert copy.execute("SELECT count(*), max(x) FROM t").fetchall() == [(1001, 5000)]
    copy.close()
    snapshot.remove(path)
    assert not path.parent.exists()
    # the server's own connection still holds the file: another process cannot open it
    probe = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1])", str(db)],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "lock" in probe.stderr.lower()
    con.close()
