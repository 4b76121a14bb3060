"""`greenpark energy`: comprehensive energy consumption (GB/T 2589-2020) with lineage."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from greenpark.cli.app import app
from greenpark.cli.common import (
    DbOpt,
    EngineOpt,
    Format,
    FormatOpt,
    ParkOpt,
    code_table,
    friendly_errors,
    header,
    lab,
    lang,
    load_park,
    msg,
    run,
)


class By(str, Enum):
    """The breakdowns of :class:`greenpark.core.energy.By` (declared here: the CLI starts without pandas)."""

    carrier = "carrier"
    enterprise = "enterprise"
    building = "building"
    end_use = "end-use"
    month = "month"


def _n(x, digits=2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f} %"


def scorecard(result: dict) -> Group:
    """The energy scorecard of the park, labelled in the command's language (``--lang``)."""
    p = result["park"]
    h = lambda code: f"[bold]{escape(header(code))}[/]"  # noqa: E731
    head = Table.grid(padding=(0, 3))
    for _ in range(4):
        head.add_column()
    head.add_row(h("comprehensive_energy"), f"[bold green]{_n(p['tce'])} tce[/]",
                 h("tce_equal_value"), f"{_n(p['tce_equal_value'])} tce")
    head.add_row(h("renewable_share"), _pct(p["renewable_share"]),
                 h("electricity"), f"{_n(p['electricity_kwh'] / 1e4)} {lab('unit', '10^4 kWh')}")
    it = p.get("intensity") or {}
    head.add_row(h("tce_per_10k_cny_value_added"), _n(it.get("tce_per_10k_cny_value_added"), 4),
                 h("tce_per_10k_cny_output"), _n(it.get("tce_per_10k_cny_output"), 4))
    carriers = Table(title=msg("cli.energy.table.by_carrier"), title_justify="left")
    for c in ("carrier", "quantity", "unit", "coefficient", "tce"):
        carriers.add_column(escape(header(c, "tce" if c == "tce" else None)), justify="left" if c in ("carrier", "unit") else "right")
    for c in p["carriers"]:
        carriers.add_row(lab("carrier", c["carrier"]), _n(c["quantity"], 1), lab("unit", c["unit"]),
                         f"{c['coefficient']} {c.get('coefficient_unit') or 'kgce/' + c['unit']}",
                         _n(c["tce"]) if c["counted_in_total"] else msg("cli.energy.not_counted"))
    ents = Table(title=msg("cli.energy.table.enterprises", top=15), title_justify="left")
    for c in ("id", "name", "industry", "tce", "renewable_share", "tce_per_10k_cny_value_added"):
        ents.add_column(escape(header(c, "tce" if c == "tce" else None)), justify="left" if c in ("id", "name", "industry") else "right")
    for e in sorted(result["enterprises"], key=lambda e: -e["tce"])[:15]:
        ents.add_row(e["id"], e["name_zh"] if lang() == "zh" else e["name_en"], lab("industry", e["industry"]),
                     _n(e["tce"]), _pct(e["renewable_share"]),
                     _n((e.get("intensity") or {}).get("tce_per_10k_cny_value_added"), 4))
    name = f"{p['name_zh']} · {p['name_en']}"
    return Group(Panel(head, title=escape(msg("cli.energy.title", park=name, period=result["period"]["label"])),
                       subtitle="GB/T 2589-2020"), carriers, ents, footnote(result))


def footnote(result: dict) -> str:
    lin = result["lineage"]
    coefs = "; ".join(f"{c['id']} {c['value']} {c['unit']} [{c['status']}] ({c['source']})"
                      for c in lin["coefficients"] if any(m["coefficient_id"] == c["id"] for m in lin["meters"]))
    n_meters = len(lin["meters"])
    readings = sum(m["readings"] for m in lin["meters"])
    comp = [m["completeness_pct"] for m in lin["meters"] if m["completeness_pct"] is not None and m["role"] != "sub-meter"]
    lines = [escape(msg("cli.energy.lineage", meters=n_meters, readings=f"{readings:,}",
                        completeness=f"{min(comp) if comp else 0:.2f}", coefficients=coefs))]
    if lin.get("equal_value_coal_rate"):
        r = lin["equal_value_coal_rate"]
        lines.append(escape(msg("cli.energy.coal_rate", value=r["value"], unit=r["unit"], status=r["status"],
                                source=r["source"])))
    lines.append(escape(msg("cli.energy.working_media_note")))
    codes: dict[str, int] = {}
    for f in result["flags"]:
        codes[f["code"]] = codes.get(f["code"], 0) + 1
    if codes:
        lines.append(escape(msg("cli.flags", flags=", ".join(f"{k} {lab('finding', k)} x{v}" for k, v in codes.items()))))
    return "[dim]" + "\n".join(lines) + "[/]"


@app.command()
@friendly_errors
def energy(
    period: Annotated[str, typer.Option(help="2025, 2025-Q1 or 2025-03 (park time).")],
    enterprise: Annotated[str | None, typer.Option(help="Only this enterprise id.")] = None,
    by: Annotated[By | None, typer.Option(help="Break down by carrier, enterprise, building, end-use or month.")] = None,
    park: ParkOpt = None,
    db: DbOpt = None,
    engine: EngineOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Comprehensive energy consumption in tce (GB/T 2589-2020), renewable share and intensity."""
    from greenpark.core import energy as core_energy
    from greenpark.services import energy as energy_mod

    p = load_park(park)
    if enterprise:
        p.enterprise(enterprise)
    per = core_energy.parse_period(period)  # a PeriodError is an InputError: friendly_errors prints it
    breakdown = core_energy.By(by.value) if by is not None else None

    def table(result: dict) -> list:
        if breakdown is None and enterprise is None:
            return [scorecard(result)]
        view = breakdown or core_energy.By.carrier
        rows = core_energy.rows_for(result, view)
        if lang() == "zh":  # the one name column of the language (CSV/JSON keep both)
            rows = [{k: v for k, v in r.items() if k != "name_en"} for r in rows]
        else:
            rows = [{k: v for k, v in r.items() if k != "name_zh"} for r in rows]
        title = msg("cli.energy.table.view", period=per.label, by=header(view.value.replace("-", "_")))
        t = code_table(rows, title=escape(title + (f" — {enterprise}" if enterprise else "")),
                       units=core_energy.row_units(result, view))
        return [t, footnote(result)]

    # CSV: stable codes as headers, the union of the rows' columns (every carrier of --by month)
    run(p, db, lambda p, store: energy_mod.compute(store.con, p, per, enterprise=enterprise), format, table=table,
        rows=lambda result: core_energy.rows_for(result, breakdown or core_energy.By.enterprise), engine=engine)
