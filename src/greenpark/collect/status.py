"""What the collector knows about its sources, and the status file other processes read.

The running collector keeps per source and per meter counters (:class:`Stats`) and writes them
every second to ``status.json`` in the spool folder (atomically: write, rename), with the spool
depth and the delivery state. ``greenpark status``, ``GET /api/v1/sources`` and ``/metrics`` read
that file (:func:`read_status`) and add what the store knows where they can read it.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from greenpark.collect.base import Reading

__all__ = ["STATUS_FILE", "Stats", "prometheus_text", "read_status", "sources_status"]

STATUS_FILE = "status.json"
#: seconds after which a status file without an update means the collector is not running
STALE_S = 10.0


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Stats:
    """Thread-safe counters of the running collector."""

    def __init__(self, sources: Iterable[tuple[str, str]] = ()):
        self._lock = threading.Lock()
        self.sources: dict[str, dict[str, Any]] = {}
        self._meter_counts: dict[str, collections.Counter] = {}
        self._meter_last: dict[str, dict[str, str]] = {}
        self._history: collections.deque = collections.deque()
        self.delivery: dict[str, Any] = {"batches": 0, "readings": 0, "last_ok_at": None, "last_error": None,
                                         "last_error_at": None, "rejected": 0, "rejected_by_reason": {}}
        for name, kind in sources:
            self.add_source(name, kind)

    def add_source(self, name: str, kind: str) -> None:
        with self._lock:
            self.sources.setdefault(name, {"type": kind, "connected": None, "messages": 0, "readings": 0, "polls": 0,
                                           "quarantined": 0, "quarantined_by_reason": {}, "last_message_at": None,
                                           "last_error": None, "last_error_at": None})
            self._meter_counts.setdefault(name, collections.Counter())
            self._meter_last.setdefault(name, {})

    def received(self, source: str, readings: list[Reading], *, poll: bool = False) -> None:
        with self._lock:
            s = self.sources[source]
            s["messages" if not poll else "polls"] += 1
            s["readings"] += len(readings)
            s["last_message_at"] = _now_iso()
            self._meter_counts[source].update(r.meter_id for r in readings)
            last = self._meter_last[source]
            for r in readings:
                last[r.meter_id] = str(r.timestamp)

    def quarantined(self, source: str, reason: str, detail: str) -> None:
        with self._lock:
            s = self.sources[source]
            s["quarantined"] += 1
            s["quarantined_by_reason"][reason] = s["quarantined_by_reason"].get(reason, 0) + 1
            s["last_message_at"] = _now_iso()

    def error(self, source: str, message: str) -> None:
        with self._lock:
            s = self.sources[source]
            s["last_error"], s["last_error_at"] = message[:500], _now_iso()

    def device_counters(self, source: str, counters: dict[str, Any]) -> None:
        with self._lock:
            self.sources[source]["device"] = counters

    def connected(self, source: str, up: bool) -> None:
        with self._lock:
            self.sources[source]["connected"] = up

    def delivered(self, n: int, rejected_by_reason: dict[str, int]) -> None:
        with self._lock:
            d = self.delivery
            d["batches"] += 1
            d["readings"] += n
            d["last_ok_at"] = _now_iso()
            for k, v in rejected_by_reason.items():
                d["rejected"] += v
                d["rejected_by_reason"][k] = d["rejected_by_reason"].get(k, 0) + v

    def delivery_failed(self, message: str) -> None:
        with self._lock:
            self.delivery["last_error"], self.delivery["last_error_at"] = message[:500], _now_iso()

    def snapshot(self, spool=None) -> dict[str, Any]:
        """The status document: sources with their meters (count, last timestamp, readings/min)."""
        now = time.monotonic()
        with self._lock:
            counts = {s: dict(c) for s, c in self._meter_counts.items()}
            self._history.append((now, counts))
            while self._history and now - self._history[0][0] > 60.0:
                self._history.popleft()
            t0, old = self._history[0]
            span = max(now - t0, 1.0)
            out_sources = {}
            for name, s in self.sources.items():
                meters = {}
                for m, n in counts[name].items():
                    before = old.get(name, {}).get(m, 0)
                    meters[m] = {"readings": n, "last_timestamp": self._meter_last[name].get(m),
                                 "readings_per_min": round((n - before) * 60.0 / span, 1)}
                total = sum(counts[name].values())
                before = sum(old.get(name, {}).values())
                out_sources[name] = {**s, "quarantined_by_reason": dict(s["quarantined_by_reason"]),
                                     "readings_per_min": round((total - before) * 60.0 / span, 1),
                                     "meters": meters}
            delivery = {**self.delivery, "rejected_by_reason": dict(self.delivery["rejected_by_reason"])}
        doc = {"pid": os.getpid(), "updated_at": _now_iso(), "updated_epoch": time.time(), "sources": out_sources,
               "delivery": delivery}
        if spool is not None:
            doc["spool"] = {"folder": str(spool.folder), "depth": spool.depth, "appended": spool.appended,
                            "delivered": spool.delivered_count, "quarantined": spool.quarantined}
        return doc

    def write(self, folder: Path, spool=None, extra: dict | None = None) -> dict[str, Any]:
        doc = self.snapshot(spool) | (extra or {})
        tmp = folder / (STATUS_FILE + ".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, default=str))
        os.replace(tmp, folder / STATUS_FILE)
        return doc


def read_status(folder: str | Path) -> dict[str, Any] | None:
    """The last status the collector wrote in ``folder`` (None if it never ran there), with
    ``running`` (updated within the last seconds) added."""
    path = Path(folder) / STATUS_FILE
    try:
        doc = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    doc["running"] = time.time() - float(doc.get("updated_epoch", 0)) < STALE_S
    return doc


def _label(v: Any) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus_text(status: dict[str, Any] | None, store_meters: list[dict] | None = None) -> str:
    """Counters and gauges in the Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: list[tuple[dict, float]]) -> None:
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lab = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{lab}}} {float(value):g}" if lab else f"{name} {float(value):g}")

    st = status or {}
    srcs = st.get("sources", {})
    metric("greenpark_collector_up", "gauge", "1 when the collector updated its status in the last 10 s",
           [({}, 1.0 if st.get("running") else 0.0)])
    metric("greenpark_source_messages_total", "counter", "messages (MQTT) received by source",
           [({"source": n}, s.get("messages", 0)) for n, s in srcs.items()])
    metric("greenpark_source_polls_total", "counter", "polls done (readings spooled) by source",
           [({"source": n}, s.get("polls", 0)) for n, s in srcs.items()])
    metric("greenpark_source_readings_total", "counter", "readings spooled by source",
           [({"source": n}, s.get("readings", 0)) for n, s in srcs.items()])
    metric("greenpark_source_quarantined_total", "counter", "payloads quarantined by the collector, by reason",
           [({"source": n, "reason": r}, c) for n, s in srcs.items()
            for r, c in s.get("quarantined_by_reason", {}).items()])
    metric("greenpark_source_connected", "gauge", "1 when the source is connected",
           [({"source": n}, 1.0 if s.get("connected") else 0.0) for n, s in srcs.items()])
    metric("greenpark_source_value_errors_total", "counter", "values a polled device refused or that could not be "
           "decoded", [({"source": n}, s["device"].get("errors", 0)) for n, s in srcs.items() if s.get("device")])
    metric("greenpark_meter_readings_total", "counter", "readings spooled by meter",
           [({"source": n, "meter": m}, x.get("readings", 0)) for n, s in srcs.items()
            for m, x in s.get("meters", {}).items()])
    sp = st.get("spool", {})
    metric("greenpark_spool_depth", "gauge", "readings in the spool not yet in the store", [({}, sp.get("depth", 0))])
    d = st.get("delivery", {})
    metric("greenpark_delivered_readings_total", "counter", "readings delivered to the store",
           [({}, d.get("readings", 0))])
    metric("greenpark_delivery_rejected_total", "counter", "delivered readings the ingest path quarantined, by reason",
           [({"reason": r}, c) for r, c in d.get("rejected_by_reason", {}).items()])
    if store_meters is not None:
        metric("greenpark_meter_gaps", "gauge", "missing readings of the last 24 h before the meter's last reading",
               [({"meter": m["meter_id"]}, m.get("gaps_24h") or 0) for m in store_meters])
    return "\n".join(lines) + "\n"


def _store_view(park, db: str | None, cur) -> dict[str, Any] | None:
    from greenpark.store import Store
    from greenpark.store import collect as store_collect

    if cur is not None:
        return {"meters": store_collect.meter_activity(cur), "quarantined": store_collect.quarantined_by_source(cur)}
    try:
        store = Store(db or park.db_path, park.park.timezone, read_only=True)
    except Exception:  # noqa: BLE001 - the collector (or the server) holds the DuckDB file: use its view
        return None
    try:
        return {"meters": store_collect.meter_activity(store.con),
                "quarantined": store_collect.quarantined_by_source(store.con)}
    finally:
        store.close()


def sources_status(park, *, spool_dir: str | Path | None = None, db: str | None = None, cur=None) -> dict[str, Any]:
    """Per source (park.toml ``[[sources]]``) and meter: last reading, readings per minute, gaps of
    the last 24 h, quarantined payloads and rows, last error; the spool depth and the delivery state.

    The collector's counters come from its status file; the store's view (last stored reading, gaps,
    rows the ingest path quarantined) from ``cur`` (a server's read cursor), else from the store
    opened read-only, else from the view the collector wrote into its status file."""
    folder = Path(spool_dir) if spool_dir is not None else park.spool_path
    st = read_status(folder) or {}
    view = _store_view(park, db, cur) or st.get("store") or {"meters": [], "quarantined": {}}
    by_meter = {m["meter_id"]: m for m in view.get("meters", [])}
    intervals = {m.id: m.interval_minutes for m in park.meters}
    tz = park.tz
    sources = []
    for entry in park.sources:
        s = st.get("sources", {}).get(entry.name, {})
        meters = []
        for mid, m in sorted(s.get("meters", {}).items()):
            v = by_meter.get(mid)
            gaps = None
            stored = None
            if v is not None and mid in intervals:
                gaps = max(0, int(24 * 60 // intervals[mid]) - int(v["n_24h"]))
                ts = v["last_ts"]
                if isinstance(ts, str):
                    ts = dt.datetime.fromisoformat(ts)
                stored = ts.replace(tzinfo=dt.UTC).astimezone(tz).isoformat(timespec="minutes") if ts else None
            meters.append({"meter_id": mid, "last_timestamp": m.get("last_timestamp"), "last_stored": stored,
                           "readings": m.get("readings", 0), "readings_per_min": m.get("readings_per_min", 0.0),
                           "gaps_24h": gaps})
        rejected = view.get("quarantined", {}).get(entry.name, {})
        sources.append({"name": entry.name, "type": entry.type, "connected": s.get("connected"),
                        "messages": s.get("messages", 0), "polls": s.get("polls", 0), "readings": s.get("readings", 0),
                        "readings_per_min": s.get("readings_per_min", 0.0), "last_message_at": s.get("last_message_at"),
                        "quarantined": s.get("quarantined", 0) + sum(rejected.values()),
                        "quarantined_payloads_by_reason": s.get("quarantined_by_reason", {}),
                        "quarantined_rows_by_reason": rejected,
                        "last_error": s.get("last_error"), "last_error_at": s.get("last_error_at"),
                        "device": s.get("device"), "meters": meters})
    return {"collector": {"running": bool(st.get("running")), "pid": st.get("pid"), "updated_at": st.get("updated_at"),
                          "mode": st.get("mode"), "spool_dir": str(folder)},
            "spool": st.get("spool", {"depth": 0, "appended": 0, "delivered": 0, "quarantined": 0}),
            "delivery": st.get("delivery", {}), "sources": sources}
