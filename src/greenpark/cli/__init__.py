"""Command-line interface: thin wrappers that parse arguments, call the core and render.

Command modules register themselves on ``app`` when imported.
"""

from __future__ import annotations

from greenpark.cli import air, carbon, data, energy, env, mv, serve, setup, user  # noqa: F401  (register commands)
from greenpark.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
