"""M&V projects (IPMVP option C, ASHRAE Guideline 14): the list, one project's baseline model,
statistics and verified savings, and the series of the savings chart. An enterprise user sees the
projects whose meters are all its own."""

from __future__ import annotations

from enum import Enum
from typing import Any

from fastapi import APIRouter

from greenpark.api.backend import Backend
from greenpark.api.deps import BackendDep, Scope, ScopeDep
from greenpark.api.errors import bad_request, forbidden, not_found
from greenpark.api.schemas import ERRORS
from greenpark.jsonsafe import clean
from greenpark.park import ParkError

router = APIRouter(tags=["mv"], responses=ERRORS)


def _mv_visible(scope: Scope, proj) -> bool:
    if scope.enterprise is None:
        return True
    from greenpark.services import mv_projects

    try:
        meters = mv_projects.project_meters(scope.park, proj)
    except Exception:  # a project the park cannot resolve is not shown to enterprise users
        return False
    return bool(meters) and all(m.owner == scope.enterprise for m in meters)


@router.get("/mv", name="list_mv_projects")
def list_mv_projects(scope: ScopeDep) -> list[dict[str, Any]]:
    """M&V projects of park.toml (an enterprise user: those on its own meters only)."""
    from greenpark.services import mv_projects

    visible = {p.id for p in scope.park.mv_projects if _mv_visible(scope, p)}
    return clean([r for r in mv_projects.summary(scope.park) if r.get("id") in visible])


def _mv_project(scope: Scope, project_id: str):
    """The project, or the 403 (enterprise users: not theirs, existing or not) or 404 with the valid ids."""
    proj = next((p for p in scope.park.mv_projects if p.id == project_id), None)
    if proj is None or not _mv_visible(scope, proj):
        if scope.enterprise is not None:
            raise forbidden(f"M&V project '{project_id}' is not one of {scope.enterprise}'s; GET /api/v1/mv lists yours")
        try:
            scope.park.mv_project(project_id)
        except ParkError as exc:  # names the valid ids
            raise not_found(str(exc)) from None
    return proj


def _mv_result(scope: Scope, backend: Backend, project_id: str) -> dict[str, Any]:
    from greenpark.core import mv
    from greenpark.services import mv_projects

    def compute():
        try:
            return clean(mv_projects.run(backend.cursor(), scope.park, project_id, savings=True))
        except (mv_projects.ProjectError, mv.MVError) as exc:
            raise bad_request(str(exc)) from None

    return backend.results.get(("mv", project_id), compute)


@router.get("/mv/{project_id}", name="read_mv_project")
def read_mv_project(project_id: str, scope: ScopeDep, backend: BackendDep) -> dict[str, Any]:
    """Baseline model, statistics (ASHRAE Guideline 14), verified savings with uncertainty, tce and
    tCO2 of one M&V project."""
    _mv_project(scope, project_id)
    return _mv_result(scope, backend, project_id)


class SeriesStep(str, Enum):
    day = "day"
    week = "week"
    month = "month"


def savings_series(baseline, reporting, step: str, hourly: bool) -> list[dict[str, Any]]:
    """Rows ``date, phase, actual, predicted`` [unit/d]: the model's ``predict`` frames of the
    baseline and reporting periods as the mean energy per day of each day, week or month (days
    with an observed and a predicted value only; hourly data summed to whole days first)."""
    freq = {"day": "D", "week": "W-MON", "month": "MS"}[step]
    rows = []
    for phase, df in (("baseline", baseline), ("reporting", reporting)):
        if df is None or not len(df):
            continue
        ok = df[["observed", "predicted"]].dropna()
        if hourly:
            per_day = ok.resample("D")
            n = per_day["observed"].count()
            ok = per_day.sum()[n == 24]
        agg = ok.resample(freq, label="left", closed="left").mean().dropna()
        rows += [{"date": t.strftime("%Y-%m-%d"), "phase": phase, "actual": float(a), "predicted": float(b)}
                 for t, a, b in zip(agg.index, agg["observed"], agg["predicted"], strict=True)]
    return rows


@router.get("/mv/{project_id}/series", name="read_mv_series")
def read_mv_series(project_id: str, scope: ScopeDep, backend: BackendDep, step: SeriesStep = SeriesStep.week) -> dict:
    """Actual energy, baseline fit (baseline period) and adjusted baseline (reporting period: the
    baseline model under the reporting period's conditions) of one M&V project, as the mean per
    day of each day, week or month [unit/d], for the savings chart. The adjusted baseline here has
    no non-routine adjustments; the savings figures (``GET /mv/{id}``) include them."""
    from greenpark.core import mv
    from greenpark.services import mv_projects

    proj = _mv_project(scope, project_id)

    def compute():
        result = _mv_result(scope, backend, project_id)
        resolution = result["data"]["resolution"]
        try:
            pdata = mv_projects.assemble(backend.cursor(), scope.park, proj, resolution)
            model = mv.model_from_dict(result["model"])
            rows = savings_series(model.predict(pdata.baseline(proj)), model.predict(pdata.reporting(proj)),
                                  step.value, resolution == "hourly")
        except (mv_projects.ProjectError, mv.MVError) as exc:
            raise bad_request(str(exc)) from None
        return {"project_id": project_id, "step": step.value, "unit": f"{pdata.unit}/d",
                "resolution": resolution, "reporting_start": proj.reporting.start.isoformat(), "rows": rows}

    return backend.results.get(("mv-series", project_id, step.value), compute)
