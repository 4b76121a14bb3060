"""Comprehensive energy consumption (GB/T 2589-2020): the pure calculations over tables.

Reporting periods (:class:`Period`, :func:`parse_period`), the coefficient of each meter
(:func:`meter_coefficients`), the conversion of each top-level meter to its carrier's unit and
activity flow (:func:`activity_conversions`), and the assembly of the accounts (carriers,
enterprises, breakdowns, intensity, lineage, flags) from the per-meter and monthly rollup tables
(:func:`assemble`); views of the accounts (:class:`By`, :func:`rows_for`). No I/O: the tables come
from :mod:`greenpark.store.rollups`, wired by :mod:`greenpark.services.energy`.

Definitions used (GB/T 2589-2020 clauses as read in secondary sources, see source gbt2589-2020
in reference/data/sources.csv):

- physical quantity per carrier: the sum over *top-level* meters (no parent) of the enterprise;
  sub-meters only break totals down, and the unmetered remainder is its own line;
- energy exported out of the boundary (meters with ``export = true``) is deducted;
- on-site renewable generation (``renewable_generation = true``) is energy the unit consumes
  (less what it exports); the renewable share is that quantity, at calorific equivalent, over
  comprehensive energy consumption. GB/T 2589 does not define a renewable share: this is
  greenpark's definition and is labelled as such in lineage;
- standard coal [kgce] = quantity [coefficient unit] x coefficient [kgce/unit], the coefficient
  from ``reference/data/gbt2589_2020_coefficients.csv``; electricity at calorific equivalent
  0.1229 kgce/kWh, and at equal value with the coal rate set in park.toml (its source recorded);
- energy-consuming working media (water, compressed air; Annex B) are reported in physical units
  and left out of comprehensive consumption unless ``accounting.include_working_media = true``.
"""


from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

import pyarrow as pa

from greenpark import reference
from greenpark.core import units
from greenpark.errors import InputError
from greenpark.findings import flag

GCE_PER_KGCE = 1000.0  # unit definition: 1 kgce = 1000 gce
KG_PER_T = 1000.0      # unit definition: 1 t = 1000 kg


class PeriodError(InputError, ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """A reporting period in park time: a year, a quarter or a month."""

    label: str
    start: dt.date  # first day
    end: dt.date    # first day after the period

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    @property
    def is_year(self) -> bool:
        return self.months == 12 and self.start.month == 1


#: the calendar years a period may name [year]: greenpark's bound, not a standard's. Outside it a
#: period is refused with a clear message instead of overflowing date arithmetic further down
#: (Python dates end at 9999-12-31; a period's end is the first day after it).
PERIOD_YEARS = (1900, 2200)


def parse_period(text: str) -> Period:
    """'2025', '2025-Q1' or '2025-03' -> Period, for years within :data:`PERIOD_YEARS`."""
    text = str(text).strip()
    if (m := re.match(r"(\d{4})(?:$|-|[Qq])", text)) and not PERIOD_YEARS[0] <= int(m[1]) <= PERIOD_YEARS[1]:
        raise PeriodError.t("period.year_range", period=text, first=PERIOD_YEARS[0], last=PERIOD_YEARS[1])
    return _parse_period(text)


def _parse_period(text: str) -> Period:
    if m := re.fullmatch(r"(\d{4})", text):
        y = int(m[1])
        return Period(text, dt.date(y, 1, 1), dt.date(y + 1, 1, 1))
    if m := re.fullmatch(r"(\d{4})-?[Qq]([1-4])", text):
        y, q = int(m[1]), int(m[2])
        start = dt.date(y, 3 * q - 2, 1)
        end = dt.date(y + 1, 1, 1) if q == 4 else dt.date(y, 3 * q + 1, 1)
        return Period(f"{y}-Q{q}", start, end)
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        y, mo = int(m[1]), int(m[2])
        if 1 <= mo <= 12:
            end = dt.date(y + 1, 1, 1) if mo == 12 else dt.date(y, mo + 1, 1)
            return Period(f"{y}-{mo:02d}", dt.date(y, mo, 1), end)
    raise PeriodError.t("period.invalid", period=text)


def meter_coefficients(park) -> tuple[pa.Table, dict[str, dict]]:
    """Per meter: the GB/T 2589 coefficient that applies and the factor from meter unit to its unit.

    Returns the table (meter_id, coefficient_id, kgce_per_unit, to_coef_unit, counted) and the
    coefficient citations by id. ``counted`` is false for working media unless configured, and always
    for the non-energy carriers of carriers.csv (``energy = false``: reused water, recovered heat).
    """
    coefs = reference.load("gbt2589_coefficients")
    carriers = reference.load("carriers")
    rows, cited = [], {}
    for m in park.meters:
        c = carriers.get(m.carrier)
        cid = park.accounting.coefficients.get(m.carrier, c["default_coefficient"])
        row = coefs.get(cid)
        per_unit = row["unit"].split("/", 1)[1]
        rows.append({
            "meter_id": m.id, "coefficient_id": cid, "kgce_per_unit": row["value"],
            "to_coef_unit": units.conversion_factor(m.unit, per_unit),
            "counted": bool(c["energy"]) and ((not c["working_medium"]) or park.accounting.include_working_media),
        })
        cited[cid] = reference.citation(row)
    schema = pa.schema([("meter_id", pa.string()), ("coefficient_id", pa.string()), ("kgce_per_unit", pa.float64()),
                        ("to_coef_unit", pa.float64()), ("counted", pa.bool_())])
    return pa.Table.from_pylist(rows, schema=schema), cited


def activity_conversions(park) -> pa.Table:
    """Per meter: the factor from its unit to its carrier's unit (carriers.csv), that unit, and its flow.

    ``flow`` is ``grid_import`` (electricity from the grid), ``onsite_renewable`` (generation
    meters), ``export`` (export meters, positive quantities) or ``delivered`` (every other
    carrier). Input of :func:`greenpark.store.rollups.monthly_activity`."""
    carriers = {r["id"]: r for r in reference.load("carriers").rows}
    rows = [{"meter_id": m.id, "to_unit": units.conversion_factor(m.unit, carriers[m.carrier]["unit"]),
             "unit": carriers[m.carrier]["unit"],
             "flow": ("export" if m.export else "onsite_renewable" if m.renewable_generation
                      else "grid_import" if m.carrier == "electricity" else "delivered")}
            for m in park.meters]
    return pa.Table.from_pylist(rows, schema=pa.schema([("meter_id", pa.string()), ("to_unit", pa.float64()),
                                                       ("unit", pa.string()), ("flow", pa.string())]))


#: names of breakdown rows without an end use / building of their own (catalogue kind end_use)
UNMETERED, UNASSIGNED, SELF_CONSUMED = "(unmetered remainder)", "(unassigned)", "(on-site generation, self-consumed)"


def _unnamed(r: dict) -> str:
    """The breakdown name of a meter without an end use or building: its sub-meters' remainder;
    on-site generation and export (together: the generation the owner consumed itself); else unassigned."""
    if r["n_children"]:
        return UNMETERED
    if r["renewable_generation"] or r["export"]:
        return SELF_CONSUMED
    return UNASSIGNED


def display_units(meters: list[dict], cited: dict[str, dict]) -> dict[str, tuple[str, float]]:
    """carrier -> (unit shown, its size in the coefficient's unit): shown quantity = quantity / size.

    Quantities are shown in the unit the carrier's meters read in (steam metered in t shows in t,
    not in the kg of its coefficient); when the meters of a carrier use different units, in the
    coefficient's unit."""
    out: dict[str, tuple[str, float]] = {}
    for carrier, coef_unit in {m["carrier"]: cited[m["coefficient_id"]]["unit"].split("/", 1)[1] for m in meters}.items():
        units_ = {(m["unit"], m["to_coef_unit"]) for m in meters if m["carrier"] == carrier}
        if len(units_) == 1 and (only := next(iter(units_)))[1]:
            out[carrier] = (only[0], only[1])
        else:
            out[carrier] = (coef_unit, 1.0)
    out.setdefault("electricity", ("kWh", 1.0))
    return out


def _to_display(c: dict, shown: tuple[str, float]) -> None:
    """A carrier entry's quantities from the coefficient's unit to the display unit."""
    unit, factor = shown
    c["quantity_coefficient_unit"] = c["quantity"]  # [the coefficient's unit = carriers.csv unit]
    for k in ("quantity", "delivered", "renewable_generation", "exported"):
        c[k] /= factor
    c["unit"] = unit


def _carrier_meta() -> dict[str, dict]:
    return {r["id"]: r for r in reference.load("carriers").rows}


#: why a product has no unit energy (:func:`unit_product_energy`)
NOT_ALLOCATED = "energy is not allocated between several products"
NO_OUTPUT = "no output"


def unit_product_energy(kgce, output, n_products):
    """Unit-product comprehensive energy consumption (单位产品综合能耗, GB/T 2589-2020 Cl. 3 terms) [kgce/unit]:
    the owner's comprehensive energy consumption ``kgce`` [kgce] over the output of its product
    ``output`` [product unit] in the same period.

    Only an owner that makes one product in the period (``n_products`` = 1) has one: greenpark does
    not allocate an owner's energy between several products (NaN, :data:`NOT_ALLOCATED`); an output
    of 0 gives NaN too (:data:`NO_OUTPUT`). Scalars (returns a float) or aligned arrays / pandas
    Series (returns an array), so that one park's accounts and a region's unit-months use the one
    formula."""
    import numpy as np

    k, o, n = (np.asarray(x, dtype=float) for x in (kgce, output, n_products))
    ok = (n == 1) & (o > 0)
    v = np.where(ok, k / np.where(ok, o, 1.0), np.nan)
    return float(v) if v.ndim == 0 else v


def unit_product_note(output, n_products):
    """Why :func:`unit_product_energy` gives no value (None when it gives one); scalars or arrays."""
    import numpy as np

    o, n = np.asarray(output, dtype=float), np.asarray(n_products, dtype=float)
    v = np.where(n > 1, NOT_ALLOCATED, np.where(o > 0, None, NO_OUTPUT))
    return v.item() if v.ndim == 0 else v


def assemble(park, period: Period, meters: list[dict], remainders: list[dict], monthly: list[dict],
             cited: dict[str, dict], only_enterprise: str | None = None) -> dict:
    """The energy accounts of ``park`` for ``period`` as a JSON-ready dict (keys: period, park,
    enterprises, breakdowns, lineage, flags).

    ``meters``: rows of :func:`greenpark.store.rollups.meter_period`; ``remainders``: rows of
    :func:`greenpark.store.rollups.meter_remainders`; ``monthly``: rows of
    :func:`greenpark.store.rollups.monthly_energy` by carrier; ``cited``: the coefficient citations
    of :func:`meter_coefficients`. ``only_enterprise`` keeps one owner's entries and breakdowns.
    """
    acc = park.accounting
    cmeta = _carrier_meta()
    rate = acc.equal_value_coal_rate_gce_per_kwh  # [gce/kWh]
    flags: list[dict] = []
    for cid, c in cited.items():
        if c["status"] == "UNVERIFIED" and any(m["coefficient_id"] == cid and m["quantity"] for m in meters):
            flags.append(flag("energy.coefficient.unverified", coefficient_id=cid,
                               message=f"coefficient {cid} = {c['value']} {c['unit']} is UNVERIFIED: check it against "
                                     "the official GB/T 2589-2020 text before relying on the figures that use it"))
    names = {e.id: e for e in park.enterprises}
    owners = [e.id for e in park.enterprises] + [park.park.id]
    top = [m for m in meters if m["parent"] is None]
    shown = display_units(meters, cited)

    def carriers_of(owner: str) -> list[dict]:
        out = {}
        for m in (x for x in top if x["owner"] == owner):
            sign = -1.0 if m["export"] else 1.0
            q = sign * m["quantity"] * m["to_coef_unit"]
            c = out.setdefault(m["carrier"], {
                "carrier": m["carrier"], "name_zh": cmeta[m["carrier"]]["name_zh"],
                "name_en": cmeta[m["carrier"]]["name_en"], "quantity": 0.0,
                "unit": cited[m["coefficient_id"]]["unit"].split("/", 1)[1],
                "coefficient_unit": cited[m["coefficient_id"]]["unit"], "delivered": 0.0,
                "renewable_generation": 0.0, "exported": 0.0, "kgce": 0.0,
                "coefficient_id": m["coefficient_id"], "coefficient": m["kgce_per_unit"],
                "counted_in_total": bool(m["counted"]), "meters": []})
            c["quantity"] += q
            key = "exported" if m["export"] else ("renewable_generation" if m["renewable_generation"] else "delivered")
            c[key] += m["quantity"] * m["to_coef_unit"]
            if m["counted"]:
                c["kgce"] += q * m["kgce_per_unit"]
            c["meters"].append(m["meter_id"])
        for c in out.values():
            c["tce"] = c["kgce"] / KG_PER_T
            _to_display(c, shown[c["carrier"]])
        return sorted(out.values(), key=lambda c: -c["kgce"])

    def summary(owner_ids: list[str]) -> dict:
        carriers: dict[str, dict] = {}
        for o in owner_ids:
            for c in carriers_of(o):
                agg = carriers.setdefault(c["carrier"], {**c, "quantity": 0.0, "quantity_coefficient_unit": 0.0,
                                                         "delivered": 0.0, "renewable_generation": 0.0,
                                                         "exported": 0.0, "kgce": 0.0, "meters": []})
                for k in ("quantity", "quantity_coefficient_unit", "delivered", "renewable_generation", "exported",
                          "kgce"):
                    agg[k] += c[k]
                agg["meters"] = agg["meters"] + c["meters"]
        for c in carriers.values():
            c["tce"] = c["kgce"] / KG_PER_T
        kgce = sum(c["kgce"] for c in carriers.values())
        elec = carriers.get("electricity")
        kwh = shown["electricity"][1] if elec else 1.0  # display unit of electricity -> kWh
        renewable_kwh = max(0.0, elec["renewable_generation"] - elec["exported"]) * kwh if elec else 0.0
        renewable_kgce = renewable_kwh * (elec["coefficient"] if elec else 0.0)
        out = {
            "tce": kgce / KG_PER_T,
            "tce_equal_value": None,
            "renewable_share": (renewable_kgce / kgce) if kgce > 0 else None,
            "renewable_electricity_kwh": renewable_kwh,
            "electricity_kwh": elec["quantity"] * kwh if elec else 0.0,
            "carriers": sorted(carriers.values(), key=lambda c: -c["kgce"]),
        }
        if rate is not None:
            elec_kgce = elec["kgce"] if elec else 0.0
            elec_kwh = elec["quantity"] * kwh if elec else 0.0
            out["tce_equal_value"] = (kgce - elec_kgce + elec_kwh * rate / GCE_PER_KGCE) / KG_PER_T
        return out

    def intensity(ent_ids: list[str], s: dict) -> dict:
        if not period.is_year:
            return {"note": "output value and value added are annual figures: intensity is given for full years"}
        ov = va = 0.0
        missing = []
        for eid in ent_ids:
            econ = next((x for x in names[eid].economics if x.year == period.start.year), None) if eid in names else None
            if econ is None or econ.output_value_10k_cny is None or econ.value_added_10k_cny is None:
                missing.append(eid)
                continue
            ov += econ.output_value_10k_cny
            va += econ.value_added_10k_cny
        res = {"tce_per_10k_cny_output": s["tce"] / ov if ov and not missing else None,
               "tce_per_10k_cny_value_added": s["tce"] / va if va and not missing else None,
               "output_value_10k_cny": ov, "value_added_10k_cny": va}
        if missing:
            res["note"] = f"no {period.start.year} economics for {', '.join(missing)}"
        return res

    def products_of(eid: str, s: dict) -> list[dict]:
        prods = [p for p in park.products if p.enterprise == eid and p.year == period.start.year]
        out = []
        for p in prods:
            i0 = (period.start.year - p.year) * 12 + period.start.month - 1
            if i0 < 0 or i0 + period.months > 12:
                continue
            output = sum(p.monthly_output[i0:i0 + period.months])
            item = {"id": p.id, "name_zh": p.name_zh, "name_en": p.name_en, "unit": p.unit, "output": output}
            v = unit_product_energy(s["tce"] * KG_PER_T, output, len(prods))
            if v == v:
                item["kgce_per_unit"] = v
            else:
                item["note"] = unit_product_note(output, len(prods))
            out.append(item)
        return out

    enterprises = []
    for eid in owners:
        if only_enterprise and eid != only_enterprise:
            continue
        s = summary([eid])
        if eid == park.park.id:
            if not any(m["owner"] == eid for m in meters):
                continue
            entry = {"id": eid, "name_zh": park.park.name_zh, "name_en": park.park.name_en,
                     "industry": "park administration and public buildings"}
        else:
            e = names[eid]
            entry = {"id": eid, "name_zh": e.name_zh, "name_en": e.name_en, "industry": e.industry}
        entry.update(s)
        if eid != park.park.id:
            entry["intensity"] = intensity([eid], s)
            entry["products"] = products_of(eid, s)
        enterprises.append(entry)

    park_summary = summary(owners)
    park_summary["intensity"] = intensity([e.id for e in park.enterprises], park_summary)

    # breakdowns: by end use and by building from the sub-meter tree (remainders never double count).
    # Working media count exactly as in the totals (kgce only when ``counted``; tce None otherwise),
    # and quantities are in the carrier's display unit (the meters' own unit).
    def breakdown(label: str) -> list[dict]:
        agg: dict[tuple, dict] = {}
        for r in remainders:
            if only_enterprise and r["owner"] != only_enterprise:
                continue
            name = r[label] or _unnamed(r)
            sign = -1.0 if r["export"] else 1.0
            key = (r["owner"], r["carrier"], name)
            a = agg.setdefault(key, {"owner": r["owner"], "carrier": r["carrier"], label: name,
                                     "quantity": 0.0, "unit": shown[r["carrier"]][0], "kgce": 0.0,
                                     "counted_in_total": bool(r["counted"])})
            q = sign * r["own_quantity"] * r["to_coef_unit"]
            a["quantity"] += q / shown[r["carrier"]][1]
            if r["counted"]:
                a["kgce"] += q * r["kgce_per_unit"]
            if r["own_quantity"] < 0 and r["n_children"]:
                flags.append(flag("energy.submeters_exceed_parent", meter_id=r["meter_id"],
                                   message=f"sub-meters of {r['meter_id']} add up to more than the meter itself "
                                         f"({-r['own_quantity']:.3f} {r['unit']})"))
        for a in agg.values():
            a["tce"] = a["kgce"] / KG_PER_T if a["counted_in_total"] else None
        return sorted(agg.values(), key=lambda a: (a["owner"], a["carrier"], -a["kgce"]))

    by_month: dict[str, dict] = {}
    for r in monthly:
        if only_enterprise and r["owner"] != only_enterprise:
            continue
        key = r["month"].isoformat()[:7]
        b = by_month.setdefault(key, {"month": key, "kgce": 0.0, "carriers": {}})
        b["kgce"] += r["kgce"]
        b["carriers"][r["carrier"]] = b["carriers"].get(r["carrier"], 0.0) + r["quantity"] / shown[r["carrier"]][1]
    # every month names every carrier of the period (0.0 where it had no readings): the table and
    # CSV columns of :func:`rows_for` are the same for all months
    month_carriers = sorted({c for b in by_month.values() for c in b["carriers"]})
    for b in by_month.values():
        b["tce"] = b["kgce"] / KG_PER_T
        b["carriers"] = {c: b["carriers"].get(c, 0.0) for c in month_carriers}

    lineage_meters = []
    for m in meters:
        if only_enterprise and m["owner"] != only_enterprise:
            continue
        exp = m["expected_readings"]
        lineage_meters.append({
            "meter_id": m["meter_id"], "owner": m["owner"], "carrier": m["carrier"], "unit": m["unit"],
            "parent": m["parent"], "role": "export" if m["export"] else
            ("renewable_generation" if m["renewable_generation"] else ("sub-meter" if m["parent"] else "top-level")),
            "quantity": m["quantity"], "readings": int(m["n_readings"]), "expected_readings": exp,
            "completeness_pct": round(100.0 * m["n_readings"] / exp, 2) if exp else None,
            "coefficient_id": m["coefficient_id"],
            # a meter read once a day or month (bills): readings and expected_readings count days or months
            **({"expected_unit": m["period"]} if m.get("period") else {}),
        })
        if exp and m["n_readings"] < exp and m["parent"] is None:
            per = {"month": "months", "day": "days"}.get(m.get("period") or "", "expected readings")
            flags.append(flag("energy.incomplete_data", meter_id=m["meter_id"],
                               message=f"{m['meter_id']}: {m['n_readings']} of {int(exp)} {per} "
                                     f"({100.0 * m['n_readings'] / exp:.2f} %); gaps are not estimated"))
    coal_rate = None
    if rate is not None:
        coal_rate = {"id": "equal_value_coal_rate", "value": rate, "unit": "gce/kWh",
                     "source": acc.equal_value_coal_rate_source, "status": acc.equal_value_coal_rate_status}
        if acc.equal_value_coal_rate_status == "UNVERIFIED":
            flags.append(flag("energy.coal_rate.unverified",
                               f"the equal-value coal rate {rate} gce/kWh is UNVERIFIED ({acc.equal_value_coal_rate_source})"))
    else:
        flags.append(flag("energy.coal_rate.not_configured",
                          "tce_equal_value is not reported: set accounting.equal_value_coal_rate_gce_per_kwh "
                          "and its source in park.toml", severity="info"))
    return {
        "period": {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat(),
                   "timezone": park.park.timezone},
        "park": {"id": park.park.id, "name_zh": park.park.name_zh, "name_en": park.park.name_en, **park_summary},
        "enterprises": enterprises,
        "breakdowns": {"end_use": breakdown("end_use"), "building": breakdown("building"),
                       "month": sorted(by_month.values(), key=lambda b: b["month"]),
                       "units": {c: u for c, (u, _) in sorted(shown.items())}},
        "lineage": {
            "standard": "GB/T 2589-2020",
            "method": "totals from top-level meters of each owner (export deducted, on-site renewable generation "
                      "included); sub-meters break totals down, remainders shown as '(unmetered remainder)', "
                      "on-site generation less export as '(on-site generation, self-consumed)'; "
                      "kgce = quantity x coefficient; quantities in the meters' own unit; figures from monthly "
                      "rollups of the store",
            "renewable_share_definition": "greenpark definition (not in GB/T 2589): on-site renewable electricity "
                                          "consumed (generation - export), at calorific equivalent, over "
                                          "comprehensive energy consumption",
            "working_media": "included" if acc.include_working_media else
                             "reported in physical units, not counted in tce (in the totals and in every breakdown)",
            "coefficients": sorted(cited.values(), key=lambda c: c["id"]),
            "equal_value_coal_rate": coal_rate,
            "meters": lineage_meters,
        },
        "flags": flags,
    }


# -- views of the accounts (table and CSV exports of the CLI and the API) -------------------------
class By(str, Enum):
    carrier = "carrier"
    enterprise = "enterprise"
    building = "building"
    end_use = "end-use"
    month = "month"


def rows_for(result: dict, by: By) -> list[dict]:
    """Flat rows of one view of the accounts (used by table and csv formats)."""
    if by == By.enterprise:
        return [{"id": e["id"], "name_zh": e["name_zh"], "name_en": e["name_en"], "industry": e["industry"],
                 "tce": e["tce"], "tce_equal_value": e["tce_equal_value"], "renewable_share": e["renewable_share"],
                 "electricity_kwh": e["electricity_kwh"],
                 "tce_per_10k_cny_value_added": (e.get("intensity") or {}).get("tce_per_10k_cny_value_added")}
                for e in result["enterprises"]]
    if by == By.carrier:
        out = []
        for e in result["enterprises"]:
            for c in e["carriers"]:
                out.append({"enterprise": e["id"], "carrier": c["carrier"], "name_zh": c["name_zh"],
                            "quantity": c["quantity"], "unit": c["unit"], "coefficient_id": c["coefficient_id"],
                            "coefficient": c["coefficient"], "coefficient_unit": c.get("coefficient_unit"),
                            "tce": c["tce"] if c["counted_in_total"] else None})
        return out
    if by == By.month:
        months = result["breakdowns"]["month"]
        carriers = sorted({c for b in months for c in b["carriers"]})
        return [{"month": b["month"], "tce": b["tce"], **{c: b["carriers"].get(c, 0.0) for c in carriers}}
                for b in months]
    key = "end_use" if by == By.end_use else "building"
    return [{"enterprise": r["owner"], "carrier": r["carrier"], key: r[key], "quantity": r["quantity"],
             "unit": r.get("unit"), "tce": r["tce"]}
            for r in result["breakdowns"][key]]


def row_units(result: dict, by: By) -> dict[str, str]:
    """Column -> unit of the columns of :func:`rows_for` that hold quantities (month: one per carrier)."""
    if by == By.month:
        return {"tce": "tce", **result["breakdowns"].get("units", {})}
    return {"tce": "tce", "tce_equal_value": "tce", "electricity_kwh": "kWh"}
