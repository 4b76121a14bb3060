"""Services: join park.toml, the store and the core calculations.

They take a store (or a read cursor) and a parsed park, call the pure calculations of
:mod:`greenpark.core` and return results the edges render.

Layer: services. May import ingest, store, core, park, reference and the base modules; never
the edges (cli, api, web, demo, reports) (tests/test_layers.py).
"""
