"""The live demo (``greenpark demo --live``): a Mosquitto broker, simulated MQTT gateways of the demo
park's enterprises, simulated Modbus TCP and DL/T 645 meters (``greenpark.collect.sim``), and the collector inside ``greenpark serve`` against the demo park.

The gateways run on an accelerated clock: every second each gateway publishes the next 15-minute
readings of its meters (one JSON message per gateway, the ``greenpark`` payload template), starting
after the demo year, so that ``greenpark status`` and the dashboard show readings arriving.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import json
import random
import re
import threading
import time
from pathlib import Path

__all__ = ["LIVE_MARK", "SimulatedGateways", "live_sources_toml", "polled_demo_sources", "write_live_sources"]

LIVE_MARK = "# --- live demo (greenpark demo --live): the sources below are rewritten on every start ---"


class SimulatedGateways:
    """One MQTT gateway per enterprise (topic ``demo/<enterprise>/readings``), publishing the
    next interval of each of its interval meters every ``period_s`` seconds."""

    def __init__(self, url: str, park, *, start: dt.datetime, period_s: float = 1.0, max_meters: int = 24,
                 seed: int = 11):
        self.url = url
        self.period_s = period_s
        self.rnd = random.Random(seed)
        meters = [m for m in park.meters if m.kind == "interval" and m.interval_minutes == 15][:max_meters]
        self.by_gateway: dict[str, list[str]] = {}
        for m in meters:
            self.by_gateway.setdefault(m.owner, []).append(m.id)
        self.t = start
        self.tz = park.tz
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.published = 0

    def _run(self) -> None:
        import paho.mqtt.client as mqtt

        host, port = self.url.removeprefix("mqtt://").split(":")
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="greenpark-demo-gateways", clean_session=False)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(1, 5)
        c.connect_async(host, int(port))
        c.loop_start()
        while not self._stop.wait(self.period_s):
            self.t += dt.timedelta(minutes=15)
            if self.t >= dt.datetime.now(self.tz):
                break  # never into the future (timestamp_in_future)
            ts = self.t.isoformat()
            for gw, meters in self.by_gateway.items():
                body = {"readings": [{"meter_id": m, "timestamp": ts, "value": round(self.rnd.uniform(5, 50), 2)}
                                     for m in meters]}
                c.publish(f"demo/{gw}/readings", json.dumps(body), qos=1)
                self.published += len(meters)
        c.loop_stop()
        c.disconnect()

    def start(self) -> SimulatedGateways:
        self._thread = threading.Thread(target=self._run, name="demo-gateways", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


def polled_demo_sources(park, interval_s: float = 5.0):
    """Simulated polled meters of the live demo: a Modbus TCP meter with two energy registers and a
    DL/T 645 meter behind a TCP gateway (``greenpark.collect.sim``), as new cumulative park meters
    ``LIVE-MB-1``, ``LIVE-MB-2`` and ``LIVE-645-1`` of the first enterprise. Returns the park.toml
    text (meters and ``[[sources]]``) and a function that stops the simulators; ("", None) when this
    greenpark has no simulators."""
    if importlib.util.find_spec("greenpark.collect.sim") is None:
        return "", None
    from greenpark.collect.dlt645 import Dlt645SourceConfig
    from greenpark.collect.modbus import ModbusSourceConfig
    from greenpark.collect.sim.dlt645 import Dlt645LineSim
    from greenpark.collect.sim.modbus import ModbusMeterSim

    owner = park.enterprises[0].id if park.enterprises else park.park.id
    mb = {"type": "modbus", "name": "demo-modbus", "host": "127.0.0.1", "port": 1, "interval_s": interval_s,
          "meters": [{"meter_id": "LIVE-MB-1", "address": 0, "type": "uint32", "scale": 0.01},
                     {"meter_id": "LIVE-MB-2", "address": 2, "type": "uint32", "scale": 0.01}]}
    dl = {"type": "dlt645", "name": "demo-dlt645", "host": "127.0.0.1", "port": 1, "interval_s": interval_s,
          "meters": [{"address": "000000000001", "meter_id": "LIVE-645-1"}]}
    # registers that advance with the wall clock, so that a restarted demo never reads a smaller one
    # (within the uint32 x 0.01 kWh and the XXXXXX.XX kWh of DL/T 645)
    now = time.time()
    _, mb_port, stop_mb = ModbusMeterSim.from_config(
        ModbusSourceConfig.model_validate(mb), start=(1000.0 + 0.05 * (now - 1.79e9)) % 2.0e7, rate=0.05).start()
    _, dl_port, stop_dl = Dlt645LineSim.from_config(
        Dlt645SourceConfig.model_validate(dl), start=(2000.0 + 0.02 * (now - 1.79e9)) % 9.9e5, rate=0.02).start()
    meters = "".join(f'\n[[meters]]\nid = "{m}"\nowner = "{owner}"\ncarrier = "electricity"\nunit = "kWh"\n'
                     f'kind = "cumulative"\ninterval_minutes = 1\nregister_rollover = {roll}\n'
                     f'name = "live demo: simulated {kind} meter"\n'
                     for m, kind, roll in (("LIVE-MB-1", "Modbus TCP", 42949672.96), ("LIVE-MB-2", "Modbus TCP", 42949672.96),
                                           ("LIVE-645-1", "DL/T 645", 1000000.0)))
    sources = (f'\n[[sources]]\ntype = "modbus"\nname = "demo-modbus"\nhost = "127.0.0.1"\nport = {mb_port}\n'
               f"interval_s = {interval_s}\n"
               '[[sources.meters]]\nmeter_id = "LIVE-MB-1"\naddress = 0\ntype = "uint32"\nscale = 0.01\n'
               '[[sources.meters]]\nmeter_id = "LIVE-MB-2"\naddress = 2\ntype = "uint32"\nscale = 0.01\n'
               f'\n[[sources]]\ntype = "dlt645"\nname = "demo-dlt645"\nhost = "127.0.0.1"\nport = {dl_port}\n'
               f"interval_s = {interval_s}\n"
               '[[sources.meters]]\naddress = "000000000001"\nmeter_id = "LIVE-645-1"\n')

    def stop() -> None:
        stop_mb()
        stop_dl()

    return meters + sources, stop


def live_sources_toml(url: str, extra: str = "") -> str:
    return (f"\n{LIVE_MARK}\n[collect]\nspool_dir = \"collect-spool\"\n\n"
            f"[[sources]]\ntype = \"mqtt\"\nname = \"demo-gateways\"\nurl = \"{url}\"\n"
            "topics = [\"demo/+/readings\"]\nclient_id = \"greenpark-demo-collector\"\n" + extra)


def write_live_sources(park_toml: Path, url: str, extra: str = "") -> None:
    """Replace the live demo's part of park.toml (everything after :data:`LIVE_MARK`)."""
    text = park_toml.read_text(encoding="utf-8")
    text = text.split("\n" + LIVE_MARK, 1)[0].rstrip("\n") + "\n"
    if re.search(r"^\[collect\]|^\[\[sources\]\]", text, re.M):
        raise ValueError(f"{park_toml} has its own [collect] or [[sources]]; the live demo needs the demo park's file")
    park_toml.write_text(text + live_sources_toml(url, extra), encoding="utf-8")
