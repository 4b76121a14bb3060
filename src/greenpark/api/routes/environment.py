"""Environment quality of the park: air (HJ 663 / GB 3095, AQI calendar) and surface water (GB 3838)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ... import reference
from ...environment import air_record, water_record
from ..deps import BackendDep, ScopeDep
from ..errors import bad_request
from ..schemas import ERRORS

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
