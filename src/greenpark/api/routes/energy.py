"""Energy accounts (GB/T 2589-2020) and the park overview of the dashboard.

The figures are :func:`greenpark.services.energy.compute`'s, unchanged. For one enterprise (and always for
an enterprise user) the accounts are computed on the park as that enterprise sees it (its own
meters, buildings and products only), so no figure, lineage entry or flag of another enterprise
can appear; the park totals are then left out.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from greenpark.api.backend import Backend
from greenpark.api.deps import BackendDep, Overseer, Scope, ScopeDep
from greenpark.api.errors import bad_request
from greenpark.api.render import csv_response
from greenpark.api.routes.park import data_months
from greenpark.api.schemas import ERRORS
from greenpark.core.energy import By, PeriodError, parse_period, rows_for
from greenpark.jsonsafe import clean
from greenpark.services import energy as energy_mod

router = APIRouter(tags=["energy"], responses=ERRORS)


class OutFormat(str, Enum):
    json = "json"
    csv = "csv"


def default_period(backend: Backend, scope: Scope) -> str:
    """The latest year with data you may see (the current year's label when there is none)."""
    owners = scope.owners()
    months = sorted({m for o, ms in data_months(backend).items() if o in owners for m in ms})
    if months:
        return months[-1][:4]
    import datetime as dt

    return str(dt.date.today().year)


def accounts_for(backend: Backend, scope: Scope, period_text: str, enterprise: str | None) -> dict[str, Any]:
    """The energy accounts of the park, or of one enterprise on its restricted park (cached until a write)."""
    try:
        per = parse_period(period_text)
    except PeriodError as exc:
        raise bad_request(str(exc)) from None
    if not 1900 <= per.start.year <= 2200:
        raise bad_request(f"period '{period_text}' is outside the years 1900-2200")
    eid = enterprise or scope.enterprise
    park = scope.restricted_park(eid) if eid is not None else scope.park

    def compute():
        res = energy_mod.compute(backend.cursor(), park, per)
        if eid is not None:
            res.pop("park")
            res["scope"] = {"kind": "enterprise", "id": eid}
        else:
            res["scope"] = {"kind": "park", "id": scope.park.park.id}
        return clean(res)

    return backend.results.get(("energy", eid, per.label), compute)


@router.get("/energy", name="read_energy",
            responses={200: {"content": {"application/json": {}, "text/csv": {}},
                             "description": "the energy accounts (keys period, park, enterprises, breakdowns, "
                                            "lineage, flags, scope)"}})
def read_energy(scope: ScopeDep, backend: BackendDep,
                period: Annotated[str | None, Query(max_length=20, description="2025, 2025-Q1 or 2025-03 (park time); "
                                                    "default: the latest year with data")] = None,
                enterprise: Annotated[str | None, Query(max_length=64, description="only this enterprise")] = None,
                by: Annotated[By, Query(description="rows of the CSV export")] = By.enterprise,
                format: OutFormat = OutFormat.json,
                lineage: Annotated[bool, Query(description="include the lineage (meters, coefficients)")] = True):
    """Comprehensive energy consumption in tce (GB/T 2589-2020), renewable share, intensity, with
    breakdowns, lineage and flags. Enterprise users get their own enterprise's accounts."""
    if enterprise is not None:
        scope.check_enterprise(enterprise)
    res = accounts_for(backend, scope, period or default_period(backend, scope), enterprise)
    if format == OutFormat.csv:
        rows = rows_for(res, by)
        return csv_response(rows, list(rows[0]) if rows else None, f"energy-{res['period']['label']}-{by.value}.csv")
    if not lineage:
        res = {k: v for k, v in res.items() if k != "lineage"}
    return res


def overview(res: dict[str, Any]) -> dict[str, Any]:
    """The park overview of the dashboard from the energy accounts: totals, by month, by enterprise,
    by carrier, renewable share and data completeness (readings / expected readings of top-level meters)."""
    meters = [m for m in res["lineage"]["meters"] if m["role"] != "sub-meter"]

    def completeness(ms) -> float | None:
        exp = sum(m["expected_readings"] or 0 for m in ms)
        return round(100.0 * sum(m["readings"] for m in ms) / exp, 2) if exp else None

    by_owner: dict[str, list] = {}
    for m in meters:
        by_owner.setdefault(m["owner"], []).append(m)
    p = res["park"]
    flags: dict[str, int] = {}
    for f in res["flags"]:
        flags[f["code"]] = flags.get(f["code"], 0) + 1
    return {
        "period": res["period"],
        "park": {k: p[k] for k in ("id", "name_zh", "name_en", "tce", "tce_equal_value", "renewable_share",
                                   "renewable_electricity_kwh", "electricity_kwh", "intensity")},
        "by_month": res["breakdowns"]["month"],
        "by_enterprise": sorted([{"id": e["id"], "name_zh": e["name_zh"], "name_en": e["name_en"],
                                  "industry": e["industry"], "tce": e["tce"], "renewable_share": e["renewable_share"],
                                  "electricity_kwh": e["electricity_kwh"],
                                  "completeness_pct": completeness(by_owner.get(e["id"], []))}
                                 for e in res["enterprises"]], key=lambda e: -e["tce"]),
        "by_carrier": [{k: c[k] for k in ("carrier", "name_zh", "name_en", "quantity", "unit", "tce",
                                          "counted_in_total")} for c in p["carriers"]],
        "completeness": {"pct": completeness(meters),
                         "meters_incomplete": sum(1 for m in meters if (m["completeness_pct"] or 100) < 100),
                         "meters": len(meters)},
        "flags": flags,
    }


@router.get("/overview", name="read_overview",
            responses={200: {"content": {"application/json": {}},
                             "description": "period, park, by_month, by_enterprise, by_carrier, completeness, flags"}})
async def read_overview(user: Overseer, backend: BackendDep,
                        period: Annotated[str | None, Query(max_length=20, description="default: latest year")] = None):
    """The park overview (park admins and auditors): energy by month, enterprise and carrier,
    renewable share, data completeness and flag counts."""
    key = ("overview", period)
    hit = backend.results.peek(key)
    if hit is None:
        scope = Scope(user, backend.park)

        def build() -> bytes:
            res = accounts_for(backend, scope, period or default_period(backend, scope), None)
            body = overview(res)
            body["targets"] = targets_status(backend, scope, body["period"]["label"][:4])
            return json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")

        body = await run_in_threadpool(backend.results.get, key, build)
    else:
        body = hit[0]
    return Response(body, media_type="application/json")


def targets_status(backend: Backend, scope: Scope, year: str) -> dict[str, Any] | None:
    """Dual-control targets status of the year, when the park has targets (None otherwise)."""
    from greenpark.api.routes.targets import targets_for

    try:
        return targets_for(backend, scope, int(year))
    except Exception as exc:  # targets are an addition to the overview: their problem is reported, not raised
        return {"error": str(exc)}
