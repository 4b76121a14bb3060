"""Zero-carbon park indicators (发改环资〔2025〕910号), green-factory indicators (GB/T 36132-2025) and
the park's green-factory programme, as ``greenpark indicators`` computes them.

An enterprise user sees only its own green-factory indicators (the park view names every enterprise's
programme status and gaps): ``GET /indicators`` answers it with its own enterprise, and another
enterprise id is 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from greenpark.api.deps import BackendDep, ScopeDep
from greenpark.api.routes._shared import calendar_year, read_only_store
from greenpark.api.schemas import ERRORS
from greenpark.jsonsafe import clean

router = APIRouter(tags=["indicators"], responses=ERRORS)


@router.get("/indicators", name="read_indicators")
def read_indicators(scope: ScopeDep, backend: BackendDep,
                    period: Annotated[str, Query(max_length=10, description="calendar year, e.g. 2025")],
                    enterprise: Annotated[str | None, Query(max_length=64, description="green-factory "
                                                            "indicators of this enterprise")] = None,
                    what_if_pv: Annotated[float, Query(ge=0, le=1e9, description="added on-site PV [MWh/yr]")] = 0.0,
                    what_if_green_electricity: Annotated[float, Query(ge=0, le=1e9, description="added green "
                                                                      "electricity [MWh/yr]")] = 0.0,
                    ) -> dict[str, Any]:
    """The park's core and guiding zero-carbon indicators with thresholds, trajectory, projection and
    programme; with ``enterprise`` (an enterprise user: always its own), that enterprise's
    green-factory indicators against the entered benchmarks."""
    from greenpark.services import indicators as si

    year = calendar_year(period)
    eid = enterprise or scope.enterprise
    if eid is not None:
        scope.check_enterprise(eid)
        if eid == scope.park.park.id:
            eid = None
    park = scope.park
    key = ("indicators", year, eid, what_if_pv, what_if_green_electricity)
    if eid is not None:
        return backend.results.get(key, lambda: clean(si.enterprise_indicators(
            park, read_only_store(backend), year, eid, what_if_pv_mwh=what_if_pv,
            what_if_green_mwh=what_if_green_electricity)))
    return backend.results.get(key, lambda: clean(si.park_indicators(
        park, read_only_store(backend), year, what_if_pv_mwh=what_if_pv, what_if_green_mwh=what_if_green_electricity)))
