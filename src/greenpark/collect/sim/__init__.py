"""Simulated meters for tests, benchmarks and ``greenpark demo --live``: a pymodbus TCP server with
energy registers that advance (:mod:`.modbus`) and a DL/T 645-2007 meter line behind a TCP gateway
(:mod:`.dlt645`). Each runs its asyncio server in a daemon thread: ``start(...) -> (host, port,
stop)``; ``stop()`` closes the listener and every connection (a device that stops answering).

Layer: edge-side test equipment; imports only :mod:`greenpark.collect` codecs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["LoopThread", "spawn"]


class LoopThread:
    """An asyncio loop in a daemon thread, running one server; ``run(coro)`` runs a coroutine on it."""

    def __init__(self, name: str):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def call(self, fn: Callable[[], Any]) -> Any:
        async def wrap():
            return fn()
        return self.run(wrap())

    def close(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        if not self.loop.is_running():
            self.loop.close()


def spawn(kind: str, *args: str, timeout: float = 30.0) -> tuple[str, int, Callable[[], None]]:
    """Run a simulator in a subprocess (``python -m greenpark.collect.sim KIND ARGS...``, see
    :mod:`greenpark.collect.sim.__main__`): ``(host, port, stop)``; ``stop()`` terminates it."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "greenpark.collect.sim", kind, *args], stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening "):
        proc.kill()
        raise RuntimeError(f"simulator {kind} did not start: {line!r}")
    _, host, port = line.split()

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    return host, int(port), stop
