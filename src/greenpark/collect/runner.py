"""The collector process (``greenpark collect``): every configured source -> the spool -> the store.

Threads: one paho network loop and one group-commit flusher per MQTT source, one poller per polled
source (Modbus TCP, DL/T 645: a poll counts as done only after its readings are in the spool), one
deliverer that moves spooled batches into the store and one that writes ``status.json`` every
second. :meth:`Collector.stop` (SIGTERM, Ctrl+C) stops the sources, flushes the spool and makes a
last delivery attempt; anything not delivered stays in the spool for the next start.

Delivery (``[collect] deliver``):

- ``store``: the collector opens the store and imports each batch with
  :func:`greenpark.ingest.ingest_batch` (import source ``collect:<name>``). With a DuckDB file it
  is then the store's only writer: do not run ``greenpark serve`` on the same file (use ``api``),
  or put the store in PostgreSQL, where both may write.
- ``api``: the collector pushes each batch to the running server (``POST /api/v1/readings``,
  ``Authorization: Bearer`` a device token) which writes it; when the server is down the spool
  grows and the deliverer retries every few seconds.

Within one delivered batch the last copy of a meter and timestamp wins (a gateway that sends a
correction); across batches a different value is a correction (the new value wins, the old one
goes to the history) and the same value is ``unchanged``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from greenpark.collect.spool import Batch, Spool
from greenpark.collect.status import Stats

__all__ = ["ApiDelivery", "BackendDelivery", "Collector", "StoreDelivery", "batch_table", "from_park", "json_log"]

log = logging.getLogger("greenpark.collect")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        try:
            body = json.loads(msg)
            if not isinstance(body, dict):
                body = {"message": msg}
        except ValueError:
            body = {"message": msg}
        return json.dumps({"ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
                           "level": record.levelname.lower(), **body}, ensure_ascii=False)


def json_log(level: int = logging.INFO, stream=None) -> None:
    """Structured log lines (one JSON object per line) on stderr for the collector's logger."""
    h = logging.StreamHandler(stream or sys.stderr)
    h.setFormatter(_JsonFormatter())
    log.handlers[:] = [h]
    log.setLevel(level)
    log.propagate = False


def batch_table(rows: list[list]):
    """A spooled batch as the columns of a file (last copy of a meter and timestamp wins)."""
    import pyarrow as pa

    keyed = {(r[0], r[1]): r for r in rows}  # dict keeps the last copy, in first-seen order
    if len(keyed) != len(rows):
        rows = list(keyed.values())
    values = [r[2] for r in rows]
    if all(type(v) is float for v in values):
        varr = pa.array(values, pa.float64())
    else:
        varr = pa.array([None if v is None else repr(v) if type(v) is float else str(v) for v in values], pa.string())
    cols = {"meter_id": pa.array([str(r[0]) for r in rows], pa.string()),
            "timestamp": pa.array([None if r[1] is None else str(r[1]) for r in rows], pa.string()),
            "value": varr}
    if any(r[3] is not None for r in rows):
        cols["unit"] = pa.array([r[3] for r in rows], pa.string())
    return pa.table(cols)


class StoreDelivery:
    """Batches into the store through :func:`greenpark.ingest.ingest_batch` (this process writes)."""

    mode = "store"

    def __init__(self, park, db: str | None = None):
        from greenpark.store import Store

        self.park = park
        self._lock = threading.Lock()  # the status thread's reads and the deliverer share the connection
        self.store = Store(db or park.db_path, park.park.timezone)
        with self.store.transaction():
            self.store.sync_park(park)

    def deliver(self, source: str, rows: list[list]) -> dict[str, int]:
        from greenpark import ingest

        table = batch_table(rows)
        with self._lock:
            r = ingest.ingest_batch(self.store, self.park, table, source=f"collect:{source}")
        return r.rejected_by_reason

    def store_view(self) -> dict[str, Any]:
        from greenpark.store import collect as store_collect

        with self._lock:
            cur = self.store.con
            return {"meters": store_collect.meter_activity(cur),
                    "quarantined": store_collect.quarantined_by_source(cur)}

    def close(self) -> None:
        with self._lock:
            self.store.close()


class BackendDelivery:
    """Batches written by a server's writer thread (``greenpark serve --collect``: the collector runs
    inside the server process, which stays the store's only writer)."""

    mode = "server"

    def __init__(self, backend, park):
        self.backend = backend
        self.park = park

    def deliver(self, source: str, rows: list[list]) -> dict[str, int]:
        from greenpark import ingest

        table = batch_table(rows)
        r = self.backend.write_sync(lambda store: ingest.ingest_batch(store, self.park, table,
                                                                      source=f"collect:{source}"))
        return r.rejected_by_reason

    def store_view(self) -> None:
        return None  # the server answers GET /api/v1/sources from its own read cursor

    def close(self) -> None:
        pass


class ApiDelivery:
    """Batches to the running server's ``POST /api/v1/readings`` with a device token."""

    mode = "api"

    def __init__(self, url: str, token: str, timeout_s: float = 60.0):
        self.url = url.rstrip("/") + "/api/v1/readings"
        self.token = token
        self.timeout = timeout_s

    def deliver(self, source: str, rows: list[list]) -> dict[str, int]:
        table = batch_table(rows).to_pylist()
        body = json.dumps({"source": f"collect:{source}", "readings": table}, allow_nan=False).encode()
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                out = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            raise ConnectionError(f"server answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ConnectionError(f"server not reachable at {self.url}: {exc}") from None
        return out.get("rejected_by_reason", {})

    def store_view(self) -> None:
        return None

    def close(self) -> None:
        pass


class Collector:
    """Runs sources (MQTT objects with start/stop, polled sources with poll_once) into ``spool``
    and delivers it with ``delivery``."""

    def __init__(self, spool: Spool, delivery, *, mqtt_sources=(), polled_sources=(), stats: Stats | None = None,
                 batch_max: int = 50_000, retry_s: float = 2.0, linger_s: float = 0.5):
        self.spool = spool
        self.delivery = delivery
        self.mqtt_sources = list(mqtt_sources)
        self.polled_sources = list(polled_sources)
        self.stats = stats or Stats()
        for p in self.polled_sources:
            self.stats.add_source(p.name, getattr(p, "type", "polled"))
        self.batch_max = batch_max
        self.retry_s = retry_s
        self.linger_s = linger_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._store_view: dict | None = None
        self._store_view_at = 0.0

    # -- polled sources ---------------------------------------------------------------------------
    def _poll_loop(self, src) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                readings = src.poll_once(dt.datetime.now(dt.UTC))
                self.spool.append(src.name, readings)  # durable before the poll counts as done
                self.stats.received(src.name, readings, poll=True)
            except Exception as exc:  # a device that does not answer: recorded, retried at the next poll
                self.stats.error(src.name, f"{type(exc).__name__}: {exc}")
                log.warning(json.dumps({"event": "poll.failed", "source": src.name, "error": str(exc)[:300]}))
            next_at += src.interval_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))
            if time.monotonic() - next_at > src.interval_s:
                next_at = time.monotonic()  # fell behind: do not burst
        src.close()

    # -- delivery ---------------------------------------------------------------------------------
    def deliver_once(self) -> int:
        """Deliver the oldest spooled batch; the number of readings delivered (0: nothing to do).
        ConnectionError (store or server unreachable) propagates, the batch stays in the spool."""
        batch: Batch | None = self.spool.next_batch(self.batch_max)
        if batch is None:
            return 0
        rejected: dict[str, int] = {}
        for source, rows in batch.rows.items():
            for k, v in self.delivery.deliver(source, rows).items():
                rejected[k] = rejected.get(k, 0) + v
        self.spool.delivered(batch)
        self.stats.delivered(batch.size, rejected)
        if batch.size:
            log.info(json.dumps({"event": "delivered", "readings": batch.size, "mode": self.delivery.mode,
                                 "rejected": rejected, "spool_depth": self.spool.depth}))
        return max(batch.size, 1)

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            # linger: a store import has a fixed cost, so readings that trickle in are gathered for up
            # to linger_s (or until batch_max are waiting) and stored in one import
            t0 = time.monotonic()
            while self.spool.depth < self.batch_max and time.monotonic() - t0 < self.linger_s \
                    and not self._stop.is_set():
                self._stop.wait(0.02)
            try:
                n = self.deliver_once()
            except Exception as exc:  # store or server down: keep spooling, retry
                self.stats.delivery_failed(f"{type(exc).__name__}: {exc}")
                log.warning(json.dumps({"event": "delivery.failed", "error": str(exc)[:300],
                                        "spool_depth": self.spool.depth}))
                self._stop.wait(self.retry_s)
                continue
            if n == 0:
                self._stop.wait(0.02)

    def _status_loop(self) -> None:
        while not self._stop.wait(1.0):
            self.write_status()

    def write_status(self) -> dict:
        for p in self.polled_sources:  # the drivers' own counters (values not decoded, requests)
            c = getattr(p, "counters", None)
            if c is not None:
                self.stats.device_counters(p.name, {"errors": c.errors, "requests": c.requests,
                                                    "errors_by_meter": dict(c.errors_by_meter),
                                                    "last_value_error": c.last_error})
        extra: dict[str, Any] = {"mode": self.delivery.mode}
        if time.monotonic() - self._store_view_at > 10.0:
            try:
                self._store_view = self.delivery.store_view()
            except Exception:  # the store view is a nicety; never stop the collector for it
                self._store_view = None
            self._store_view_at = time.monotonic()
        if self._store_view is not None:
            extra["store"] = self._store_view
        return self.stats.write(self.spool.folder, self.spool, extra)

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        for m in self.mqtt_sources:
            m.start()
        for p in self.polled_sources:
            t = threading.Thread(target=self._poll_loop, args=(p,), name=f"poll-{p.name}", daemon=True)
            t.start()
            self._threads.append(t)
        for fn, name in ((self._deliver_loop, "deliver"), (self._status_loop, "status")):
            t = threading.Thread(target=fn, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        log.info(json.dumps({"event": "collector.started", "mode": self.delivery.mode,
                             "sources": [s.name for s in (*self.mqtt_sources, *self.polled_sources)],
                             "spool": str(self.spool.folder), "spool_depth": self.spool.depth}))

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Wait until every MQTT source holds its subscriptions (after :meth:`start`); False on timeout."""
        deadline = time.monotonic() + timeout
        return all(m.subscribed.wait(max(0.0, deadline - time.monotonic())) for m in self.mqtt_sources)

    def stop(self, drain_s: float = 5.0) -> None:
        for m in self.mqtt_sources:
            m.stop()
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)
        self.spool.flush()
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline:
            try:
                if self.deliver_once() == 0:
                    break
            except Exception as exc:
                self.stats.delivery_failed(str(exc))
                break
        self.write_status()
        log.info(json.dumps({"event": "collector.stopped", "spool_depth": self.spool.depth}))
        self.spool.close()
        self.delivery.close()


def from_park(park, *, db: str | None = None, deliver: str | None = None, api_url: str | None = None,
              token: str | None = None, spool_dir=None, names: list[str] | None = None,
              delivery: Any = None) -> Collector:
    """A collector of the park's ``[[sources]]`` (or those named) with its ``[collect]`` settings;
    the arguments override them."""
    import os

    from greenpark.collect import config
    from greenpark.collect.mqtt import MqttSource
    from greenpark.errors import InputError

    cfgs = config.source_configs(park, names)
    if not cfgs:
        raise InputError.t("collect.no_sources", park=str(park.source_path or "park.toml"))
    settings = park.collect
    spool = Spool(spool_dir or park.spool_path)
    mode = deliver or settings.deliver
    if delivery is not None:
        pass
    elif mode == "api":
        tok = token or os.environ.get(settings.api_token_env)
        if not tok:
            raise InputError.t("collect.no_token", env=settings.api_token_env)
        delivery = ApiDelivery(api_url or settings.api_url, tok)
    else:
        delivery = StoreDelivery(park, db)
    stats = Stats((c.name, c.type) for c in cfgs)
    mqtt_sources, polled = [], []
    for c in cfgs:
        if c.type == "mqtt":
            pw = os.environ.get(c.password_env) if c.password_env else None
            mqtt_sources.append(MqttSource(c, spool, stats, password=pw))
        else:
            src = config.driver(c.type).build(c, park)
            polled.append(src)
    return Collector(spool, delivery, mqtt_sources=mqtt_sources, polled_sources=polled, stats=stats,
                     batch_max=settings.batch_max)
