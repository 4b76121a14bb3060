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
         db: DbOpt = None) -> None:
    """Generate a realistic demo park, import a year of its data and print its energy scorecard."""
    from greenpark import demo as demo_mod
    from greenpark import park as park_mod

    t0 = time.perf_counter()
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
    # --- end of demo scorecards
