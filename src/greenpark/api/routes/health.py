"""``GET /health``: is this server able to answer? For load balancers and monitoring: no
authentication, nothing about the park; the greenpark version, the store engine, whether the store
answers and its schema (migration) version against the one this greenpark needs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from greenpark import __version__
from greenpark.api.deps import BackendDep
from greenpark.api.routes._shared import read_only_store

router = APIRouter(tags=["health"])


@router.get("/health", name="read_health", responses={503: {"description": "the store does not answer"}})
def read_health(backend: BackendDep) -> Any:
    """``status`` ok (200) when the store answers at the schema version this greenpark needs,
    otherwise ``unavailable`` (503) with the reason. Needs no authentication."""
    from greenpark.store import SCHEMA_VERSION, Store

    out: dict[str, Any] = {"status": "ok", "version": __version__,
                           "store": {"engine": backend.store.engine, "reachable": True, "schema_version": None,
                                     "expected_schema_version": SCHEMA_VERSION}}
    try:
        # the store's own query of its migrations, on this thread's read cursor
        version = Store.schema_version(read_only_store(backend))  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - any failure of the store is "unavailable", never a 500
        out["status"] = "unavailable"
        out["store"].update(reachable=False, error=type(exc).__name__)
        return JSONResponse(out, status_code=503)
    out["store"]["schema_version"] = int(version)
    if version != SCHEMA_VERSION:
        out["status"] = "unavailable"
        return JSONResponse(out, status_code=503)
    return out
