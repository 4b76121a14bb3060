"""`greenpark report`: the park's annual scorecard, an enterprise's energy-utilisation report, its GHG
inventory or an M&V savings report, as self-contained HTML, PDF or Excel (greenpark.reports)."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from greenpark.cli.app import app
from greenpark.cli.common import DbOpt, ParkOpt, UserError, console, friendly_errors, load_park, park_store


class Kind(str, Enum):
    park = "park"
    enterprise = "enterprise"
    carbon = "carbon"
    mv = "mv"


class DocFormat(str, Enum):
    html = "html"
    pdf = "pdf"
    xlsx = "xlsx"


class Lang(str, Enum):
    zh = "zh"
    en = "en"
    both = "both"


@app.command("report")
@friendly_errors
def report_cmd(
    kind: Annotated[Kind, typer.Argument(help="park, enterprise, carbon or mv.")],
    subject: Annotated[str | None, typer.Argument(help="Enterprise id (enterprise, carbon) or M&V project id (mv).")] = None,
    period: Annotated[str | None, typer.Option(help="Calendar year, e.g. 2025 (not needed for mv).")] = None,
    format: Annotated[DocFormat, typer.Option("--format", "-f", help="html, pdf or xlsx.")] = DocFormat.html,
    lang: Annotated[Lang, typer.Option(help="zh, en or both (side by side).")] = Lang.both,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: "
                                                "report-<kind>-<id>-<period>.<format> in the current folder).")] = None,
    template: Annotated[Path | None, typer.Option(help="enterprise: the report layout (TOML; default the "
                                                       "shipped Hebei 2008 edition of the national form).")] = None,
    fill: Annotated[Path | None, typer.Option(help="enterprise: the enterprise's own entries (TOML: "
                                                   "a tables.<table id> section with rows or text: equipment, narrative).")] = None,
    park: ParkOpt = None,
    db: DbOpt = None,
) -> None:
    """Write a report as self-contained HTML, PDF (WeasyPrint) or Excel, with lineage and data version."""
    from greenpark.reports import model, render

    year = None
    if period is not None:
        if not re.fullmatch(r"\d{4}", period.strip()):
            raise UserError.t("report.period_year", period=period)
        year = int(period)
    if kind != Kind.park and not subject:
        raise UserError.t("report.needs_mv_id" if kind == Kind.mv else "report.needs_enterprise_id", kind=kind.value)
    if kind in (Kind.park, Kind.enterprise, Kind.carbon) and year is None:
        raise UserError.t("report.needs_period", kind=kind.value)
    if kind == Kind.park and subject:
        raise UserError("greenpark report park takes no id (the park of park.toml)")
    lang_code = None if lang == Lang.both else lang.value
    p = load_park(park)
    with park_store(p, db) as (p, store):
        rep = model.build(kind.value, store, p, subject, year, template=template, fill=fill)
    data = render.render(rep, format.value, lang_code)
    out = output or Path(render.file_name(rep, format.value, lang_code))
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise UserError(f"-o {out}: cannot write ({exc})") from None
    n_unv = sum(1 for f in rep.flags if f.get("code") == "report.unverified_values")
    console.print(f"{out} ({len(data):,} bytes, {format.value}); data version: import "
                  f"#{rep.data_version.get('last_import_id')}"
                  + (", carbon result " + str(rep.data_version["carbon_result"]) if "carbon_result" in rep.data_version
                     else "")
                  + ("; [red]uses UNVERIFIED values (flagged in the report)[/]" if n_unv else ""),
                  highlight=False, soft_wrap=True)
