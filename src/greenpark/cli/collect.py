"""`greenpark collect` (live sources -> spool -> store) and `greenpark status` (what arrives)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from greenpark.cli.app import app
from greenpark.cli.common import (
    DbOpt,
    Format,
    FormatOpt,
    ParkOpt,
    UserError,
    friendly_errors,
    load_park,
    render,
)


@app.command()
@friendly_errors
def collect(
    park: ParkOpt = None,
    db: DbOpt = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only this [[sources]] name (repeatable).")] = None,
    deliver: Annotated[str | None, typer.Option(help="store (this process writes) or api (push to the server); "
                                                     "default: park.toml [collect] deliver.")] = None,
    api_url: Annotated[str | None, typer.Option(help="Server for --deliver api (default [collect] api_url).")] = None,
    token_env: Annotated[str | None, typer.Option(help="Environment variable with the device token "
                                                       "(default [collect] api_token_env).")] = None,
    spool: Annotated[Path | None, typer.Option(help="Spool folder (default [collect] spool_dir).")] = None,
    run_for: Annotated[float | None, typer.Option(help="Stop after this many seconds (default: until SIGTERM).")] = None,
) -> None:
    """Collect readings from park.toml's [[sources]] (MQTT, Modbus TCP, DL/T 645) until SIGTERM or Ctrl+C.

    Every reading is fsync'd into the spool before the broker gets its ack (or the poll counts as
    done), then delivered to the store in batches. Log lines are JSON on stderr; 'greenpark status'
    shows what arrives.
    """
    import os
    import signal
    import threading

    from greenpark.collect import runner

    if deliver not in (None, "store", "api"):
        raise UserError.t("collect.bad_deliver", value=deliver)
    p = load_park(park)
    token = os.environ.get(token_env) if token_env else None
    if token_env and not token:
        raise UserError.t("collect.token_env_unset", env=token_env)
    runner.json_log()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        c = runner.from_park(p, db=db, deliver=deliver, api_url=api_url, token=token, spool_dir=spool,
                             names=source or None)
    except OSError as exc:
        raise UserError.t("collect.spool_unwritable", error=str(exc)) from None
    c.start()
    stop.wait(run_for)
    c.stop()


def _age(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        t = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    s = (dt.datetime.now(dt.UTC) - t).total_seconds()
    return f"{s:.0f} s ago" if s < 120 else f"{s / 60:.0f} min ago" if s < 7200 else iso


@app.command()
@friendly_errors
def status(
    park: ParkOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
    spool: Annotated[Path | None, typer.Option(help="Spool folder (default [collect] spool_dir).")] = None,
) -> None:
    """Live collection: per source and meter the last reading, readings per minute, spool depth,
    gaps, quarantined payloads and the last error (from the running collector's status file and,
    when the store can be opened, the store)."""
    from greenpark.collect.status import sources_status

    p = load_park(park)
    doc = sources_status(p, spool_dir=spool, db=db)

    def table(d):
        from rich.table import Table

        from greenpark.i18n import text

        head = text("collect.status_head", running=text("collect.running" if d["collector"]["running"]
                                                        else "collect.not_running"),
                    depth=d["spool"]["depth"], delivered=d["delivery"].get("readings", 0))
        t = Table(title=head, title_justify="left")
        for col in ("source", "type", "meter", "last reading", "arrived", "readings/min", "gaps 24 h",
                    "quarantined", "last error"):
            t.add_column(col)
        for s in d["sources"]:
            t.add_row(s["name"], s["type"], "", "", _age(s.get("last_message_at")), f"{s['readings_per_min']:g}", "",
                      str(s["quarantined"]), (s.get("last_error") or "")[:60])
            for m in s["meters"]:
                t.add_row("", "", m["meter_id"], m.get("last_timestamp") or "-", "", f"{m['readings_per_min']:g}",
                          "" if m.get("gaps_24h") is None else str(m["gaps_24h"]), "", "")
        return t

    render(doc, format, table=table)
