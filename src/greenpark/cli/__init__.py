"""Command-line interface: thin wrappers that parse arguments, call the core and render.

Command modules register themselves on ``app`` when imported.

Layer: an edge. May import services, ingest, store, core, park, reference and the base
modules; heavy modules only inside the command functions (tests/test_cli_startup.py).
"""

from __future__ import annotations

from greenpark.cli import (  # noqa: F401  (register commands)
    air,
    carbon,
    collect,
    data,
    energy,
    env,
    indicators,
    mv,
    quarantine,
    region,
    report,
    serve,
    setup,
    user,
)
from greenpark.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
