"""The audit log of every write (park admins and auditors)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from greenpark.api.deps import BackendDep, Overseer
from greenpark.api.schemas import ERRORS, AuditOut
from greenpark.services import users

router = APIRouter(tags=["audit"], responses=ERRORS)


@router.get("/audit", response_model=list[AuditOut], name="list_audit")
def list_audit(user: Overseer, backend: BackendDep,
               action: Annotated[str | None, Query(max_length=100, description="e.g. readings.push, user.add")] = None,
               username: Annotated[str | None, Query(max_length=100)] = None,
               since: Annotated[dt.datetime | None, Query(description="ISO 8601 instant")] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[dict]:
    """Who did what and when, with the state before and after (newest first)."""
    return users.audit_entries(backend.cursor(), action=action, username=username, since=since, limit=limit,
                                  offset=offset)
