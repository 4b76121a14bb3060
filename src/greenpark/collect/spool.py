"""The collector's on-disk spool: readings are durable here before a broker gets its ack or a poll
counts as done, and leave only after the store committed them.

Layout of the spool folder (``[collect] spool_dir``)::

    000000000001.seg ...   append-only segments of JSON lines, one line per appended batch:
                           {"s": source, "r": [[meter_id, timestamp, value, unit], ...]}
    cursor                 "<segment> <byte offset>": everything before it is in the store
    quarantine.jsonl       payloads that carry no reading (not JSON, no mapped field), with a reason code
    status.json            the running collector's counters (:mod:`greenpark.collect.status`)

Durability: :meth:`Spool.append` returns after the line is written and ``fsync``'d (a group commit:
batches handed in by several threads while one fsync runs share the next one). A line cut short by
a crash (kill -9, power loss) was never acknowledged; it is dropped when the spool is opened again.
The cursor is replaced atomically (write, fsync, rename, fsync of the folder) only after the store
committed the batch; a crash between the commit and the cursor write re-delivers the batch, which the
ingest path stores as ``unchanged`` (nothing doubled). Fully delivered segments are deleted.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from greenpark.collect.base import Reading

__all__ = ["Batch", "Spool"]

#: a segment is closed for appends once it is this large [bytes]
SEGMENT_BYTES = 32 * 2**20


@dataclass(frozen=True)
class Batch:
    """Spooled readings ready for delivery: ``rows[source] = [[meter_id, timestamp, value, unit]...]``
    and the cursor position after them."""

    rows: dict[str, list[list]]
    end: tuple[int, int]

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """An fsync'd append-only spool in ``folder`` (created if missing). Thread-safe: any thread
    appends; one deliverer reads :meth:`next_batch` and confirms with :meth:`delivered`."""

    def __init__(self, folder: str | Path, *, segment_bytes: int = SEGMENT_BYTES):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._segment_bytes = segment_bytes
        self._lock = threading.Lock()          # state below
        self._write_lock = threading.Lock()    # one writer+fsync at a time (the group commit)
        self._pending: list[tuple[bytes, int, threading.Event | None, Callable[[], None] | None]] = []
        self._in_flight = False  # a commit took the pending batches and has not counted them yet
        self._cursor = self._read_cursor()
        segs = self._segments()
        self._seg = segs[-1] if segs else max(1, self._cursor[0])
        self._recover_tail()
        path = self._seg_path(self._seg)
        self._fh = open(path, "ab")  # noqa: SIM115 (kept open for appends)
        self._committed = (self._seg, self._fh.tell())
        self.appended = 0            # readings appended by this process
        self.delivered_count = 0     # readings delivered by this process
        self.depth = self._count_undelivered()
        self.quarantined = self._count_quarantined()

    # -- files -------------------------------------------------------------------------------
    def _seg_path(self, n: int) -> Path:
        return self.folder / f"{n:012d}.seg"

    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.folder.glob("*.seg") if p.stem.isdigit())

    def _read_cursor(self) -> tuple[int, int]:
        try:
            seg, off = (self.folder / "cursor").read_text().split()
            return int(seg), int(off)
        except FileNotFoundError:
            return (0, 0)

    def _recover_tail(self) -> None:
        """Cut a last line that a crash left incomplete (it was never acknowledged)."""
        path = self._seg_path(self._seg)
        if not path.exists():
            return
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with open(path, "r+b") as fh:
                fh.truncate(end)
                fh.flush()
                os.fsync(fh.fileno())

    def _count_undelivered(self) -> int:
        n = 0
        for seg in self._segments():
            if seg < self._cursor[0]:
                continue
            with open(self._seg_path(seg), "rb") as fh:
                if seg == self._cursor[0]:
                    fh.seek(self._cursor[1])
                for line in fh:
                    if line.endswith(b"\n"):
                        n += len(json.loads(line)["r"])
        return n

    def _count_quarantined(self) -> int:
        try:
            with open(self.folder / "quarantine.jsonl", "rb") as fh:
                return sum(1 for line in fh if line.endswith(b"\n"))
        except FileNotFoundError:
            return 0

    # -- appends -----------------------------------------------------------------------------
    def append(self, source: str, readings: Iterable[Reading | list | tuple]) -> None:
        """Append one batch of ``source``; returns once it is on disk (fsync'd)."""
        done = threading.Event()
        self.submit(source, readings, event=done)
        self._commit()
        done.wait()

    def submit(self, source: str, readings: Iterable[Reading | list | tuple], *, event: threading.Event | None = None,
               on_durable: Callable[[], None] | None = None) -> None:
        """Queue a batch; ``on_durable()`` runs (on the committing thread) once it is fsync'd.
        Call :meth:`flush` (or :meth:`append`) to commit what is queued."""
        rows = [[r.meter_id, r.timestamp, r.value, r.unit] if isinstance(r, Reading) else list(r) for r in readings]
        line = (json.dumps({"s": source, "r": rows}, ensure_ascii=False, separators=(",", ":"),
                           allow_nan=False) + "\n").encode() if rows else b""
        with self._lock:
            self._pending.append((line, len(rows), event, on_durable))

    def quarantine(self, source: str, reason: str, raw: bytes | str, topic: str | None = None, *,
                   detail: str | None = None, on_durable: Callable[[], None] | None = None) -> None:
        """Keep a payload that yields no reading, with its reason code (durable at the next commit)."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        rec = {"at": time.time(), "source": source, "topic": topic, "reason": reason, "detail": detail,
               "raw": text[:4096]}
        line = (json.dumps(rec, ensure_ascii=False) + "\n").encode()
        with self._lock:
            self._pending.append((b"Q" + line, 0, None, on_durable))

    def flush(self) -> None:
        """Write and fsync everything queued; run its callbacks."""
        self._commit()

    def _commit(self) -> None:
        with self._write_lock:
            with self._lock:
                pending, self._pending = self._pending, []
                self._in_flight = bool(pending)
            if not pending:
                return
            try:
                lines = [p[0] for p in pending if p[0] and not p[0].startswith(b"Q")]
                quarantined = [p[0][1:] for p in pending if p[0].startswith(b"Q")]
                if quarantined:
                    with open(self.folder / "quarantine.jsonl", "ab") as q:
                        q.write(b"".join(quarantined))
                        q.flush()
                        os.fsync(q.fileno())
                if lines:
                    if self._fh.tell() >= self._segment_bytes:
                        self._rotate()
                    self._fh.write(b"".join(lines))
                    self._fh.flush()
                    os.fsync(self._fh.fileno())
                n = sum(p[1] for p in pending)
                with self._lock:
                    self._committed = (self._seg, self._fh.tell())
                    self.appended += n
                    self.depth += n
                    self.quarantined += len(quarantined)
            finally:
                with self._lock:
                    self._in_flight = False
        for _, _, event, cb in pending:
            if cb is not None:
                cb()
            if event is not None:
                event.set()

    def _rotate(self) -> None:
        self._fh.close()
        self._seg += 1
        self._fh = open(self._seg_path(self._seg), "ab")  # noqa: SIM115
        _fsync_dir(self.folder)

    # -- delivery ----------------------------------------------------------------------------
    def next_batch(self, max_readings: int = 50_000) -> Batch | None:
        """The oldest undelivered readings (at least one appended line, at most about
        ``max_readings``), grouped by source; None when everything is delivered."""
        with self._lock:
            committed = self._committed
        seg, off = self._cursor
        if seg == 0:
            segs = self._segments()
            seg, off = (segs[0], 0) if segs else committed
        rows: dict[str, list[list]] = {}
        n = 0
        while (seg, off) < committed and n < max_readings:
            limit = committed[1] if seg == committed[0] else None
            eof = False
            with open(self._seg_path(seg), "rb") as fh:
                fh.seek(off)
                while n < max_readings and (limit is None or off < limit):
                    line = fh.readline()
                    if not line.endswith(b"\n"):
                        eof = True
                        break
                    off += len(line)
                    rec = json.loads(line)
                    rows.setdefault(rec["s"], []).extend(rec["r"])
                    n += len(rec["r"])
            if eof and seg < committed[0]:
                seg, off = seg + 1, 0  # the rest is in the next segment
            elif limit is not None:
                break  # reached what is committed (or max_readings)
        if not rows and (seg, off) == self._cursor:
            return None
        return Batch(rows, (seg, off))

    def delivered(self, batch: Batch) -> None:
        """The store committed ``batch``: move the cursor past it (atomically) and drop old segments."""
        seg, off = batch.end
        tmp = self.folder / "cursor.tmp"
        with open(tmp, "w") as fh:
            fh.write(f"{seg} {off}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / "cursor")
        _fsync_dir(self.folder)
        self._cursor = (seg, off)
        with self._lock:
            self.depth -= batch.size
            self.delivered_count += batch.size
        for old in self._segments():
            if old < seg:
                self._seg_path(old).unlink(missing_ok=True)

    def quarantined_rows(self, limit: int = 1000) -> list[dict]:
        """The last ``limit`` payloads kept in the spool's quarantine, newest last."""
        try:
            with open(self.folder / "quarantine.jsonl", "rb") as fh:
                lines = fh.readlines()
        except FileNotFoundError:
            return []
        return [json.loads(x) for x in lines[-limit:] if x.endswith(b"\n")]

    @property
    def idle(self) -> bool:
        """Nothing waits: every submitted batch is committed (fsync'd) and delivered. (``depth``
        alone counts committed lines only: a batch submitted a few ms ago is not in it yet.)"""
        with self._lock:
            return not self._pending and not self._in_flight and self.depth == 0

    def close(self) -> None:
        self._commit()
        self._fh.close()
