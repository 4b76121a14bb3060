"""Helpers shared by the route modules: calendar-year parameters and the read-only store view.
Role checks and the caller's scope are dependencies (:mod:`greenpark.api.deps`); results are
cached per key until the next write with ``backend.results.get(key, compute)``."""

from __future__ import annotations

from types import SimpleNamespace

from greenpark.api.backend import Backend
from greenpark.api.errors import bad_request
from greenpark.core.energy import PERIOD_YEARS

#: the years a period may name (outside: 400, never an overflow further down)
YEARS = PERIOD_YEARS


def calendar_year(text: str | int) -> int:
    """A calendar year parameter (``2025``), or 400 naming the accepted form and range."""
    try:
        y = int(str(text).strip())
    except ValueError:
        raise bad_request(f"period '{text}': carbon accounts and targets are kept by calendar year (e.g. 2025)") from None
    if not YEARS[0] <= y <= YEARS[1]:
        raise bad_request(f"year {y} is outside {YEARS[0]}-{YEARS[1]}")
    return y


def read_only_store(backend: Backend) -> SimpleNamespace:
    """A read-only stand-in for the store (the services read ``store.con``; they write only when asked)."""
    return SimpleNamespace(con=backend.cursor())
