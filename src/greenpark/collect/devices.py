"""What the polled meter drivers (:mod:`~greenpark.collect.modbus`, :mod:`~greenpark.collect.dlt645`)
share: the error of a device that does not answer, the per-source counters, and the check that the
meter ids a source feeds exist in park.toml.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from greenpark.errors import GreenparkError, InputError

__all__ = ["DeviceUnreachable", "SourceConfigError", "SourceCounters", "check_meter_ids", "stamp"]


class DeviceUnreachable(GreenparkError, ConnectionError):
    """A device (Modbus TCP server, DL/T 645 gateway) that does not answer: refused, reset or timed
    out. The collector records it as the source's last error and polls again at the next interval;
    cumulative registers bridge the gap. A failure of the system, not of the request: exit status 1,
    HTTP 503, and the message says which device is down."""

    exit_status = 1
    http_status = 503
    code = "device_unreachable"


class SourceConfigError(InputError, ValueError):
    """A ``[[sources]]`` entry that cannot work (a meter id park.toml does not define, an identifier
    or register type that does not exist); the message names the entry and the valid choices."""


@dataclass
class SourceCounters:
    """What a polled source counts (read by ``greenpark status``).

    ``errors``: values that could not be decoded or that the device refused (exception responses,
    abnormal replies, NaN/inf, bad BCD); such a value yields no reading and the poll goes on.
    """

    polls: int = 0
    readings: int = 0
    errors: int = 0
    requests: int = 0
    last_error: str | None = None
    errors_by_meter: dict[str, int] = field(default_factory=dict)

    def error(self, meter_id: str, message: str, n: int = 1) -> None:
        self.errors += n
        self.errors_by_meter[meter_id] = self.errors_by_meter.get(meter_id, 0) + n
        self.last_error = message


def check_meter_ids(source: str, meter_ids: Iterable[str], park, cumulative: Iterable[str] = ()) -> None:
    """Refuse meter ids that park.toml does not define, and registers (``cumulative``: the meter ids
    fed by cumulative registers) mapped to interval meters, whose every reading would count as
    consumption (``park`` None: no check)."""
    if park is None:
        return
    meters = {m.id: m for m in park.meters}
    unknown = sorted({m for m in meter_ids if m not in meters})
    if unknown:
        raise SourceConfigError(
            f"source '{source}': meter id(s) {', '.join(unknown)} are not in park.toml [[meters]] "
            f"(defined: {', '.join(sorted(meters)) or 'none'}); add the meter or correct the id")
    interval = sorted({m for m in cumulative if meters[m].kind != "cumulative"})
    if interval:
        raise SourceConfigError(
            f"source '{source}': meter(s) {', '.join(interval)} receive register values (cumulative) but are "
            "interval meters in park.toml; set kind = \"cumulative\" in their [[meters]] entry (or, for a "
            "Modbus register that holds interval consumption, cumulative = false in the source)")


def stamp(now: dt.datetime) -> str:
    """ISO 8601 text with the UTC offset of an aware ``now`` (readings of devices without a clock)."""
    if now.tzinfo is None:
        raise InputError("poll_once(now) needs an aware datetime (UTC)")
    return now.astimezone(dt.UTC).isoformat(timespec="seconds")
