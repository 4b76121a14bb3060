"""Carbon accounts (Scope 1/2), dual-control targets and M&V projects.

Reads never publish: ``GET /carbon`` computes like ``greenpark carbon`` but without writing
(status ``not_published`` until a park admin publishes the year with ``POST /carbon/publish``,
which is what the CLI's first run of a year does). Carbon results are published for the whole
park, so an enterprise user gets a whitelisted view of them: its own figures, its own
certificates (rejections by code only: their messages name the other party), the factors from
reference data, and no flags or restatement rows (they may name other enterprises).
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from greenpark.api.backend import Backend
from greenpark.api.deps import Admin, BackendDep, ParkDep, Scope, ScopeDep
from greenpark.api.errors import bad_request, forbidden
from greenpark.api.schemas import ERRORS
from greenpark.jsonsafe import clean
from greenpark.services import users

router = APIRouter(tags=["carbon"], responses=ERRORS)


class Method(str, Enum):
    location = "location"
    market = "market"
    both = "both"


def _year(text: str | int) -> int:
    try:
        y = int(str(text).strip())
    except ValueError:
        raise bad_request(f"period '{text}': carbon accounts and targets are kept by calendar year (e.g. 2025)") from None
    if not 1900 <= y <= 2200:
        raise bad_request(f"year {y} is outside 1900-2200")
    return y


def _reader(backend: Backend) -> SimpleNamespace:
    """A read-only stand-in for the store (the carbon functions read ``store.con``; they write only when asked)."""
    return SimpleNamespace(con=backend.cursor())


def enterprise_carbon_view(d: dict[str, Any], eid: str) -> dict[str, Any]:
    """What an enterprise user may see of the park's carbon accounts (module docstring)."""
    certs = d["certificates"]
    lin = d["lineage"]
    pub = lin.get("published") or {}
    return {
        "period": d["period"], "method": d["method"], "scope": {"kind": "enterprise", "id": eid},
        "enterprises": [e for e in d["enterprises"] if e["id"] == eid],
        "certificates": {
            "by_enterprise": [c for c in certs["by_enterprise"] if c["id"] == eid],
            "by_certificate": [c for c in certs["by_certificate"] if c.get("enterprise_id") == eid],
            "rejected": [{"id": r["id"], "enterprise_id": eid, "code": r["code"],
                          "message": f"registration rejected ({r['code']}); the park admin has the details"}
                         for r in certs.get("rejected", []) if r.get("enterprise_id") == eid]},
        "factors": [f for f in d["factors"] if f.get("status") != "USER"],
        "lineage": {k: lin.get(k) for k in ("level", "region", "factor_year_rule", "factor_year_rule_source",
                                            "certificate_matching", "selections", "formula", "activity_source")}
        | {"published": {k: pub.get(k) for k in ("status", "result_id", "published_at")}},
    }


def carbon_for(backend: Backend, scope: Scope, year: int, method: str | None, enterprise: str | None) -> dict:
    from greenpark.services import carbon_accounts as ca

    park = scope.park
    eid = enterprise or scope.enterprise

    def compute():
        report = ca.carbon_report(_reader(backend), park, year, method=method, write=False)
        return clean(ca.to_json_dict(report)), monthly_co2(report)

    d, months = backend.results.get(("carbon", year, method), compute)
    if scope.enterprise is not None:
        return {**enterprise_carbon_view(d, scope.enterprise), "by_month": _months(months, scope.enterprise)}
    if eid is not None:
        return {**d, "enterprises": [e for e in d["enterprises"] if e["id"] == eid],
                "scope": {"kind": "enterprise", "id": eid}, "by_month": _months(months, eid)}
    return {**d, "by_month": _months(months, None)}


def monthly_co2(report) -> list[dict[str, Any]]:
    """Scope 1 + 2 per enterprise and month [tCO2], location- and market-based where computed
    (:func:`greenpark.core.carbon.monthly_co2`)."""
    from greenpark.core import carbon

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for m in ("location", "market"):
        try:
            df = carbon.monthly_co2(report.result, m)
        except carbon.CarbonError:  # the result was computed with the other method only
            continue
        for r in df.itertuples(index=False):
            key = (r.enterprise_id, str(r.month)[:7])
            rows.setdefault(key, {"enterprise_id": key[0], "month": key[1]})[f"{m}_t"] = float(r.co2_t)
    return sorted(rows.values(), key=lambda r: (r["month"], r["enterprise_id"]))


def _months(rows: list[dict[str, Any]], eid: str | None) -> list[dict[str, Any]]:
    """Park (eid None) or one enterprise's CO2 by month [tCO2]."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if eid is not None and r["enterprise_id"] != eid:
            continue
        o = out.setdefault(r["month"], {"month": r["month"]})
        for k in ("location_t", "market_t"):
            if k in r:
                o[k] = o.get(k, 0.0) + r[k]
    return clean([out[k] for k in sorted(out)])


@router.get("/carbon", name="read_carbon")
def read_carbon(scope: ScopeDep, backend: BackendDep,
                period: Annotated[str, Query(max_length=10, description="calendar year, e.g. 2025")],
                method: Method | None = None,
                enterprise: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    """Scope 1 and Scope 2 (location- and market-based) CO2 [t] of the park and its enterprises,
    with factors, certificates and lineage (computed, not published: see POST /carbon/publish)."""
    if enterprise is not None:
        scope.check_enterprise(enterprise)
    return carbon_for(backend, scope, _year(period), method.value if method else None, enterprise)


@router.post("/carbon/publish", name="publish_carbon")
async def publish_carbon(user: Admin, park: ParkDep, backend: BackendDep, request: Request,
                         period: Annotated[str, Query(max_length=10, description="calendar year")],
                         restate: Annotated[bool, Query(description="restate a published year with the factors "
                                                                    "in force now")] = False) -> dict[str, Any]:
    """Publish the year's carbon result (or restate it) as 'greenpark carbon' does (park admins)."""
    from greenpark.services import carbon_accounts as ca

    year = _year(period)
    remote = request.client.host if request.client else None

    def run(store):
        before = ca.published(store.con, _key(ca, park, year))
        report = ca.carbon_report(store, park, year, restate=restate, write=True)
        d = clean(ca.to_json_dict(report))
        with store.transaction() as con:
            users.audit(con, user, "carbon.restate" if restate else "carbon.publish", f"carbon {year}",
                           before=before.summary() if before else None, after=d["lineage"]["published"],
                           remote=remote)
        return d

    return await backend.write(run)


def _key(ca, park, year: int):
    level, region = ca.resolve_level(park, None, None)
    return ca.Key(year, level, region, park.carbon.factor_year_rule, park.carbon.certificate_matching)


def targets_for(backend: Backend, scope: Scope, year: int, as_of: dt.date | None = None) -> dict[str, Any] | None:
    """Dual-control status of the year's targets (None when the park has none for that year)."""
    from greenpark.services import carbon_accounts as ca

    park = scope.park
    if not any(t.year == year for t in park.targets):
        return None
    d = backend.results.get(("targets", year, as_of),
                            lambda: clean(ca.targets_json(ca.targets_report(_reader(backend), park, year, as_of))))
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
    y = _year(year)
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
    """The project, or the 403 (enterprise users: not theirs, existing or not) or 400 with the valid ids."""
    proj = next((p for p in scope.park.mv_projects if p.id == project_id), None)
    if proj is None or not _mv_visible(scope, proj):
        if scope.enterprise is not None:
            raise forbidden(f"M&V project '{project_id}' is not one of {scope.enterprise}'s; GET /api/v1/mv lists yours")
        scope.park.mv_project(project_id)  # ParkError with the valid ids
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
