"""Dual control (双控) of carbon and energy: progress, year-end projection and status of the
targets of park.toml (an enterprise user sees its own targets only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from greenpark.api.backend import Backend
from greenpark.api.deps import BackendDep, Scope, ScopeDep
from greenpark.api.errors import bad_request
from greenpark.api.routes._shared import calendar_year, read_only_store
from greenpark.api.schemas import ERRORS
from greenpark.jsonsafe import clean

router = APIRouter(tags=["targets"], responses=ERRORS)


def targets_for(backend: Backend, scope: Scope, year: int, as_of: dt.date | None = None) -> dict[str, Any] | None:
    """Dual-control status of the year's targets (None when the park has none for that year)."""
    from greenpark.services import targets as ts

    park = scope.park
    if not any(t.year == year for t in park.targets):
        return None
    d = backend.results.get(("targets", year, as_of),
                            lambda: clean(ts.targets_json(ts.targets_report(read_only_store(backend), park, year, as_of))))
    eid = scope.enterprise
    if eid is not None:
        d = {**d, "targets": [t for t in d["targets"] if t["entity_id"] == eid],
             "flags": [{**f, "ids": [i for i in f.get("ids", []) if i == eid]} for f in d["flags"]
                       if eid in f.get("ids", [])]}
    return d


@router.get("/targets", name="read_targets")
def read_targets(scope: ScopeDep, backend: BackendDep,
                 year: Annotated[str, Query(max_length=10, description="target year, e.g. 2025")],
                 as_of: Annotated[str | None, Query(max_length=7, description="last month counted, e.g. 2025-09")] = None
                 ) -> dict[str, Any]:
    """Dual control (双控) of carbon and energy: progress, year-end projection and status of each
    target (an enterprise user: its own targets)."""
    y = calendar_year(year)
    when = None
    if as_of:
        try:
            when = dt.date.fromisoformat(as_of + "-01")
        except ValueError:
            raise bad_request(f"as_of '{as_of}' is not a month like 2025-09") from None
    d = targets_for(backend, scope, y, when)
    if d is None:
        years = sorted({t.year for t in scope.park.targets})
        raise bad_request(f"no [[targets]] for {y} in park.toml" + (f"; targets exist for {years}" if years else ""))
    return d
