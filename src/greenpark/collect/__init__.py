"""Live collection: long-running sources (MQTT gateways, Modbus TCP meters, DL/T 645 meters behind a
serial-to-TCP gateway) -> an fsync'd on-disk spool -> the one ingest entry point
(:func:`greenpark.ingest.ingest_batch`), directly or through the running server's push API.

Layer: an edge-side wrapper around ingest (like the API): it may import ingest, store, services and
park, never the CLI. See :mod:`greenpark.collect.base` for the reading and source interfaces.
"""
