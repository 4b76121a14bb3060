"""An upload is read and validated beside the server's writer (ingest.prepare_file) and only
merged on it (ingest.merge_prepared): the stored result is that of ingest_file, on both engines,
and a login answers while a large upload is being read."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api_support import PASSWORD, build_api_park
from greenpark import ingest
from greenpark.api import create_app
from greenpark.store import Store

from conftest import ENGINES, NOW, store_url, write

V = "/api/v1"

MESSY = """\
meter_id,timestamp,value,unit
E1-EL,2025-01-01T00:15:00,10,kWh
E1-EL,2025-01-01T00:30:00,11,MWh
E1-EL,2025-01-01T00:45:00,x,kWh
E1-EL,2025-01-01T00:15:00,10,kWh
E1-EL,2025-01-01T01:00:00,12,kWh,extra
NOPE,2025-01-01T01:00:00,1,kWh
E1-EL,2031-01-01T01:00:00,1,kWh
E1-EL,1970-01-01T00:00:00,1,kWh
E1-EL,2025-01-01T01:15:00,-3,kWh
E1-NG,2025-01-01T01:00:00,5,m3
E1-NG,2025-01-01T01:00:00,6,m3
E1-ST,2025-01-01T01:00:00,2,furlong
E2-EL,2025-01-01T01:00:00,100,
E2-EL,2025-01-01T02:00:00,130,
E2-EL,2025-01-01T04:00:00,90,
"""

CHANGED = MESSY.replace("00:30:00,11,MWh", "00:30:00,12,MWh") + "E1-WA,2025-01-01T01:00:00,4,t\n"

STATION_FILE = """\
station_id,timestamp,parameter,value,unit
AQ1,2025-01-01T01:00:00,pm25,35,ug/m3
AQ1,2025-01-01T01:00:00,PM2.5,35,ug/m3
AQ1,2025-01-01T02:00:00,pm25,-1,ug/m3
AQ1,2025-01-01T02:00:00,nox,1,ug/m3
W1,2025-01-01T00:00:00,ph,7.1,
ZZ,2025-01-01T00:00:00,pm25,1,ug/m3
"""

_TABLES = ("imports", "quarantine", "readings", "readings_history", "registers", "observations",
           "observations_history", "rollup_hourly", "rollup_daily")
#: wall-clock columns (when the row was written), not part of the result
_CLOCK = {"finished_at"}


def _state(store: Store) -> dict[str, list]:
    out = {}
    for table in _TABLES:
        cur = store.con.execute(f"SELECT * FROM {table}")
        cols = [d[0] for d in cur.description]
        keep = [i for i, c in enumerate(cols) if c not in _CLOCK]
        out[table] = sorted((tuple(r[i] for i in keep) for r in cur.fetchall()), key=repr)
    return out


def _import_both(stores, path, *, force=False, park=None):
    """ingest_file into stores[0], prepare_file + merge_prepared into stores[1] (same clock)."""
    a = ingest.ingest_file(stores[0], path, now=NOW, force=force, park=park)
    # the prepared half reads through a cursor of its own, as the server's threads do
    reader = stores[1].reader()
    try:
        prepared = ingest.prepare_file(reader, stores[1].timezone, path, now=NOW, force=force, park=park)
    finally:
        if reader is not stores[1].con:
            reader.close()
    b = ingest.merge_prepared(stores[1], prepared)
    return a, b


def _comparable(r: ingest.ImportResult) -> dict:
    return {k: v for k, v in r.as_dict().items() if k != "path"}  # bulk or general: same figures


@pytest.fixture(params=ENGINES)
def two_stores(request, env_park, tmp_path):
    stores = []
    for i in range(2):
        url = (str(tmp_path / f"s{i}.duckdb") if request.param == "duckdb"
               else request.getfixturevalue("pg_server").create_database(f"upl{i}_{id(tmp_path) % 10**8}"))
        s = Store(url, env_park.park.timezone)
        with s.transaction():
            s.sync_park(env_park)
        stores.append(s)
    yield stores
    for s in stores:
        s.close()


def test_prepared_import_stores_what_ingest_file_stores(two_stores, env_park, tmp_path):
    messy = write(tmp_path / "messy.csv", MESSY)
    a, b = _import_both(two_stores, messy, park=env_park)
    assert _comparable(a) == _comparable(b)
    assert a.rejected >= 9 and a.accepted >= 3 and b.import_id == 1
    assert _state(two_stores[0]) == _state(two_stores[1])
    # the same file again: skipped as a duplicate; forced: re-processed without duplicating quarantine rows
    a, b = _import_both(two_stores, messy, park=env_park)
    assert _comparable(a) == _comparable(b) and b.skipped_as_duplicate_of == 1
    a, b = _import_both(two_stores, messy, park=env_park, force=True)
    assert _comparable(a) == _comparable(b) and b.import_id == 2 and b.unchanged >= 3
    # a corrected file: corrections and history; then observations
    a, b = _import_both(two_stores, write(tmp_path / "changed.csv", CHANGED), park=env_park)
    assert _comparable(a) == _comparable(b) and b.corrected >= 1
    a, b = _import_both(two_stores, write(tmp_path / "stations.csv", STATION_FILE), park=env_park)
    assert _comparable(a) == _comparable(b) and b.accepted >= 2 and b.rejected >= 3
    assert _state(two_stores[0]) == _state(two_stores[1])


def test_clean_file_bulk_and_prepared_agree(two_stores, env_park, tmp_path):
    """A clean CSV takes the bulk path in ingest_file on DuckDB: the prepared import stores the same."""
    ts = pd.date_range("2025-01-01 00:15", periods=500, freq="15min").strftime("%Y-%m-%dT%H:%M:%S")
    df = pd.DataFrame({"meter_id": "E1-EL", "timestamp": ts, "value": np.round(np.linspace(1, 50, 500), 3)})
    df.to_csv(tmp_path / "clean.csv", index=False)
    a, b = _import_both(two_stores, tmp_path / "clean.csv", park=env_park)
    assert _comparable(a) == _comparable(b) and b.accepted == 500
    assert _state(two_stores[0]) == _state(two_stores[1])


def test_prepared_duplicate_is_checked_again_at_merge(two_stores, env_park, tmp_path):
    """Two uploads of one file prepared together: the second merge finds the first and skips."""
    path = write(tmp_path / "messy.csv", MESSY)
    s = two_stores[1]
    first = ingest.prepare_file(s.con, s.timezone, path, now=NOW, park=env_park)
    second = ingest.prepare_file(s.con, s.timezone, path, now=NOW, park=env_park)
    assert first.skipped_as_duplicate_of is None and second.skipped_as_duplicate_of is None
    r1 = ingest.merge_prepared(s, first)
    r2 = ingest.merge_prepared(s, second)
    assert r1.import_id == 1 and r2.skipped_as_duplicate_of == 1 and r2.import_id is None
    assert s.con.execute("SELECT count(*) FROM imports").fetchall()[0][0] == 1


def test_prepare_names_unreadable_files(env_store, tmp_path):
    with pytest.raises(ingest.IngestError, match="unsupported file type"):
        ingest.prepare_file(env_store.con, env_store.timezone, write(tmp_path / "x.pdf", "%PDF"))
    with pytest.raises(ingest.IngestError, match="no such file"):
        ingest.prepare_file(env_store.con, env_store.timezone, tmp_path / "missing.csv")


# -- a login during a large upload ----------------------------------------------------------------
def _big_csv(rows: int) -> bytes:
    """``rows`` readings of the park's interval meters from 2021 (new hours), timestamps with an
    offset (the general path, row by row), one in 50 unparsable."""
    meters = ["E1-EL", "E1-EL-AIR", "E1-PV", "E1-EXP"]
    per = rows // len(meters)
    ts = pd.date_range("2021-01-01 00:15", periods=per, freq="15min").strftime("%Y-%m-%dT%H:%M:%S+08:00")
    values = np.round(np.random.default_rng(3).random(per * len(meters)) * 40, 3).astype(str)
    values[::50] = "n/a"
    df = pd.DataFrame({"meter_id": np.repeat(meters, per), "timestamp": np.tile(ts, len(meters)), "value": values})
    return df.to_csv(index=False).encode()


@pytest.fixture(params=ENGINES)
def api(request, tmp_path):
    d = tmp_path / "park"
    ap = build_api_park(d, days=1, db=store_url(request.param, d, request))
    app = create_app(ap.park, ap.db)
    with TestClient(app) as client:
        ap.client = client
        yield ap


def _watch_import(monkeypatch, gate: threading.Event | None = None) -> threading.Event:
    """An event set when the upload starts reading its file (whether beside the writer,
    prepare_file, or on it, ingest_file); with ``gate`` the reading then waits for it."""
    started = threading.Event()
    for fn in ("prepare_file", "ingest_file"):
        real = getattr(ingest, fn)

        def watched(*a, _real=real, **kw):
            started.set()
            out = _real(*a, **kw)
            if gate is not None:
                gate.wait(10)
            return out

        monkeypatch.setattr(ingest, fn, watched)
    return started


def _upload_in_thread(api, data: bytes, done: dict, answer: dict) -> threading.Thread:
    def upload():
        r = api.client.post(V + "/imports", headers=api.headers("admin"), files={"file": ("big.csv", data, "text/csv")})
        done["import"] = time.monotonic()
        answer["import"] = r

    t = threading.Thread(target=upload)
    t.start()
    return t


def test_login_does_not_wait_for_the_reading_of_an_upload(api, monkeypatch):
    """Held while its file is being read, an upload does not hold the writer: a login (which writes
    a session) answers, and only then may the reading end."""
    gate = threading.Event()
    reading = _watch_import(monkeypatch, gate)
    done: dict[str, float] = {}
    answer: dict = {}
    t = _upload_in_thread(api, MESSY.encode(), done, answer)
    assert reading.wait(10)
    r = api.client.post(V + "/auth/login", json={"username": "ent1", "password": PASSWORD})
    done["login"] = time.monotonic()
    gate.set()
    t.join(timeout=60)
    assert r.status_code == 200, r.text
    assert answer["import"].status_code == 201 and answer["import"].json()["rows_read"] == 15
    assert done["login"] < done["import"]
    # the session the login wrote is there
    assert api.client.get(V + "/auth/me").json()["user"]["username"] == "ent1"


def test_login_answers_while_a_large_upload_is_read(api, monkeypatch):
    data = _big_csv(300_000)
    reading = _watch_import(monkeypatch)
    done: dict[str, float] = {}
    answer: dict = {}
    started = time.monotonic()
    t = _upload_in_thread(api, data, done, answer)
    assert reading.wait(60)
    r = api.client.post(V + "/auth/login", json={"username": "ent1", "password": PASSWORD})
    done["login"] = time.monotonic()
    me = api.client.get(V + "/auth/me")  # the session cookie the login set: a read beside the import
    done["read"] = time.monotonic()
    t.join(timeout=300)
    assert r.status_code == 200, r.text
    assert me.status_code == 200 and me.json()["user"]["username"] == "ent1", me.text
    imp = answer["import"]
    assert imp.status_code == 201, imp.text
    body = imp.json()
    assert body["rows_read"] == 300_000 and body["rejected"] == 6000 and body["accepted"] == 294_000
    # the login (a session write) and the read answered before the import finished: they did not
    # queue behind the reading and validation of the file
    print({k: round(v - started, 3) for k, v in done.items()})
    assert done["login"] < done["read"] < done["import"], done
    assert done["import"] - done["read"] > 0.15 * (done["import"] - started), done  # with a margin


def test_prepared_parquet_xlsx_and_wide_lines_store_what_ingest_file_stores(two_stores, env_park, tmp_path):
    rows = [ln.split(",") for ln in MESSY.splitlines()[1:] if ln.count(",") == 3]
    df = pd.DataFrame(rows, columns=["meter_id", "timestamp", "value", "unit"])
    df.to_parquet(tmp_path / "messy.parquet")
    files = [tmp_path / "messy.parquet"]
    try:
        import openpyxl  # noqa: F401
        df.assign(timestamp=df.timestamp.str.replace("T", " ")).to_excel(tmp_path / "late.xlsx", index=False)
        files.append(tmp_path / "late.xlsx")
    except ImportError:
        pass
    wide = MESSY.replace("NOPE,2025-01-01T01:00:00,1,kWh", "NOPE" + ",1" * (ingest.limits.DEFAULT.max_fields_per_line + 5))
    files.append(write(tmp_path / "wide.csv", wide.replace("2025-01-01", "2025-01-03")))
    for path in files:
        a, b = _import_both(two_stores, path, park=env_park, force=True)
        assert _comparable(a) == _comparable(b), path.name
        assert b.rejected >= 1 and b.accepted + b.unchanged >= 1, path.name
        if path.name == "wide.csv":
            assert b.rejected_by_reason["malformed_row"] == 2, b  # the wide line and the one with a field too many
    assert _state(two_stores[0]) == _state(two_stores[1])
