"""Modbus TCP meters: register decoding of every type, word and byte order, block grouping, a device
that stops answering and comes back, undecodable values, and poll -> ingest_batch end to end.

The peer is a real pymodbus TCP server (greenpark.collect.sim.modbus) on 127.0.0.1, free port.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from itertools import product

import numpy as np
import pyarrow as pa
import pytest

from greenpark import park as park_mod
from greenpark.collect import modbus
from greenpark.collect.base import PolledSource
from greenpark.collect.devices import DeviceUnreachable, SourceConfigError
from greenpark.collect.sim.modbus import ModbusMeterSim, SimRegister
from greenpark.errors import GreenparkError
from greenpark.ingest import ingest_batch
from greenpark.store import Store

from conftest import SMALL_PARK

T0 = dt.datetime(2025, 3, 1, 0, 0, tzinfo=dt.UTC)


class Clock:
    """The simulator's clock, driven by the test [s]."""

    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


def sim(devices, clock=None, **kw) -> ModbusMeterSim:
    s = ModbusMeterSim(devices, clock=clock, **kw)
    s.start()
    return s


def source(port: int, meters: list[dict], **kw) -> modbus.ModbusSource:
    return modbus.build({"type": "modbus", "name": "mb", "host": "127.0.0.1", "port": port, "timeout": 1.0,
                         "meters": meters, **kw})


# ----------------------------------------------------------------------------- decoding, hand-computed


@pytest.mark.parametrize(("type_", "word", "byte", "regs", "value"), [
    # 0x1234 = 4660; with the low byte first the register reads 0x3412
    ("uint16", "big", "big", [0x1234], 4660),
    ("uint16", "big", "little", [0x3412], 4660),
    ("int16", "big", "big", [0xFFFE], -2),
    # 123456789 = 0x075BCD15: AB CD, CD AB, BA DC, DC BA
    ("uint32", "big", "big", [0x075B, 0xCD15], 123456789),
    ("uint32", "little", "big", [0xCD15, 0x075B], 123456789),
    ("uint32", "big", "little", [0x5B07, 0x15CD], 123456789),
    ("uint32", "little", "little", [0x15CD, 0x5B07], 123456789),
    ("int32", "big", "big", [0xFFFF, 0xFFFE], -2),
    ("int32", "little", "big", [0xFFFE, 0xFFFF], -2),
    # IEEE 754: 123.456 -> 0x42F6E979 (float32), 1.5 -> 0x3FF8000000000000 (float64)
    ("float32", "big", "big", [0x42F6, 0xE979], np.float32(123.456)),
    ("float32", "little", "little", [0x79E9, 0xF642], np.float32(123.456)),
    ("float64", "big", "big", [0x3FF8, 0, 0, 0], 1.5),
    ("float64", "little", "big", [0, 0, 0, 0x3FF8], 1.5),
    ("float64", "big", "little", [0xF83F, 0, 0, 0], 1.5),
    ("uint64", "big", "big", [0x0102, 0x0304, 0x0506, 0x0708], 0x0102030405060708),
    ("uint64", "little", "big", [0x0708, 0x0506, 0x0304, 0x0102], 0x0102030405060708),
    ("int64", "big", "big", [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE], -2),
])
def test_decode_registers_hand_computed(type_, word, byte, regs, value):
    assert modbus.decode(np.array(regs), type_, word, byte)[0] == float(value)
    assert modbus.encode(value, type_, word, byte) == regs


def test_decode_many_values_of_one_type_in_one_call():
    regs = np.array([0x075B, 0xCD15, 0xFFFF, 0xFFFE, 0, 7])
    assert modbus.decode(regs, "int32").tolist() == [123456789.0, -2.0, 7.0]


# ----------------------------------------------------------------------------- the device

TYPES = list(modbus.REGISTER_COUNTS)


def test_every_type_word_and_byte_order_from_a_device():
    """32 values (8 types x 2 word orders x 2 byte orders) in one register map, read and decoded."""
    regs, meters, expected, addr = [], [], {}, 0
    for i, (t, w, b) in enumerate(product(TYPES, ["big", "little"], ["big", "little"])):
        value = {"int16": -1234, "int32": -123456, "int64": -(2 ** 40) - 5, "float32": 1234.5,
                 "float64": 123456789.125}.get(t, 40000 + i)
        regs.append(SimRegister(addr, t, word_order=w, byte_order=b, start=value))
        meters.append({"meter_id": f"m{i}", "address": addr, "type": t, "word_order": w, "byte_order": b})
        expected[f"m{i}"] = float(value)
        addr += modbus.REGISTER_COUNTS[t]
    s = sim({1: regs})
    try:
        src = source(s.port, meters)
        got = {r.meter_id: r.value for r in src.poll_once(T0)}
        assert got == expected
        # 32 adjacent values, 80 registers: one request
        assert len(src.blocks) == 1 and s.requests == 1 and src.errors == 0
    finally:
        s.stop()


def test_scale_offset_input_registers_and_unit_ids(clock):
    s = sim({1: [SimRegister(0, "uint32", start=123456, rate=10), SimRegister(30, "int16", function=4, start=-40)],
             7: [SimRegister(0, "float32", start=2.5)]}, clock)
    try:
        src = source(s.port, [
            # a register in 0.01 kWh: value = raw * 0.01
            {"meter_id": "e", "address": 0, "type": "uint32", "scale": 0.01, "unit": "kWh"},
            {"meter_id": "t", "address": 30, "type": "int16", "function": 4, "scale": 0.1, "offset": 273.15},
            {"meter_id": "g", "address": 0, "type": "float32", "unit_id": 7}])
        r = {x.meter_id: x for x in src.poll_once(T0)}
        assert r["e"].value == pytest.approx(1234.56) and r["e"].unit == "kWh"
        assert r["t"].value == pytest.approx(269.15) and r["t"].unit is None
        assert r["g"].value == 2.5
        assert {x.timestamp for x in r.values()} == {"2025-03-01T00:00:00+00:00"}
        clock.t = 60
        assert {x.meter_id: x.value for x in src.poll_once(T0)}["e"] == pytest.approx(1240.56)
        assert len(src.blocks) == 3 and isinstance(src, PolledSource)
    finally:
        s.stop()


# ----------------------------------------------------------------------------- block grouping


def cfg(meters, **kw) -> modbus.ModbusSourceConfig:
    return modbus.ModbusSourceConfig.model_validate({"type": "modbus", "name": "x", "host": "h", "meters": meters, **kw})


def test_blocks_group_adjacent_registers_and_respect_the_125_register_limit():
    # 70 adjacent uint32 values = 140 registers: 62 values (124 registers) + 8 values (16 registers)
    c = cfg([{"meter_id": f"m{i}", "address": 1000 + 2 * i} for i in range(70)])
    blocks = modbus.plan_blocks(c)
    assert [(b.start, b.count, len(b.members)) for b in blocks] == [(1000, 124, 62), (1124, 16, 8)]
    assert all(b.count <= 125 for b in blocks)


def test_blocks_split_on_gaps_functions_and_unit_ids_unless_max_gap_joins_them():
    meters = [{"meter_id": "a", "address": 0, "type": "uint16"}, {"meter_id": "b", "address": 1, "type": "uint16"},
              {"meter_id": "c", "address": 10, "type": "uint32"}, {"meter_id": "d", "address": 2, "function": 4},
              {"meter_id": "e", "address": 2, "unit_id": 9}]
    blocks = modbus.plan_blocks(cfg(meters))
    assert [(b.unit_id, b.function, b.start, b.count) for b in blocks] == [
        (1, 3, 0, 2), (1, 3, 10, 2), (1, 4, 2, 2), (9, 3, 2, 2)]
    joined = modbus.plan_blocks(cfg(meters, max_gap=8))
    assert [(b.unit_id, b.function, b.start, b.count) for b in joined][0] == (1, 3, 0, 12)
    assert modbus.plan_blocks(cfg(meters, max_registers=1))[0].count == 1


def test_a_large_map_is_read_in_few_requests():
    regs = [SimRegister(2 * i, "uint32", start=i) for i in range(300)]
    s = sim({1: regs})
    try:
        src = source(s.port, [{"meter_id": f"m{i}", "address": 2 * i} for i in range(300)])
        got = src.poll_once(T0)
        assert [r.value for r in got] == [float(i) for i in range(300)]
        assert s.requests == len(src.blocks) == 5      # 600 registers / 124
    finally:
        s.stop()


# ----------------------------------------------------------------------------- faults


def test_a_device_that_stops_answering_raises_connection_error_then_recovers():
    s = sim({1: [SimRegister(0, "uint32", start=5)]})
    src = source(s.port, [{"meter_id": "a", "address": 0}])
    try:
        assert [r.value for r in src.poll_once(T0)] == [5.0]
        s.stop()
        with pytest.raises(ConnectionError) as err:
            src.poll_once(T0)
        assert isinstance(err.value, DeviceUnreachable) and isinstance(err.value, GreenparkError)
        assert err.value.http_status == 503 and f"127.0.0.1:{s.port}" in str(err.value)
        assert err.value.localized("zh").startswith(f"Modbus TCP 设备 127.0.0.1:{s.port}（数据源“mb”）无应答")
        with pytest.raises(ConnectionError):     # nothing listens: connection refused
            src.poll_once(T0)
        assert src.counters.last_error and "source 'mb'" in src.counters.last_error
        s.start()                                 # back on the same port
        assert [r.value for r in src.poll_once(T0)] == [5.0]
    finally:
        s.stop()
        src.close()


def test_a_device_that_accepts_but_never_replies_times_out():
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen()
    conns = []
    threading.Thread(target=lambda: conns.append(lsn.accept()), daemon=True).start()
    try:
        src = source(lsn.getsockname()[1], [{"meter_id": "a", "address": 0}], timeout=0.3)
        t = time.monotonic()
        with pytest.raises(ConnectionError):
            src.poll_once(T0)
        assert time.monotonic() - t < 3
    finally:
        lsn.close()


def test_a_silent_device_behind_a_gateway_does_not_stop_the_others():
    s = sim({1: [SimRegister(0, "uint32", start=1)], 2: [SimRegister(0, "uint32", start=2)],
             3: [SimRegister(0, "uint32", start=3)]}, silent_delay=0.6)
    src = source(s.port, [{"meter_id": f"u{u}", "address": 0, "unit_id": u} for u in (1, 2, 3)], timeout=0.25)
    try:
        s.silent_units = {2}
        assert [(r.meter_id, r.value) for r in src.poll_once(T0)] == [("u1", 1.0), ("u3", 3.0)]
        assert src.counters.errors_by_meter == {"u2": 1} and "no reply" in src.counters.last_error
        s.silent_units = {1, 2, 3}
        with pytest.raises(ConnectionError, match="no reply"):
            src.poll_once(T0)
        s.silent_units = set()
        time.sleep(0.7)     # late replies of the silent requests are not taken for new ones
        assert [r.value for r in src.poll_once(T0)] == [1.0, 2.0, 3.0]
    finally:
        s.stop()


def test_refused_registers_and_nan_values_are_counted_not_crashed_on():
    s = sim({1: [SimRegister(0, "uint32", start=7), SimRegister(2, "float32", raw=[0x7FC0, 0x0000])],
             2: [SimRegister(100, "uint16", start=1)]})
    try:
        src = source(s.port, [{"meter_id": "ok", "address": 0}, {"meter_id": "nan", "address": 2, "type": "float32"},
                              # register 500 is not in unit 2's map: an exception response (illegal address)
                              {"meter_id": "gone", "address": 500, "unit_id": 2}])
        got = src.poll_once(T0)
        assert [(r.meter_id, r.value) for r in got] == [("ok", 7.0)]
        assert src.errors == 2 and src.counters.errors_by_meter == {"nan": 1, "gone": 1}
    finally:
        s.stop()


def test_config_errors_name_the_problem(park):
    with pytest.raises(SourceConfigError, match=r"NOPE.*not in park.toml.*E1-EL"):
        modbus.build({"type": "modbus", "name": "x", "host": "h", "meters": [{"meter_id": "NOPE", "address": 0}]},
                     park)
    with pytest.raises(SourceConfigError, match=r"E1-EL receive register values .*kind = \"cumulative\""):
        modbus.build({"type": "modbus", "name": "x", "host": "h", "meters": [{"meter_id": "E1-EL", "address": 0}]},
                     park)
    # a register holding interval consumption may feed an interval meter
    modbus.build({"type": "modbus", "name": "x", "host": "h",
                  "meters": [{"meter_id": "E1-EL", "address": 0, "cumulative": False}]}, park)
    with pytest.raises(ValueError, match="mapped twice"):
        cfg([{"meter_id": "a", "address": 0}, {"meter_id": "a", "address": 2}])
    with pytest.raises(ValueError, match="type"):
        cfg([{"meter_id": "a", "address": 0, "type": "int128"}])
    with pytest.raises(ValueError, match="less than or equal to 125"):
        cfg([{"meter_id": "a", "address": 0}], max_registers=126)


# ----------------------------------------------------------------------------- end to end

E2E_PARK = SMALL_PARK + """
[[meters]]
id = "MB-1"
owner = "E1"
carrier = "electricity"
unit = "kWh"
kind = "cumulative"

[[meters]]
id = "MB-2"
owner = "E2"
carrier = "electricity"
unit = "MWh"
kind = "cumulative"

[[meters]]
id = "MB-3"
owner = "E2"
carrier = "electricity"
unit = "kWh"
kind = "cumulative"
register_rollover = 65536
"""


@pytest.fixture
def e2e(tmp_path):
    (tmp_path / "park.toml").write_text(E2E_PARK, encoding="utf-8")
    park = park_mod.load(tmp_path / "park.toml")
    store = Store(":memory:", park.park.timezone)
    with store.transaction():
        store.sync_park(park)
    yield park, store
    store.close()


def readings(store, meter_id):
    return [(ts.strftime("%H:%M"), round(v, 6)) for ts, v in store.con.execute(
        "SELECT ts, value FROM readings WHERE meter_id = ? ORDER BY ts", [meter_id]).fetchall()]


def test_polls_into_ingest_batch_give_interval_readings_from_cumulative_registers(e2e, clock):
    park, store = e2e
    # MB-1: energy register in 0.1 kWh (uint32), 0.1 kWh/s = 90 kWh per 15 min; MB-2: float32 kWh,
    # reported in kWh into a meter kept in MWh (pint converts on import)
    s = sim({1: [SimRegister(0, "uint32", start=1000.0, rate=0.1, scale=0.1),
                 SimRegister(2, "float32", word_order="little", start=500.0, rate=0.02)]}, clock)
    src = modbus.build({"type": "modbus", "name": "mb", "host": "127.0.0.1", "port": s.port, "timeout": 1.0,
                        "meters": [{"meter_id": "MB-1", "address": 0, "scale": 0.1},
                                   {"meter_id": "MB-2", "address": 2, "type": "float32", "word_order": "little",
                                    "unit": "kWh"}]}, park)
    batches = []
    try:
        for k in range(4):
            clock.t = 900 * k
            if k == 2:     # the device is down at 00:30: the next poll bridges the gap
                s.stop()
                with pytest.raises(ConnectionError):
                    src.poll_once(T0 + dt.timedelta(minutes=15 * k))
                s.start()
                continue
            batch = src.poll_once(T0 + dt.timedelta(minutes=15 * k))
            batches.append(batch)
            res = ingest_batch(store, park, pa.Table.from_pylist([r.as_row() for r in batch]), source="collect:mb")
            assert res.accepted == 2 and not res.rejected_by_reason
    finally:
        s.stop()
        src.close()
    # the first register value is the baseline; the 00:45 value covers 00:15..00:45
    assert readings(store, "MB-1") == [("00:15", 90.0), ("00:45", 180.0)]
    assert readings(store, "MB-2") == [("00:15", 0.018), ("00:45", 0.036)]
    # total consumption equals the register's advance: nothing lost in the outage
    assert sum(v for _, v in readings(store, "MB-1")) == pytest.approx(0.1 * 2700)
    # the same batch again changes nothing
    res = ingest_batch(store, park, pa.Table.from_pylist([r.as_row() for r in batches[-1]]), source="collect:mb")
    assert (res.accepted, res.unchanged) == (0, 2)
    assert readings(store, "MB-1") == [("00:15", 90.0), ("00:45", 180.0)]


def test_a_simulator_for_a_source_config_and_in_its_own_process():
    c = cfg([{"meter_id": "a", "address": 4, "type": "float64", "word_order": "little", "scale": 0.5},
             {"meter_id": "b", "address": 0, "type": "int32", "function": 4, "unit_id": 3}])
    s = ModbusMeterSim.from_config(c, start=100.0, rate=0.0)
    s.start()
    try:
        src = modbus.build(c.model_copy(update={"host": "127.0.0.1", "port": s.port}))
        assert {r.meter_id: r.value for r in src.poll_once(T0)} == {"a": 100.0, "b": 200.0}
    finally:
        s.stop()
    from greenpark.collect.sim import spawn

    host, port, stop = spawn("modbus", "--units", "2", "--values", "3", "--rate", "0")
    try:
        src = source(port, [{"meter_id": f"u{u}-{i}", "address": 2 * i, "unit_id": u} for u in (1, 2) for i in range(3)])
        assert [r.value for r in src.poll_once(T0)] == [1000.0, 1001.0, 1002.0, 2000.0, 2001.0, 2002.0]
    finally:
        stop()


def test_simulated_registers_round_to_the_nearest_step_and_roll_over(clock):
    r = SimRegister(0, "uint16", start=65530.0, rate=1.0, scale=1.0)
    clock.t = 3
    assert r.registers(clock.t) == [65533]
    assert r.registers(10) == [4]                       # 65540 rolls over at 65536
    assert SimRegister(0, "uint32", start=1000.0, rate=0.1, scale=0.1).registers(9) == [0, 10009]


def test_a_16_bit_register_that_rolls_over_between_polls(e2e, clock):
    park, store = e2e
    s = sim({1: [SimRegister(10, "uint16", start=65000.0, rate=1.0)]}, clock)
    src = modbus.build({"type": "modbus", "name": "mb", "host": "127.0.0.1", "port": s.port, "timeout": 1.0,
                        "meters": [{"meter_id": "MB-3", "address": 10, "type": "uint16"}]}, park)
    try:
        seen = []
        for k in range(3):
            clock.t = 900 * k
            batch = src.poll_once(T0 + dt.timedelta(minutes=15 * k))
            seen.append(batch[0].value)
            ingest_batch(store, park, pa.Table.from_pylist([r.as_row() for r in batch]), source="collect:mb")
    finally:
        s.stop()
        src.close()
    assert seen == [65000.0, 364.0, 1264.0]       # 65900 and 66800 wrapped at 65536
    assert readings(store, "MB-3") == [("00:15", 900.0), ("00:30", 900.0)]
