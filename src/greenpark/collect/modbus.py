"""Modbus TCP meters (pymodbus 3.x client).

Each configured meter is one value in holding (function 3) or input (function 4) registers: its
address, data type, word and byte order, and ``value = raw * scale + offset``. By default a meter
is an energy register (cumulative): greenpark turns successive register values into interval
consumption on import, so a missed poll is bridged by the next one.

Registers are read in blocks: adjacent (or, with ``max_gap``, nearly adjacent) values of the same
unit id and function are fetched in one request of at most 125 registers (the Modbus limit for
function 3/4, Modbus Application Protocol V1.1b3, 6.3/6.4). Values are decoded with pymodbus'
``convert_from_registers``, all values of one type and word order of a block in one call; byte
order within a register is swapped first when a device sends the low byte first.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from greenpark.collect.base import Reading
from greenpark.collect.devices import DeviceUnreachable, SourceCounters, check_meter_ids, stamp

__all__ = ["MAX_REGISTERS", "REGISTER_COUNTS", "Block", "ModbusMeter", "ModbusSource", "ModbusSourceConfig", "build",
           "decode", "encode", "plan_blocks"]

#: registers per read request (function 3/4: 1..125)
MAX_REGISTERS = 125
RegisterType = Literal["uint16", "int16", "uint32", "int32", "float32", "uint64", "int64", "float64"]
#: registers per value of each type
REGISTER_COUNTS = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2, "uint64": 4, "int64": 4,
                   "float64": 4}
Order = Literal["big", "little"]


class ModbusMeter(BaseModel):
    """One value of one park meter in the device's register map."""

    model_config = ConfigDict(extra="forbid")

    meter_id: str
    #: first register (0-based protocol address, as in the device manual's hex table)
    address: int = Field(ge=0, le=65535)
    #: 3 = holding registers, 4 = input registers
    function: Literal[3, 4] = 3
    type: RegisterType = "uint32"
    #: "big": the first register holds the most significant word (AB CD); "little": CD AB
    word_order: Order = "big"
    #: "big": the high byte first within each register (A B); "little": B A
    byte_order: Order = "big"
    #: value = raw * scale + offset, in ``unit``
    scale: float = 1.0
    offset: float = 0.0
    #: unit of the value (None: the meter's unit in park.toml)
    unit: str | None = None
    #: device behind a gateway (None: the source's unit_id)
    unit_id: int | None = Field(None, ge=0, le=255)
    #: an energy register (the default; the park meter must be kind = "cumulative"); false: the
    #: register holds the consumption of the last interval
    cumulative: bool = True

    @property
    def count(self) -> int:
        return REGISTER_COUNTS[self.type]


class ModbusSourceConfig(BaseModel):
    """A ``[[sources]]`` entry of ``type = "modbus"``: one Modbus TCP server (meter or gateway)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["modbus"]
    name: str = Field(min_length=1)
    host: str
    port: int = Field(502, ge=1, le=65535)
    unit_id: int = Field(1, ge=0, le=255)
    #: seconds to wait for a reply [s]
    timeout: float = Field(3.0, gt=0)
    #: seconds between polls
    interval_s: float = Field(60.0, gt=0)
    #: registers per request (<= 125)
    max_registers: int = Field(MAX_REGISTERS, ge=1, le=MAX_REGISTERS)
    #: unused registers a block may span to join two values in one request (0: only adjacent ones;
    #: raise it only for devices that answer for the gap)
    max_gap: int = Field(0, ge=0, le=MAX_REGISTERS)
    meters: list[ModbusMeter] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ModbusSourceConfig:
        ids = [m.meter_id for m in self.meters]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"source '{self.name}': meter id(s) {', '.join(dup)} are mapped twice")
        return self


@dataclass(frozen=True)
class Block:
    """One read request: ``count`` registers from ``start`` of ``function`` on ``unit_id``;
    ``members`` are (index into the config's meters, register offset in the block)."""

    unit_id: int
    function: int
    start: int
    count: int
    members: tuple[tuple[int, int], ...]


def plan_blocks(config: ModbusSourceConfig) -> list[Block]:
    """Group the meters into as few read requests as the register map allows."""
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, m in enumerate(config.meters):
        groups[(config.unit_id if m.unit_id is None else m.unit_id, m.function)].append(i)
    blocks: list[Block] = []
    for (unit, function), idx in sorted(groups.items()):
        idx.sort(key=lambda i: config.meters[i].address)
        current: list[int] = []
        start = end = 0
        for i in idx:
            m = config.meters[i]
            new_end = max(end, m.address + m.count)
            if current and (m.address > end + config.max_gap or new_end - start > config.max_registers):
                blocks.append(_block(config, unit, function, start, end, current))
                current = []
            if not current:
                start, new_end = m.address, m.address + m.count
            current.append(i)
            end = new_end
        if current:
            blocks.append(_block(config, unit, function, start, end, current))
    return blocks


def _block(config, unit, function, start, end, members) -> Block:
    return Block(unit, function, start, end - start,
                 tuple((i, config.meters[i].address - start) for i in members))


def _datatype(name: str):
    from pymodbus.client import ModbusTcpClient

    return ModbusTcpClient.DATATYPE[name.upper()]


def decode(registers: np.ndarray, type_: str, word_order: Order = "big", byte_order: Order = "big") -> np.ndarray:
    """Registers (uint16, ``n x count`` values laid end to end) -> ``n`` values (float64)."""
    from pymodbus.client import ModbusTcpClient

    regs = np.asarray(registers, dtype=np.uint16)
    if byte_order == "little":
        regs = regs.byteswap()
    out = ModbusTcpClient.convert_from_registers(regs.tolist(), _datatype(type_), word_order=word_order)
    return np.atleast_1d(np.asarray(out, dtype=np.float64))


def encode(value: float | int, type_: str, word_order: Order = "big", byte_order: Order = "big") -> list[int]:
    """The inverse of :func:`decode` for one value (used by the simulator and tests)."""
    from pymodbus.client import ModbusTcpClient

    if not type_.startswith("float"):
        value = round(value)
    regs = np.asarray(ModbusTcpClient.convert_to_registers(value, _datatype(type_), word_order=word_order),
                      dtype=np.uint16)
    if byte_order == "little":
        regs = regs.byteswap()
    return regs.tolist()


class ModbusSource:
    """Polls the register blocks of one Modbus TCP server.

    A server that refuses the connection, resets it or does not answer within ``timeout`` makes
    :meth:`poll_once` raise :class:`~greenpark.collect.devices.DeviceUnreachable` (a
    ``ConnectionError``); the next poll reconnects. An exception response for a block (illegal
    address...) or a value that is not finite counts in ``counters.errors`` and yields no reading.
    """

    #: the ``[[sources]]`` type (shown by ``greenpark status``)
    type = "modbus"

    def __init__(self, config: ModbusSourceConfig):
        self.config = config
        self.name = config.name
        self.interval_s = config.interval_s
        self.counters = SourceCounters()
        self.blocks = plan_blocks(config)
        self._client = None
        # decoding plan per block: (type, word order, byte order) -> member positions
        self._decode_plan = [self._plan(b) for b in self.blocks]
        self._scale = np.array([m.scale for m in config.meters])
        self._offset = np.array([m.offset for m in config.meters])

    @property
    def errors(self) -> int:
        return self.counters.errors

    def _plan(self, block: Block) -> list[tuple[tuple[str, str, str], np.ndarray, np.ndarray]]:
        groups: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
        for i, off in block.members:
            m = self.config.meters[i]
            groups[(m.type, m.word_order, m.byte_order)].append((i, off))
        plan = []
        for key, members in groups.items():
            n = REGISTER_COUNTS[key[0]]
            idx = np.array([i for i, _ in members])
            take = np.concatenate([np.arange(off, off + n) for _, off in members])
            plan.append((key, idx, take))
        return plan

    def _connect(self):
        from pymodbus.client import ModbusTcpClient

        if self._client is None:
            logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
            self._client = ModbusTcpClient(self.config.host, port=self.config.port, timeout=self.config.timeout,
                                           retries=0, reconnect_delay=0)
        if not self._client.connected and not self._client.connect():
            raise self._unreachable("connection refused or timed out")
        return self._client

    def _unreachable(self, why: str) -> DeviceUnreachable:
        self.close()
        exc = DeviceUnreachable.t("collect.device_unreachable", protocol="Modbus TCP", host=self.config.host,
                                  port=self.config.port, source=self.name, why=why)
        self.counters.last_error = str(exc)
        return exc

    def read_blocks(self) -> list[np.ndarray | None]:
        """The registers of every block (None for a block the device refused or did not answer).

        A block without a reply (a device behind a gateway that is off) is counted and the
        connection is opened again for the next block (a late reply must not answer the next
        request); when no block is answered the server is unreachable."""
        from pymodbus.exceptions import ConnectionException, ModbusException

        client = self._connect()
        out: list[np.ndarray | None] = []
        silent = 0
        for b in self.blocks:
            read = client.read_holding_registers if b.function == 3 else client.read_input_registers
            where = f"unit {b.unit_id} function {b.function} registers {b.start}..{b.start + b.count - 1}"
            try:
                rr = read(b.start, count=b.count, device_id=b.unit_id)
            except (ConnectionException, OSError) as exc:
                raise self._unreachable(f"connection lost ({exc})") from None
            except ModbusException as exc:
                silent += 1
                self._count(b, f"{where}: no reply within {self.config.timeout} s ({type(exc).__name__})")
                out.append(None)
                self.close()
                client = self._connect()
                continue
            self.counters.requests += 1
            if rr.isError() or len(rr.registers) < b.count:
                self._count(b, f"{where}: {rr}")
                out.append(None)
            else:
                out.append(np.asarray(rr.registers[:b.count], dtype=np.uint16))
        if silent == len(self.blocks):
            raise self._unreachable(f"no reply within {self.config.timeout} s")
        return out

    def _count(self, block: Block, message: str) -> None:
        for i, _ in block.members:
            self.counters.error(self.config.meters[i].meter_id, message)

    def poll_once(self, now: dt.datetime) -> list[Reading]:
        """One reading per configured meter whose registers were read and decoded."""
        ts = stamp(now)
        n = len(self.config.meters)
        raw = np.full(n, np.nan)
        refused = np.zeros(n, dtype=bool)
        for block, regs, plan in zip(self.blocks, self.read_blocks(), self._decode_plan, strict=True):
            if regs is None:
                refused[[i for i, _ in block.members]] = True
                continue
            for (type_, word, byte), idx, take in plan:
                raw[idx] = decode(regs[take], type_, word, byte)
        values = raw * self._scale + self._offset
        good = np.isfinite(values)
        readings = [Reading(self.name, self.config.meters[i].meter_id, ts, float(values[i]), self.config.meters[i].unit)
                    for i in np.flatnonzero(good)]
        for i in np.flatnonzero(~good & ~refused):
            meter_id = self.config.meters[i].meter_id
            self.counters.error(meter_id, f"meter {meter_id}: register value {raw[i]} is not a finite number")
        self.counters.polls += 1
        self.counters.readings += len(readings)
        return readings

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None


def build(config: ModbusSourceConfig | dict, park=None) -> ModbusSource:
    """The source of a ``[[sources]]`` entry; its meter ids must exist in ``park`` (when given)."""
    if not isinstance(config, ModbusSourceConfig):
        config = ModbusSourceConfig.model_validate(config)
    check_meter_ids(config.name, [m.meter_id for m in config.meters], park,
                    cumulative=[m.meter_id for m in config.meters if m.cumulative])
    return ModbusSource(config)
