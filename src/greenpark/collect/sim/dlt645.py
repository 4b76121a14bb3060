"""A line of DL/T 645-2007 meters behind a transparent serial-to-TCP gateway (asyncio).

Every :class:`SimMeter` answers read requests (11H) for its address with a normal reply (91H)
carrying the identifier's value in BCD (format from ``reference/data/dlt645_identifiers.csv``),
an abnormal reply (D1H, error byte 02H) for an identifier it does not have, and a read-address
request (13H, wildcard address) with its address (93H). Energy values advance with the clock.
Knobs for fault tests: ``silent`` addresses do not answer, ``reply_wake_up`` prefixes replies with
FEH bytes, ``chunk`` sends replies in pieces of that many bytes (a frame split over TCP segments).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from greenpark.collect import dlt645
from greenpark.collect.sim import LoopThread

__all__ = ["Dlt645LineSim", "SimMeter", "start"]


@dataclass
class SimMeter:
    """One meter: address and identifier (name or DI) -> (start value, rate per second)."""

    address: str
    values: dict[str, tuple[float, float]] = field(default_factory=lambda: {"forward_active_total": (0.0, 0.0)})

    def reply(self, di: str, t: float) -> bytes:
        for key, (start, rate) in self.values.items():
            row = dlt645.identifier(key)
            if row["di"] == di:
                value = dlt645.encode_bcd(start + rate * t, row["length"], row["decimals"])
                return dlt645.build_frame(self.address, dlt645.READ_REPLY, bytes.fromhex(di)[::-1] + value,
                                          wake_up=False)
        return dlt645.build_frame(self.address, dlt645.ABNORMAL_READ_REPLY, b"\x02", wake_up=False)


@dataclass
class Dlt645LineSim:
    meters: list[SimMeter]
    clock: Callable[[], float] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    silent: set[str] = field(default_factory=set)
    reply_wake_up: int = 0
    chunk: int = 0
    requests: int = 0
    _t0: float = field(default_factory=time.monotonic)
    _thread: LoopThread | None = None
    _server: asyncio.AbstractServer | None = None
    _writers: set = field(default_factory=set)
    _tasks: set = field(default_factory=set)

    def now(self) -> float:
        return self.clock() if self.clock is not None else time.monotonic() - self._t0

    @classmethod
    def from_config(cls, config, *, start: float = 1000.0, rate: float = 0.05, **kw) -> Dlt645LineSim:
        """A line answering for every meter and identifier of a ``Dlt645SourceConfig``; energy of
        meter k starts at ``start * (k + 1)`` kWh and advances ``rate`` kWh/s (voltage: 230 V)."""
        meters = []
        for k, m in enumerate(config.meters):
            values = {}
            for row, _ in m.channels():
                values[row["id"]] = ((start * (k + 1), rate) if row["reading"] == "cumulative" else (230.0, 0.0))
            meters.append(SimMeter(m.address, values))
        return cls(meters, **kw)

    def answer(self, frame: dlt645.Frame) -> bytes | None:
        """The reply bytes to one request frame (None: no meter answers)."""
        self.requests += 1
        if frame.control == dlt645.READ_ADDRESS:
            m = next((m for m in self.meters if _matches(frame.address, m.address) and m.address not in self.silent),
                     None)
            return None if m is None else dlt645.build_frame(m.address, dlt645.READ_ADDRESS_REPLY,
                                                             dlt645.encode_address(m.address), wake_up=False)
        if frame.control != dlt645.READ or frame.di is None:
            return None
        for m in self.meters:
            if _matches(frame.address, m.address) and m.address not in self.silent:
                return b"\xfe" * self.reply_wake_up + m.reply(frame.di, self.now())
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self._tasks.add(asyncio.current_task())
        frames = dlt645.FrameReader()
        try:
            while chunk := await reader.read(4096):
                for item in frames.feed(chunk):
                    if isinstance(item, dlt645.FrameError):
                        continue
                    out = self.answer(item)
                    if out is None:
                        continue
                    step = self.chunk or len(out)
                    for i in range(0, len(out), step):
                        writer.write(out[i:i + step])
                        await writer.drain()
                        if self.chunk:
                            await asyncio.sleep(0.005)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            self._tasks.discard(asyncio.current_task())
            writer.close()

    def start(self) -> tuple[str, int, Callable[[], None]]:
        """Start serving on ``host:port`` (0: a free port); returns (host, port, stop)."""
        self._thread = LoopThread(f"dlt645-sim-{self.port}")

        async def serve():
            return await asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)

        self._server = self._thread.run(serve())
        self.port = self._server.sockets[0].getsockname()[1]
        return self.host, self.port, self.stop

    def stop(self) -> None:
        """Close the listener and every connection; ``start()`` again serves on the same port."""
        if self._thread is None:
            return
        server, self._server = self._server, None

        async def shut():
            server.close()
            for w in list(self._writers):
                w.close()
            tasks = list(self._tasks)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()

        if server is not None:
            self._thread.run(shut())
        self._thread.close()
        self._thread = None


def _matches(requested: str, address: str) -> bool:
    """``AA`` bytes of a requested address match any two digits."""
    return all(r == "AA" or r == a for r, a in zip(_pairs(requested), _pairs(address), strict=True))


def _pairs(address: str) -> list[str]:
    return [address[i:i + 2] for i in range(0, 12, 2)]


def start(meters: list[SimMeter], *, port: int = 0, clock=None, **kw) -> tuple[str, int, Callable[[], None]]:
    """Start a simulated meter line in a daemon thread: ``(host, port, stop)``."""
    return Dlt645LineSim(meters, clock=clock, port=port, **kw).start()
