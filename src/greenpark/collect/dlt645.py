"""DL/T 645-2007 electricity meters behind a transparent RS-485-to-TCP gateway.

The frame (DL/T 645-2007, frame format; published frames cited in ``reference/data/sources.csv``)::

    [FE FE FE FE]  68  A0 A1 A2 A3 A4 A5  68  C  L  DATA(L bytes)  CS  16

- leading ``FE`` bytes wake the receiver; a reply may carry none or several, parsing skips them;
- the address is 12 BCD digits sent low byte first (``000000000161`` -> ``61 01 00 00 00 00``);
  ``AA`` bytes are wildcards (``AAAAAAAAAAAA`` reaches the one meter on a line);
- C: D7 = 1 reply, D6 = 1 abnormal reply, D4..D0 function: ``11`` read data, ``91`` its normal
  reply, ``D1`` its abnormal reply (one error byte), ``13``/``93`` read address;
- DATA is sent with ``33H`` added to every byte; a read request carries the data identifier
  DI0 DI1 DI2 DI3 (the standard writes identifiers DI3..DI0: ``00 01 00 00`` forward active
  energy total), a normal reply the identifier followed by the value in BCD, low byte first, with
  the decimals of the identifier's format (``XXXXXX.XX`` kWh);
- CS is the byte sum mod 256 of everything from the first ``68`` to the byte before CS.

The identifiers greenpark reads, with their reply formats and sources, are the reference dataset
``dlt645_identifiers`` (``reference/data/dlt645_identifiers.csv``).
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from greenpark import reference
from greenpark.collect.base import Reading
from greenpark.collect.devices import (
    DeviceUnreachable,
    SourceConfigError,
    SourceCounters,
    check_meter_ids,
    stamp,
)
from greenpark.errors import DataError

__all__ = ["ABNORMAL_READ_REPLY", "READ", "READ_ADDRESS", "READ_ADDRESS_REPLY", "READ_REPLY", "WAKE_UP", "WILDCARD",
           "Dlt645Meter", "Dlt645Source", "Dlt645SourceConfig", "Frame", "FrameError", "FrameReader", "build",
           "build_frame", "build_read", "build_read_address", "checksum", "decode_address", "decode_bcd",
           "encode_address", "encode_bcd", "identifier", "identifiers", "parse_frame", "read_address"]

START, END = 0x68, 0x16
WAKE_UP = b"\xfe\xfe\xfe\xfe"
#: control codes (DL/T 645-2007 control code C)
READ, READ_REPLY, ABNORMAL_READ_REPLY = 0x11, 0x91, 0xD1
READ_ADDRESS, READ_ADDRESS_REPLY = 0x13, 0x93
WILDCARD = "AAAAAAAAAAAA"
#: DATA bytes travel with 33H added
OFFSET = 0x33
_ADDRESS = re.compile(r"^(?:[0-9]{2}|AA)*$")


class FrameError(DataError):
    """Bytes that are not a valid DL/T 645 frame (checksum, end byte, BCD digit, length)."""


# --------------------------------------------------------------------------- frames


def checksum(data: bytes) -> int:
    """CS: the sum of the bytes mod 256 (from the first 68H to the byte before CS)."""
    return sum(data) & 0xFF


def encode_address(address: str) -> bytes:
    """12 BCD digits (``AA`` pairs as wildcards) -> the 6 address bytes, low byte first."""
    address = address.upper()
    if len(address) != 12 or not _ADDRESS.match(address):
        raise SourceConfigError(f"DL/T 645 address '{address}' must be 12 digits (AA pairs as wildcards), "
                                "as printed on the meter's nameplate, e.g. 000000000161")
    return bytes.fromhex(address)[::-1]


def decode_address(raw: bytes) -> str:
    """The 6 address bytes of a frame -> the 12-digit address as printed on the meter."""
    return raw[::-1].hex().upper()


def _di_bytes(di: str) -> bytes:
    """``00010000`` (DI3..DI0 as the standard writes it) -> DI0 DI1 DI2 DI3 as sent."""
    return bytes.fromhex(di)[::-1]


def build_frame(address: str, control: int, data: bytes = b"", *, wake_up: bool = True) -> bytes:
    """One frame: ``data`` is the plain data field (33H is added here)."""
    if len(data) > 255:
        raise FrameError(f"DL/T 645 data field of {len(data)} bytes exceeds 255")
    body = bytes([START]) + encode_address(address) + bytes([START, control, len(data)])
    body += bytes((b + OFFSET) & 0xFF for b in data)
    return (WAKE_UP if wake_up else b"") + body + bytes([checksum(body), END])


def build_read(address: str, di: str, *, wake_up: bool = True) -> bytes:
    """Read-data request (C = 11H) for the identifier ``di`` (DI3..DI0 hex, e.g. ``00010000``)."""
    return build_frame(address, READ, _di_bytes(di), wake_up=wake_up)


def build_read_address(*, wake_up: bool = True) -> bytes:
    """Read-address request (C = 13H) to the wildcard address: the one meter on a line answers."""
    return build_frame(WILDCARD, READ_ADDRESS, wake_up=wake_up)


@dataclass(frozen=True)
class Frame:
    """A parsed frame; ``data`` is the plain data field (33H already subtracted)."""

    address: str
    control: int
    data: bytes

    @property
    def is_reply(self) -> bool:
        return bool(self.control & 0x80)

    @property
    def is_abnormal(self) -> bool:
        return bool(self.control & 0x40)

    @property
    def di(self) -> str | None:
        """The data identifier DI3..DI0 (hex) of a read request or normal read reply."""
        if self.control in (READ, READ_REPLY) and len(self.data) >= 4:
            return self.data[3::-1].hex().upper()
        return None

    @property
    def payload(self) -> bytes:
        """The value bytes of a normal read reply (after the identifier)."""
        return self.data[4:] if self.di is not None else self.data

    @property
    def error_byte(self) -> int | None:
        """The error information byte of an abnormal reply."""
        return self.data[0] if self.is_abnormal and self.data else None


def parse_frame(raw: bytes) -> Frame:
    """Parse one complete frame (leading FEH bytes allowed); raise :class:`FrameError` otherwise."""
    reader = FrameReader()
    items = reader.feed(raw)
    for item in items:
        if isinstance(item, FrameError):
            raise item
        return item
    raise FrameError(f"no complete DL/T 645 frame in {raw.hex(' ')}")


class FrameReader:
    """Frames out of a byte stream that arrives in pieces (TCP through a serial gateway): bytes
    before a frame (wake-up FEH, line noise) are skipped, an incomplete frame waits for more bytes,
    a frame with a wrong checksum or end byte is reported and skipped."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, chunk: bytes) -> list[Frame | FrameError]:
        self.buffer += chunk
        out: list[Frame | FrameError] = []
        buf = self.buffer
        i = 0
        while True:
            i = buf.find(START, i)
            if i < 0:
                del buf[:]
                return out
            if len(buf) - i < 10:
                break
            if buf[i + 7] != START:
                i += 1
                continue
            total = 12 + buf[i + 9]
            if len(buf) - i < total:
                break
            frame = bytes(buf[i:i + total])
            if frame[-1] != END or checksum(frame[:-2]) != frame[-2]:
                out.append(FrameError(f"DL/T 645 frame with a bad {'end byte' if frame[-1] != END else 'checksum'}: "
                                      f"{frame.hex(' ')}"))
                i += 1
                continue
            out.append(Frame(decode_address(frame[1:7]), frame[8], bytes((b - OFFSET) & 0xFF for b in frame[10:-2])))
            i += total
        del buf[:i]
        return out


def decode_bcd(raw: bytes, decimals: int) -> float:
    """BCD value bytes, low byte first -> the number with ``decimals`` digits after the point."""
    digits = raw[::-1].hex()
    if not digits.isdigit():
        raise FrameError(f"DL/T 645 value {raw.hex(' ')} is not BCD")
    return int(digits) / 10 ** decimals


def encode_bcd(value: float, length: int, decimals: int) -> bytes:
    """The inverse of :func:`decode_bcd` (a value too large for ``length`` bytes is an error)."""
    n = round(value * 10 ** decimals)
    if n < 0 or n >= 10 ** (2 * length):
        raise FrameError(f"{value} does not fit {length} BCD bytes with {decimals} decimals")
    return bytes.fromhex(f"{n:0{2 * length}d}")[::-1]


# --------------------------------------------------------------------------- identifiers


@cache
def identifiers() -> dict[str, dict[str, Any]]:
    """The identifiers of ``reference/data/dlt645_identifiers.csv`` by id and by DI (hex)."""
    rows = reference.load("dlt645_identifiers").rows
    return {**{r["id"]: r for r in rows}, **{r["di"].upper(): r for r in rows}}


def identifier(key: str) -> dict[str, Any]:
    """One identifier by name (``forward_active_total``) or DI (``00010000``)."""
    row = identifiers().get(key) or identifiers().get(key.upper().replace(" ", ""))
    if row is None:
        names = sorted({f"{r['id']} ({r['di']})" for r in identifiers().values()})
        raise SourceConfigError(f"DL/T 645 identifier '{key}' is not supported; supported: {', '.join(names)}")
    return row


# --------------------------------------------------------------------------- configuration


class Dlt645Meter(BaseModel):
    """One meter behind the gateway: its address and which identifier feeds which park meter."""

    model_config = ConfigDict(extra="forbid")

    #: 12 digits as printed on the meter's nameplate
    address: str = Field(pattern=r"^[0-9]{12}$")
    #: the park meter fed by the forward active energy total (the default identifier)
    meter_id: str | None = None
    #: identifier (name or DI3..DI0 hex) -> park meter id, e.g. {reverse_active_total = "E1-EXP"}
    identifiers: dict[str, str] | None = None

    @field_validator("identifiers")
    @classmethod
    def _known(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for key in v or {}:
            identifier(key)
        return v

    @model_validator(mode="after")
    def _something(self) -> Dlt645Meter:
        if self.meter_id is None and not self.identifiers:
            raise ValueError(f"meter {self.address}: give meter_id (forward active energy) or identifiers")
        return self

    def channels(self) -> list[tuple[dict[str, Any], str]]:
        """(identifier row, park meter id) pairs read at each poll."""
        pairs = {} if self.meter_id is None else {"forward_active_total": self.meter_id}
        pairs.update(self.identifiers or {})
        return [(identifier(k), m) for k, m in pairs.items()]


class Dlt645SourceConfig(BaseModel):
    """A ``[[sources]]`` entry of ``type = "dlt645"``: a transparent serial-to-TCP gateway."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["dlt645"]
    name: str = Field(min_length=1)
    host: str
    port: int = Field(ge=1, le=65535)
    #: seconds between polls
    interval_s: float = Field(60.0, gt=0)
    #: seconds to wait for a meter's reply [s]
    timeout: float = Field(2.0, gt=0)
    #: send FE FE FE FE before each request (most meters need it)
    wake_up: bool = True
    meters: list[Dlt645Meter] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Dlt645SourceConfig:
        seen: set[str] = set()
        for m in self.meters:
            if m.address in seen:
                raise ValueError(f"source '{self.name}': meter address {m.address} is listed twice")
            seen.add(m.address)
        return self


# --------------------------------------------------------------------------- the source


class Dlt645Source:
    """Polls every configured identifier of every meter over one TCP connection to the gateway.

    A meter that does not reply within ``timeout`` is counted in ``counters.errors`` and skipped;
    when no meter replies (or the gateway refuses or drops the connection) :meth:`poll_once` raises
    :class:`~greenpark.collect.devices.DeviceUnreachable` (a ``ConnectionError``) and the next poll
    reconnects. Energy registers are cumulative, so a missed poll loses nothing.
    """

    #: the ``[[sources]]`` type (shown by ``greenpark status``)
    type = "dlt645"

    def __init__(self, config: Dlt645SourceConfig):
        self.config = config
        self.name = config.name
        self.interval_s = config.interval_s
        self.counters = SourceCounters()
        self._sock: socket.socket | None = None
        self._reader = FrameReader()
        self._plan = [(m.address, row, meter_id) for m in config.meters for row, meter_id in m.channels()]

    @property
    def errors(self) -> int:
        return self.counters.errors

    def _connect(self) -> socket.socket:
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.config.host, self.config.port), timeout=self.config.timeout)
            except OSError as exc:
                raise self._unreachable(f"cannot connect: {exc}") from None
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._reader = FrameReader()
        return self._sock

    def _unreachable(self, why: str) -> DeviceUnreachable:
        self.close()
        exc = DeviceUnreachable.t("collect.device_unreachable", protocol="DL/T 645", host=self.config.host,
                                  port=self.config.port, source=self.name, why=why)
        self.counters.last_error = str(exc)
        return exc

    def _exchange(self, address: str, di: str) -> Frame | None:
        """Send a read request; the reply of ``address`` about ``di`` (normal or abnormal), or None
        after ``timeout`` seconds. Frames of other addresses or identifiers (late replies) are dropped."""
        sock = self._connect()
        try:
            sock.sendall(build_read(address, di, wake_up=self.config.wake_up))
        except OSError as exc:
            raise self._unreachable(f"send failed: {exc}") from None
        self.counters.requests += 1
        deadline = time.monotonic() + self.config.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                return None
            except OSError as exc:
                raise self._unreachable(f"connection lost: {exc}") from None
            if not chunk:
                raise self._unreachable("the gateway closed the connection")
            for item in self._reader.feed(chunk):
                if isinstance(item, FrameError):
                    self.counters.error(address, str(item))
                elif item.address == address and item.is_reply and (
                        item.is_abnormal or item.di == di.upper()):
                    return item

    def poll_once(self, now: dt.datetime) -> list[Reading]:
        """One reading per configured identifier of every meter that answers."""
        ts = stamp(now)
        readings: list[Reading] = []
        answered = silent = 0
        for address, row, meter_id in self._plan:
            frame = self._exchange(address, row["di"])
            if frame is None:
                silent += 1
                self.counters.error(meter_id, f"meter {address} did not reply to {row['di']} "
                                              f"within {self.config.timeout} s")
                continue
            answered += 1
            if frame.control == ABNORMAL_READ_REPLY:
                self.counters.error(meter_id, f"meter {address} refused {row['di']} (abnormal reply, "
                                              f"error byte {frame.error_byte or 0:02X}H)")
                continue
            raw = frame.payload
            if len(raw) != row["length"]:
                self.counters.error(meter_id, f"meter {address}: {row['di']} reply has {len(raw)} value bytes, "
                                              f"expected {row['length']}")
                continue
            try:
                value = decode_bcd(raw, row["decimals"])
            except FrameError as exc:
                self.counters.error(meter_id, f"meter {address}: {exc}")
                continue
            readings.append(Reading(self.name, meter_id, ts, value, row["unit"]))
        self.counters.polls += 1
        if answered == 0 and silent:
            raise self._unreachable(f"no meter replied within {self.config.timeout} s")
        self.counters.readings += len(readings)
        return readings

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


def read_address(host: str, port: int, *, timeout: float = 2.0) -> str:
    """The address of the one meter on a gateway's line (read address, 13H, to the wildcard address
    AAAAAAAAAAAA): what to put in ``address`` when the nameplate is out of reach."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(build_read_address())
            reader, deadline = FrameReader(), time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    chunk = sock.recv(4096)
                except TimeoutError:
                    break
                if not chunk:
                    break
                for item in reader.feed(chunk):
                    if isinstance(item, Frame) and item.control == READ_ADDRESS_REPLY and len(item.data) == 6:
                        return decode_address(item.data)
    except OSError as exc:
        raise DeviceUnreachable.t("collect.device_unreachable", protocol="DL/T 645", host=host, port=port,
                                  source="-", why=str(exc)) from None
    raise DeviceUnreachable.t("collect.device_unreachable", protocol="DL/T 645", host=host, port=port, source="-",
                              why=f"no reply to read address within {timeout} s")


def build(config: Dlt645SourceConfig | dict, park=None) -> Dlt645Source:
    """The source of a ``[[sources]]`` entry; its meter ids must exist in ``park`` (when given)."""
    if not isinstance(config, Dlt645SourceConfig):
        config = Dlt645SourceConfig.model_validate(config)
    channels = [(row, m) for meter in config.meters for row, m in meter.channels()]
    check_meter_ids(config.name, [m for _, m in channels], park,
                    cumulative=[m for row, m in channels if row["reading"] == "cumulative"])
    return Dlt645Source(config)
