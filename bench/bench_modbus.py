"""Benchmark (issue 11): polling simulated meters, the simulators in their own processes.

1. ``modbus``: greenpark's :class:`~greenpark.collect.modbus.ModbusSource` polling 4 unit ids x 250
   uint32 energy values (2,000 registers) from the pymodbus simulator (``python -m
   greenpark.collect.sim modbus``) for ``SECONDS``: registers/s, values/s, requests/s, poll time.
   Goal: >= 500 registers/s. Zero loss: every poll returns every value, each register never goes back.
2. ``bare_pymodbus``: a bare pymodbus client reading the same blocks without decoding, side by side
   in the same run (the ceiling of the transport).
3. ``one_value_per_request``: the same map with ``max_registers = 2`` (no block grouping): what
   grouping buys.
4. ``dlt645``: :class:`~greenpark.collect.dlt645.Dlt645Source` polling 8 meters x 2 identifiers
   behind the simulated gateway: frames/s.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

from greenpark.collect import dlt645, modbus
from greenpark.collect.sim import spawn

SECONDS = 5.0
UNITS, VALUES = 4, 250


def _modbus_config(port: int, **kw) -> dict:
    return {"type": "modbus", "name": "bench", "host": "127.0.0.1", "port": port, "timeout": 3.0,
            "meters": [{"meter_id": f"u{u}-{i}", "address": 2 * i, "unit_id": u}
                       for u in range(1, UNITS + 1) for i in range(VALUES)], **kw}


def _poll(src, seconds: float, expected: int) -> dict:
    times, last, lost, back = [], {}, 0, 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        got = src.poll_once(dt.datetime.now(dt.UTC))
        times.append(time.perf_counter() - t)
        lost += expected - len(got)
        for r in got:
            back += r.value < last.get(r.meter_id, r.value)
            last[r.meter_id] = r.value
    total = sum(times)
    regs = sum(b.count for b in getattr(src, "blocks", [])) or None
    out = {"polls": len(times), "values_per_s": round(expected * len(times) / total),
           "requests_per_s": round(src.counters.requests / total), "poll_ms_median": round(1000 * statistics.median(times), 2),
           "poll_ms_p99": round(1000 * sorted(times)[int(0.99 * (len(times) - 1))], 2),
           "values_lost": lost, "registers_going_back": back, "errors": src.errors}
    if regs:
        out = {"registers_per_s": round(regs * len(times) / total), **out}
    return out


def _bare(port: int, seconds: float) -> dict:
    from pymodbus.client import ModbusTcpClient

    plan = modbus.plan_blocks(modbus.ModbusSourceConfig.model_validate(_modbus_config(port)))
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=3.0, retries=0)
    client.connect()
    n, regs = 0, 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for b in plan:
            rr = client.read_holding_registers(b.start, count=b.count, device_id=b.unit_id)
            regs += len(rr.registers)
        n += 1
    total = time.perf_counter() - t0
    client.close()
    return {"registers_per_s": round(regs / total), "polls": n}


def run() -> dict:
    host, port, stop = spawn("modbus", "--units", str(UNITS), "--values", str(VALUES))
    try:
        src = modbus.build(_modbus_config(port))
        src.poll_once(dt.datetime.now(dt.UTC))          # connect
        src.counters.requests = 0
        ours = _poll(src, SECONDS, UNITS * VALUES)
        ours["requests_per_poll"] = len(src.blocks)
        src.close()
        bare = _bare(port, SECONDS)
        single = modbus.build(_modbus_config(port, max_registers=2))
        single.poll_once(dt.datetime.now(dt.UTC))
        single.counters.requests = 0
        one = _poll(single, SECONDS, UNITS * VALUES)
        single.close()
    finally:
        stop()
    host, port, stop = spawn("dlt645", "--meters", "8")
    try:
        dsrc = dlt645.build({"type": "dlt645", "name": "bench", "host": host, "port": port, "timeout": 2.0,
                             "meters": [{"address": f"{k:012d}", "meter_id": f"m{k}",
                                         "identifiers": {"reverse_active_total": f"m{k}-exp"}} for k in range(1, 9)]})
        dsrc.poll_once(dt.datetime.now(dt.UTC))
        dsrc.counters.requests = 0
        dl = _poll(dsrc, SECONDS, 16)
        dl["frames_per_s"] = dl.pop("requests_per_s")
        dsrc.close()
    finally:
        stop()
    return {"map": f"{UNITS} unit ids x {VALUES} uint32 values = {UNITS * VALUES * 2} registers",
            "seconds": SECONDS, "modbus": ours, "bare_pymodbus": bare,
            "ratio_to_bare": round(ours["registers_per_s"] / bare["registers_per_s"], 3),
            "one_value_per_request": one,
            "grouping_speedup": round(ours["registers_per_s"] / one["registers_per_s"], 1),
            "goal_registers_per_s": 500, "goal_met": ours["registers_per_s"] >= 500 and ours["values_lost"] == 0,
            "dlt645": dl}
