"""The HTTP edge of greenpark: a versioned REST API (``/api/v1``) and the dashboard, served by
``greenpark serve``. Routes parse, check access, call the core and render; the server process
is the store's single writer (see :mod:`greenpark.api.backend`).

Layer: an edge. May import services, ingest, store, core, park, reference and the base
modules, and web (the dashboard it serves); never cli (tests/test_layers.py).
"""

from greenpark.api.app import create_app

__all__ = ["create_app"]
