"""The park, its enterprises and meters, as the principal may see them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from greenpark.api.backend import Backend
from greenpark.api.deps import BackendDep, ScopeDep
from greenpark.api.schemas import ERRORS, EnterpriseDetail, EnterpriseOut, MeterOut, ParkOut
from greenpark.store import rollups

router = APIRouter(tags=["park"], responses=ERRORS)


def meter_stats(backend: Backend) -> dict[str, dict]:
    """Per meter: readings stored, first and last hour (park time), from the hourly rollups."""
    def compute():
        return rollups.meter_stats(backend.cursor())

    return backend.results.get(("meter_stats",), compute)


def data_months(backend: Backend) -> dict[str, list[str]]:
    """Per meter owner: months with readings (YYYY-MM, park time)."""
    def compute():
        rows = rollups.owner_months(backend.cursor())
        out: dict[str, list[str]] = {}
        for owner, month in rows:
            out.setdefault(owner, []).append(month)
        return out

    return backend.results.get(("data_months",), compute)


def meter_out(m, stats: dict[str, dict]) -> dict:
    s = stats.get(m.id, {"readings": 0, "first_hour": None, "last_hour": None})
    return {"id": m.id, "owner": m.owner, "carrier": m.carrier, "unit": m.unit, "kind": m.kind,
            "interval_minutes": m.interval_minutes, "multiplier": m.multiplier, "parent": m.parent,
            "end_use": m.end_use, "building": m.building, "renewable_generation": m.renewable_generation,
            "export": m.export, **s}


@router.get("/park", response_model=ParkOut, name="read_park")
def read_park(scope: ScopeDep, backend: BackendDep) -> dict:
    """The park: names, time zone, stations, and the months with data you may see."""
    p = scope.park
    owners = scope.owners()
    months = sorted({m for o, ms in data_months(backend).items() if o in owners for m in ms})
    return {"id": p.park.id, "name_zh": p.park.name_zh, "name_en": p.park.name_en, "timezone": p.park.timezone,
            "grid_region": p.park.grid_region, "province": p.park.province,
            "enterprises": len([e for e in p.enterprises if e.id in owners]), "meters": len(scope.meters()),
            "stations": [{"id": s.id, "kind": s.kind, "name_zh": s.name_zh, "name_en": s.name_en,
                          "water_body": s.water_body} for s in p.stations],
            "data_months": months, "years": sorted({int(m[:4]) for m in months})}


def _enterprise(e, scope) -> dict:
    return {"id": e.id, "name_zh": e.name_zh, "name_en": e.name_en, "industry": e.industry,
            "economics": [x.model_dump() for x in e.economics],
            "meters": sum(1 for m in scope.park.meters if m.owner == e.id)}


@router.get("/enterprises", response_model=list[EnterpriseOut], name="list_enterprises")
def list_enterprises(scope: ScopeDep) -> list[dict]:
    """The enterprises you may see (an enterprise user: its own)."""
    owners = scope.owners()
    return [_enterprise(e, scope) for e in scope.park.enterprises if e.id in owners]


@router.get("/enterprises/{enterprise_id}", response_model=EnterpriseDetail, name="read_enterprise")
def read_enterprise(enterprise_id: str, scope: ScopeDep, backend: BackendDep) -> dict:
    """One enterprise with its buildings, meters and products."""
    scope.check_enterprise(enterprise_id)
    p = scope.park
    e = next((x for x in p.enterprises if x.id == enterprise_id), None)
    if e is None:  # the park's own public buildings and meters
        base = {"id": p.park.id, "name_zh": p.park.name_zh, "name_en": p.park.name_en,
                "industry": "park administration and public buildings", "economics": [],
                "meters": sum(1 for m in p.meters if m.owner == p.park.id)}
    else:
        base = _enterprise(e, scope)
    stats = meter_stats(backend)
    return {**base,
            "buildings": [b.model_dump(include={"id", "name_zh", "name_en", "floor_area_m2", "type"})
                          for b in p.buildings if b.owner == enterprise_id],
            "meter_list": [meter_out(m, stats) for m in p.meters if m.owner == enterprise_id],
            "products": [x.model_dump(include={"id", "name_zh", "name_en", "unit", "year"})
                         for x in p.products if x.enterprise == enterprise_id]}


@router.get("/meters", response_model=list[MeterOut], name="list_meters")
def list_meters(scope: ScopeDep, backend: BackendDep,
                enterprise: Annotated[str | None, Query(max_length=64, description="only this owner")] = None,
                carrier: Annotated[str | None, Query(max_length=64)] = None) -> list[dict]:
    """The meters you may see, with how many readings each holds."""
    if enterprise is not None:
        scope.check_enterprise(enterprise)
    stats = meter_stats(backend)
    return [meter_out(m, stats) for m in scope.meters()
            if (enterprise is None or m.owner == enterprise) and (carrier is None or m.carrier == carrier)]


@router.get("/meters/{meter_id}", response_model=MeterOut, name="read_meter")
def read_meter(meter_id: str, scope: ScopeDep, backend: BackendDep) -> dict:
    """One meter as park.toml describes it, with its reading count and span."""
    return meter_out(scope.check_meter(meter_id), meter_stats(backend))
