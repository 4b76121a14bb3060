"""The FastAPI application of ``greenpark serve``: the REST API under ``/api/v1`` (its OpenAPI
document at ``/api/v1/openapi.json``) and the dashboard at ``/``, in one process that is the
store's single writer."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from greenpark import __version__, discovery
from greenpark.api import errors
from greenpark.api.backend import Backend
from greenpark.api.ratelimit import LoginThrottle
from greenpark.api.routes import (
    audit,
    auth,
    carbon,
    catalogue,
    energy,
    environment,
    health,
    imports,
    local,
    mv,
    readings,
    reports,
    sources,
)
from greenpark.api.routes import indicators as indicator_routes
from greenpark.api.routes import park as park_routes
from greenpark.api.routes import targets as target_routes
from greenpark.api.routes import users as user_routes
from greenpark.api.security import HttpGuard, Settings
from greenpark.park import Park
from greenpark.services import users as user_service

API_PREFIX = "/api/v1"
log = logging.getLogger("greenpark.api")


def _operation_id(route: APIRoute) -> str:
    return route.name


#: the server's own writes (housekeeping) in the audit log
SERVER = user_service.Principal(user_id=None, username="server", role=None, via="server")  # type: ignore[arg-type]


async def purge_sessions(backend: Backend, settings: Settings) -> dict[str, int]:
    """Delete ended sessions and long-dead API tokens (:func:`greenpark.services.users.purge_sessions`),
    with an audit record; nothing is written when there is nothing to delete."""
    from starlette.concurrency import run_in_threadpool

    found = await run_in_threadpool(
        lambda: user_service.ended_counts(backend.cursor(), token_retention=settings.token_retention))
    if not any(found.values()):
        return found

    def run(store):
        with store.transaction() as con:
            counts = user_service.purge_sessions(con, token_retention=settings.token_retention)
            user_service.audit(con, SERVER, "sessions.purge", "sessions and tokens", after=counts)
        return counts

    return await backend.write(run)


async def _purge_periodically(backend: Backend, settings: Settings) -> None:
    while True:
        try:
            await purge_sessions(backend, settings)
        except asyncio.CancelledError:
            raise
        except Exception:  # housekeeping must not stop the server; the next round tries again
            log.exception("purging ended sessions failed")
        await asyncio.sleep(settings.purge_interval.total_seconds())


def _announce(app: FastAPI) -> bool:
    """Write the discovery file of a server started by ``greenpark serve`` on a DuckDB file
    (``app.state.announce``: its URL and the addresses of this machine it listens on), so that
    CLI read commands can ask it for a snapshot (routes/local.py). Returns whether it wrote one."""
    spec = getattr(app.state, "announce", None)
    backend = app.state.backend
    if not spec or backend.store.engine != "duckdb" or backend.db == ":memory:":
        return False
    app.state.local_secret = secrets.token_urlsafe(32)
    app.state.local_hosts = frozenset(spec["hosts"])
    discovery.announce(backend.db, spec["url"], app.state.local_secret)
    return True


def create_app(park: Park, db: str | None = None, *, settings: Settings | None = None,
               dashboard: bool = True, freeze_gc: bool = False,
               on_start: Callable[[Backend], Callable[[], None]] | None = None) -> FastAPI:
    """The application for ``park`` on the store ``db`` (default: park.toml's db).

    The store is opened (and migrated, and park.toml's meters synced) when the application starts
    and closed when it stops; tests enter ``TestClient(app)`` as a context manager for that.
    ``freeze_gc``: freeze the objects alive at start-up out of the cyclic GC (for a server process).
    ``on_start(backend)``: runs once the store is open and returns what to run before it closes
    (``greenpark serve --collect`` starts the collector there, writing through the backend).
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.backend = Backend(park, db)
        on_stop = on_start(app.state.backend) if on_start is not None else None
        announced = _announce(app)
        if freeze_gc:
            # objects made at start-up (park model, reference data, modules) live as long as the
            # process: keep them out of the cyclic GC's full passes, which otherwise stall requests
            # (p99 of the overview at 50 clients: 140 ms -> 45 ms, bench/bench_api.py)
            gc.collect()
            gc.freeze()
        log.info("greenpark %s serving park %s from %s", __version__, park.park.id, app.state.backend.db)
        purger = asyncio.create_task(_purge_periodically(app.state.backend, settings), name="greenpark-purge")
        try:
            yield
        finally:
            if on_stop is not None:
                on_stop()
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            if announced:
                discovery.withdraw(app.state.backend.db)
            app.state.backend.close()

    app = FastAPI(
        title="greenpark API",
        version=__version__,
        summary="Energy, carbon and environment accounts of a green industrial park",
        description=("Versioned REST API of greenpark. Authenticate with an API token "
                     "(`Authorization: Bearer gpk_...`, issued by `greenpark user add ... --token` or "
                     "POST /api/v1/tokens) or a browser session (POST /api/v1/auth/login; writes then need "
                     "the X-CSRF-Token header). Every error has the shape "
                     "`{\"error\": {\"status\", \"code\", \"message\", \"details\"}}`."),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN: greenpark.web.install_docs ships its own
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.park = park
    #: failed logins per username and address (in memory: per process); tests set its ``clock``
    app.state.login_throttle = LoginThrottle.from_settings(settings)
    errors.install(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (health, auth, user_routes, park_routes, readings, energy, environment, carbon, target_routes, mv, imports,
                   reports, audit, catalogue, indicator_routes, sources, local):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(sources.metrics_router)
    from greenpark.web import install_docs

    install_docs(app, API_PREFIX, f"{API_PREFIX}/openapi.json")  # /api/v1/docs, assets shipped (no CDN)
    # body size limits (413) and security headers on every response (Cache-Control: no-store on the API's)
    app.add_middleware(HttpGuard, settings=settings, api_prefix=API_PREFIX + "/")
    if dashboard:
        from greenpark.web import install as install_dashboard

        install_dashboard(app)
    return app
