"""Pure calculations over tables: no SQL, no files, no park.toml.

Layer: core. May import reference, the base modules (errors, findings, jsonsafe) and
scientific libraries; never store, ingest, services, park, the edges (cli, api, web, demo,
reports) or duckdb (tests/test_layers.py).
"""
