"""``greenpark aqi``: HJ 633 AQI calculator for a concentration CSV file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from greenpark.cli.app import app
from greenpark.cli.common import UserError, dumps_json, err_console, friendly_errors

if TYPE_CHECKING:
    import pandas as pd


class AqiFormat(StrEnum):
    csv = "csv"
    json = "json"


#: spellings of the daily ozone item (the maximum 8-hour mean) beside the station parameters' aliases
O3_8H_ALIASES = ("o3_8h", "o3-8h", "o3 8h", "o3_8h_max", "o3-8h-max", "mda8", "o₃-8h", "臭氧8小时")


def _canonical_column(name: str) -> str:
    """'PM2.5' -> 'pm25', 'O3-8h' -> 'o3_8h', ' SO2 ' -> 'so2' (aliases of station_parameters.csv)."""
    from greenpark import reference

    low = str(name).strip().lower()
    if low in O3_8H_ALIASES:
        return "o3_8h"
    for r in reference.load("station_parameters").rows:
        if r["kind"] == "air" and (low == r["parameter"] or low in
                                   {a.strip().lower() for a in r["aliases"].split(";") if a.strip()}):
            return r["parameter"]
    return low if low in ("date", "timestamp", "station") else str(name)


def _read_concentrations(path: Path, report: str) -> pd.DataFrame:
    """Read and check the CSV: first column date/timestamp, optional station, pollutant columns."""
    import numpy as np
    import pandas as pd

    from greenpark.core import aqi as aqi_mod

    if not path.exists():
        raise UserError(f"{path}: no such file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable CSV file ({exc})") from None
    raw = raw.rename(columns=_canonical_column)
    key = "date" if report == "daily" else "timestamp"
    if len(raw.columns) == 0 or raw.columns[0] != key:
        first = raw.columns[0] if len(raw.columns) else "(none)"
        raise UserError(f"{path}: the first column must be '{key}' for --{report} (found '{first}')")
    need = aqi_mod.REQUIRED_ITEMS[report]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}; --{report} needs {key}, "
                        f"[station], {', '.join(need)} (optional: {', '.join(aqi_mod.OPTIONAL_ITEMS[report])})")
    df = raw.copy()
    line = np.arange(len(df)) + 2  # file line of each row (header is line 1)
    parsed = pd.to_datetime(df[key].str.strip(), errors="coerce", format="ISO8601")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UserError(f"{path} line {line[i]}, column '{key}': '{df[key].iloc[i]}' is not a date (use YYYY-MM-DD"
                        f"{'' if report == 'daily' else ' HH:MM[+08:00]'})")
    if report == "daily":
        df[key] = parsed.dt.date
    for c in [c for c in (*need, *aqi_mod.OPTIONAL_ITEMS[report]) if c in df.columns]:
        text = df[c].str.strip()
        num = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = (num.isna() & (text != "")).to_numpy() | (num < 0).to_numpy() | np.isinf(num.to_numpy(dtype=float))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UserError(f"{path} line {line[i]}, column '{c}': '{df[c].iloc[i]}' is not a concentration "
                            f"(a number >= 0 in {'mg/m3' if c == 'co' else 'ug/m3'}; leave empty when missing)")
        df[c] = num.astype(float)
    return df


@app.command("aqi")
@friendly_errors
def aqi_command(
    file: Annotated[Path, typer.Argument(help="Concentration CSV: date|timestamp, optional station, pollutant columns.")],
    daily: Annotated[bool, typer.Option("--daily", help="Daily rows: so2, no2, pm10, pm25, co, o3_8h (optional o3_1h).")] = False,
    hourly: Annotated[bool, typer.Option("--hourly", help="Hourly rows: so2, no2, pm10, pm25, co, o3 (optional so2_24h).")] = False,
    edition: Annotated[str | None, typer.Option("--edition", help="HJ 633 edition 2012 or 2026 (default: the one in force on each row's date).")] = None,
    fmt: Annotated[AqiFormat, typer.Option("--format", "-f", help="Output format.")] = AqiFormat.csv,
    out: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of standard output.")] = None,
) -> None:
    """Compute IAQI, AQI, primary pollutant, level and category (HJ 633-2012 / HJ 633-2026).

    Concentrations in ug/m3, CO in mg/m3.
    """
    from greenpark.core import aqi as aqi_mod

    if daily == hourly:
        raise UserError("choose exactly one of --daily or --hourly")
    if edition is not None and edition not in aqi_mod.EDITIONS:
        raise UserError(f"--edition must be one of {', '.join(aqi_mod.EDITIONS)} (got '{edition}')")
    report = "daily" if daily else "hourly"
    df = _read_concentrations(file, report)
    try:
        result = aqi_mod.aqi_hj633(df, report=report, edition=edition)
    except aqi_mod.AQIInputError as exc:
        raise UserError(f"{file}: {exc}") from None
    table = result.table
    if fmt is AqiFormat.json:
        rows = table.astype(object).where(table.notna(), None).to_dict(orient="records")
        text = dumps_json({"report": report, "rows": rows, "flags": result.flags, "references": result.references})
    else:
        text = table.to_csv(index=False, lineterminator="\n")
        for f in result.flags:
            if f["code"].startswith("reference."):
                err_console.print(f"[yellow]note:[/] {f['code']}: {', '.join(f['ids'])}", highlight=False, soft_wrap=True)
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
