"""DL/T 645-2007 frames against PUBLISHED frames (not only our own simulator), BCD, checksum,
abnormal replies, wake-up bytes, frames split over TCP, silent meters and gateways, and poll ->
ingest_batch end to end.

Published frames (full citations in reference/data/sources.csv):
- [hwhale]   https://hwhale.com/article/138066 (DLT645-2007 规约 电表 报文解析; repost of a 2012 page):
  read forward / reverse active total energy and A-phase voltage of meter 000000000161, and replies;
- [luat]     https://luatdoc.papapoi.com/572 (合宙4G DTU + dlt645-2007 抄表): read forward active
  energy of meter 000012345678 with four FE wake-up bytes;
- [jishuzhan] https://jishuzhan.net/article/1823000696828465153 (DLT645-2007 智能电表数据读取):
  read address with the AA wildcard and its 93H reply; read meter number 04 00 04 02 of 810000760162;
- [coloradmin] http://coloradmin.cn/o/1939562.html: 123456.78 kWh travels low byte first.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from greenpark import park as park_mod
from greenpark.collect import dlt645
from greenpark.collect.devices import DeviceUnreachable, SourceConfigError
from greenpark.collect.sim.dlt645 import Dlt645LineSim, SimMeter
from greenpark.ingest import ingest_batch
from greenpark.store import Store

from conftest import SMALL_PARK


def hx(text: str) -> bytes:
    return bytes.fromhex(text)


T0 = dt.datetime(2025, 3, 1, 0, 0, tzinfo=dt.UTC)

# ----------------------------------------------------------------------------- published frames


@pytest.mark.parametrize(("address", "di", "wake_up", "published"), [
    # [hwhale] 读(当前)正向有功总电能 / 反向有功总电能 / A相电压 (sent without wake-up bytes there)
    ("000000000161", "00010000", False, "68 61 01 00 00 00 00 68 11 04 33 33 34 33 14 16"),
    ("000000000161", "00020000", False, "68 61 01 00 00 00 00 68 11 04 33 33 35 33 15 16"),
    ("000000000161", "02010100", False, "68 61 01 00 00 00 00 68 11 04 33 34 34 35 17 16"),
    # [luat] meter 12345678, with FE FE FE FE
    ("000012345678", "00010000", True, "FE FE FE FE 68 78 56 34 12 00 00 68 11 04 33 33 34 33 C6 16"),
    # [jishuzhan] 表号 (04 00 04 02) of meter 810000760162
    ("810000760162", "04000402", True, "FE FE FE FE 68 62 01 76 00 00 81 68 11 04 35 37 33 37 15 16"),
])
def test_read_requests_equal_published_frames(address, di, wake_up, published):
    assert dlt645.build_read(address, di, wake_up=wake_up) == hx(published)


def test_read_address_with_the_wildcard_equals_the_published_frame():
    # [jishuzhan] FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16
    assert dlt645.build_read_address() == hx("FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16")
    reply = dlt645.parse_frame(hx("FE FE FE FE 68 62 01 76 00 00 81 68 93 06 95 34 A9 33 33 B4 4F 16"))
    assert (reply.address, reply.control) == ("810000760162", dlt645.READ_ADDRESS_REPLY)
    assert dlt645.decode_address(reply.data) == "810000760162"


@pytest.mark.parametrize(("published", "di", "value"), [
    # [hwhale] 59 33 33 33 - 33H = 26 00 00 00 -> 000000.26 kWh; reverse 26 01 00 00 -> 1.26 kWh;
    # voltage 01 10 -> 100.1 V
    ("68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8A 16", "00010000", 0.26),
    ("68 61 01 00 00 00 00 68 91 08 33 33 35 33 59 34 33 33 8C 16", "00020000", 1.26),
    ("68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16", "02010100", 100.1),
])
def test_published_replies_parse_to_the_published_values(published, di, value):
    frame = dlt645.parse_frame(hx(published))
    assert (frame.address, frame.control, frame.is_reply, frame.is_abnormal) == ("000000000161", 0x91, True, False)
    assert frame.di == di
    row = dlt645.identifier(di)
    assert len(frame.payload) == row["length"]
    assert dlt645.decode_bcd(frame.payload, row["decimals"]) == value
    # and our encoder writes the same reply bytes
    assert dlt645.build_frame("000000000161", 0x91, hx(di)[::-1] + dlt645.encode_bcd(value, row["length"],
                                                                                       row["decimals"]),
                              wake_up=False) == hx(published)


def test_checksum_is_the_byte_sum_mod_256():
    # [hwhale] 68+61+01+68+11+04+33+33+34+33 = 0x214 -> 14
    assert dlt645.checksum(hx("68 61 01 00 00 00 00 68 11 04 33 33 34 33")) == 0x14
    good = hx("68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8A 16")
    with pytest.raises(dlt645.FrameError, match="checksum"):
        dlt645.parse_frame(good[:-2] + b"\x8b\x16")
    with pytest.raises(dlt645.FrameError, match="end byte"):
        dlt645.parse_frame(good[:-1] + b"\x17")
    with pytest.raises(dlt645.FrameError, match="no complete"):
        dlt645.parse_frame(good[:-3])


def test_bcd_low_byte_first_and_non_bcd_digits():
    # [coloradmin] 123456.78 kWh is sent 78 56 34 12 (before + 33H)
    assert dlt645.encode_bcd(123456.78, 4, 2) == hx("78 56 34 12")
    assert dlt645.decode_bcd(hx("78 56 34 12"), 2) == 123456.78
    assert dlt645.decode_bcd(hx("99 99 99 99"), 2) == 999999.99
    with pytest.raises(dlt645.FrameError, match="not BCD"):
        dlt645.decode_bcd(hx("7A 56 34 12"), 2)
    with pytest.raises(dlt645.FrameError, match="does not fit"):
        dlt645.encode_bcd(1_000_000, 4, 2)


def test_address_is_bcd_low_byte_first_and_validated():
    assert dlt645.encode_address("000012345678") == hx("78 56 34 12 00 00")
    assert dlt645.encode_address("aaaaaaaaaaaa") == hx("AA AA AA AA AA AA")
    for bad in ("12345678", "00001234567X", "0000123456780"):
        with pytest.raises(SourceConfigError, match="12 digits"):
            dlt645.encode_address(bad)


def test_abnormal_reply_carries_the_error_byte():
    raw = dlt645.build_frame("000000000161", dlt645.ABNORMAL_READ_REPLY, b"\x02")
    assert raw == hx("FE FE FE FE 68 61 01 00 00 00 00 68 D1 01 35") + bytes([dlt645.checksum(raw[4:-2]), 0x16])
    frame = dlt645.parse_frame(raw)
    assert frame.is_abnormal and frame.error_byte == 0x02 and frame.di is None


def test_frames_split_anywhere_with_wake_up_bytes_and_noise_between_them():
    one = hx("68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8A 16")
    two = hx("68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16")
    stream = b"\xfe\xfe" + one + b"\x00\x68\x13" + b"\xfe\xfe\xfe\xfe" + two
    for size in (1, 2, 5, 7, len(stream)):
        reader, got = dlt645.FrameReader(), []
        for i in range(0, len(stream), size):
            got += reader.feed(stream[i:i + size])
        assert [f.di for f in got if isinstance(f, dlt645.Frame)] == ["00010000", "02010100"], size


def test_a_corrupt_frame_is_reported_and_the_next_one_still_parses():
    good = hx("68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16")
    items = dlt645.FrameReader().feed(good[:-2] + b"\x00\x16" + good)
    assert isinstance(items[0], dlt645.FrameError) and items[-1] == dlt645.parse_frame(good)


def test_identifiers_come_from_the_sourced_reference_table():
    row = dlt645.identifier("forward_active_total")
    assert (row["di"], row["format"], row["decimals"], row["unit"], row["reading"]) == (
        "00010000", "XXXXXX.XX", 2, "kWh", "cumulative")
    assert "DL/T 645-2007" in row["source"] and "hwhale.com" in row["source"]
    assert dlt645.identifier("00020000")["id"] == "reverse_active_total"
    with pytest.raises(SourceConfigError, match="supported: forward_active_total"):
        dlt645.identifier("02030000")


# ----------------------------------------------------------------------------- over TCP


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def line():
    sims = []

    def make(meters, **kw):
        s = Dlt645LineSim(meters, **kw)
        s.start()
        sims.append(s)
        return s
    yield make
    for s in sims:
        s.stop()


def src_for(port, meters, **kw):
    return dlt645.build({"type": "dlt645", "name": "gw", "host": "127.0.0.1", "port": port, "timeout": 0.4,
                         "meters": meters, **kw})


def test_several_meters_on_one_gateway_with_split_replies_and_wake_up_bytes(line):
    s = line([SimMeter("000000000161", {"forward_active_total": (0.26, 0), "reverse_active_total": (1.26, 0),
                                        "voltage_a": (100.1, 0)}),
              SimMeter("000000000162", {"forward_active_total": (123456.78, 0)})],
             reply_wake_up=4, chunk=3)
    src = src_for(s.port, [{"address": "000000000161", "meter_id": "A",
                            "identifiers": {"reverse_active_total": "A-EXP", "02010100": "A-V"}},
                           {"address": "000000000162", "meter_id": "B"}])
    got = [(r.meter_id, r.value, r.unit) for r in src.poll_once(T0)]
    assert got == [("A", 0.26, "kWh"), ("A-EXP", 1.26, "kWh"), ("A-V", 100.1, "V"), ("B", 123456.78, "kWh")]
    assert src.errors == 0 and src.counters.requests == 4


def test_abnormal_reply_is_counted_and_the_poll_goes_on(line):
    s = line([SimMeter("000000000161", {"forward_active_total": (5, 0)})])
    src = src_for(s.port, [{"address": "000000000161", "meter_id": "A",
                            "identifiers": {"reverse_active_total": "A-EXP"}}])
    assert [(r.meter_id, r.value) for r in src.poll_once(T0)] == [("A", 5.0)]
    assert src.counters.errors_by_meter == {"A-EXP": 1}
    assert "abnormal reply, error byte 02H" in src.counters.last_error


def test_a_silent_meter_is_counted_a_silent_line_raises_and_the_gateway_recovers(line):
    s = line([SimMeter("000000000161", {"forward_active_total": (1, 0)}),
              SimMeter("000000000162", {"forward_active_total": (2, 0)})])
    src = src_for(s.port, [{"address": "000000000161", "meter_id": "A"}, {"address": "000000000162", "meter_id": "B"}])
    s.silent = {"000000000161"}
    assert [(r.meter_id, r.value) for r in src.poll_once(T0)] == [("B", 2.0)]
    assert src.counters.errors_by_meter == {"A": 1} and "did not reply" in src.counters.last_error
    s.silent = {"000000000161", "000000000162"}
    with pytest.raises(ConnectionError, match="no meter replied"):
        src.poll_once(T0)
    s.silent = set()
    s.stop()
    with pytest.raises(DeviceUnreachable):
        src.poll_once(T0)
    s.start()
    assert [r.value for r in src.poll_once(T0)] == [1.0, 2.0]


def test_a_late_reply_of_an_earlier_request_is_not_taken_for_the_next_one(line):
    s = line([SimMeter("000000000161", {"forward_active_total": (7, 0), "voltage_a": (230.0, 0)})])
    src = src_for(s.port, [{"address": "000000000161", "meter_id": "A", "identifiers": {"voltage_a": "V"}}])
    sock = src._connect()
    sock.sendall(dlt645.build_read("000000000161", "02010100"))   # a stray request: its reply arrives first
    assert [(r.meter_id, r.value) for r in src.poll_once(T0)] == [("A", 7.0), ("V", 230.0)]


def test_config_validation(park):
    with pytest.raises(ValueError, match="address"):
        dlt645.Dlt645SourceConfig.model_validate({"type": "dlt645", "name": "g", "host": "h", "port": 1,
                                                  "meters": [{"address": "12345", "meter_id": "E1-EL"}]})
    with pytest.raises(ValueError, match="not supported"):
        dlt645.Dlt645SourceConfig.model_validate({"type": "dlt645", "name": "g", "host": "h", "port": 1, "meters": [
            {"address": "000000000001", "identifiers": {"99999999": "E1-EL"}}]})
    with pytest.raises(ValueError, match="meter_id .*or identifiers"):
        dlt645.Dlt645SourceConfig.model_validate({"type": "dlt645", "name": "g", "host": "h", "port": 1,
                                                  "meters": [{"address": "000000000001"}]})
    with pytest.raises(ValueError, match="listed twice"):
        dlt645.Dlt645SourceConfig.model_validate({"type": "dlt645", "name": "g", "host": "h", "port": 1, "meters": [
            {"address": "000000000001", "meter_id": "a"}, {"address": "000000000001", "meter_id": "b"}]})
    with pytest.raises(SourceConfigError, match="E1-EL receive register values"):
        dlt645.build({"type": "dlt645", "name": "g", "host": "h", "port": 1,
                      "meters": [{"address": "000000000001", "meter_id": "E1-EL"}]}, park)
    with pytest.raises(SourceConfigError, match="X-1.*not in park.toml"):
        dlt645.build({"type": "dlt645", "name": "g", "host": "h", "port": 1,
                      "meters": [{"address": "000000000001", "meter_id": "X-1"}]}, park)


# ----------------------------------------------------------------------------- end to end

E2E_PARK = SMALL_PARK + """
[[meters]]
id = "DL-1"
owner = "E1"
carrier = "electricity"
unit = "kWh"
kind = "cumulative"

[[meters]]
id = "DL-1-EXP"
owner = "E1"
carrier = "electricity"
unit = "kWh"
kind = "cumulative"
export = true
"""


def test_polls_into_ingest_batch_give_interval_readings(tmp_path, line):
    (tmp_path / "park.toml").write_text(E2E_PARK, encoding="utf-8")
    park = park_mod.load(tmp_path / "park.toml")
    store = Store(":memory:", park.park.timezone)
    with store.transaction():
        store.sync_park(park)
    clock = Clock()
    # 0.04 kWh/s = 36 kWh per 15 min forward, 0.01 kWh/s = 9 kWh reverse
    s = line([SimMeter("000000000161", {"forward_active_total": (1000.0, 0.04), "reverse_active_total": (50.0, 0.01)})],
             clock=clock)
    src = dlt645.build({"type": "dlt645", "name": "gw", "host": "127.0.0.1", "port": s.port, "timeout": 0.5,
                        "meters": [{"address": "000000000161", "meter_id": "DL-1",
                                    "identifiers": {"reverse_active_total": "DL-1-EXP"}}]}, park)
    try:
        for k in range(3):
            clock.t = 900 * k
            batch = src.poll_once(T0 + dt.timedelta(minutes=15 * k))
            res = ingest_batch(store, park, pa.Table.from_pylist([r.as_row() for r in batch]), source="collect:gw")
            assert res.accepted == 2 and not res.rejected_by_reason
        rows = store.con.execute("SELECT meter_id, strftime(ts, '%H:%M'), round(value, 6) FROM readings "
                                 "ORDER BY meter_id, ts").fetchall()
        assert rows == [("DL-1", "00:15", 36.0), ("DL-1", "00:30", 36.0),
                        ("DL-1-EXP", "00:15", 9.0), ("DL-1-EXP", "00:30", 9.0)]
    finally:
        src.close()
        store.close()


def test_a_line_simulator_for_a_source_config_and_in_its_own_process():
    c = dlt645.Dlt645SourceConfig.model_validate({"type": "dlt645", "name": "g", "host": "127.0.0.1", "port": 1,
                                                  "meters": [{"address": "000000000007", "meter_id": "A",
                                                              "identifiers": {"voltage_a": "V"}}]})
    s = Dlt645LineSim.from_config(c, start=10.0, rate=0.0)
    s.start()
    try:
        src = dlt645.build(c.model_copy(update={"port": s.port}))
        assert [(r.meter_id, r.value) for r in src.poll_once(T0)] == [("A", 10.0), ("V", 230.0)]
    finally:
        s.stop()
    from greenpark.collect.sim import spawn

    host, port, stop = spawn("dlt645", "--meters", "2", "--rate", "0")
    try:
        src = src_for(port, [{"address": "000000000002", "meter_id": "B",
                              "identifiers": {"reverse_active_total": "B-EXP"}}])
        assert [(r.meter_id, r.value) for r in src.poll_once(T0)] == [("B", 2000.0), ("B-EXP", 20.0)]
    finally:
        stop()


def test_read_address_of_the_one_meter_on_a_line(line):
    s = line([SimMeter("810000760162")])
    assert dlt645.read_address("127.0.0.1", s.port, timeout=1.0) == "810000760162"
    s.silent = {"810000760162"}
    with pytest.raises(DeviceUnreachable, match="no reply to read address"):
        dlt645.read_address("127.0.0.1", s.port, timeout=0.3)
