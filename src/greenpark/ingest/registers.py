"""Cumulative registers -> interval consumption, across rollovers and meter replacements.

Registers are split into segments at replacement events. Within a segment, rollovers are
unwrapped (a drop from above 90 % of ``register_rollover`` to below 10 % adds the modulus)
giving ``u``. Segments are chained into one continuous counter ``E = u - base_j + offset_j``:
at replacement j the old meter's last increment is ``old_final - last register`` (modulo the
rollover) and the new meter starts at ``new_initial``. Consumption at a register is the rise of
E over the highest E seen before it; a register that goes backwards is quarantined as
negative_consumption and does not move the baseline.

The SQL is in :mod:`greenpark.store.readings`; this module chains the segments (a loop over
the configured replacement events, not over readings).
"""

from __future__ import annotations

import pyarrow as pa

from greenpark.store import readings as store_readings

_SEGS = pa.schema([("meter_id", pa.string()), ("seg", pa.int64()), ("base", pa.float64()), ("offset", pa.float64())])


def chain_segments(last: dict, modulus: dict, events: list) -> pa.Table:
    """``segs(meter_id, seg, base, offset)`` for each replacement event (see the module docstring).

    ``last[(meter, seg)] = (last register, last u)``; ``modulus[meter]`` the rollover or None;
    ``events``: (meter_id, old_final, new_initial) in time order per meter."""
    rows, state = [], {}
    for meter_id, old_final, new_initial in events:
        seg, base, offset = state.get(meter_id, (0, 0.0, 0.0))
        last_reg, last_u = last.get((meter_id, seg), (old_final, old_final))
        step = old_final - last_reg
        if step < 0 and modulus.get(meter_id):
            step %= modulus[meter_id]
        e_at_event = last_u - base + offset + step
        state[meter_id] = (seg + 1, new_initial, e_at_event)
        rows.append({"meter_id": meter_id, "seg": seg + 1, "base": new_initial, "offset": e_at_event})
    return pa.Table.from_pylist(rows, schema=_SEGS)


def derive_cumulative(con, import_id: int) -> None:
    """Register rows of the staged import -> ``registers``, and their interval readings into _new."""
    store_readings.stage_registers(con, import_id)
    segs = chain_segments(*store_readings.register_segments(con))
    store_readings.derive_register_intervals(con, segs)
