"""What every source hands over: readings, and the interface of polled sources.

A :class:`Reading` is one value a meter produced, as the device reported it: the ingest path does
the rest (units, cumulative registers to intervals, reason codes, quarantine, rollups). Pushed
sources (MQTT) turn each message into readings; polled sources (Modbus TCP, DL/T 645) implement
:class:`PolledSource`, and the collector calls :meth:`PolledSource.poll_once` every
``interval_s`` seconds, writes the readings to the spool (fsync'd) and only then counts the poll done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["PolledSource", "Reading"]


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one meter, as produced by the device.

    ``timestamp`` is ISO 8601 text: with an offset, or naive meaning the park's local time (as in
    files). ``value`` is the register reading for a ``kind = "cumulative"`` meter and the interval
    consumption otherwise (park.toml decides which); ``unit`` is the unit the device reports in
    (None: the meter's unit in park.toml). ``source`` names the configured source it came from.
    """

    source: str
    meter_id: str
    timestamp: str
    value: float
    unit: str | None = None

    def as_row(self) -> dict[str, object]:
        """The row of a batch for :func:`greenpark.ingest.ingest_batch` (file columns)."""
        return {"meter_id": self.meter_id, "timestamp": self.timestamp, "value": self.value,
                "unit": self.unit}


@runtime_checkable
class PolledSource(Protocol):
    """A source the collector polls (Modbus TCP, DL/T 645)."""

    #: the source's name in park.toml ``[[sources]]``
    name: str
    #: seconds between polls
    interval_s: float

    def poll_once(self, now: dt.datetime) -> list[Reading]:
        """Read every configured register once; ``now`` (aware, UTC) stamps readings when the device
        gives no time of its own. A device that does not answer raises ``ConnectionError`` (the collector records it as the
        source's last error and retries at the next poll); a register that cannot be decoded yields
        no reading and is reported by the source's ``errors`` counter."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
