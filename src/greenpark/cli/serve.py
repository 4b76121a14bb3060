"""`greenpark serve`: the REST API and the dashboard, in one process that is the store's only writer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from greenpark.cli.app import app
from greenpark.cli.common import DbOpt, ParkOpt, UserError, console, friendly_errors, load_park, park_store


@app.command()
@friendly_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    park: ParkOpt = None,
    db: DbOpt = None,
    session_hours: Annotated[float, typer.Option(help="How long a browser session lasts [h].")] = 12.0,
    secure_cookies: Annotated[bool, typer.Option(help="Mark cookies Secure (when served behind HTTPS).")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: warning, info, debug.")] = "info",
    collect: Annotated[bool, typer.Option("--collect", help="Also run the collector of park.toml's [[sources]] in "
                                                            "this process; it writes through the server.")] = False,
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /api/v1/openapi.json) and the dashboard (/).

    The server opens the store for writing. Read commands (energy, carbon, quarantine...) keep
    working while it runs: they read a snapshot the server takes for them. Commands that write
    (ingest, user add) say to stop it or to use the API. Create the first park admin before
    starting it:
    'greenpark user add NAME --role park_admin'.
    """
    try:
        import uvicorn

        from greenpark.api import create_app
        from greenpark.api.security import Settings
    except ImportError as exc:
        raise UserError(f"the server needs its packages ({exc.name} is missing): pip install 'greenpark[server]'") from None
    from greenpark.store import StoreError

    if not 0 < port < 65536:
        raise UserError(f"--port {port}: use 1-65535")
    p = load_park(park)
    settings = Settings(session_ttl=dt.timedelta(hours=session_hours), secure_cookies=secure_cookies)
    application = create_app(p, db, settings=settings, freeze_gc=True,
                             on_start=collector_starter(p) if collect else None)
    application.state.announce = _announcement(host, port)
    _hint_first_user(p, db)
    console.print(f"greenpark: dashboard and API of [bold]{p.park.name_en}[/] at http://{host}:{port}/ "
                  f"(API: /api/v1, OpenAPI: /api/v1/openapi.json); Ctrl+C stops", highlight=False)
    try:
        uvicorn.run(application, host=host, port=port, log_level=log_level, workers=1)
    except StoreError as exc:
        raise UserError(str(exc)) from None


def _announcement(host: str, port: int) -> dict:
    """The URL the CLI on this machine uses to ask the server for snapshots, and the client
    addresses the snapshot endpoint answers (this machine's: loopback, or the address served)."""
    wildcard = host in ("0.0.0.0", "::", "")
    local = "127.0.0.1" if wildcard or host == "localhost" else host
    url_host = f"[{local}]" if ":" in local else local
    return {"url": f"http://{url_host}:{port}", "hosts": {"127.0.0.1", "::1", local}}


def _hint_first_user(p, db) -> None:
    from greenpark.services import users

    with park_store(p, db, read_only=False) as (p, store):  # opened for writing: creates or migrates the store
        n = sum(1 for u in users.list_users(store.con) if u["revoked_at"] is None)
    if n == 0:
        console.print("[yellow]No users yet:[/] stop the server (Ctrl+C) and create the first park admin with "
                      "'greenpark user add NAME --role park_admin'; then park admins add others in the API.",
                      highlight=False)


def collector_starter(p):
    """``on_start`` of the server for ``--collect``: the park's collector, delivering through the
    server's writer thread (sources are validated now, before the server starts)."""
    from greenpark.collect import config, runner

    config.source_configs(p)
    runner.json_log()

    def start(backend):
        c = runner.from_park(p, delivery=runner.BackendDelivery(backend, p))
        c.start()
        return c.stop

    return start
