"""`greenpark init` and `greenpark demo`."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from greenpark.cli.app import app
from greenpark.cli.common import DbOpt, UserError, console, friendly_errors, park_store
from greenpark.cli.data import reasons_table, run_ingest, summary_table
from greenpark.cli.energy import scorecard


@app.command()
@friendly_errors
def init(directory: Annotated[Path, typer.Argument(help="Folder to write park.toml into (created if missing).")],
         force: Annotated[bool, typer.Option(help="Overwrite an existing park.toml.")] = False) -> None:
    """Write a documented example park.toml to start from."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "park.toml"
    if target.exists() and not force:
        raise UserError(f"{target} exists; pass --force to overwrite it")
    from greenpark import park as park_mod

    text = resources.files("greenpark").joinpath("templates/park.toml").read_text(encoding="utf-8")
    park_mod.parse(text, source="template")  # the template must always be valid
    target.write_text(text, encoding="utf-8")
    console.print(f"wrote {target}: edit it, then import readings with [bold]greenpark ingest FILE --park {target}[/]")


@app.command()
@friendly_errors
def demo(directory: Annotated[Path, typer.Argument(help="Folder for the demo park (park.toml, data/, store).")] = Path("demo-park"),
         seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same park.")] = 2025,
         year: Annotated[int, typer.Option(help="Year of data (chinese-calendar covers 2004-2026).")] = 2025,
         db: DbOpt = None,
         live: Annotated[bool, typer.Option("--live", help="Then run it live: a Mosquitto broker, simulated gateways "
                                                          "and meters, the collector and the dashboard (reuses a demo "
                                                          "already in DIRECTORY).")] = False,
         port: Annotated[int, typer.Option(help="Dashboard port of --live.")] = 8000,
         region: Annotated[int | None, typer.Option(help="Instead: a synthetic region of N key energy-using units "
                                                         "(15-minute Parquet, region.toml; see 'greenpark region').")] = None,
         meters: Annotated[int, typer.Option(help="--region: meters per unit.")] = 10,
         days: Annotated[int | None, typer.Option(help="--region: days of data (default the whole year).")] = None) -> None:

    """Generate a realistic demo park, import a year of its data and print its energy scorecard."""
    from greenpark import demo as demo_mod
    from greenpark import park as park_mod

    if live and (directory / "park.toml").is_file() and (db or Path(park_mod.load(directory / "park.toml").db_path).is_file()):
        _live(directory, year, port, db)  # the demo is there: go live at once
        return
    t0 = time.perf_counter()
    if region is not None:
        from greenpark.demo.region import generate_region

        try:
            r = generate_region(directory, region, meters=meters, days=days, year=year, seed=seed)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        console.print(f"wrote {r.region_toml}: {r.units} units, {r.readings:,} readings in {r.data} "
                      f"({time.perf_counter() - t0:.1f} s). Next: greenpark region ingest {r.region_toml}; "
                      f"greenpark region report {r.region_toml} --year {year}")
        return
    with console.status("generating the demo park (about 30 enterprises, one year of 15-minute data)..."):
        files = demo_mod.generate(directory, seed=seed, year=year)
    console.print(f"wrote {files.park_toml} and {len(files.data_files)} data files in {directory / 'data'}")
    p = park_mod.load(files.park_toml)
    if db is None:
        for suffix in ("", ".wal"):
            Path(p.db_path + suffix).unlink(missing_ok=True)  # the demo store is rebuilt from its files
    # --db postgresql://...: an existing database keeps what it has (re-imports change nothing)
    with park_store(p, db, read_only=False) as (p, store):
        _demo_accounts(store, p, files, year)
    console.print(f"[dim]demo ready in {time.perf_counter() - t0:.1f} s. Try: cd {directory} && greenpark energy "
                  f"--period {year}-Q3 --by end-use; greenpark quarantine; greenpark energy --period {year} --format json[/]")
    if live:
        _live(directory, year, port, db)


def _live(directory: Path, year: int, port: int, db: str | None = None) -> None:
    """The live demo: broker, simulated gateways (and Modbus / DL/T 645 meters when available), and
    the server with the collector inside it (one writer) until Ctrl+C."""
    import datetime as dt
    import secrets

    from greenpark import park as park_mod
    from greenpark.collect.broker import Mosquitto, mosquitto_path
    from greenpark.demo import live as live_mod

    if mosquitto_path() is None:
        raise UserError.t("collect.no_mosquitto")
    park_toml = directory / "park.toml"
    broker = Mosquitto(directory / "broker")
    try:
        broker.start()
    except (OSError, RuntimeError) as exc:  # TimeoutError is an OSError
        raise UserError.t("collect.broker_failed", error=str(exc)) from None
    with broker:
        live_mod.write_live_sources(park_toml, broker.url)  # drops the meters of an earlier live run first
        extra, stop_sims = live_mod.polled_demo_sources(park_mod.load(park_toml))
        live_mod.write_live_sources(park_toml, broker.url, extra)
        p = park_mod.load(park_toml)
        password = None
        from greenpark.services import users

        with park_store(p, db, read_only=False) as (p, store), store.transaction():
            store.sync_park(p)
            if not any(u["revoked_at"] is None for u in users.list_users(store.con)):
                password = secrets.token_urlsafe(12)
                users.add_user(store.con, p, "admin", "park_admin", password=password, created_by="demo --live")
        start = dt.datetime(year + 1, 1, 1, tzinfo=p.tz)
        gateways = live_mod.SimulatedGateways(broker.url, p, start=start).start()
        console.print(f"live demo: Mosquitto at {broker.url}; {len(gateways.by_gateway)} simulated gateways publish the "
                      f"next 15 minutes of {sum(map(len, gateways.by_gateway.values()))} meters every second (from "
                      f"{start:%Y-%m-%d}); simulated Modbus TCP and DL/T 645 meters (LIVE-MB-1, LIVE-MB-2, LIVE-645-1): "
                      f"{'polled every 5 s' if stop_sims is not None else 'not in this version'}", highlight=False)
        if password:
            console.print(f"dashboard login: admin / {password}  (live sources page: http://127.0.0.1:{port}/sources)", highlight=False)
        console.print(f"watch: cd {directory} && greenpark status   (Ctrl+C stops everything)", highlight=False)
        from greenpark.cli.serve import serve

        try:
            serve(host="127.0.0.1", port=port, park=park_toml, db=db, session_hours=12.0, secure_cookies=False,
                  log_level="warning", collect=True)
        finally:
            gateways.stop()
            if stop_sims is not None:
                stop_sims()


def _demo_accounts(store, p, files, year: int) -> None:
    """Import the demo's files and print its scorecards: energy, carbon and targets, air and water, M&V."""
    from greenpark.core.energy import parse_period
    from greenpark.services import energy as energy_mod

    results = run_ingest(store, p, files.data_files)
    console.print(summary_table(results))
    if (rt := reasons_table(results)) is not None:
        console.print(rt)
    result = energy_mod.compute(store.con, p, parse_period(str(year)))
    console.print(scorecard(result))
    # --- demo scorecards after energy: carbon and targets (issue 3), M&V (issue 5), air and water (issue 4)
    # carbon and targets (issue 3): publishes the year's carbon result in the demo store
    from greenpark.cli.carbon import carbon_scorecard, targets_view
    from greenpark.services import carbon_accounts, targets

    console.print(carbon_scorecard(carbon_accounts.carbon_report(store, p, year), p, top=10))
    console.print(targets_view(targets.targets_report(store, p, year), p))
    # air and water (issue 4)
    from greenpark.cli.env import aqi_calendar
    from greenpark.services.environment import air_record, water_record

    air = air_record(store.con, p, str(year))
    wat = water_record(store.con, p, str(year))
    console.print(f"[bold]Air {year} 空气质量[/]: PM2.5 {air['pm25_annual_mean']} µg/m³, good days 优良天数比例 "
                  f"{air['good_days_ratio']} %, heavily polluted 重污染 {air['heavy_pollution_days_ratio']} %, "
                  f"composite index 综合指数 {air['composite_index']} ({air['edition']['evaluation']}).  "
                  f"[bold]Water 水质[/]: {wat['good_share_pct']} % of sections in classes I–III")
    console.print(aqi_calendar(air["daily_aqi"]))
    # M&V (issue 5): the verified saving of each retrofit project (plot mv-<project>.png next to the store)
    from greenpark.cli.mv import demo_scorecard

    for line in demo_scorecard(store, p):
        console.print(line)
    # reports (issue 12): the park's annual report in the three formats, under <park folder>/reports/
    _demo_reports(store, p, files.park_toml.parent / "reports", year)
    # --- end of demo scorecards


def _demo_reports(store, p, folder: Path, year: int) -> None:
    """Write the park report of ``year`` as HTML, PDF and xlsx into ``folder`` and say where they are."""
    from greenpark.reports import model, render
    from greenpark.reports.pdf import PdfUnavailable

    folder.mkdir(parents=True, exist_ok=True)
    rep = model.build("park", store, p, None, year)
    for fmt in ("html", "pdf", "xlsx"):
        out = folder / render.file_name(rep, fmt)
        try:
            out.write_bytes(render.render(rep, fmt))
        except PdfUnavailable as exc:
            console.print(f"[yellow]report {fmt}: {exc}[/]")
            continue
        console.print(f"Report 报告 ({fmt}): {out}")
    console.print(f"[dim]Other reports: greenpark report enterprise E01 --period {year} --format pdf; "
                  f"greenpark report carbon E01 --period {year} --format xlsx; greenpark report mv <project>[/]")
