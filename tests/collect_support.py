"""Helpers of the collector tests: a small park with MQTT sources, a publisher, the stored set."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

PARK = """
[park]
id = "cp"
name_zh = "采集园区"
name_en = "Collect park"
db = "store.duckdb"

[[enterprises]]
id = "E1"
name_zh = "甲厂"
name_en = "Plant A"
industry = "electronics"

[[meters]]
id = "M1"
owner = "E1"
carrier = "electricity"
unit = "kWh"

[[meters]]
id = "M2"
owner = "E1"
carrier = "electricity"
unit = "kWh"

[[meters]]
id = "M3"
owner = "E1"
carrier = "natural_gas"
unit = "m3"

[collect]
spool_dir = "spool"
{collect_extra}

[[sources]]
type = "mqtt"
name = "gw"
url = "{url}"
topics = ["site/+/readings", "single/#"]
client_id = "{client_id}"
"""

METERS = ("M1", "M2", "M3")
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def write_park(folder: Path, url: str, client_id: str = "greenpark-test", collect_extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "park.toml"
    path.write_text(PARK.format(url=url, client_id=client_id, collect_extra=collect_extra), encoding="utf-8")
    return path


def produce(n_per_meter: int, seed: int = 1, start: int = 0) -> list[tuple[str, str, float]]:
    """(meter, ISO timestamp with +08:00, value) of 15-minute interval readings."""
    rnd = random.Random(seed)
    return [(m, (T0 + dt.timedelta(minutes=15 * (start + i))).isoformat(), round(rnd.uniform(0, 100), 3))
            for i in range(n_per_meter) for m in METERS]


def utc_key(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts).astimezone(dt.UTC).replace(tzinfo=None)


def expected_set(rows) -> set[tuple[str, dt.datetime, float]]:
    return {(m, utc_key(t), float(v)) for m, t, v in rows}


def stored_set(db: Path) -> set[tuple[str, dt.datetime, float]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {(m, t, float(v)) for m, t, v in con.execute("SELECT meter_id, ts, value FROM readings").fetchall()}
    finally:
        con.close()


def publisher(url: str, client_id: str = "test-publisher"):
    """A connected paho client (QoS 1 publishes retried across broker restarts: persistent session)."""
    import paho.mqtt.client as mqtt

    host, port = url.removeprefix("mqtt://").split(":")
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                    protocol=mqtt.MQTTv311)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.reconnect_delay_set(0.2, 2)
    c.connect(host, int(port))
    c.loop_start()
    return c


def publish_batches(client, rows, per_message: int = 10, topic: str = "site/gw1/readings", qos: int = 1) -> list:
    infos = []
    for i in range(0, len(rows), per_message):
        part = rows[i:i + per_message]
        body = {"readings": [{"meter_id": m, "timestamp": t, "value": v, "unit": None} for m, t, v in part]}
        infos.append(client.publish(topic, json.dumps(body), qos=qos))
    return infos
