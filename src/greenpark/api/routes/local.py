"""``POST /local/snapshot``: a consistent copy of the DuckDB store for the CLI on this machine
(issue 15 item 8).

While the server holds the DuckDB file no other process can open it, not even to read. The CLI
finds the server through its discovery file (:mod:`greenpark.discovery`) and asks here for a
snapshot: taken on the writer thread (no write half done), written beside the database, mode
0600; the CLI reads it with its usual code and deletes it. Answered only to this machine's
addresses and only with the secret of the discovery file; anything else gets the 404 of a path
that does not exist. Not in the OpenAPI document: it is not part of the public API.
"""

from __future__ import annotations

import datetime as dt
import hmac

from fastapi import APIRouter, Request

from greenpark.api.deps import BackendDep
from greenpark.api.errors import not_found
from greenpark.discovery import SECRET_HEADER
from greenpark.store import snapshot as store_snapshot

router = APIRouter(include_in_schema=False)


@router.post("/local/snapshot")
async def take_snapshot(request: Request, backend: BackendDep) -> dict:
    secret = getattr(request.app.state, "local_secret", None)
    hosts = getattr(request.app.state, "local_hosts", frozenset())
    given = request.headers.get(SECRET_HEADER, "")
    client = request.client.host if request.client else None
    if (secret is None or backend.store.engine != "duckdb" or client not in hosts
            or not hmac.compare_digest(given.encode(), secret.encode())):
        raise not_found("no such path; GET /api/v1/openapi.json lists the API")
    path = await backend.exclusive(lambda store: store_snapshot.copy_duckdb(store.con, backend.db))
    return {"path": str(path), "taken_at": dt.datetime.now(dt.UTC).isoformat()}
