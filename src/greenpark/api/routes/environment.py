"""Environment quality of the park: air (HJ 663 / GB 3095, AQI calendar) and surface water
(GB 3838), and station observations pushed by gateways (``POST /observations``).

Who may push station observations: park admins, and devices that are not limited to listed
meters or to one enterprise. Stations are park facilities that no enterprise owns, so a device
restricted to some meters (``--meter``) or bound to an enterprise (``--enterprise``) was given no
right to them and gets 403; a station gateway is a device user created without either option.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from greenpark import ingest, reference
from greenpark.api.deps import BackendDep, ParkDep, Pusher, ScopeDep
from greenpark.api.errors import bad_request, forbidden
from greenpark.api.routes.readings import import_out, push_table
from greenpark.api.schemas import ERRORS, PushObservationsIn, PushOut
from greenpark.services import users
from greenpark.services.environment import air_record, water_record

router = APIRouter(tags=["environment"], responses=ERRORS)


class Edition(str, Enum):
    auto = "auto"
    e2012 = "2012"
    e2026 = "2026"


def _year_ok(period: str) -> None:
    head = period.strip()[:4]
    if head.isdigit() and not 1900 <= int(head) <= 2200:
        raise bad_request(f"period '{period}' is outside the years 1900-2200")


@router.get("/air", name="read_air")
def read_air(scope: ScopeDep, backend: BackendDep,
             period: Annotated[str, Query(max_length=20, description="2025 or 2025-03 (park time)")],
             station: Annotated[str | None, Query(max_length=64, description="only this air station")] = None,
             edition: Edition = Edition.auto) -> dict[str, Any]:
    """The air-quality record: PM2.5 and other statistics against GB 3095 class 2, good-days
    ratio, per station, year on year, and the daily AQI for the calendar heatmap."""
    _year_ok(period)
    rec = backend.results.get(("air", period, station, edition.value),
                              lambda: air_record(backend.cursor(), scope.park, period, station, edition.value))
    return {**rec, "levels": aqi_levels()}


def aqi_levels() -> list[dict[str, Any]]:
    """HJ 633 AQI levels with categories and colours (reference data), for legends and calendars."""
    cols = ("edition", "level", "aqi_lo", "aqi_hi", "level_zh", "category_zh", "category_en", "rgb_hex")
    return [{c: r[c] for c in cols} for r in reference.load("hj633_levels").rows]


@router.get("/water", name="read_water")
def read_water(scope: ScopeDep, backend: BackendDep,
               period: Annotated[str, Query(max_length=20, description="2025, 2025-Q3 or 2025-03")]) -> dict[str, Any]:
    """Surface-water classes (GB 3838-2002) per section and the share of sections in classes I-III."""
    _year_ok(period)
    return backend.results.get(("water", period), lambda: water_record(backend.cursor(), scope.park, period))


@router.post("/observations", response_model=PushOut, name="push_observations")
async def push_observations(body: PushObservationsIn, user: Pusher, park: ParkDep, backend: BackendDep,
                            request: Request) -> dict:
    """Push a batch of air, water or weather station observations (park admins, and devices not
    limited to meters or an enterprise). One batch is one import, as for readings: every row is
    new, unchanged, a correction or quarantined with its reason code (listed by position)."""
    if user.role == "device" and (user.meters is not None or user.enterprise_id is not None):
        limit = (f"the meters {', '.join(user.meters) or '(none)'}" if user.meters is not None
                 else f"the meters of {user.enterprise_id}")
        raise forbidden(f"this device may push readings for {limit} only, not station observations; a station "
                        "gateway needs a device user without --meter or --enterprise; nothing was imported")
    if not body.observations:
        raise bad_request("the batch has no observations; send {\"observations\": [{\"station_id\": ..., "
                          "\"timestamp\": ..., \"parameter\": ..., \"value\": ...}]}")
    table = push_table(body.observations, keys=("station_id", "timestamp", "parameter"))
    source = f"push:{user.username}" + (f":{body.source}" if body.source else "")
    remote = request.client.host if request.client else None

    def run(store):
        def audit(result):
            users.audit(store.con, user, "observations.push", f"import {result.import_id}",
                           after={k: v for k, v in result.as_dict().items() if k not in ("checksum", "path")},
                           import_id=result.import_id, remote=remote)

        result = ingest.ingest_batch(store, park, table, source=source, before_commit=audit)
        return import_out(store.con, result)

    return await backend.write(run)
