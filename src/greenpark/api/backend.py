"""The server's hold on the store: one writer, parallel readers, caches that writes invalidate.

DuckDB allows one writing process; the server is that process. Inside it, every write runs on
one thread (:meth:`Backend.write`, a single-thread executor, the datasette pattern) and
therefore one at a time, in its own transaction; reads run in parallel on per-thread cursors of
the same database and see every committed write. Because every write passes through here, the
backend knows when data change: :attr:`Backend.generation` counts writes and the caches of
computed results (energy accounts, auth lookups) are dropped on each one.

Work that needs no writer stays off the writer thread: an upload is read and validated in an
in-memory DuckDB first (:func:`greenpark.ingest.prepare_file`) and only its merge
(:func:`greenpark.ingest.merge_prepared`) is a write, so logins and reads answer during an import.

On PostgreSQL several server processes (and CLI imports) share one database: writes of all of
them are serialised by the store's advisory lock, each committed write sends a notification, and
every backend listens (:meth:`Backend._listen`) and drops its caches when another process wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from greenpark.store import Store

T = TypeVar("T")


class GenerationCache:
    """Values computed once per key until the store's next write (or ``ttl`` seconds)."""

    def __init__(self, backend: Backend, size: int):
        self._backend = backend
        self._data: OrderedDict[Any, tuple[int, float, Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self._flight: dict[Any, threading.Lock] = {}

    def get(self, key: Any, compute: Callable[[], T], ttl: float | None = None,
            keep: Callable[[T], bool] | None = None) -> T:
        """``compute()`` once per key; concurrent callers of a missing key wait for the one
        computation. ``keep(value)`` false: the value is returned but not kept."""
        gen = self._backend.generation
        hit = self.peek(key, ttl)
        if hit is not None:
            return hit[0]
        with self._lock:
            lock = self._flight.setdefault(key, threading.Lock())
        with lock:
            hit = self.peek(key, ttl)
            if hit is not None:
                return hit[0]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._flight.pop(key, None)
            with self._lock:
                if gen == self._backend.generation and (keep is None or keep(value)):
                    self._data[key] = (gen, time.monotonic(), value)
                    self._data.move_to_end(key)
                    while len(self._data) > self._size:
                        self._data.popitem(last=False)
            return value

    def peek(self, key: Any, ttl: float | None = None):
        """The cached value of ``key`` in a 1-tuple, or None, without computing."""
        with self._lock:
            hit = self._data.get(key)
            if hit is None or hit[0] != self._backend.generation or (
                    ttl is not None and time.monotonic() - hit[1] > ttl):
                return None
            self._data.move_to_end(key)
            return (hit[2],)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class Backend:
    """The store of one park, opened for writing by this process."""

    def __init__(self, park, db: str | None = None, *, cache_size: int = 256):
        self.park = park
        self.db = db or park.db_path
        self.timezone = park.park.timezone
        self.store = Store(self.db, self.timezone)
        with self.store.transaction():
            self.store.sync_park(park)
        self._root = self.store.reader()
        self._root_lock = threading.Lock()
        self._local = threading.local()
        self._cursors: list = []
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="greenpark-writer")
        self.generation = 0
        self._gen_lock = threading.Lock()
        #: computed results (energy accounts, overviews, meter lists)
        self.results = GenerationCache(self, cache_size)
        #: principals of tokens and sessions (only found ones are kept)
        self.auth = GenerationCache(self, 4096)
        self._closed = False
        self._listener = None
        if self.store.engine == "postgresql":
            self._listener = threading.Thread(target=self._listen, name="greenpark-listen", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        """Drop the caches whenever any process commits a write to the shared PostgreSQL store."""
        import psycopg

        from greenpark.store.postgres import wait_for_changes

        while not self._closed:
            try:
                wait_for_changes(self.db, self._invalidate, lambda: self._closed)
            except psycopg.Error:
                if not self._closed:
                    time.sleep(1.0)  # server restarting: reconnect

    def _invalidate(self) -> None:
        with self._gen_lock:
            self.generation += 1
        self.results.clear()
        self.auth.clear()

    # -- reads -----------------------------------------------------------------------------------
    def cursor(self):
        """This thread's read cursor (created on first use; sees every committed write)."""
        cur = getattr(self._local, "cur", None)
        if cur is None:
            with self._root_lock:
                cur = self._root.cursor() if self.store.engine == "duckdb" else self.store.reader()
                self._cursors.append(cur)
            self.store.prepare_reader(cur)
            self._local.cur = cur
        return cur

    # -- writes ----------------------------------------------------------------------------------
    def _run_write(self, fn: Callable[[Store], T]) -> T:
        try:
            return fn(self.store)
        finally:
            self._invalidate()

    async def write(self, fn: Callable[[Store], T]) -> T:
        """Run ``fn(store)`` on the writer thread (one write at a time); its result or exception."""
        if self._closed:
            raise RuntimeError("the server is shutting down")
        return await asyncio.wrap_future(self._writer.submit(self._run_write, fn))

    async def exclusive(self, fn: Callable[[Store], T]) -> T:
        """Run ``fn(store)`` on the writer thread, between writes, without counting it as one (the
        caches stay): for work that must see no write half done and changes nothing (a snapshot)."""
        if self._closed:
            raise RuntimeError("the server is shutting down")
        return await asyncio.wrap_future(self._writer.submit(fn, self.store))

    def write_sync(self, fn: Callable[[Store], T]) -> T:
        return self._writer.submit(self._run_write, fn).result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.shutdown(wait=True)
        if self._listener is not None:
            self._listener.join(timeout=5)
        with self._root_lock:
            for c in self._cursors:
                with contextlib.suppress(Exception):  # a cursor of a thread that is gone
                    c.close()
            self._root.close()
        self.store.close()
