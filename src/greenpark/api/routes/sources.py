"""Live collection as the server sees it: ``GET /api/v1/sources`` (park admins and auditors) per
source and meter, and ``GET /metrics`` (park admins) in the Prometheus text format.

The collector's counters come from the status file it writes into its spool folder (park.toml
``[collect] spool_dir``: the server and the collector share a machine or a volume); the store's view
(last stored reading, gaps, rows the ingest path quarantined) from this server's read cursor.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from greenpark.api.deps import Admin, BackendDep, Overseer, ParkDep
from greenpark.api.schemas import ERRORS
from greenpark.collect.status import prometheus_text, read_status, sources_status

router = APIRouter(tags=["sources"], responses=ERRORS)
#: mounted at the root (``/metrics``), where Prometheus looks by default
metrics_router = APIRouter(tags=["sources"], responses=ERRORS)


@router.get("/sources", name="read_sources")
def read_sources(user: Overseer, park: ParkDep, backend: BackendDep) -> dict[str, Any]:
    """Per ``[[sources]]`` entry and meter: last reading, readings per minute, gaps of the last 24 h,
    quarantined payloads and rows, last error; the collector's spool depth and delivery state."""
    return backend.results.get(("sources",), lambda: sources_status(park, cur=backend.cursor()), ttl=2.0)


@metrics_router.get("/metrics", name="read_metrics", response_class=PlainTextResponse, include_in_schema=False,
                    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format 0.0.4"}})
def read_metrics(user: Admin, park: ParkDep, backend: BackendDep) -> PlainTextResponse:
    """Counters of the collector (messages, readings, quarantined payloads, spool depth, deliveries)
    and the meters' gaps, in the Prometheus text exposition format (park admins only)."""
    doc = sources_status(park, cur=backend.cursor())
    gaps = [m | {"meter_id": m["meter_id"]} for s in doc["sources"] for m in s["meters"]]
    text = prometheus_text(read_status(park.spool_path), gaps)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
