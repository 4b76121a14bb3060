"""Benchmark (issue 6): the HTTP server on the demo park.

1. Park overview (``GET /api/v1/overview``) at 50 concurrent clients: latency percentiles over
   every request after a warm-up. Goal: p99 < 100 ms.
2. Readings pushed over HTTP in JSON batches (``POST /api/v1/readings``, the full import path:
   validation, merge, rollups, import record and audit per batch). Goal: >= 20,000 readings/s.

The server is ``greenpark serve`` in its own process on 127.0.0.1 (one process: the store's only
writer); the overview clients are 50 keep-alive connections driven by asyncio in this process with a
minimal HTTP/1.1 client (so that the latency is the server's, not a client library's); the
pushes use httpx. Server and clients share the machine's cores.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).parent / "work" / "api"
CLIENTS = int(os.environ.get("GP_BENCH_CLIENTS", 50))
REQUESTS_PER_CLIENT = int(os.environ.get("GP_BENCH_REQUESTS", 100))
BATCH = int(os.environ.get("GP_BENCH_BATCH", 10_000))
BATCHES = int(os.environ.get("GP_BENCH_BATCHES", 30))
PUSH_CLIENTS = int(os.environ.get("GP_BENCH_PUSH_CLIENTS", 2))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demo(work: Path = WORK, db: str | None = None) -> tuple[Path, str]:
    """A fresh demo park (in ``db``, default the DuckDB file) with an admin token."""
    from greenpark import park as park_mod
    from greenpark.services import users
    from greenpark.store import Store

    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "greenpark.cli", "demo", str(work), *(["--db", db] if db else [])],
                   check=True, capture_output=True, timeout=1800)
    park = park_mod.load(work / "park.toml")
    store = Store(db or park.db_path, park.park.timezone)
    try:
        with store.transaction() as con:
            users.add_user(con, park, "bench", "park_admin", created_by="bench")
            token, _ = users.create_token(con, "bench", "bench")
    finally:
        store.close()
    return work, token


class _Server:
    def __init__(self, park_dir: Path, db: str | None = None):
        import httpx

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (park_dir / "serve.log").open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "greenpark.cli", "serve", "--port", str(self.port),
                                      "--log-level", "warning", *(["--db", db] if db else [])],
                                     cwd=park_dir, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/v1/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("greenpark serve did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


class _Conn:
    """A minimal keep-alive HTTP/1.1 client on one socket (a few microseconds per request, so that the
    latencies measured are the server's rather than a client library's)."""

    def __init__(self, host: str, port: int, request: bytes):
        self.host, self.port, self.request = host, port, request

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def get(self) -> tuple[int, bytes]:
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        return status, body

    def close(self) -> None:
        self.writer.close()


async def _overview(url: str, token: str, period: str) -> dict:
    host, port = url.removeprefix("http://").split(":")
    req = (f"GET /api/v1/overview?period={period} HTTP/1.1\r\nHost: {host}:{port}\r\n"
           f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n").encode()
    conns = [_Conn(host, int(port), req) for _ in range(CLIENTS)]
    for c in conns:
        await c.open()
    t0 = time.perf_counter()
    status, first = await conns[0].get()
    cold_ms = 1000 * (time.perf_counter() - t0)
    if status != 200:
        raise RuntimeError(f"overview: HTTP {status}: {first[:300]!r}")
    lat: list[float] = []
    errors = 0

    async def one_client(c: _Conn) -> None:
        nonlocal errors
        for _ in range(REQUESTS_PER_CLIENT):
            t = time.perf_counter()
            st, _ = await c.get()
            lat.append(1000 * (time.perf_counter() - t))
            errors += st != 200

    await asyncio.gather(*(one_client(c) for c in conns[:5]))  # warm-up
    lat.clear()
    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(c) for c in conns))
    wall = time.perf_counter() - t0
    for c in conns:
        c.close()
    return {"clients": CLIENTS, "requests": len(lat), "errors": errors, "cold_first_request_ms": round(cold_ms, 1),
            "p50_ms": round(_pct(lat, 50), 2), "p90_ms": round(_pct(lat, 90), 2), "p99_ms": round(_pct(lat, 99), 2),
            "max_ms": round(max(lat), 2), "mean_ms": round(statistics.fmean(lat), 2),
            "requests_per_s": round(len(lat) / wall, 1), "response_bytes": len(first),
            "goal": "p99 < 100 ms", "meets_goal": _pct(lat, 99) < 100}


def _bodies(meters: list[str]) -> list[bytes]:
    """BATCHES JSON bodies of BATCH readings each: 15-minute values of 2026 for the park's interval meters."""
    per_meter = BATCH // len(meters)
    start = dt.datetime(2026, 1, 1, 0, 15)
    out = []
    for b in range(BATCHES):
        rows = []
        for k in range(per_meter):
            ts = (start + dt.timedelta(minutes=15 * (b * per_meter + k))).isoformat()
            rows.extend({"meter_id": m, "timestamp": ts, "value": 1.25} for m in meters)
        out.append(json.dumps({"source": "bench", "readings": rows}).encode())
    return out


async def _push(url: str, token: str, bodies: list[bytes]) -> dict:
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as client:
        queue = list(bodies)
        accepted = rejected = other = 0
        times: list[float] = []

        async def worker() -> None:
            nonlocal accepted, rejected, other
            while queue:
                body = queue.pop()
                t = time.perf_counter()
                r = await client.post("/api/v1/readings", content=body)
                times.append(time.perf_counter() - t)
                r.raise_for_status()
                d = r.json()
                accepted += d["accepted"]
                rejected += d["rejected"]
                other += d["unchanged"] + d["corrected"]

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(PUSH_CLIENTS)))
        wall = time.perf_counter() - t0
    rate = (accepted + other) / wall
    return {"batch_readings": BATCH, "batches": len(bodies), "concurrent_clients": PUSH_CLIENTS,
            "accepted": accepted, "unchanged_or_corrected": other, "rejected": rejected, "seconds": round(wall, 2),
            "readings_per_s": round(rate), "batch_p50_s": round(_pct(times, 50), 3),
            "batch_max_s": round(max(times), 3), "goal": ">= 20,000 readings/s", "meets_goal": rate >= 20_000}


def _measure(park_dir: Path, token: str, bodies: list[bytes], db: str | None = None) -> dict:
    import httpx

    server = _Server(park_dir, db)
    try:
        overview = asyncio.run(_overview(server.url, token, "2025"))
        body = httpx.get(server.url + "/api/v1/overview?period=2025", headers={"Authorization": f"Bearer {token}"},
                         timeout=60).json()
        push = asyncio.run(_push(server.url, token, bodies))
        overview_after = asyncio.run(_overview(server.url, token, "2025"))  # the pushes dropped the cache
    finally:
        server.stop()
    return {"overview": overview, "push": push, "overview_after_push": overview_after, "_body": body}


def run() -> dict:
    from greenpark import park as park_mod
    from greenpark.store.pgserver import PgServer

    park_dir, token = _demo()
    park = park_mod.load(park_dir / "park.toml")
    meters = [m.id for m in park.meters if m.kind == "interval" and m.interval_minutes == 15][:100]
    bodies = _bodies(meters)
    duck = _measure(park_dir, token, bodies)
    # the same park, API and load on PostgreSQL (a throwaway local server: multi-process deployments)
    with PgServer() as pg:
        url = pg.create_database("bench")
        t0 = time.perf_counter()
        pg_dir, pg_token = _demo(WORK.parent / "api_pg", url)
        demo_s = time.perf_counter() - t0
        pgm = _measure(pg_dir, pg_token, bodies, url)
    same = duck.pop("_body") == pgm.pop("_body")
    return {**duck,
            "postgresql": {**pgm, "demo_seconds": round(demo_s, 1), "overview_identical_to_duckdb": same,
                           "server": "PostgreSQL 15 (Debian), local, fsync off (throwaway)"},
            "server": "greenpark serve (uvicorn, one process), demo park",
            "client": "overview: minimal asyncio HTTP/1.1 client, 50 keep-alive connections; push: httpx; "
                      "both in the benchmark process, sharing the cores with the server"}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
