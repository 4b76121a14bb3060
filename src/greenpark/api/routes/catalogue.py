"""The catalogue of labels: every code the API returns (finding and reason codes, carrier, industry,
unit, statistic and metric ids, roles, statuses, verdicts, error codes) with its zh and en label.

Public (no token): it holds no park data, and the login page translates error codes with it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from greenpark import findings

router = APIRouter(tags=["catalogue"])


@router.get("/catalogue", name="get_catalogue")
def get_catalogue(
    kind: Annotated[list[str] | None, Query(description="only these kinds (finding, reason, carrier, ...)")] = None,
    lang: Annotated[Literal["zh", "en"] | None, Query(description="one language: {kind: {code: label}}")] = None,
) -> dict:
    """``{"kinds": [...], "entries": [{kind, code, zh, en, meaning}]}``; with ``lang``:
    ``{"lang", "labels": {kind: {code: label}}}``. Codes with ``{placeholders}`` are patterns
    (``air.insufficient_days.{pollutant}``) whose placeholder takes the label of its own kind."""
    wanted = set(kind or findings.KINDS)
    if lang:
        return {"lang": lang, "labels": {k: v for k, v in findings.labels(lang).items() if k in wanted}}
    return {"kinds": [k for k in findings.KINDS if k in wanted],
            "entries": [r for r in findings.catalogue() if r["kind"] in wanted]}
