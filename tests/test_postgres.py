"""PostgreSQL stores (issue 6): the same numbers as the embedded DuckDB file, several server
processes on one database (one writer at a time, caches dropped when another process writes),
and the SQL translation's own rules."""

from __future__ import annotations

import datetime as dt
import json
import threading

import httpx
import pytest

from api_support import Server, build_api_park
from greenpark.store import Store, StoreError
from greenpark.store.postgres import TranslationError, translate

from conftest import run


# -- translation ------------------------------------------------------------------------------------
def _pg(sql: str, params: bool = False) -> list[str]:
    return [s for s, _ in translate(sql, params)]


def test_group_by_all_groups_by_the_non_aggregate_columns():
    out = _pg("SELECT a, b, sum(c), row_number() OVER (ORDER BY a) FROM t GROUP BY ALL")
    assert out[0].endswith("GROUP BY 1, 2, 4")


def test_semi_join_becomes_exists_and_create_or_replace_drops_first():
    out = _pg("CREATE OR REPLACE TEMP TABLE z AS SELECT n.* FROM x n SEMI JOIN y t USING (k, h) WHERE n.a = 1")
    assert out[0] == "DROP TABLE IF EXISTS z"
    assert "EXISTS(SELECT 1 FROM y AS t WHERE t.k = n.k AND t.h = n.h)" in out[1].replace("( ", "(")
    assert "SEMI" not in out[1] and "OR REPLACE" not in out[1]


def test_parameters_and_percent_signs():
    (out,) = _pg("SELECT strftime(ts, '%Y-%m') || '%' FROM t WHERE a = ? AND b = ?", True)
    assert out.count("%s") == 2 and "'%%'" in out and "TO_CHAR(ts, 'YYYY\"-\"MM')" in out


def test_unknown_strftime_pattern_is_refused_not_guessed():
    with pytest.raises(TranslationError):
        translate("SELECT strftime(ts, '%b') FROM t", False)


def test_try_cast_keeps_duckdb_semantics(pg_url):
    s = Store(pg_url, "Asia/Shanghai")
    try:
        rows = s.con.execute("""
            SELECT TRY_CAST(x AS TIMESTAMPTZ), TRY_CAST(y AS DOUBLE) FROM (VALUES
              ('2025-01-01T00:15:00', '1e3'), ('yesterday', 'n/a'), ('2025-02-30 00:00', ' 2.5 '),
              ('2025-01-01 08:00:00+00:00', 'NaN')) v(x, y)""").fetchall()
    finally:
        s.close()
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert rows[0] == (dt.datetime(2025, 1, 1, 0, 15, tzinfo=shanghai), 1000.0)
    assert rows[1] == (None, None)  # PostgreSQL itself would read 'yesterday'
    assert rows[2][0] is None and rows[2][1] == 2.5
    assert rows[3][0] == dt.datetime(2025, 1, 1, 16, 0, tzinfo=shanghai) and rows[3][1] != rows[3][1]


def test_unreachable_server_is_a_clear_error_without_the_password():
    with pytest.raises(StoreError) as err:
        Store("postgresql://gp:secret@127.0.0.1:1/none", "Asia/Shanghai")
    assert "cannot connect to PostgreSQL" in str(err.value) and "secret" not in str(err.value)


# -- the same numbers on both engines ---------------------------------------------------------------
@pytest.fixture(scope="module")
def twin_parks(tmp_path_factory, pg_server):
    """The API test park imported into a DuckDB file and into PostgreSQL from the same files."""
    base = tmp_path_factory.mktemp("twins")
    duck = build_api_park(base / "duck")
    pg = build_api_park(base / "pg", db=pg_server.create_database("twin"))
    return duck, pg


@pytest.mark.parametrize("args", [
    ["energy", "--period", "2025-01", "--format", "json"],
    ["energy", "--period", "2025-01", "--by", "month", "--format", "json"],
    ["carbon", "--period", "2025", "--format", "json"],
    ["air", "--period", "2025-01", "--format", "json"],
    ["water", "--period", "2025", "--format", "json"],
    ["quarantine", "--format", "json"],
    ["readings", "E1-EL", "--from", "2025-01-02", "--to", "2025-01-03", "--format", "json"],
])
def test_cli_gives_the_same_figures_on_duckdb_and_postgresql(twin_parks, args):
    duck, pg = twin_parks
    a = run(*args, "--db", duck.db, cwd=duck.dir).stdout
    b = run(*args, "--db", pg.db, cwd=pg.dir).stdout
    ja, jb = json.loads(a), json.loads(b)
    assert _strip_volatile(ja) == _strip_volatile(jb)


def _strip_volatile(x):
    """Drop what differs by nature between two stores built at different moments (publication time)."""
    if isinstance(x, dict):
        return {k: _strip_volatile(v) for k, v in x.items() if k not in ("published_at", "generated_at")}
    if isinstance(x, list):
        return [_strip_volatile(v) for v in x]
    return x


def test_reimporting_the_same_file_into_postgresql_changes_nothing(twin_parks):
    _, pg = twin_parks
    csv = str(pg.dir / "readings.csv")
    (skipped,) = json.loads(run("ingest", csv, "--format", "json", "--db", pg.db, cwd=pg.dir).stdout)
    assert skipped["skipped_as_duplicate_of"] == 1 and skipped["import_id"] is None
    (forced,) = json.loads(run("ingest", csv, "--force", "--format", "json", "--db", pg.db, cwd=pg.dir).stdout)
    assert forced["rows_read"] > 4000 and forced["unchanged"] == forced["rows_read"]
    assert forced["accepted"] == forced["corrected"] == forced["rejected"] == 0


# -- several server processes on one database -------------------------------------------------------
@pytest.fixture(scope="module")
def two_servers(tmp_path_factory, pg_server):
    d = tmp_path_factory.mktemp("multi") / "park"
    ap = build_api_park(d, db=pg_server.create_database("multi"))
    a = Server(d, d.parent / "a.log", db=ap.db)
    try:
        b = Server(d, d.parent / "b.log", db=ap.db)
    except BaseException:
        a.stop()
        raise
    yield ap, a, b
    a.stop()
    b.stop()


def _get(server, ap, path, role="admin"):
    r = httpx.get(server.url + "/api/v1" + path, headers=ap.headers(role), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _push(server, ap, readings, role="admin"):
    r = httpx.post(server.url + "/api/v1/readings", json={"readings": readings}, headers=ap.headers(role), timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_write_through_one_server_is_seen_by_the_other_at_once(two_servers):
    ap, a, b = two_servers
    before = _get(b, ap, "/overview?period=2025-01")  # cached by b
    assert _get(b, ap, "/overview?period=2025-01") == before
    out = _push(a, ap, [{"meter_id": "E1-EL", "timestamp": "2025-01-28T10:15:00", "value": 1000.0}])
    assert out["accepted"] == 1
    after = _get(b, ap, "/overview?period=2025-01")
    assert after["park"]["electricity_kwh"] == pytest.approx(before["park"]["electricity_kwh"] + 1000.0)


def test_concurrent_pushes_to_two_servers_lose_nothing_and_duplicate_nothing(two_servers):
    ap, a, b = two_servers
    day = dt.datetime(2025, 1, 29)

    def batch(minute_offset: int) -> list[dict]:
        return [{"meter_id": "E1-NG", "timestamp": (day + dt.timedelta(hours=h, minutes=minute_offset)).isoformat(),
                 "value": 1.0} for h in range(0, 24)]

    # each server gets its own readings and both get one shared batch (which must land once)
    jobs = [(a, batch(1)), (b, batch(2)), (a, batch(3)), (b, batch(4)), (a, batch(5)), (b, batch(5))]
    results: list[dict] = []
    errors: list[BaseException] = []

    def go(server, readings):
        try:
            results.append(_push(server, ap, readings))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r["accepted"] for r in results) == 5 * 24
    assert sum(r["unchanged"] for r in results) == 24
    assert len({r["import_id"] for r in results}) == len(jobs)
    rows = _get(a, ap, "/readings?meter=E1-NG&start=2025-01-29T00:00&end=2025-01-30T00:00&resolution=raw")["rows"]
    assert len(rows) == 5 * 24 and len({x["time"] for x in rows}) == 5 * 24
    # the hourly rollups of both servers agree with the readings
    hourly = _get(b, ap, "/readings?meter=E1-NG&start=2025-01-29T00:00&end=2025-01-30T00:00&resolution=hour")["rows"]
    assert sum(x["value"] for x in hourly) == pytest.approx(5 * 24)


def test_servers_keep_a_bounded_number_of_sessions(two_servers, pg_server):
    """Reads use one session per server thread (core computations share it), not one per request."""
    import psycopg

    ap, a, b = two_servers

    def sessions() -> int:
        with psycopg.connect(f"{pg_server.url}/postgres") as c:
            return c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'multi'").fetchone()[0]

    for month in range(1, 13):  # different periods: every request computes (no cache hit)
        for server in (a, b):
            _get(server, ap, f"/energy?period=2025-{month:02d}")
    first = sessions()
    for month in range(1, 13):
        for server in (a, b):
            _get(server, ap, f"/overview?period=2024-{month:02d}")
            _get(server, ap, f"/energy?period=2025-{month:02d}&enterprise=E1")
    assert sessions() <= first + 4  # no growth with the number of requests
    assert first <= 2 * 48  # per server: writer, listener, and at most the thread pool's threads


def test_park_toml_can_name_the_postgresql_store(twin_parks, tmp_path):
    """db = "postgresql://..." in park.toml: commands need no --db and no DuckDB file appears."""
    import shutil

    _, pg = twin_parks
    park = tmp_path / "park"
    shutil.copytree(pg.dir, park, ignore=shutil.ignore_patterns("*.duckdb*"))
    toml = park / "park.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("[park]\n", f'[park]\ndb = "{pg.db}"\n', 1),
                    encoding="utf-8")
    out = json.loads(run("energy", "--period", "2025-01", "--format", "json", cwd=park).stdout)
    assert out["park"]["tce"] > 0
    assert not list(park.glob("*.duckdb"))


def test_registered_arrow_tables_arrive_exactly(pg_url):
    """Arrow -> COPY -> PostgreSQL keeps every value: doubles bit for bit, text with quotes, commas and
    newlines, empty text apart from NULL, naive and zoned timestamps, dates and booleans."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(7)
    x = np.concatenate([[0.1, 1 / 3, 1e-300, 123456789.12345679, -0.0, 5e-324], rng.random(994) * 1e7])
    n = len(x)
    texts = ['say "hi", then\nleave', "", None, "中文", "a,b", "\\N"] + [f"m{i}" for i in range(n - 6)]
    ts = pa.array([dt.datetime(2025, 1, 1) + dt.timedelta(minutes=15 * i) for i in range(n)], pa.timestamp("us"))
    table = pa.table({"v": x, "s": pa.array(texts, pa.string()), "ts": ts,
                      "tz": ts.cast(pa.timestamp("us", tz="UTC")),
                      "d": pa.array([dt.date(2025, 1, 1) + dt.timedelta(days=i % 365) for i in range(n)], pa.date32()),
                      "b": pa.array([i % 3 == 0 for i in range(n)]), "i": pa.array(range(n), pa.int64())})
    s = Store(pg_url, "Asia/Shanghai")
    try:
        s.con.register("_t", table)
        back = s.con.execute("SELECT v, s, ts, tz, d, b, i FROM _t ORDER BY i").fetchall()
    finally:
        s.close()
    assert [r[0] for r in back] == x.tolist()
    assert [r[1] for r in back] == texts
    assert [r[2] for r in back] == ts.to_pylist()
    assert [r[3] for r in back] == [t.replace(tzinfo=dt.UTC) for t in ts.to_pylist()]
    assert [r[4] for r in back] == table["d"].to_pylist() and [r[5] for r in back] == table["b"].to_pylist()


def test_rewrites_reach_inside_other_rewrites():
    (out,) = _pg("SELECT isnan(TRY_CAST(x AS DOUBLE) // 2), TRY_CAST(strftime(ts, '%Y') AS BIGINT) FROM t")
    assert "(CAST(DIV(GP_TRY_DOUBLE(CAST(x AS TEXT)), 2) AS BIGINT) = CAST('NaN' AS DOUBLE PRECISION))" in out
    assert "GP_TRY_BIGINT(CAST(TO_CHAR(ts, 'YYYY') AS TEXT))" in out
