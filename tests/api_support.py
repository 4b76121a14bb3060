"""Shared set-up of the API tests: a small park with data, a user of every role, and the one
helper that pins the API's error shape (:func:`assert_error`)."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from greenpark import ingest
from greenpark import park as park_mod
from greenpark.services import users
from greenpark.store import Store

from conftest import SMALL_PARK, STATIONS

#: the enterprise users must never see: its ids and names as they appear in SMALL_PARK
E2_MARKERS = ("E2-EL", "乙厂", "Plant B", '"E2"', "'E2'", ",E2,")
PASSWORD = "correct horse battery staple"
ROLES = ("admin", "auditor", "ent1", "device", "anon")


def assert_error(resp, status: int, code: str | None = None, contains: str | None = None) -> dict:
    """The one error shape of the API: {"error": {"status", "code", "message", "details"}}."""
    assert resp.status_code == status, f"{resp.status_code} != {status}: {resp.text[:500]}"
    assert resp.headers["content-type"].startswith("application/json"), resp.headers["content-type"]
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"status", "code", "message", "details"}, err
    assert err["status"] == status and isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and len(err["message"]) > 10
    if code is not None:
        assert err["code"] == code, err
    if contains is not None:
        assert contains in err["message"], err["message"]
    return err


def _readings(start: str, days: int) -> pd.DataFrame:
    """15-minute E1 electricity (with sub-meter, PV, export), hourly gas/steam/water, daily diesel,
    hourly E2 registers, in park time (naive), interval-end labels."""
    t15 = pd.date_range(pd.Timestamp(start) + pd.Timedelta(minutes=15), periods=days * 96, freq="15min")
    t60 = pd.date_range(pd.Timestamp(start) + pd.Timedelta(hours=1), periods=days * 24, freq="h")
    rng = np.random.default_rng(7)
    parts = []

    def add(meter, ts, values):
        parts.append(pd.DataFrame({"meter_id": meter, "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S"),
                                   "value": np.round(values, 3)}))

    add("E1-EL", t15, 100 + 20 * rng.random(len(t15)))
    add("E1-EL-AIR", t15, 30 + 5 * rng.random(len(t15)))
    add("E1-PV", t15, 5 * rng.random(len(t15)))
    add("E1-EXP", t15, 0.5 * rng.random(len(t15)))
    add("E1-NG", t60, 20 + 2 * rng.random(len(t60)))
    add("E1-ST", t60, 0.5 + 0.1 * rng.random(len(t60)))
    add("E1-WA", t60, 2 + rng.random(len(t60)))
    # E2's register (after its replacement at 03:00 with new_initial 5) wraps at 1000: one rollover
    add("E2-EL", t60[3:], (5 + np.cumsum(4 + rng.random(len(t60) - 3))) % 1000)
    return pd.concat(parts, ignore_index=True)


def _air(start: str, days: int) -> pd.DataFrame:
    t = pd.date_range(pd.Timestamp(start) + pd.Timedelta(hours=1), periods=days * 24, freq="h")
    rng = np.random.default_rng(3)
    base = {"so2": 10, "no2": 30, "pm10": 60, "pm25": 35, "co": 0.8, "o3": 60}
    rows = [pd.DataFrame({"station_id": "AQ1", "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S"), "parameter": p,
                          "value": np.round(v * (0.5 + rng.random(len(t))), 2)}) for p, v in base.items()]
    return pd.concat(rows, ignore_index=True)


def _water() -> pd.DataFrame:
    rows = []
    for d in ("2025-01-05", "2025-01-20"):
        for p, v in {"ph": 7.5, "do": 6.0, "codmn": 4.0, "cod": 15.0, "bod5": 3.0, "nh3n": 0.5, "tp": 0.1}.items():
            rows.append({"station_id": "W1", "date": d, "parameter": p, "value": v})
    return pd.DataFrame(rows)


@dataclass
class ApiPark:
    dir: Path
    park: park_mod.Park
    db: str
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anon" else {"Authorization": f"Bearer {self.tokens[role]}"}


def build_api_park(d: Path, days: int = 10, db: str | None = None) -> ApiPark:
    """SMALL_PARK with stations, ``days`` of January 2025 readings, air and water data, a few
    quarantined rows, and one user per role (tokens in ``tokens``; admin and ent1 have passwords)."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "park.toml").write_text(textwrap.dedent(SMALL_PARK) + textwrap.dedent(STATIONS), encoding="utf-8")
    p = park_mod.load(d / "park.toml")
    _readings("2025-01-01", days).to_csv(d / "readings.csv", index=False)
    _air("2025-01-01", days).to_csv(d / "air.csv", index=False)
    _water().to_csv(d / "water.csv", index=False)
    (d / "bad.csv").write_text("meter_id,timestamp,value\nE9-EL,2025-01-02T00:15:00,1\nE1-EL,2025-01-02T00:30:00,n/a\n"
                               "E2-EL,2025-01-02T00:45:00,oops\n", encoding="utf-8")
    db = db or str(d / "greenpark.duckdb")
    now = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
    store = Store(db, p.park.timezone)
    try:
        with store.transaction():
            store.sync_park(p)
        for f in ("readings.csv", "air.csv", "water.csv", "bad.csv"):
            ingest.ingest_file(store, d / f, now=now)
        tokens = {}
        who = users.cli_principal()
        with store.transaction() as con:
            spec = {"admin": dict(role="park_admin", password=PASSWORD),
                    "auditor": dict(role="auditor"),
                    "ent1": dict(role="enterprise", enterprise_id="E1", password=PASSWORD),
                    "ent2": dict(role="enterprise", enterprise_id="E2"),
                    "device": dict(role="device", meters=["E1-EL", "E1-NG"]),
                    "device_e2": dict(role="device", enterprise_id="E2"),
                    "gateway": dict(role="device")}
            for name, kw in spec.items():
                users.add_user(con, p, name, kw.pop("role"), created_by=who.username, **kw)
                tokens[name], _ = users.create_token(con, name, "tests")
    finally:
        store.close()
    return ApiPark(d, p, db, tokens)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`greenpark serve` as a subprocess on 127.0.0.1 and a free port (started and stopped by a test)."""

    def __init__(self, park_dir: Path, log: Path, db: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._fh = log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "greenpark.cli", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port), "--log-level", "warning",
                                      *(["--db", db] if db else [])],
                                     cwd=park_dir, stdout=self._fh, stderr=subprocess.STDOUT)
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"greenpark serve exited ({self.proc.returncode}):\n{log.read_text()}")
            try:
                if httpx.get(self.url + "/api/v1/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"greenpark serve did not answer within 60 s:\n{log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._fh.close()
