"""Carbon accounts (Scope 1/2) of the park and its enterprises.

Reads never publish: ``GET /carbon`` computes like ``greenpark carbon`` but without writing
(status ``not_published`` until a park admin publishes the year with ``POST /carbon/publish``,
which is what the CLI's first run of a year does). Carbon results are published for the whole
park, so an enterprise user gets a whitelisted view of them: its own figures, its own
certificates (rejections by code only: their messages name the other party), the factors from
reference data, and no flags or restatement rows (they may name other enterprises).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from greenpark.api.backend import Backend
from greenpark.api.deps import Admin, BackendDep, ParkDep, Scope, ScopeDep
from greenpark.api.routes._shared import calendar_year, read_only_store
from greenpark.api.schemas import ERRORS
from greenpark.jsonsafe import clean
from greenpark.services import users

router = APIRouter(tags=["carbon"], responses=ERRORS)


class Method(str, Enum):
    location = "location"
    market = "market"
    both = "both"


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
        report = ca.carbon_report(read_only_store(backend), park, year, method=method, write=False)
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
    return carbon_for(backend, scope, calendar_year(period), method.value if method else None, enterprise)


@router.post("/carbon/publish", name="publish_carbon")
async def publish_carbon(user: Admin, park: ParkDep, backend: BackendDep, request: Request,
                         period: Annotated[str, Query(max_length=10, description="calendar year")],
                         restate: Annotated[bool, Query(description="restate a published year with the factors "
                                                                    "in force now")] = False) -> dict[str, Any]:
    """Publish the year's carbon result (or restate it) as 'greenpark carbon' does (park admins)."""
    from greenpark.services import carbon_accounts as ca

    year = calendar_year(period)
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
