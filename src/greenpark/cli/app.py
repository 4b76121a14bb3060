"""The ``greenpark`` Typer application; command modules register on it.

The global ``--lang zh|en`` option (before the command: ``greenpark --lang zh energy ...``) sets
the language of tables, labels and messages (:mod:`greenpark.i18n`); without it ``GREENPARK_LANG``,
then the locale, decide. JSON and CSV keep the stable codes whatever the language.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

app = typer.Typer(
    name="greenpark",
    help="Energy, carbon and environment accounts of a green industrial park.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # help texts are plain text: park.toml's [[sources]], [collect], [h] are not rich markup
    rich_markup_mode=None,
)


class Lang(str, Enum):
    zh = "zh"
    en = "en"


@app.callback()
def main(
    lang: Annotated[Lang | None, typer.Option(
        "--lang", help="Language of tables, labels and messages: zh or en (default: GREENPARK_LANG, else the "
                       "locale, else en). JSON and CSV keep stable codes.")] = None,
) -> None:
    """Energy, carbon and environment accounts of a green industrial park."""
    from greenpark import i18n

    if lang is not None:
        i18n.set_lang(lang.value)
        return
    try:
        i18n.from_environment()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
