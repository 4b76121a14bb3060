"""A pymodbus TCP server simulating several energy meters (unit ids) with registers that advance.

Each :class:`SimRegister` holds one value ``value(t) = start + rate * t`` (``t`` seconds on the
simulator's clock, which tests can drive by hand), encoded in its type, word and byte order at
each read: a meter's energy register advances like a real one between polls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from greenpark.collect.modbus import REGISTER_COUNTS, encode
from greenpark.collect.sim import LoopThread

__all__ = ["ModbusMeterSim", "SimRegister", "start"]


@dataclass
class SimRegister:
    """One value in the simulated register map (raw = (value - offset) / scale)."""

    address: int
    type: str = "uint32"
    function: int = 3
    word_order: str = "big"
    byte_order: str = "big"
    start: float = 0.0
    #: units per second of the simulator's clock
    rate: float = 0.0
    scale: float = 1.0
    offset: float = 0.0
    #: a fixed raw register content instead of the encoded value (e.g. a NaN float)
    raw: list[int] | None = None

    def value(self, t: float) -> float:
        return self.start + self.rate * t

    def registers(self, t: float) -> list[int]:
        if self.raw is not None:
            return list(self.raw)
        raw = (self.value(t) - self.offset) / self.scale
        if self.type.startswith("uint"):   # an energy register rolls over like a real one
            raw = round(raw) % 2 ** (16 * REGISTER_COUNTS[self.type])
        return encode(raw, self.type, self.word_order, self.byte_order)


@dataclass
class ModbusMeterSim:
    """Unit id -> registers; ``clock()`` gives the seconds since the start (monotonic by default)."""

    devices: dict[int, list[SimRegister]]
    clock: Callable[[], float] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    requests: int = 0
    #: unit ids that do not answer (a device behind a gateway that is off): replies come
    #: ``silent_delay`` seconds late
    silent_units: set[int] = field(default_factory=set)
    silent_delay: float = 1.0
    _t0: float = field(default_factory=time.monotonic)
    _thread: LoopThread | None = None
    _server: object = None

    def now(self) -> float:
        return self.clock() if self.clock is not None else time.monotonic() - self._t0

    @classmethod
    def from_config(cls, config, *, start: float = 1000.0, rate: float = 0.05, **kw) -> ModbusMeterSim:
        """A device answering for every value of a ``ModbusSourceConfig`` (type, orders, scale,
        unit ids as configured), value k starting at ``start * (k + 1)`` and advancing ``rate``/s:
        the peer of ``greenpark demo --live`` and of trials of a park.toml."""
        devices: dict[int, list[SimRegister]] = {}
        for k, m in enumerate(config.meters):
            unit = config.unit_id if m.unit_id is None else m.unit_id
            devices.setdefault(unit, []).append(SimRegister(
                m.address, m.type, m.function, m.word_order, m.byte_order, start=start * (k + 1), rate=rate,
                scale=m.scale, offset=m.offset))
        return cls(devices, **kw)

    def _device(self, unit: int, regs: list[SimRegister]):
        from pymodbus.constants import ExcCodes
        from pymodbus.simulator import DataType, SimData, SimDevice

        def block(function: int) -> list[SimData]:
            mine = [r for r in regs if r.function == function]
            if not mine:
                return [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)]
            lo = min(r.address for r in mine)
            hi = max(r.address + REGISTER_COUNTS[r.type] for r in mine)
            return [SimData(lo, count=hi - lo, values=0, datatype=DataType.REGISTERS)]

        hr, ir = block(3), block(4)
        by_function = {f: [r for r in regs if r.function == f] for f in (3, 4)}

        async def action(function_code, start_address, address, count, current, set_values):
            if set_values is not None:
                return ExcCodes.ILLEGAL_FUNCTION
            if unit in self.silent_units:
                await asyncio.sleep(self.silent_delay)
            self.requests += 1
            t = self.now()
            for r in by_function.get(function_code, ()):
                if r.address < address + count and r.address + REGISTER_COUNTS[r.type] > address:
                    off = r.address - start_address
                    current[off:off + REGISTER_COUNTS[r.type]] = r.registers(t)
            return None

        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        return SimDevice(unit, simdata=(bits, list(bits), hr, ir), action=action)

    def start(self) -> tuple[str, int, Callable[[], None]]:
        """Start serving on ``host:port`` (0: a free port); returns (host, port, stop)."""
        from pymodbus.server import ModbusTcpServer

        devices = [self._device(unit, regs) for unit, regs in sorted(self.devices.items())]
        self._thread = LoopThread(f"modbus-sim-{self.port}")

        async def serve():
            server = ModbusTcpServer(devices, address=(self.host, self.port))
            await server.serve_forever(background=True)
            return server

        self._server = self._thread.run(serve())
        self.port = self._server.transport.sockets[0].getsockname()[1]
        return self.host, self.port, self.stop

    def stop(self) -> None:
        """Close the listener and every connection (the device stops answering); ``start()`` again
        serves on the same port."""
        if self._thread is None:
            return
        server, self._server = self._server, None
        if server is not None:
            self._thread.run(server.shutdown())
        self._thread.close()
        self._thread = None


def start(devices: dict[int, list[SimRegister]], *, port: int = 0, clock=None) -> tuple[str, int, Callable[[], None]]:
    """Start a simulator in a daemon thread: ``(host, port, stop)``."""
    return ModbusMeterSim(devices, clock=clock, port=port).start()
