"""Command-line interface: thin wrappers that parse arguments, call the core and render."""

from __future__ import annotations

from .app import app

# Command modules register themselves on `app` when imported.
from . import data, energy, setup  # noqa: E402,F401
from . import air  # noqa: E402,F401

__all__ = ["app", "main"]


def main() -> None:
    app()

