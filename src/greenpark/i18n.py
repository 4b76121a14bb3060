"""The language a person reads: ``zh`` or ``en``, and messages in it from the one catalogue.

Where the language comes from, first match wins:

1. :func:`use_lang` / :func:`set_lang` (the CLI's ``--lang``, the API's ``Accept-Language``);
2. the environment variable ``GREENPARK_LANG`` (``zh`` or ``en``);
3. the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``): ``zh_*`` gives ``zh``;
4. ``en``.

Messages are catalogue rows of kind ``message`` (``reference/data/catalogue.csv``): the code is a
dotted message id, ``zh`` and ``en`` are templates with ``{name}`` fields filled by :func:`text`.
This module imports only the findings catalogue: every layer may use it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar

from greenpark.findings import LANGS, lookup

__all__ = ["LANGS", "current_lang", "normalise", "set_lang", "text", "use_lang"]

_LANG: ContextVar[str | None] = ContextVar("greenpark_lang", default=None)


def normalise(value: str | None) -> str | None:
    """``zh``/``en`` for a language tag (``zh-CN``, ``zh_CN.UTF-8``, ``en-GB``...), None otherwise."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    for lang in LANGS:
        if tag == lang or tag.startswith(lang + "-") or tag.startswith(lang + "."):
            return lang
    return None


def from_environment(environ: dict[str, str] | None = None) -> str:
    """The language of ``GREENPARK_LANG``, else of the locale variables, else ``en``."""
    env = os.environ if environ is None else environ
    explicit = env.get("GREENPARK_LANG")
    if explicit:
        lang = normalise(explicit)
        if lang is None:
            raise ValueError(f"GREENPARK_LANG={explicit!r}: use one of {', '.join(LANGS)}")
        return lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(var):
            return normalise(env[var]) or "en"
    return "en"


def current_lang() -> str:
    """The language of the current context (see the module docstring)."""
    return _LANG.get() or from_environment()


def set_lang(lang: str | None) -> None:
    """Set (or with None, clear) the language of the current context."""
    if lang is not None and lang not in LANGS:
        raise ValueError(f"language '{lang}': use one of {', '.join(LANGS)}")
    _LANG.set(lang)


@contextlib.contextmanager
def use_lang(lang: str | None) -> Iterator[None]:
    """Run a block in ``lang`` (None: leave the current language)."""
    if lang is not None and lang not in LANGS:
        raise ValueError(f"language '{lang}': use one of {', '.join(LANGS)}")
    token = _LANG.set(lang) if lang is not None else None
    try:
        yield
    finally:
        if token is not None:
            _LANG.reset(token)


class _Keep(dict):
    def __missing__(self, key: str) -> str:  # a field the caller did not give stays visible
        return "{" + key + "}"


def text(code: str, lang: str | None = None, /, **params: object) -> str:
    """The message ``code`` in ``lang`` (default: the current language), its ``{fields}`` filled
    from ``params``. An unknown code is a programming error (``KeyError``): test_findings checks
    that every code used in the source has a catalogue row."""
    hit = lookup("message", code)
    if hit is None:
        raise KeyError(f"message '{code}' is not in reference/data/catalogue.csv (kind message)")
    row = hit[0]
    return row[lang or current_lang()].format_map(_Keep({k: str(v) for k, v in params.items()}))
