"""Live collection: long-running sources (MQTT gateways, Modbus TCP meters, DL/T 645 meters behind a
serial-to-TCP gateway) -> an fsync'd on-disk spool -> the one ingest entry point
(:func:`greenpark.ingest.ingest_batch`), directly or through the running server's push API.

Modules: :mod:`.base` (Reading, PolledSource), :mod:`.config` (park.toml ``[[sources]]``, a union on
``type``), :mod:`.mqtt` (paho subscriber, payload mappings), :mod:`.modbus` and :mod:`.dlt645`
(polled drivers), :mod:`.spool` (durable spool), :mod:`.runner` (the collector process and its
deliveries: store, API, server), :mod:`.status` (status file, ``greenpark status``, Prometheus
text), :mod:`.broker` (a throwaway Mosquitto for demo, tests and benchmark), :mod:`.sim` (meter
simulators).

Layer: an edge-side wrapper around ingest (like the API): it may import ingest, store, services and
park, never the CLI. See :mod:`greenpark.collect.base` for the reading and source interfaces.
"""
