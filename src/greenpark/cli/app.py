"""The ``greenpark`` Typer application; command modules register on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="greenpark",
    help="Energy, carbon and environment accounts of a green industrial park.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
