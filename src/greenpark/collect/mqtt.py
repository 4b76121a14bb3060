"""MQTT gateways: subscribe (QoS 1, persistent session), map each JSON payload to readings, spool
them (fsync'd) and only then acknowledge the message to the broker.

A message the collector has not acknowledged is sent again by the broker after a reconnect (the
session is persistent: ``clean_session`` off, a fixed client id), so a crash of the collector,
of the broker (with ``persistence true``) or of the network loses nothing; a message that arrives
twice is stored once (the ingest path finds the second copy ``unchanged``).

Payload mappings (park.toml ``[sources.mapping]``, or a ``template``):

- ``readings``: path of the list of readings in the payload (``""``: the payload itself is one
  reading or a list of them); ``values``: instead, path of an object ``{meter_id: value}`` that
  shares the payload's ``timestamp`` (a gateway that reports many meters at once);
- ``meter_id``, ``timestamp``, ``value``, ``unit``: paths inside a reading (dotted keys, list
  indexes as numbers: ``data.0.v``), or ``topic:N`` for level N of the topic (0-based: the meter
  id of ``tele/E01-EL-MAIN/SENSOR`` is ``topic:1``); ``unit`` may be absent (the meter's unit);
- a ``timestamp`` that is a number is a Unix time in seconds, or milliseconds when above 1e11.

Templates: ``greenpark`` (``{"meter_id", "timestamp", "value", "unit"}``, alone, in a list or
under ``readings``), ``tasmota`` (``tele/<meter>/SENSOR`` with ``{"Time", "ENERGY": {"Total"}}``
[kWh], the register of a cumulative meter), ``thingsboard`` (the ThingsBoard gateway telemetry
format ``{"<meter>": [{"ts": <ms>, "values": {"<key>": value}}]}``, ``value_key`` names the key).

A payload that yields no reading (not UTF-8 JSON, a mapped field missing) is kept in the spool's
quarantine with a reason code (``payload_not_json``, ``payload_unmapped``) and acknowledged; a
reading whose value or timestamp is wrong goes on to the ingest path, which quarantines it with
its own reason code. The collector keeps running either way.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import ssl
import threading
import time
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from greenpark.collect.base import Reading
from greenpark.errors import InputError

if TYPE_CHECKING:
    from greenpark.collect.spool import Spool

__all__ = ["MAPPING_TEMPLATES", "PAYLOAD_REASONS", "MqttMapping", "MqttSource", "MqttSourceConfig", "PayloadError", "parse_payload"]

log = logging.getLogger("greenpark.collect")

#: reason codes of payloads that yield no reading (labels in reference/data/catalogue.csv)
PAYLOAD_REASONS = ("payload_not_json", "payload_unmapped")


class MqttMapping(BaseModel):
    """Where the readings are in a JSON payload (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    readings: str = "readings"
    values: str | None = None
    meter_id: str = "meter_id"
    timestamp: str = "timestamp"
    value: str = "value"
    unit: str | None = "unit"
    #: fixed unit of every reading of this source (instead of a path)
    fixed_unit: str | None = None
    #: thingsboard template: the key of ``values`` that holds the reading
    value_key: str | None = None
    layout: Literal["default", "thingsboard"] = "default"


MAPPING_TEMPLATES: dict[str, MqttMapping] = {
    "greenpark": MqttMapping(),
    "tasmota": MqttMapping(readings="", meter_id="topic:1", timestamp="Time", value="ENERGY.Total", unit=None,
                           fixed_unit="kWh"),
    "thingsboard": MqttMapping(layout="thingsboard", readings="", meter_id="", timestamp="ts", value="",
                               unit=None, value_key="energy"),
}


class MqttSourceConfig(BaseModel):
    """A ``[[sources]]`` entry with ``type = "mqtt"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["mqtt"] = "mqtt"
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    #: mqtt://host:port or mqtts://host:port (TLS)
    url: str = "mqtt://127.0.0.1:1883"
    topics: list[str] = Field(min_length=1)
    #: fixed client id of the persistent session (default greenpark-<name>)
    client_id: str | None = None
    username: str | None = None
    #: environment variable that holds the password (never the password itself in park.toml)
    password_env: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_insecure: bool = False
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    template: Literal["greenpark", "tasmota", "thingsboard"] | None = None
    mapping: MqttMapping | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        u = urlsplit(v)
        if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
            raise ValueError(f"url '{v}': use mqtt://host:port or mqtts://host:port")
        return v

    @field_validator("topics")
    @classmethod
    def _topics(cls, v: list[str]) -> list[str]:
        for t in v:
            levels = t.split("/")
            if not t or any(("#" in x and x != "#") or ("+" in x and x != "+") for x in levels) or \
                    ("#" in levels and levels.index("#") != len(levels) - 1):
                raise ValueError(f"topic filter '{t}': '+' stands for a whole level, '#' only for the last level")
        return v

    @model_validator(mode="after")
    def _one_mapping(self) -> MqttSourceConfig:
        if self.template is not None and self.mapping is not None:
            raise ValueError("give either template or [mapping], not both")
        return self

    @property
    def payload_mapping(self) -> MqttMapping:
        return self.mapping or MAPPING_TEMPLATES[self.template or "greenpark"]

    @property
    def host_port_tls(self) -> tuple[str, int, bool]:
        u = urlsplit(self.url)
        tls = u.scheme == "mqtts"
        return u.hostname or "127.0.0.1", u.port or (8883 if tls else 1883), tls


class PayloadError(InputError, ValueError):
    """A payload that yields no reading; ``reason`` is its quarantine reason code (the collector
    quarantines the payload and goes on; it never reaches a person as an error)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


_MISSING = object()


def _get(obj: Any, path: str, topic_levels: list[str]) -> Any:
    if path.startswith("topic:"):
        i = int(path[6:])
        return topic_levels[i] if -len(topic_levels) <= i < len(topic_levels) else _MISSING
    if path == "":
        return obj
    cur = obj
    for key in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(key, _MISSING)
        elif isinstance(cur, list) and key.lstrip("-").isdigit() and -len(cur) <= int(key) < len(cur):
            cur = cur[int(key)]
        else:
            return _MISSING
        if cur is _MISSING:
            return _MISSING
    return cur


def _timestamp(v: Any) -> Any:
    """ISO text as given; a number is Unix time [s], or [ms] above 1e11 (UTC, with a Z)."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        secs = v / 1000.0 if abs(v) > 1e11 else float(v)
        try:
            return dt.datetime.fromtimestamp(secs, dt.UTC).isoformat().replace("+00:00", "Z")
        except (OverflowError, OSError, ValueError):
            return str(v)
    return v


def _value(v: Any) -> Any:
    """Numbers stay numbers; anything else goes on as text (the ingest path quarantines it)."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int | float):
        return float(v) if v == v and abs(v) != float("inf") else str(v)
    return None if v is None else str(v) if not isinstance(v, dict | list) else json.dumps(v)


def parse_payload(payload: bytes, topic: str, mapping: MqttMapping, source: str) -> list[Reading]:
    """The readings of one message; :class:`PayloadError` when it yields none."""
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError("payload_not_json", f"not UTF-8 JSON: {exc}") from None
    levels = topic.split("/")
    out: list[Reading] = []
    if mapping.layout == "thingsboard":
        if not isinstance(doc, dict):
            raise PayloadError("payload_unmapped", "a ThingsBoard gateway payload is an object {device: [...]}")
        key = mapping.value_key or "energy"
        for meter, entries in doc.items():
            for e in entries if isinstance(entries, list) else [entries]:
                vals = e.get("values", {}) if isinstance(e, dict) else {}
                if key in vals:
                    out.append(Reading(source, str(meter), _timestamp(e.get("ts")), _value(vals[key]),
                                       mapping.fixed_unit))
        if not out:
            raise PayloadError("payload_unmapped", f"no device entry has values.{key}")
        return out
    if mapping.values is not None:
        vals = _get(doc, mapping.values, levels)
        ts = _get(doc, mapping.timestamp, levels)
        if not isinstance(vals, dict) or ts is _MISSING:
            raise PayloadError("payload_unmapped", f"no object at '{mapping.values}' or no '{mapping.timestamp}'")
        unit = mapping.fixed_unit
        return [Reading(source, str(m), _timestamp(ts), _value(v), unit) for m, v in vals.items()]
    items = _get(doc, mapping.readings, levels) if mapping.readings else doc
    if items is _MISSING:
        items = doc  # a single reading without the list around it
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise PayloadError("payload_unmapped", "no readings in the payload")
    for item in items:
        meter = _get(item, mapping.meter_id, levels)
        ts = _get(item, mapping.timestamp, levels)
        val = _get(item, mapping.value, levels)
        if meter is _MISSING or ts is _MISSING or val is _MISSING:
            missing = [n for n, x in (("meter_id", meter), ("timestamp", ts), ("value", val)) if x is _MISSING]
            raise PayloadError("payload_unmapped", f"reading without {', '.join(missing)} "
                                                   f"(mapping {mapping.model_dump(exclude_defaults=True)})")
        unit = mapping.fixed_unit
        if unit is None and mapping.unit:
            u = _get(item, mapping.unit, levels)
            unit = None if u is _MISSING or u is None else str(u)
        out.append(Reading(source, str(meter), _timestamp(ts), _value(val), unit))
    return out


#: how long the spool's flusher gathers messages after the first into one fsync [s]
GROUP_COMMIT_S = 0.005


class MqttSource:
    """One MQTT source: a paho client with a persistent session, manual acks after the spool's fsync."""

    def __init__(self, config: MqttSourceConfig, spool: Spool, stats, *, password: str | None = None):
        import paho.mqtt.client as mqtt

        self.config = config
        self.name = config.name
        self.spool = spool
        self.stats = stats
        self._mapping = config.payload_mapping
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._wake = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=config.client_id or f"greenpark-{config.name}",
                        clean_session=False, protocol=mqtt.MQTTv311)
        c.manual_ack_set(True)
        c.reconnect_delay_set(min_delay=1, max_delay=10)
        if config.username:
            c.username_pw_set(config.username, password)
        host, port, tls = config.host_port_tls
        if tls:
            c.tls_set(ca_certs=config.tls_ca, certfile=config.tls_cert, keyfile=config.tls_key,
                      cert_reqs=ssl.CERT_NONE if config.tls_insecure else ssl.CERT_REQUIRED)
            c.tls_insecure_set(config.tls_insecure)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        #: set once the broker granted the subscriptions of the current connection (messages published
        #: before it reach no subscriber: the broker keeps them only for a session that had subscribed)
        self.subscribed = threading.Event()
        self._client = c
        self._host, self._port = host, port

    # -- paho callbacks (network thread) --------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.stats.error(self.name, f"broker refused the connection: {reason_code}")
            return
        self.stats.connected(self.name, True)
        client.subscribe([(t, 1) for t in self.config.topics])
        log.info(json.dumps({"event": "mqtt.connected", "source": self.name, "broker": f"{self._host}:{self._port}",
                             "session_present": bool(flags.session_present)}))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(rc.is_failure for rc in reason_codes):
            self.stats.error(self.name, f"broker refused a subscription: {', '.join(map(str, reason_codes))}")
            return
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.subscribed.clear()
        self.stats.connected(self.name, False)
        if not self._stop.is_set():
            self.stats.error(self.name, f"disconnected from the broker ({reason_code}); reconnecting")

    def _on_message(self, client, userdata, msg) -> None:
        mid, qos = msg.mid, msg.qos

        def ack() -> None:
            if qos > 0:
                client.ack(mid, qos)

        try:
            readings = parse_payload(msg.payload, msg.topic, self._mapping, self.name)
            self.spool.submit(self.name, readings, on_durable=ack)
        except Exception as exc:  # noqa: BLE001 - a payload never stops the collector
            reason = exc.reason if isinstance(exc, PayloadError) else "payload_unmapped"
            self.spool.quarantine(self.name, reason, msg.payload, msg.topic, detail=str(exc)[:500], on_durable=ack)
            self.stats.quarantined(self.name, reason, str(exc))
        else:
            self.stats.received(self.name, readings)
        self._wake.set()

    # -- group commit: one fsync for the messages that arrived while the last one ran ----------
    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(0.5):
                # gather what arrives in the next few ms into the same fsync: one disk flush and one
                # thread switch per group, not per message (acks wait at most this long more)
                time.sleep(GROUP_COMMIT_S)
            self._wake.clear()
            try:
                self.spool.flush()
            except OSError as exc:  # disk full...: nothing is acknowledged, the broker keeps the messages
                self.stats.error(self.name, f"spool write failed: {exc}")
                time.sleep(1.0)
        self.spool.flush()

    def start(self) -> None:
        self._flusher = threading.Thread(target=self._flush_loop, name=f"spool-{self.name}", daemon=True)
        self._flusher.start()
        self._client.connect_async(self._host, self._port, keepalive=self.config.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        self.spool.flush()  # acknowledge what arrived before disconnecting
        self._client.disconnect()
        self._client.loop_stop()
        self._stop.set()
        self._wake.set()
        if self._flusher is not None:
            self._flusher.join(timeout=10)
