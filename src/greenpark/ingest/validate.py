"""Validation of staged rows: every row gets a stable reason code (:data:`REASONS`) or none.

Checks, in order (the first that fails names the row's reason): the meter or station and
parameter exist, the timestamp and value parse, the unit converts, the timestamp is neither in
the future nor before the earliest plausible date, the value is not negative where it cannot be,
and it lies within the plausible range of its carrier or parameter. Plausibility limits come from
``reference/data/plausibility.csv`` and park.toml ``[plausibility]`` (:func:`plausibility`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from greenpark import reference
from greenpark.core import units
from greenpark.store import imports as store_imports

#: stable reason codes of rejected rows -> explanation shown to users
REASONS: dict[str, str] = {
    "malformed_row": "the row does not have the file's columns (too many or too few fields)",
    "unknown_meter": "meter_id is not a meter in park.toml",
    "unparsable_timestamp": "timestamp is empty or not a date-time (use ISO 8601, e.g. 2025-01-01T00:15:00+08:00)",
    "unparsable_value": "value is empty, not a number (true/false are not numbers), NaN or infinite",
    "unit_not_convertible": "the row's unit cannot be converted into the meter's unit",
    "timestamp_in_future": "timestamp is later than the time of the import",
    "timestamp_too_early": "timestamp is before the earliest plausible date (default 2000-01-01; a gateway clock "
                           "reset gives 1970-01-01): park.toml [plausibility] earliest",
    "duplicate_in_file": "the same meter and timestamp appear more than once in the file",
    "negative_consumption": "negative consumption (an interval value below zero, or a register that went "
                            "backwards without a rollover or a replacement event)",
    "value_out_of_range": "the value is outside the plausible range of its carrier or station parameter "
                          "(reference/data/plausibility.csv, park.toml [plausibility])",
    "unknown_station": "station_id is not a station in park.toml",
    "unknown_parameter": "the parameter is not one this kind of station reports (station_parameters.csv)",
    "negative_value": "a negative concentration or other quantity that cannot be below zero",
}

_F64 = pa.float64()


@dataclass(frozen=True)
class Plausibility:
    """Resolved plausibility limits: ranges (lo, hi; None = unbounded) per carrier [carrier unit],
    per station parameter [its stored unit], for registers [carrier unit], and the earliest date."""

    earliest: dt.date
    carriers: dict[str, tuple[float | None, float | None]]
    parameters: dict[str, tuple[float | None, float | None]]
    register: tuple[float | None, float | None]

    def carrier(self, carrier: str) -> tuple[float | None, float | None]:
        return self.carriers.get(carrier, self.carriers.get("*", (None, None)))

    def parameter(self, parameter: str) -> tuple[float | None, float | None]:
        return self.parameters.get(parameter, self.parameters.get("*", (None, None)))

    def earliest_utc(self, tz: str) -> dt.datetime:
        """Midnight of the earliest date in park time, as a UTC wall clock."""
        t = dt.datetime.combine(self.earliest, dt.time(), zoneinfo.ZoneInfo(tz))
        return t.astimezone(dt.UTC).replace(tzinfo=None)


def plausibility(park=None) -> Plausibility:
    """The defaults of plausibility.csv overridden by ``park.plausibility`` (park.toml), if given."""
    rows = reference.load("plausibility").rows
    carriers, parameters, register, earliest = {}, {}, (None, None), dt.date(2000, 1, 1)
    for r in rows:
        rng = (r["min"], r["max"])
        if r["kind"] == "carrier":
            carriers[r["target"]] = rng
        elif r["kind"] == "parameter":
            parameters[r["target"]] = rng
        elif r["kind"] == "register":
            register = rng
        elif r["kind"] == "timestamp" and r["target"] == "earliest":
            earliest = dt.date(int(r["min"]), 1, 1)
    cfg = getattr(park, "plausibility", None)
    if cfg is not None:
        earliest = cfg.earliest or earliest
        for k, v in cfg.carriers.items():
            carriers[k] = (v.min, v.max)
        for k, v in cfg.parameters.items():
            parameters[k] = (v.min, v.max)
        if cfg.registers is not None:
            register = (cfg.registers.min, cfg.registers.max)
    return Plausibility(earliest, carriers, parameters, register)


def _unit_factor_table(triples) -> pa.Table:
    """(from_unit, to_unit, carrier, factor, accepted) of (row unit, meter unit, carrier) triples:
    spellings read through reference/data/unit_aliases.csv (度 -> kWh; m3 -> t for water)."""
    rows = []
    for frm, to, carrier in triples:
        try:
            f = units.conversion_factor_for(frm, to, carrier)
        except units.UnitError:
            f = None
        rows.append({"from_unit": frm, "to_unit": to, "carrier": carrier, "factor": f,
                     "accepted": ", ".join(units.spellings(to, carrier)[:40])})
    return pa.Table.from_pylist(rows, schema=pa.schema([("from_unit", pa.string()), ("to_unit", pa.string()),
                                                        ("carrier", pa.string()), ("factor", _F64),
                                                        ("accepted", pa.string())]))


def _meter_limits(stage, limits: Plausibility | Callable[[str], Plausibility]) -> pa.Table:
    """Plausible range of each meter's stored value [meter unit]: the carrier's range (or the
    register range for cumulative meters) converted from the carrier's unit. ``limits``: one
    Plausibility, or the Plausibility of each meter id (a region's units, each its park.toml)."""
    carrier_unit = {r["id"]: r["unit"] for r in reference.load("carriers").rows}
    of = limits if callable(limits) else (lambda _m: limits)
    out = {"meter_id": [], "lo": [], "hi": []}
    for meter_id, carrier, unit, kind, _mult in store_imports.meters_of_park(stage):
        lim = of(meter_id)
        lo, hi = lim.register if kind == "cumulative" else lim.carrier(carrier)
        try:
            f = units.conversion_factor(carrier_unit.get(carrier, unit), unit)  # carrier unit -> meter unit
        except units.UnitError:
            f = 1.0
        out["meter_id"].append(meter_id)
        out["lo"].append(None if lo is None else lo * f)
        out["hi"].append(None if hi is None else hi * f)
    return pa.table({"meter_id": pa.array(out["meter_id"], pa.string()), "lo": pa.array(out["lo"], _F64),
                     "hi": pa.array(out["hi"], _F64)})


def reading_rules(stage, limits: Plausibility | Callable[[str], Plausibility], *,
                  has_unit: bool = True) -> tuple[pa.Table, pa.Table]:
    """The unit factors and plausible ranges the validation of meter rows joins
    (:func:`greenpark.store.imports.readings_select`), for the rows staged as ``_raw`` on ``stage``
    (any engine). ``has_unit`` False: the rows carry no unit (each is in its meter's unit), so the
    rows need not be read to find their units."""
    pairs = store_imports.meter_unit_pairs(stage) if has_unit else sorted(
        {(u, u, c) for _m, c, u, _k, _x in store_imports.meters_of_park(stage)})
    return _unit_factor_table(pairs), _meter_limits(stage, limits)


def validate_readings(stage, now: dt.datetime, limits: Plausibility, tz: str) -> None:
    """_parsed for meter rows (see :func:`greenpark.store.imports.validate_readings`)."""
    factors, ranges = reading_rules(stage, limits)
    store_imports.validate_readings(stage, now, limits.earliest_utc(tz), factors, ranges)


def _station_params(limits: Plausibility) -> pa.Table:
    """One row per accepted spelling (the parameter and its aliases, lower case) of every station
    parameter, with its stored unit, sign rule and plausible range, and the kind's valid list."""
    rows = reference.load("station_parameters").rows
    valid = {k: ", ".join(r["parameter"] for r in rows if r["kind"] == k) for k in {r["kind"] for r in rows}}
    out = []
    for r in rows:
        lo, hi = limits.parameter(r["parameter"])
        names = {r["parameter"], *(a.strip().lower() for a in (r.get("aliases") or "").split(";") if a.strip())}
        for name in sorted(names):
            out.append({"kind": r["kind"], "name": name, "parameter": r["parameter"], "unit": r["unit"],
                        "allow_negative": bool(r["allow_negative"]), "lo": lo, "hi": hi,
                        "article": "an" if r["kind"][0] in "aeiou" else "a", "valid": valid[r["kind"]]})
    return pa.Table.from_pylist(out, schema=pa.schema([
        ("kind", pa.string()), ("name", pa.string()), ("parameter", pa.string()), ("unit", pa.string()),
        ("allow_negative", pa.bool_()), ("lo", _F64), ("hi", _F64), ("article", pa.string()), ("valid", pa.string())]))


def validate_observations(stage, now: dt.datetime, limits: Plausibility, tz: str) -> None:
    """_parsed for station rows (see :func:`greenpark.store.imports.validate_observations`)."""
    params = _station_params(limits)
    rows = []
    for frm, to in store_imports.station_unit_pairs(stage, params):
        try:
            scale, offset = units.conversion_affine(frm, to)
        except units.UnitError:
            scale = offset = None
        rows.append({"from_unit": frm, "to_unit": to, "scale": scale, "offset": offset})
    uf = pa.Table.from_pylist(rows, schema=pa.schema([("from_unit", pa.string()), ("to_unit", pa.string()),
                                                      ("scale", _F64), ("offset", _F64)]))
    store_imports.validate_observations(stage, now, limits.earliest_utc(tz), params, uf)
