"""Carbon accounts: Scope 1 and Scope 2 (location- and market-based) CO2 of the park's enterprises.

Pure functions over tables: pandas DataFrames (or pyarrow Tables) in, DataFrames and dicts out; no file,
database or network IO. Every factor comes from a reference dataset (``greenpark.reference``) or from a
user row with status ``USER`` and its provenance; every result carries the factors it used and coded
flags. UNVERIFIED factors are never used silently: each use raises the flag ``carbon.factor.unverified``.

Methods
-------
Scope 1, fuel combustion (化石燃料燃烧排放), formula of GB/T 32150 / GB/T 32151.22-2024 [1]_ [2]_::

    E [tCO2] = AD [ad_unit] x NCV [GJ/ad_unit] x CC [tC/TJ] x 10^-3 [TJ/GJ] x OF [1] x 44/12 [tCO2/tC]

with ad_unit t for solid and liquid fuels and 10^4 Nm3 for gases (``carbon_fuel_parameters.csv``).
Scope 1, process emissions: activity x factor rows given by the user (``process_emissions``).
Scope 2, purchased electricity: grid import only. On-site renewable generation consumed on site is not
grid electricity, and exported electricity earns no credit (both appear in the lines with 0 tCO2).

- location-based: grid import [MWh] x grid-average factor [tCO2/MWh] of the chosen level (national,
  regional, provincial) and the data year chosen by the factor-year rule (``carbon_rules.csv``) [3]_;
- market-based: grid import covered by green certificates (GEC) or green-power contracts at 0 tCO2/MWh,
  the remainder at the national factor excluding market-traded non-fossil electricity (residual) [3]_.

Scope 2, purchased heat: heat [GJ] x 0.11 tCO2/GJ (GB/T 32150-2025 cl. 7.5.6-7.5.7 [4]_; the edition is
chosen by the consumption month; the 2015-edition value is UNVERIFIED). Purchased steam [t] is converted
into heat with a heat content [GJ/t] (default GB/T 2589-2020 Annex A low-pressure steam, 3.763 GJ/t).
Heat and steam count the same in both methods.

Certificate matching (``carbon_rules.csv`` topic ``certificate_matching``)
---------------------------------------------------------------------------
``calendar_year`` (default): a certificate may cover grid import in any month of the calendar year its
generation period lies in (a period that crosses Dec 31 is rejected: split it). ``generation_month``:
only the months its generation period overlaps. Allocation is deterministic: certificates in order of
generation_start, generation_end, id (oldest vintage first); each fills the enterprise's remaining grid
import of its eligible months in calendar order; never more than the month's grid import. What cannot
be applied is reported as unapplied (flag ``carbon.certificates.exceed_consumption_capped``). Because
a certificate's eligible months lie in its vintage year, a certificate cannot be counted in two years;
a certificate registered to one enterprise is never applied to another; a serial (range) registered
twice is a :class:`CertificateError` naming both registrations.

API (what the CLI and the store layer call)
-------------------------------------------
``factor_library(user_fuels=None, user_electricity=None, user_heat=None) -> FactorLibrary``
    Default factors plus USER rows (which override defaults with the same key).
``select_electricity_factor(reporting_year, level="national", region=None, basis="average",
rule="latest_published", factors=None, factor_id=None) -> FactorChoice``
    The row used and why (``choice.reason``); the error lists what exists.
``account(activity, period, *, method="both", level="national", region=None, rule="latest_published",
certificates=None, process=None, library=None, fuel_map=None, factor_ids=None,
matching="calendar_year") -> CarbonResult``
    The whole account of one calendar year. ``factor_ids`` pins factors by role
    (``electricity_location``, ``electricity_residual``) to the ids of an earlier result
    (``result.selection``): results are restated with newer factors only when the caller asks.
``monthly_co2(result, method="location") -> pd.DataFrame``
    ``enterprise_id, month, co2_t`` per month: the monthly input of ``greenpark.core.targets.dual_control``.
``to_json_dict(result, ndigits=4) -> dict``
    The dict ``greenpark carbon --format json`` prints (shape below).
``restatement(before, after) -> pd.DataFrame`` and ``restate(previous, activity, **kw)``
    The figures that change between two results, and by how much (``--restate``).
``validate_certificates(certificates, matching)`` / ``allocate_certificates(certificates, grid, matching)``
    Certificate checks and allocation on their own (for an import step that rejects double registrations).
``screen_certificates(certificates, matching) -> (accepted, rejected, flags)``
    The import step: registrations with a problem (both of a serial registered twice) are left out and
    listed with a stable code and a message naming both uses.

Input tables
------------
``activity``: ``enterprise_id: str, month: date (first day of month, park time), carrier: str
(electricity, natural_gas, diesel, steam, heat, lpg, ...), flow: str (grid_import | onsite_renewable |
export | delivered), quantity: float, unit: str`` (pint unit). Fuels, steam and heat are ``delivered``;
electricity is ``grid_import``, ``onsite_renewable`` (generation) or ``export``.

``certificates``: ``id, kind (gec | green_power_contract), enterprise_id, serial_start, serial_end
(required for GEC, optional for contracts), mwh, generation_start, generation_end, project, province``.

``process``: ``enterprise_id, month, process, quantity, unit, factor, factor_unit (e.g. tCO2/t), source,
status (default USER)``.

JSON shape (``to_json_dict``)::

    {"period": 2025, "method": "both", "level": "regional", "region": "east_china",
     "park": {"scope1_t": .., "scope2_location_t": .., "scope2_market_t": .., "total_t": ..,
              "total_location_t": .., "total_market_t": ..},
     "enterprises": [{"id": "E01", <same keys as park>}, ...],
     "certificates": {"by_enterprise": [{"id": "E01", "grid_import_mwh": .., "applied_mwh": ..}],
                      "by_certificate": [{"id", "kind", "enterprise_id", "mwh", "applied_mwh",
                                          "unapplied_mwh"}],
                      "unapplied_mwh": ..} | null when no certificates,
     "factors": [{"id", "value", "unit", "source", "status", ...}],
     "flags": [{"code", "severity", "message", "ids"}],
     "lineage": {"factor_year_rule": .., "certificate_matching": .., "selections": {role: {"id", "reason"}},
                 "formula": {..}, "activity_rows": .., "months": [..]}}

``total_t`` is scope 1 + scope 2 of the reported method (location when ``method`` is location or both,
market when it is market); a scope-2 figure of a method not computed is null.

References
----------
.. [1] GB/T 32150-2015 / GB/T 32150-2025, General rules for GHG accounting and reporting of industrial
   enterprises (the 2025 edition effective 2026-07-01). Sources gbt32150-2025, gbt32151.22-2024 (reference/data/sources.csv).
.. [2] GB/T 32151.22-2024 Annex C Table C.1, default parameters of common fossil fuels. Source gbt32151.22-2024.
.. [3] MEE/NBS electricity CO2 factors, 公告2024年第12号 (2021 data), 公告2024年第33号 (2022 data),
   公告2025年第47号 (2023 data). Sources mee-nbs-2021, mee-nbs-2022, mee-nbs-2023, ets-grid-2022.
.. [4] GB/T 32150-2025 cl. 7.5.6-7.5.7, purchased heat. Source gbt32150-2025.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from greenpark import reference
from greenpark.core import units
from greenpark.errors import InputError
from greenpark.findings import Finding, plural

ACTIVITY_COLUMNS = ("enterprise_id", "month", "carrier", "flow", "quantity", "unit")
FLOWS = ("grid_import", "onsite_renewable", "export", "delivered")
LEVELS = ("national", "regional", "provincial")
METHODS = ("location", "market", "both")
CERTIFICATE_KINDS = ("gec", "green_power_contract")
#: carriers handled by Scope 2 (carrier ids of carriers.csv); every other carrier is a fuel (Scope 1)
ELECTRICITY, HEAT, STEAM = "electricity", "heat", "steam"
#: GEC serials are compared on their last digits as integers (int64 holds 18 digits)
_SERIAL = re.compile(r"^(.*?)(\d{1,18})$")


class CarbonError(InputError, ValueError):
    """Inputs that cannot be accounted; the message says what to fix."""


class CertificateError(CarbonError):
    """A certificate table that is invalid, e.g. a serial registered twice (both uses are named)."""


def _flag(code: str, message: str, ids: list[str] | None = None, severity: str = "warning") -> dict[str, Any]:
    """A :class:`~greenpark.findings.Finding` as the flat dict of carbon and targets results."""
    return Finding(code, message, severity, {"ids": sorted(set(ids or []))}).to_dict(flat=True)


def _status_flags(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``carbon.factor.unverified`` for UNVERIFIED rows, info flags for C1 and USER rows."""
    out = []
    by = {s: [r["id"] for r in rows if r.get("status") == s] for s in ("UNVERIFIED", "C1", "USER")}
    if by["UNVERIFIED"]:
        out.append(_flag("carbon.factor.unverified",
                         "factors not confirmed by any source read were used; check them against the official "
                         "text before relying on these figures", by["UNVERIFIED"]))
    if by["C1"]:
        out.append(_flag("carbon.factor.single_source", "factors from a single secondary source (C1) were used",
                         by["C1"], "info"))
    if by["USER"]:
        out.append(_flag("carbon.factor.user", "user-supplied factors (with their provenance) were used",
                         by["USER"], "info"))
    return out


def _cite(row: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    out = reference.citation(row)
    for k in extra:
        v = row.get(k)
        if v is not None and not (isinstance(v, float) and np.isnan(v)):
            out[k] = v.isoformat() if isinstance(v, dt.date) else v
    return out


def _table(data: Any, name: str) -> pd.DataFrame:
    if data is None:
        return pd.DataFrame()
    if hasattr(data, "to_pandas") and not isinstance(data, pd.DataFrame):
        data = data.to_pandas()
    if not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    return data.copy()


def _require(df: pd.DataFrame, cols: tuple[str, ...] | list[str], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise CarbonError(f"{name}: missing columns {missing}; expected {list(cols)}")


# ---------------------------------------------------------------------------------------------
# Factor library
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FactorLibrary:
    """Factors in force for one computation: defaults plus USER rows.

    ``fuels`` is long: one row per (fuel, parameter in ncv|cc|of) with its own id, status and source,
    so that a measured NCV (USER) combines with the default CC and OF.
    """

    fuels: pd.DataFrame
    electricity: pd.DataFrame
    heat: pd.DataFrame
    rules: pd.DataFrame
    constants: pd.DataFrame

    @property
    def co2_per_c(self) -> tuple[float, dict[str, Any]]:
        """44/12 [tCO2/tC] from the molar masses in ``carbon_constants.csv``, with its citation."""
        c = self.constants.set_index("id")
        co2, carbon = c.loc["molar_mass_co2"], c.loc["molar_mass_c"]
        value = float(co2["value"]) / float(carbon["value"])
        return value, {"id": "co2_per_c", "value": value, "unit": "tCO2/tC",
                       "source": str(co2["source"]), "status": str(co2["status"]),
                       "note": f"molar mass ratio {co2['value']:g}/{carbon['value']:g}"}


_FUEL_PARAMS = {"ncv": "ncv_unit", "cc": "cc_unit", "of": None}


def _user_rows(df: pd.DataFrame, name: str) -> pd.DataFrame:
    _require(df, ("id", "source"), name)
    if "status" not in df.columns:
        df["status"] = "USER"
    bad = df[(df["status"] != "USER") | df["source"].isna() | (df["source"].astype(str).str.strip() == "")]
    if len(bad):
        raise CarbonError(f"{name}: user factors need status USER and a source (provenance); "
                          f"fix rows {bad['id'].tolist()}")
    return df


def _fuels_long(wide: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for p, unit_col in _FUEL_PARAMS.items():  # three parameters, not readings
        if p not in wide.columns:
            continue
        part = wide[["id", "fuel", "ad_unit", "status", "source", p]].rename(columns={p: "value"})
        part = part.assign(parameter=p, unit=wide[unit_col] if unit_col and unit_col in wide else "1",
                           row_id=part["id"], id=part["id"] + ":" + p)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out[out["value"].notna() | (out["status"] == "UNVERIFIED")]


def _key(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """One text key per row over ``cols`` (missing values as '', years as integers)."""
    parts = []
    for c in cols:
        v = df[c]
        if c == "data_year":
            v = pd.to_numeric(v).astype("Int64")
        parts.append(v.astype(object).where(v.notna(), "").astype(str))
    out = parts[0]
    for p in parts[1:]:
        out = out + "/" + p
    return out


def factor_library(user_fuels: Any = None, user_electricity: Any = None, user_heat: Any = None,
                   user_rules: Any = None) -> FactorLibrary:
    """Default factors plus USER rows with provenance; a USER row overrides the default with its key.

    Parameters
    ----------
    user_fuels : table, optional
        Columns id, fuel, source, and any of ncv [GJ/ad_unit], ncv_unit, cc [tC/TJ], of [1], ad_unit.
        Each given parameter replaces the default of that fuel (e.g. a measured NCV).
    user_electricity : table, optional
        Rows like ``carbon_electricity_factors.csv``; for the same (basis, level, region, data_year) a
        USER row wins over the default.
    user_heat : table, optional
        Rows like ``carbon_heat_factors.csv`` (kind heat_factor [tCO2/GJ] or steam_heat [GJ/t]), with an
        optional ``enterprise_id`` column for a supplier factor of one enterprise.
    user_rules : table, optional
        Rows like ``carbon_rules.csv`` that replace rules with the same id (e.g. at_risk_share).
    """
    def ds(name: str) -> pd.DataFrame:
        return pd.DataFrame(list(reference.load(name).rows))

    fuels = _fuels_long(ds("carbon_fuel_parameters"))
    uf = _table(user_fuels, "user_fuels")
    if len(uf):
        uf = _user_rows(uf, "user fuel factors")
        _require(uf, ("fuel",), "user fuel factors")
        defaults = ds("carbon_fuel_parameters").set_index("fuel")
        if "ad_unit" not in uf.columns:
            uf["ad_unit"] = None
        uf["ad_unit"] = uf["ad_unit"].fillna(uf["fuel"].map(defaults["ad_unit"]))
        for unit_col in _FUEL_PARAMS.values():
            if unit_col:
                if unit_col not in uf.columns:
                    uf[unit_col] = None
                uf[unit_col] = uf[unit_col].fillna(uf["fuel"].map(defaults[unit_col]))
        if uf["ad_unit"].isna().any():
            raise CarbonError("user fuel factors: a fuel without a default needs ad_unit (t or 10^4 Nm3): "
                              f"{uf.loc[uf['ad_unit'].isna(), 'fuel'].tolist()}")
        ul = _fuels_long(uf)
        ul = ul[ul["value"].notna()]
        key = fuels["fuel"] + "/" + fuels["parameter"]
        fuels = pd.concat([fuels[~key.isin(ul["fuel"] + "/" + ul["parameter"])], ul], ignore_index=True)

    elec = ds("carbon_electricity_factors")
    ue = _table(user_electricity, "user_electricity")
    if len(ue):
        ue = _user_rows(ue, "user electricity factors")
        k = ["basis", "level", "region", "data_year"]
        _require(ue, ("basis", "level", "value"), "user electricity factors")
        for c in k + ["published", "unit"]:
            if c not in ue.columns:
                ue[c] = None
        ue["unit"] = ue["unit"].fillna("tCO2/MWh")
        keyf, keyu = _key(elec, k), _key(ue, k)
        elec = pd.concat([elec[~keyf.isin(keyu)], ue], ignore_index=True)

    heat = ds("carbon_heat_factors")
    heat["enterprise_id"] = None
    uh = _table(user_heat, "user_heat")
    if len(uh):
        uh = _user_rows(uh, "user heat factors")
        _require(uh, ("kind", "value", "unit"), "user heat factors")
        heat = pd.concat([heat, uh], ignore_index=True)

    rules = ds("carbon_rules")
    ur = _table(user_rules, "user_rules")
    if len(ur):
        ur = _user_rows(ur, "user rules")
        rules = pd.concat([rules[~rules["id"].isin(ur["id"])], ur], ignore_index=True)
    return FactorLibrary(fuels=fuels, electricity=elec, heat=heat, rules=rules, constants=ds("carbon_constants"))


def _rule(library: FactorLibrary, topic: str, rule_id: str | None) -> dict[str, Any]:
    rows = library.rules[library.rules["topic"] == topic]
    if rule_id is None:
        rows_d = rows[rows["default"].fillna(False).astype(bool)]
        if len(rows_d) != 1:
            raise CarbonError(f"carbon_rules: topic {topic} needs exactly one default rule")
        return rows_d.iloc[0].to_dict()
    hit = rows[rows["id"] == rule_id]
    if hit.empty:
        raise CarbonError(f"unknown {topic} rule '{rule_id}'. Valid rules: {', '.join(rows['id'])}")
    return hit.iloc[0].to_dict()


# ---------------------------------------------------------------------------------------------
# Factor selection
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FactorChoice:
    """One factor row chosen for a role, the rule that chose it and why."""

    row: dict[str, Any]
    rule: str
    reason: str
    flags: tuple[dict[str, Any], ...] = ()

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def value(self) -> float:
        return float(self.row["value"])

    def citation(self) -> dict[str, Any]:
        return _cite(self.row, ("data_year", "basis", "level", "region", "notice", "published"))


def _clean(v: Any) -> Any:
    """None for missing values; whole floats that pandas widened from int columns back to int."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return v


def _row(series: pd.Series) -> dict[str, Any]:
    row = {k: _clean(v) for k, v in series.to_dict().items()}
    if row.get("data_year") is not None:
        row["data_year"] = int(row["data_year"])
    return row


def select_electricity_factor(reporting_year: int, level: str = "national", region: str | None = None,
                              basis: str = "average", rule: str | None = None,
                              factors: FactorLibrary | None = None, factor_id: str | None = None) -> FactorChoice:
    """The purchased-electricity factor [tCO2/MWh] for a reporting year, with the reason it was chosen.

    Parameters
    ----------
    reporting_year : int
        Calendar year reported.
    level : {"national", "regional", "provincial"}
        Grid level; ``region`` names the region (e.g. ``east_china``) or province (e.g. ``jiangsu``).
    basis : {"average", "residual", "fossil", "ets"}
        MEE/NBS basis (口径): grid average, national excluding market-traded non-fossil (residual),
        fossil power, or the national-ETS reporting factor.
    rule : str, optional
        Factor-year rule id of ``carbon_rules.csv`` (default: the default row, ``latest_published``).
    factor_id : str, optional
        Pin the factor by id (an earlier result's selection); the rule is then not applied.
    """
    lib = factors or factor_library()
    tab = lib.electricity
    if factor_id is not None:
        hit = tab[tab["id"] == factor_id]
        if hit.empty:
            raise CarbonError(f"no electricity factor '{factor_id}'. Valid ids: {', '.join(tab['id'])}")
        row = _row(hit.iloc[-1])
        return FactorChoice(row, "pinned", f"factor pinned by id '{factor_id}' (earlier result; not restated)",
                            tuple(_status_flags([row])))
    if level not in LEVELS:
        raise CarbonError(f"unknown level '{level}'; use one of {', '.join(LEVELS)}")
    r = _rule(lib, "electricity_factor_year", rule)
    cand = tab[(tab["basis"] == basis) & (tab["level"] == level)]
    if level != "national":
        if not region:
            raise CarbonError(f"level '{level}' needs a region; known: {', '.join(sorted(cand['region'].dropna().unique()))}")
        known = sorted(cand["region"].dropna().unique())
        if known and region not in known:
            what = "grid region" if level == "regional" else "province"
            raise CarbonError(f"unknown {what} '{region}' for level {level} (basis {basis}); valid: {', '.join(known)}")
        cand = cand[cand["region"] == region]
    if cand.empty:
        have = tab[tab["basis"] != "certificate"]
        combos = sorted({f"{b}/{lv}" + (f"/{rg}" if isinstance(rg, str) and rg else "") for b, lv, rg in
                         zip(have["basis"], have["level"], have["region"].where(have["region"].notna()), strict=True)})
        raise CarbonError(f"no electricity factor for basis={basis} level={level} region={region or '-'}. "
                          f"Available (basis/level/region): {', '.join(combos)}")
    years = ", ".join(f"{int(y)} (published {_clean(p) or 'unknown'})"
                      for y, p in sorted(zip(cand["data_year"], cand["published"], strict=True)))
    where = f"basis={basis} level={level}" + (f" region={region}" if level != "national" else "")
    end = dt.date(reporting_year, 12, 31)
    if r["kind"] == "latest_published":
        pub = cand[cand["published"].notna()]
        pub = pub[pub["published"].map(lambda d: d <= end)]
        if pub.empty:
            raise CarbonError(f"no electricity factor for {where} was published on or before {end} "
                              f"(rule {r['id']}). Data years available: {years}. Use rule "
                              "'reporting_year_minus_2' or give a USER factor.")
        year = int(pub["data_year"].max())
        sel = pub[pub["data_year"] == year]
        why = f"latest data year published on or before {end}: {year}"
    elif r["kind"] == "lag":
        year = reporting_year - int(r["lag_years"])
        sel = cand[cand["data_year"] == year]
        if sel.empty:
            raise CarbonError(f"no electricity factor for {where} with data year {year} (rule {r['id']}: "
                              f"reporting year {reporting_year} - {int(r['lag_years'])}). Data years available: "
                              f"{years}. Use rule 'latest_published' or give a USER factor.")
        why = f"data year = reporting year {reporting_year} - {int(r['lag_years'])} = {year}"
    else:
        raise CarbonError(f"carbon_rules: unknown rule kind '{r['kind']}' for rule {r['id']}")
    sel = sel.assign(_user=(sel["status"] == "USER")).sort_values("_user")
    row = _row(sel.iloc[-1].drop("_user"))
    pub_txt = f"{row.get('notice') or 'notice not read'}, {row['published'] or 'date unknown'}"
    reason = f"rule {r['id']}: {why} ({pub_txt}); {where}"
    return FactorChoice(row, r["id"], reason, tuple(_status_flags([row])))


def _certified_zero(lib: FactorLibrary) -> FactorChoice:
    tab = lib.electricity
    row = _row(tab[tab["basis"] == "certificate"].iloc[-1])
    return FactorChoice(row, "market", "grid electricity covered by a certificate or contract (market-based)",
                        tuple(_status_flags([row])))


# ---------------------------------------------------------------------------------------------
# Activity
# ---------------------------------------------------------------------------------------------
def _activity(activity: Any, period: int | None) -> pd.DataFrame:
    act = _table(activity, "activity")
    _require(act, ACTIVITY_COLUMNS, "activity")
    act["month"] = pd.to_datetime(act["month"])
    if (act["month"].dt.day != 1).any() or (act["month"].dt.normalize() != act["month"]).any():
        raise CarbonError("activity: month must be the first day of the month")
    act["quantity"] = act["quantity"].astype(float)
    bad = act[~act["flow"].isin(FLOWS)]
    if len(bad):
        raise CarbonError(f"activity: unknown flow(s) {sorted(bad['flow'].unique())}; use one of {', '.join(FLOWS)}")
    elec = act["carrier"] == ELECTRICITY
    bad = act[elec & (act["flow"] == "delivered") | ~elec & (act["flow"] != "delivered")]
    if len(bad):
        raise CarbonError("activity: electricity rows need flow grid_import, onsite_renewable or export, and all "
                          f"other carriers flow 'delivered'; offending carriers/flows: "
                          f"{sorted(set(zip(bad['carrier'], bad['flow'], strict=True)))}")
    if (act["quantity"] < 0).any():
        rows = act[act["quantity"] < 0]
        raise CarbonError(f"activity: negative quantities for {sorted(set(rows['enterprise_id']))} "
                          f"({sorted(set(rows['carrier']))}); quantities are amounts used, imported or exported")
    if period is not None:
        act = act[act["month"].dt.year == period]
    return act.reset_index(drop=True)


@cache
def _factor(from_unit: str, to_unit: str) -> float:
    """Multiplier from ``from_unit`` into ``to_unit`` [1]; ``to_unit`` may be scaled (``10^4 Nm3``)."""
    try:
        if "^" in to_unit or " " in to_unit.strip():
            ureg = units.registry()
            return float((ureg.Quantity(1.0, from_unit) / ureg.parse_expression(to_unit)).to("dimensionless").magnitude)
        return units.conversion_factor(from_unit, to_unit)
    except Exception as exc:
        raise CarbonError(f"cannot convert unit '{from_unit}' into '{to_unit}': {exc}") from None


def _conv(series_units: pd.Series, to_unit: str) -> pd.Series:
    """Per-row multiplier from each row's unit into ``to_unit`` (one pint lookup per distinct unit)."""
    return series_units.map({u: _factor(u, to_unit) for u in series_units.unique()})


def _split_unit(unit: str) -> tuple[str, str]:
    num, _, den = unit.partition("/")
    return num.strip(), den.strip()


# ---------------------------------------------------------------------------------------------
# Scope 1
# ---------------------------------------------------------------------------------------------
def fuel_combustion(fuel_activity: pd.DataFrame, library: FactorLibrary,
                    fuel_map: dict[str, str] | None = None) -> tuple[pd.DataFrame, list[dict], list[dict]]:
    """Scope 1 CO2 of fuel combustion, GB/T 32151.22-2024 formula (source gbt32151.22-2024) [tCO2].

    ``E = AD [ad_unit] x NCV [GJ/ad_unit] x CC [tC/TJ] x 10^-3 [TJ/GJ] x OF [1] x 44/12 [tCO2/tC]``.
    The activity quantity is converted into the fuel's ad_unit with pint (m3 -> 10^4 Nm3, kg -> t).
    ``fuel_map`` maps a carrier to a fuel parameter id (e.g. ``raw_coal -> bituminous_coal``).

    Returns (lines, factor citations, flags).
    """
    co2_per_c, co2_cite = library.co2_per_c
    if fuel_activity.empty:
        return fuel_activity.assign(co2_t=[]), [], []
    f = fuel_activity.copy()
    f["fuel"] = f["carrier"].map(lambda c: (fuel_map or {}).get(c, c))
    fp = library.fuels
    known = set(fp["fuel"])
    unknown = sorted(set(f["fuel"]) - known)
    if unknown:
        raise CarbonError(f"no fuel parameters for {unknown}. Known fuels: {', '.join(sorted(known))}. Map a carrier "
                          "to a fuel (fuel_map, e.g. raw_coal = bituminous_coal) or give USER fuel factors.")
    used = fp[fp["fuel"].isin(f["fuel"])]
    empty = used[used["value"].isna()]
    if len(empty):
        raise CarbonError("fuel parameters not available (defaults not read, UNVERIFIED): "
                          f"{sorted(empty['id'])}. Give measured values as USER fuel factors with their source.")
    wide = used.pivot(index="fuel", columns="parameter", values="value")
    ids = used.pivot(index="fuel", columns="parameter", values="id")
    u = used.pivot(index="fuel", columns="parameter", values="unit")
    adu = used.groupby("fuel")["ad_unit"].last()
    for fuel in wide.index:  # a few fuel rows: check the units the formula is written in
        ncv_num, ncv_den = _split_unit(u.loc[fuel, "ncv"])
        cc_num, cc_den = _split_unit(u.loc[fuel, "cc"])
        if ncv_den.replace(" ", "") != adu[fuel].replace(" ", "") or cc_num != "tC":
            raise CarbonError(f"fuel {fuel}: NCV must be per ad_unit ({adu[fuel]}) and CC in tC per energy unit; "
                              f"got {u.loc[fuel, 'ncv']} and {u.loc[fuel, 'cc']}")
    heat_to_cc = {fuel: units.conversion_factor(_split_unit(u.loc[fuel, "ncv"])[0], _split_unit(u.loc[fuel, "cc"])[1])
                  for fuel in wide.index}
    f["ad_unit"] = f["fuel"].map(adu)
    f["ad"] = np.nan
    for ad_unit in f["ad_unit"].unique():  # one or two distinct ad units (t, 10^4 Nm3)
        m = f["ad_unit"] == ad_unit
        f.loc[m, "ad"] = f.loc[m, "quantity"] * _conv(f.loc[m, "unit"], ad_unit)
    f["ncv"] = f["fuel"].map(wide["ncv"])
    f["cc"] = f["fuel"].map(wide["cc"])
    f["of"] = f["fuel"].map(wide["of"])
    f["heat_gj"] = f["ad"] * f["ncv"]
    # E = AD x NCV x CC x OF x 44/12, GB/T 32151.22-2024 (source gbt32151.22-2024); heat_to_cc: GJ -> TJ
    f["co2_t"] = f["heat_gj"] * f["fuel"].map(heat_to_cc) * f["cc"] * f["of"] * co2_per_c
    f["factor_ids"] = f["fuel"].map(ids["ncv"] + "," + ids["cc"] + "," + ids["of"] + ",co2_per_c")
    f["scope"], f["category"], f["method"] = 1, "fuel_combustion", "all"
    rows = used.assign(value=used["value"].astype(float)).to_dict("records")
    cites = []
    for r in rows:
        c = _cite(r)
        c["unit"] = r["unit"] if r["parameter"] != "of" else "1"
        c["fuel"] = r["fuel"]
        cites.append(c)
    cites.append(co2_cite)
    return f, cites, _status_flags(rows)


def process_emissions(process: Any) -> tuple[pd.DataFrame, list[dict], list[dict]]:
    """Scope 1 process emissions: activity [unit] x factor [tCO2/unit] per row (user-entered).

    ``factor_unit`` is ``tCO2/<unit>``; the activity quantity is converted into ``<unit>`` with pint.
    """
    p = _table(process, "process")
    if p.empty:
        return p, [], []
    _require(p, ("enterprise_id", "month", "process", "quantity", "unit", "factor", "factor_unit", "source"), "process")
    if "status" not in p.columns:
        p["status"] = "USER"
    p["status"] = p["status"].fillna("USER")
    p["month"] = pd.to_datetime(p["month"])
    num = p["factor_unit"].map(lambda s: _split_unit(s)[0])
    if (num != "tCO2").any():
        raise CarbonError(f"process: factor_unit must be tCO2/<unit>; got {sorted(set(p['factor_unit']))}")
    p["ad_unit"] = p["factor_unit"].map(lambda s: _split_unit(s)[1])
    p["ad"] = np.nan
    for ad_unit in p["ad_unit"].unique():
        m = p["ad_unit"] == ad_unit
        p.loc[m, "ad"] = p.loc[m, "quantity"] * _conv(p.loc[m, "unit"], ad_unit)
    p["co2_t"] = p["ad"] * p["factor"].astype(float)
    p["factor_ids"] = "process:" + p["process"].astype(str)
    p["carrier"], p["flow"] = p["process"], "process"
    p["scope"], p["category"], p["method"] = 1, "process", "all"
    f = p.drop_duplicates(["process", "factor", "factor_unit", "source", "status"])
    dup = f[f["process"].duplicated()]
    if len(dup):
        raise CarbonError(f"process: one factor per process; {sorted(dup['process'])} have several")
    rows = [{"id": f"process:{r['process']}", "value": float(r["factor"]), "unit": r["factor_unit"],
             "source": r["source"], "status": r["status"]} for r in f.to_dict("records")]
    return p, rows, _status_flags(rows)


# ---------------------------------------------------------------------------------------------
# Scope 2
# ---------------------------------------------------------------------------------------------
def _heat_rows(library: FactorLibrary, kind: str) -> pd.DataFrame:
    return library.heat[library.heat["kind"] == kind]


def purchased_heat(heat_activity: pd.DataFrame, library: FactorLibrary,
                   factor_ids: dict[str, str] | None = None) -> tuple[pd.DataFrame, list[dict], list[dict]]:
    """Scope 2 CO2 of purchased heat and steam: heat [GJ] x factor [tCO2/GJ] (GB/T 32150-2025 cl. 7.5.6-7.5.7).

    Steam [t] x heat content [GJ/t] = heat [GJ]. Factor per row, in order of precedence: a USER row for the
    row's enterprise, a USER row without enterprise, a pinned id (``factor_ids['heat']`` /
    ``factor_ids['steam']``), else the default of the GB/T 32150 edition in force in the consumption month
    (``valid_from`` .. ``valid_to``) / the default steam heat content.
    """
    if heat_activity.empty:
        return heat_activity.assign(co2_t=[]), [], []
    h = heat_activity.copy()
    pins = factor_ids or {}
    flags: list[dict] = []

    def choose(kind: str, mask: pd.Series) -> pd.Series:
        rows = _heat_rows(library, kind)
        out = pd.Series(None, index=h.index[mask], dtype=object)
        pin = pins.get("heat" if kind == "heat_factor" else "steam")
        if pin is not None:
            if pin not in set(rows["id"]):
                raise CarbonError(f"no {kind} '{pin}'. Valid ids: {', '.join(rows['id'])}")
            out[:] = pin
        else:
            defaults = rows[(rows["status"] != "USER") & rows["default"].fillna(False).astype(bool)]
            for r in defaults.to_dict("records"):  # a few edition rows
                lo, hi = _clean(r.get("valid_from")), _clean(r.get("valid_to"))
                m = pd.Series(True, index=out.index)
                if lo is not None:
                    m &= h.loc[mask, "month"] >= pd.Timestamp(lo)
                if hi is not None:
                    m &= h.loc[mask, "month"] <= pd.Timestamp(hi)
                out[m & out.isna()] = r["id"]
        user = rows[rows["status"] == "USER"]
        ent = user["enterprise_id"] if "enterprise_id" in user else pd.Series(None, index=user.index)
        for r in user[ent.isna()].to_dict("records"):
            out[:] = r["id"]
        for r in user[ent.notna()].to_dict("records"):
            out[h.loc[mask, "enterprise_id"] == r["enterprise_id"]] = r["id"]
        if out.isna().any():
            months = sorted(h.loc[mask][out.isna()]["month"].dt.strftime("%Y-%m").unique())
            raise CarbonError(f"no {kind} in force for months {months}; valid rows: {', '.join(rows['id'])}")
        return out

    is_steam = h["carrier"] == STEAM
    h["heat_gj"] = np.nan
    h["steam_factor_id"] = None
    if is_steam.any():
        sid = choose("steam_heat", is_steam)
        sval = _heat_rows(library, "steam_heat").set_index("id")["value"]
        h.loc[is_steam, "steam_factor_id"] = sid
        h.loc[is_steam, "heat_gj"] = h.loc[is_steam, "quantity"] * _conv(h.loc[is_steam, "unit"], "t") * sid.map(sval)
        if (sid == "steam_low_pressure").any():
            flags.append(_flag("carbon.steam.default_heat_content",
                               "steam converted into heat with the GB/T 2589-2020 low-pressure steam row (3.763 GJ/t); "
                               "give the supplier's measured enthalpy as a USER steam_heat row",
                               ["steam_low_pressure"], "info"))
    if (~is_steam).any():
        h.loc[~is_steam, "heat_gj"] = h.loc[~is_steam, "quantity"] * _conv(h.loc[~is_steam, "unit"], "GJ")
    hid = choose("heat_factor", pd.Series(True, index=h.index))
    hval = _heat_rows(library, "heat_factor").set_index("id")["value"]
    h["co2_t"] = h["heat_gj"] * hid.map(hval)
    h["factor_ids"] = hid.where(h["steam_factor_id"].isna(), h["steam_factor_id"].astype(str) + "," + hid)
    h["scope"], h["category"], h["method"] = 2, h["carrier"], "all"
    used_ids = set(hid) | set(h["steam_factor_id"].dropna())
    rows = [{k: _clean(v) for k, v in r.items()} for r in library.heat[library.heat["id"].isin(used_ids)].to_dict("records")]
    cites = [_cite(r, ("kind", "standard", "enterprise_id")) for r in rows]
    return h, cites, flags + _status_flags(rows)


def purchased_electricity_location(elec_activity: pd.DataFrame, choice: FactorChoice) -> pd.DataFrame:
    """Scope 2 location-based: grid import [MWh] x grid-average factor [tCO2/MWh] (sources mee-nbs-2021..2023).

    On-site renewable generation and export rows are kept with 0 tCO2 (not grid electricity; no credit).
    """
    e = elec_activity.copy()
    e["ad"] = e["quantity"] * _conv(e["unit"], "MWh")
    e["ad_unit"] = "MWh"
    grid = e["flow"] == "grid_import"
    e["co2_t"] = np.where(grid, e["ad"] * choice.value, 0.0)
    e["factor_ids"] = np.where(grid, choice.id, "")
    e["scope"], e["category"], e["method"] = 2, ELECTRICITY, "location"
    return e


# ---------------------------------------------------------------------------------------------
# Certificates (market-based)
# ---------------------------------------------------------------------------------------------
#: stable codes of certificate problems (``screen_certificates``; ``carbon_accounts`` adds
#: ``serial_used_in_other_period`` from the store's registry of published uses)
CERTIFICATE_PROBLEMS = ("duplicate_id", "unknown_kind", "gec_without_serials", "mwh_not_positive",
                        "generation_end_before_start", "crosses_year_end", "malformed_serial_range",
                        "serial_end_before_start", "serial_registered_twice")


def serial_ranges(certificates: pd.DataFrame) -> pd.DataFrame:
    """Parsed serial ranges: ``head`` (prefix), ``lo``, ``hi`` (trailing digits as int64) and ``ok``.

    Serials are compared on their trailing digits (at most 18) within the same prefix; rows without
    both serials have ``ok`` False and no range.
    """
    s = certificates[["serial_start", "serial_end"]]
    has = s["serial_start"].notna() & s["serial_end"].notna()
    a = s["serial_start"].astype(str).str.strip().str.extract(_SERIAL)
    b = s["serial_end"].astype(str).str.strip().str.extract(_SERIAL)
    ok = has & a[1].notna() & b[1].notna() & (a[0] == b[0])
    out = pd.DataFrame({"has": has, "ok": ok, "head": a[0].where(ok)}, index=certificates.index)
    out["lo"] = pd.to_numeric(a[1].where(ok), errors="coerce").astype("Int64")
    out["hi"] = pd.to_numeric(b[1].where(ok), errors="coerce").astype("Int64")
    return out


def _certificate_problems(certificates: Any, matching: str | None,
                          library: FactorLibrary | None) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """(table, problems, flags): ``problems`` has one row per problem: ``positions`` (row positions in
    the table it concerns), ``code`` (:data:`CERTIFICATE_PROBLEMS`) and ``message``."""
    lib = library or factor_library()
    rule = _rule(lib, "certificate_matching", matching)
    c = _table(certificates, "certificates")
    cols = ["positions", "code", "message"]
    if c.empty:
        return c, pd.DataFrame(columns=cols), []
    _require(c, ("id", "kind", "enterprise_id", "mwh", "generation_start", "generation_end"), "certificates")
    for col in ("serial_start", "serial_end", "project", "province"):
        if col not in c.columns:
            c[col] = None
    c = c.reset_index(drop=True)
    c["id"] = c["id"].astype(str)
    c["mwh"] = c["mwh"].astype(float)
    c["generation_start"] = pd.to_datetime(c["generation_start"])
    c["generation_end"] = pd.to_datetime(c["generation_end"])
    problems: list[tuple[list[int], str, str]] = []

    def each(mask: pd.Series, code: str, text: str) -> None:
        problems.extend(([int(i)], code, text.format(id=c.at[i, "id"], kind=c.at[i, "kind"])) for i in c.index[mask])

    dup = c[c["id"].duplicated(keep=False)]
    for i in sorted(dup["id"].unique()):
        rows = dup[dup["id"] == i]
        ents = rows["enterprise_id"].tolist()
        problems.append(([int(x) for x in rows.index], "duplicate_id",
                         f"certificate id '{i}' is registered {len(ents)} times (enterprises {ents})"))
    each(~c["kind"].isin(CERTIFICATE_KINDS), "unknown_kind",
         "certificate '{id}': kind '{kind}' is not one of " + ", ".join(CERTIFICATE_KINDS))
    each((c["kind"] == "gec") & (c["serial_start"].isna() | c["serial_end"].isna()), "gec_without_serials",
         "certificate '{id}': a GEC needs serial_start and serial_end")
    each(~(c["mwh"] > 0), "mwh_not_positive", "certificate '{id}': mwh must be > 0")
    each(c["generation_end"] < c["generation_start"], "generation_end_before_start",
         "certificate '{id}': generation_end is before generation_start")
    if rule["kind"] == "calendar_year":
        each(c["generation_start"].dt.year != c["generation_end"].dt.year, "crosses_year_end",
             "certificate '{id}': generation period crosses a year end; under calendar_year matching "
             "register one row per calendar year")
    flags: list[dict] = []
    rng = serial_ranges(c)
    each(rng["has"] & ~rng["ok"], "malformed_serial_range",
         "certificate '{id}': serial range must be two serials with the same prefix that differ only "
         "in their trailing digits (at most 18)")
    s = c[rng["ok"]].join(rng[["head", "lo", "hi"]])
    if len(s):
        s["lo"], s["hi"] = s["lo"].astype("int64"), s["hi"].astype("int64")
        each(c.index.isin(s.index[s["hi"] < s["lo"]]), "serial_end_before_start",
             "certificate '{id}': serial_end is before serial_start")
        s["pos"] = s.index
        pairs = s.merge(s, on="head", suffixes=("_a", "_b"))
        pairs = pairs[(pairs["pos_a"] < pairs["pos_b"]) & (pairs["lo_a"] <= pairs["hi_b"]) & (pairs["lo_b"] <= pairs["hi_a"])]
        for r in pairs.to_dict("records"):  # conflicting pairs, not readings
            lo, hi = max(r["lo_a"], r["lo_b"]), min(r["hi_a"], r["hi_b"])
            problems.append((
                [int(r["pos_a"]), int(r["pos_b"])], "serial_registered_twice",
                f"GEC serials registered twice ({plural(hi - lo + 1, 'serial')}, trailing digits {lo}..{hi}): "
                f"certificate '{r['id_a']}' (enterprise {r['enterprise_id_a']}, serials {r['serial_start_a']}.."
                f"{r['serial_end_a']}) and certificate '{r['id_b']}' (enterprise {r['enterprise_id_b']}, serials "
                f"{r['serial_start_b']}..{r['serial_end_b']})"))
        mism = s[(s["kind"] == "gec") & ((s["hi"] - s["lo"] + 1) != s["mwh"])]
        if len(mism):
            flags.append(_flag("carbon.certificates.serial_count_mismatch",
                               "the number of serials in the range differs from mwh; mwh is used",
                               mism["id"].tolist()))
    return c, pd.DataFrame(problems, columns=cols), flags


def validate_certificates(certificates: Any, matching: str | None = None,
                          library: FactorLibrary | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Check a certificate/contract table; raise CertificateError naming every problem.

    Errors: duplicate ids; unknown kind; GEC without serial range; end before start; mwh <= 0; a serial
    (or overlapping serial range) registered twice, naming both registrations; under ``calendar_year``
    matching, a generation period that crosses Dec 31. Flags: serial count differs from mwh (1 GEC taken
    as 1 MWh; the rule was not read in any source, so this is a flag, not an error).
    """
    c, problems, flags = _certificate_problems(certificates, matching, library)
    if len(problems):
        raise CertificateError("certificates rejected:\n" + "\n".join(problems["message"]))
    return c, flags


def screen_certificates(certificates: Any, matching: str | None = None, library: FactorLibrary | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Split a certificate table into accepted and rejected registrations (an import that quarantines).

    Every registration involved in a problem of :func:`validate_certificates` is rejected; both
    registrations of a serial used twice are rejected (the table does not say which one is right),
    and each rejection names both uses.

    Returns
    -------
    (accepted, rejected, flags): ``accepted`` passes :func:`validate_certificates`; ``rejected`` has one
    row per problem and registration: ``position`` (row in the input), ``id``, ``enterprise_id``,
    ``code``, ``message``; flags include ``carbon.certificates.rejected`` (severity error) when any
    registration was rejected.
    """
    c, problems, flags = _certificate_problems(certificates, matching, library)
    cols = ["position", "id", "enterprise_id", "code", "message"]
    if problems.empty:
        return c, pd.DataFrame(columns=cols), flags
    rej = problems.explode("positions").rename(columns={"positions": "position"})
    rej["position"] = rej["position"].astype(int)
    rej["id"] = c.loc[rej["position"], "id"].to_numpy()
    rej["enterprise_id"] = c.loc[rej["position"], "enterprise_id"].to_numpy()
    rej = rej[cols].sort_values(["position", "code"]).reset_index(drop=True)
    accepted = c.drop(index=sorted(set(rej["position"])))
    flags = [f for f in flags if set(f["ids"]) & set(accepted["id"])]
    flags.append(_flag("carbon.certificates.rejected",
                       f"{rej['position'].nunique()} certificate registration(s) rejected and left out of the "
                       "market-based accounts; fix them in park.toml: " + "; ".join(dict.fromkeys(rej["message"])),
                       rej["id"].tolist(), "error"))
    return accepted.reset_index(drop=True), rej, flags


def allocate_certificates(certificates: pd.DataFrame, grid: pd.DataFrame, matching: str | None = None,
                          library: FactorLibrary | None = None) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Apply validated certificates to grid import [MWh], oldest vintage first, by month (module docstring).

    Parameters
    ----------
    certificates : DataFrame
        Output of :func:`validate_certificates`.
    grid : DataFrame
        ``enterprise_id, month, grid_mwh`` [MWh], one row per enterprise and month.

    Returns
    -------
    (applied, summary, flags): ``applied`` has ``certificate_id, kind, enterprise_id, month, mwh`` [MWh]
    (rows with mwh > 0 only); ``summary`` has one row per certificate with ``mwh, applied_mwh,
    unapplied_mwh`` [MWh].
    """
    lib = library or factor_library()
    rule = _rule(lib, "certificate_matching", matching)
    g = grid.sort_values(["enterprise_id", "month"]).reset_index(drop=True)
    remaining = g["grid_mwh"].to_numpy(dtype=float).copy()
    month_start = g["month"].to_numpy()
    month_end = (g["month"] + pd.offsets.MonthEnd(0)).to_numpy()
    ent = g["enterprise_id"].to_numpy()
    year = g["month"].dt.year.to_numpy()
    c = certificates.sort_values(["generation_start", "generation_end", "id"]).reset_index(drop=True)
    applied_parts, applied_total = [], []
    for cert in c.itertuples():  # certificate registrations, not readings
        eligible = ent == cert.enterprise_id
        if rule["kind"] == "calendar_year":
            eligible = eligible & (year == cert.generation_start.year)
        else:  # generation_month: the month overlaps the generation period
            eligible = eligible & (month_start <= np.datetime64(cert.generation_end)) & (month_end >= np.datetime64(cert.generation_start))
        idx = np.flatnonzero(eligible)
        avail = remaining[idx]
        cum = np.cumsum(avail)
        take = np.clip(np.minimum(cum, cert.mwh) - (cum - avail), 0.0, None)
        remaining[idx] -= take
        applied_total.append(float(take.sum()))
        nz = take > 0
        applied_parts.append((np.full(nz.sum(), cert.Index), idx[nz], take[nz]))
    cols = ["certificate_id", "kind", "enterprise_id", "month", "mwh"]
    if applied_parts:
        ci, mi, mwh = (np.concatenate(x) for x in zip(*applied_parts, strict=True))
        applied = pd.DataFrame({"certificate_id": c["id"].to_numpy()[ci], "kind": c["kind"].to_numpy()[ci],
                                "enterprise_id": ent[mi], "month": month_start[mi], "mwh": mwh})
    else:
        applied = pd.DataFrame(columns=cols)
    summary = c[["id", "kind", "enterprise_id", "mwh", "generation_start", "generation_end", "project", "province"]].copy()
    summary["applied_mwh"] = applied_total
    summary["unapplied_mwh"] = summary["mwh"] - summary["applied_mwh"]
    flags = []
    capped = summary[summary["unapplied_mwh"] > 1e-9]
    if len(capped):
        flags.append(_flag("carbon.certificates.exceed_consumption_capped",
                           f"{capped['unapplied_mwh'].sum():g} MWh of certificates exceed the grid import of the "
                           f"months they may cover ({rule['id']} matching) and were not applied", capped["id"].tolist()))
    return applied, summary, flags


def purchased_electricity_market(elec_activity: pd.DataFrame, applied: pd.DataFrame, residual: FactorChoice,
                                 zero: FactorChoice) -> pd.DataFrame:
    """Scope 2 market-based lines: certified grid import [MWh] x 0 and the rest x residual [tCO2/MWh].

    Residual = national factor excluding market-traded non-fossil electricity (usage note of the MEE/NBS factors, source mee-nbs-2021).
    """
    e = elec_activity[elec_activity["flow"] == "grid_import"].copy()
    e["ad"] = e["quantity"] * _conv(e["unit"], "MWh")
    grid = e.groupby(["enterprise_id", "month"], as_index=False)["ad"].sum()
    cov = applied.groupby(["enterprise_id", "month"], as_index=False)["mwh"].sum() if len(applied) else \
        pd.DataFrame(columns=["enterprise_id", "month", "mwh"])
    grid = grid.merge(cov, on=["enterprise_id", "month"], how="left").fillna({"mwh": 0.0})
    certified = grid.assign(ad=grid["mwh"], flow="grid_import_certified", factor_ids=zero.id,
                            co2_t=grid["mwh"] * zero.value)
    rest = grid.assign(ad=grid["ad"] - grid["mwh"], flow="grid_import_residual", factor_ids=residual.id)
    rest["co2_t"] = rest["ad"] * residual.value
    out = pd.concat([certified, rest], ignore_index=True).drop(columns="mwh")
    out = out[(out["ad"] > 0) | (out["flow"] == "grid_import_residual")]
    return out.assign(carrier=ELECTRICITY, quantity=out["ad"], unit="MWh", ad_unit="MWh", scope=2,
                      category=ELECTRICITY, method="market")


# ---------------------------------------------------------------------------------------------
# The account
# ---------------------------------------------------------------------------------------------
FIGURES = ("scope1_t", "scope2_location_t", "scope2_market_t", "total_t", "total_location_t", "total_market_t")
LINE_COLUMNS = ["enterprise_id", "month", "scope", "category", "method", "carrier", "flow", "quantity", "unit",
                "ad", "ad_unit", "factor_ids", "co2_t"]


@dataclass
class CarbonResult:
    """One carbon account. ``lines`` has one row per activity row and method, with its factors and tCO2."""

    period: int
    method: str
    level: str
    region: str | None
    lines: pd.DataFrame
    enterprises: pd.DataFrame
    park: dict[str, float | None]
    certificates: pd.DataFrame | None
    certificate_months: pd.DataFrame | None
    factors: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    lineage: dict[str, Any]
    #: factor ids by role, to pin them in a later run (no restatement unless asked)
    selection: dict[str, str] = field(default_factory=dict)


def _figures(lines: pd.DataFrame, method: str, keys: list[str]) -> pd.DataFrame:
    s1 = lines["scope"] == 1
    all_ = lines["method"] == "all"
    t = lines.assign(
        scope1_t=np.where(s1, lines["co2_t"], 0.0),
        scope2_location_t=np.where(~s1 & (all_ | (lines["method"] == "location")), lines["co2_t"], 0.0),
        scope2_market_t=np.where(~s1 & (all_ | (lines["method"] == "market")), lines["co2_t"], 0.0))
    cols = ["scope1_t", "scope2_location_t", "scope2_market_t"]
    g = t.groupby(keys, as_index=False)[cols].sum() if keys else t[cols].sum().to_frame().T
    if method == "location":
        g["scope2_market_t"] = np.nan
    if method == "market":
        g["scope2_location_t"] = np.nan
    g["total_location_t"] = g["scope1_t"] + g["scope2_location_t"]
    g["total_market_t"] = g["scope1_t"] + g["scope2_market_t"]
    g["total_t"] = g["total_market_t"] if method == "market" else g["total_location_t"]
    return g


def account(activity: Any, period: int, *, method: str = "both", level: str = "national",
            region: str | None = None, rule: str | None = None, certificates: Any = None, process: Any = None,
            library: FactorLibrary | None = None, fuel_map: dict[str, str] | None = None,
            factor_ids: dict[str, str] | None = None, matching: str | None = None) -> CarbonResult:
    """Scope 1 and Scope 2 CO2 [tCO2] of every enterprise and the park for the calendar year ``period``.

    Parameters
    ----------
    activity : table
        The activity contract of the module docstring (months outside ``period`` are ignored).
    method : {"location", "market", "both"}
    level, region : grid level and region/province of the location-based factor.
    rule : factor-year rule id (``carbon_rules.csv``; default ``latest_published``).
    certificates : table, optional
        GECs and green-power contracts (market-based); validated first (CertificateError).
    process : table, optional
        Process emissions rows (Scope 1).
    factor_ids : dict, optional
        Pinned factor ids by role: ``electricity_location``, ``electricity_residual``, ``heat``, ``steam``.
    matching : certificate matching rule id (default ``calendar_year``).
    """
    if method not in METHODS:
        raise CarbonError(f"unknown method '{method}'; use one of {', '.join(METHODS)}")
    lib = library or factor_library()
    pins = factor_ids or {}
    act = _activity(activity, period)
    factors: list[dict] = []
    flags: list[dict] = []
    selections: dict[str, dict[str, str]] = {}
    parts: list[pd.DataFrame] = []

    carrier_rows = {r["id"]: r for r in reference.load("carriers").rows}
    fuel_ids = set(lib.fuels["fuel"]) | set((fuel_map or {}).keys())
    is_scope2 = act["carrier"].isin([ELECTRICITY, HEAT, STEAM])
    medium = act["carrier"].map(lambda c: bool(carrier_rows.get(c, {}).get("working_medium"))).astype(bool) & \
        ~act["carrier"].isin(fuel_ids)
    if medium.any():
        flags.append(_flag("carbon.activity.working_medium_skipped",
                           "energy-consuming working media carry no Scope 1/2 CO2 in these accounts",
                           sorted(act.loc[medium, "carrier"].unique()), "info"))
    fuel_act = act[~is_scope2 & ~medium]
    # certificates are checked whenever given, so that a double registration is never silently ignored
    certs, cfl = validate_certificates(certificates, matching, lib)
    flags += cfl

    lines, cites, fl = fuel_combustion(fuel_act, lib, fuel_map)
    parts.append(lines)
    factors += cites
    flags += fl
    plines, pcites, pfl = process_emissions(process)
    if len(plines):
        parts.append(plines[plines["month"].dt.year == period])
    factors += pcites
    flags += pfl

    hlines, hcites, hfl = purchased_heat(act[act["carrier"].isin([HEAT, STEAM])], lib, pins)
    parts.append(hlines)
    factors += hcites
    flags += hfl
    if len(hlines):
        selections["heat"] = {"id": ",".join(sorted(set(hlines["factor_ids"]))),
                              "reason": "GB/T 32150 edition in force in the consumption month, or a USER/pinned row"}

    elec = act[act["carrier"] == ELECTRICITY]
    if len(elec) and (elec["flow"] != "grid_import").any():
        flags.append(_flag("carbon.electricity.onsite_and_export_not_counted",
                           "on-site renewable generation is not grid electricity and export earns no credit: "
                           "these rows carry 0 tCO2", sorted(elec.loc[elec["flow"] != "grid_import", "enterprise_id"].unique()),
                           "info"))
    selection: dict[str, str] = {}
    cert_summary = cert_months = None
    lineage_rule = None
    if len(elec) and method in ("location", "both"):
        ch = select_electricity_factor(period, level, region, "average", rule, lib, pins.get("electricity_location"))
        parts.append(purchased_electricity_location(elec, ch))
        factors.append(ch.citation())
        flags += list(ch.flags)
        selections["electricity_location"] = {"id": ch.id, "reason": ch.reason}
        selection["electricity_location"] = ch.id
        lineage_rule = ch.rule
    if len(elec) and method in ("market", "both"):
        res = select_electricity_factor(period, "national", None, "residual", rule, lib, pins.get("electricity_residual"))
        zero = _certified_zero(lib)
        grid = elec[elec["flow"] == "grid_import"].assign(grid_mwh=lambda d: d["quantity"] * _conv(d["unit"], "MWh"))
        grid = grid.groupby(["enterprise_id", "month"], as_index=False)["grid_mwh"].sum()
        if len(certs):
            certs = certs[certs["generation_start"].dt.year <= period]
            certs = certs[certs["generation_end"].dt.year >= period]
        applied = pd.DataFrame(columns=["certificate_id", "kind", "enterprise_id", "month", "mwh"])
        if len(certs):
            applied, cert_summary, afl = allocate_certificates(certs, grid, matching, lib)
            cert_months = applied
            flags += afl
            factors.append(zero.citation())
            flags += list(zero.flags)
            flags.append(_flag("carbon.market.zero_factor_rule_unverified",
                               "certified grid electricity is counted at 0 tCO2/MWh (market-based usage note, C1); "
                               "the MEE rule for deducting green power or GECs in enterprise GHG reports was not read",
                               [zero.id], "info"))
        parts.append(purchased_electricity_market(elec, applied, res, zero))
        factors.append(res.citation())
        flags += list(res.flags)
        selections["electricity_residual"] = {"id": res.id, "reason": res.reason}
        selection["electricity_residual"] = res.id
        lineage_rule = lineage_rule or res.rule

    parts = [p for p in parts if len(p)]
    lines = pd.concat([p.reindex(columns=LINE_COLUMNS) for p in parts], ignore_index=True) if parts \
        else pd.DataFrame(columns=LINE_COLUMNS)
    lines["co2_t"] = lines["co2_t"].astype(float)
    lines["scope"] = lines["scope"].astype(int)
    ents = _figures(lines, method, ["enterprise_id"]).rename(columns={"enterprise_id": "id"})
    park_fig = _figures(lines, method, []).iloc[0]
    park = {k: (None if pd.isna(park_fig[k]) else float(park_fig[k])) for k in FIGURES}
    uniq: dict[str, dict] = {}
    for f in factors:
        uniq.setdefault(f["id"], f)
    flags = _merge_flags(flags)
    year_rule = _rule(lib, "electricity_factor_year", rule)
    if lineage_rule == "pinned":
        year_rule = {"id": "pinned", "source": "factor ids pinned to an earlier result (not restated)"}
    lineage = {
        "factor_year_rule": year_rule["id"],
        "factor_year_rule_source": str(year_rule["source"]),
        "certificate_matching": _rule(lib, "certificate_matching", matching)["id"],
        "selections": selections,
        "formula": {
            "fuel_combustion": "AD [ad_unit] x NCV [GJ/ad_unit] x CC [tC/TJ] x 0.001 [TJ/GJ] x OF x 44/12 "
                               "(GB/T 32151.22-2024, source gbt32151.22-2024)",
            "electricity_location": "grid_import [MWh] x grid average [tCO2/MWh]",
            "electricity_market": "(grid_import - certified) [MWh] x residual [tCO2/MWh] + certified x 0",
            "heat": "heat [GJ] x factor [tCO2/GJ]; steam [t] x heat content [GJ/t] -> heat [GJ]",
        },
        "activity_rows": int(len(act)),
        "months": sorted(act["month"].dt.strftime("%Y-%m").unique().tolist()),
    }
    return CarbonResult(period=period, method=method, level=level, region=region if level != "national" else None,
                        lines=lines, enterprises=ents, park=park, certificates=cert_summary,
                        certificate_months=cert_months, factors=list(uniq.values()), flags=flags,
                        lineage=lineage, selection=selection)


def _merge_flags(flags: list[dict]) -> list[dict]:
    out: dict[str, dict] = {}
    for f in flags:
        if f["code"] in out:
            out[f["code"]]["ids"] = sorted(set(out[f["code"]]["ids"]) | set(f["ids"]))
        else:
            out[f["code"]] = dict(f)
    return list(out.values())


def _num(v: Any, nd: int) -> float | None:
    return None if v is None or pd.isna(v) else round(float(v), nd)


def to_json_dict(result: CarbonResult, ndigits: int = 4) -> dict[str, Any]:
    """The dict ``greenpark carbon --format json`` prints (shape in the module docstring) [tCO2, MWh]."""
    ents = [{"id": r["id"], **{k: _num(r[k], ndigits) for k in FIGURES}} for r in result.enterprises.to_dict("records")]
    certs = None
    if result.certificates is not None:
        grid = result.lines[(result.lines["method"] == "market")].groupby("enterprise_id")["ad"].sum()
        applied = result.certificates.groupby("enterprise_id")["applied_mwh"].sum()
        certs = {
            "by_enterprise": [{"id": e, "grid_import_mwh": _num(grid.get(e, 0.0), ndigits),
                               "applied_mwh": _num(applied.get(e, 0.0), ndigits)} for e in sorted(applied.index)],
            "by_certificate": [{"id": r["id"], "kind": r["kind"], "enterprise_id": r["enterprise_id"],
                                "mwh": _num(r["mwh"], ndigits), "applied_mwh": _num(r["applied_mwh"], ndigits),
                                "unapplied_mwh": _num(r["unapplied_mwh"], ndigits)}
                               for r in result.certificates.to_dict("records")],
            "unapplied_mwh": _num(result.certificates["unapplied_mwh"].sum(), ndigits),
        }
    return {"period": result.period, "method": result.method, "level": result.level, "region": result.region,
            "park": {k: _num(v, ndigits) for k, v in result.park.items()}, "enterprises": ents,
            "certificates": certs, "factors": result.factors, "flags": result.flags, "lineage": result.lineage}


def monthly_co2(result: CarbonResult, method: str = "location") -> pd.DataFrame:
    """Scope 1 + Scope 2 of ``method`` per enterprise and month [tCO2]: the ``monthly`` input of
    :func:`greenpark.core.targets.dual_control` (columns ``enterprise_id, month, co2_t``)."""
    if method not in ("location", "market"):
        raise CarbonError(f"monthly_co2: method must be location or market, not '{method}'")
    if method == "location" and result.method == "market" or method == "market" and result.method == "location":
        raise CarbonError(f"monthly_co2: the result was computed with method '{result.method}' only")
    ln = result.lines[result.lines["method"].isin(["all", method])]
    return ln.groupby(["enterprise_id", "month"], as_index=False)["co2_t"].sum()


# ---------------------------------------------------------------------------------------------
# Restatement
# ---------------------------------------------------------------------------------------------
def restatement(before: CarbonResult, after: CarbonResult, tol: float = 1e-9) -> pd.DataFrame:
    """The figures that differ between two results [tCO2]: one row per (entity, figure) that changed.

    Columns: ``entity`` ("park" or an enterprise id), ``figure`` (scope1_t, ...), ``before_t``, ``after_t``,
    ``change_t`` (= after - before) and ``change_pct`` [%]. Factor changes are in ``df.attrs['factors']``
    (role, before id and value, after id and value).
    """
    def long(r: CarbonResult) -> pd.DataFrame:
        e = r.enterprises.melt(id_vars="id", value_vars=list(FIGURES), var_name="figure", value_name="t")
        p = pd.DataFrame({"id": "park", "figure": list(FIGURES), "t": [r.park[k] for k in FIGURES]})
        return pd.concat([p, e], ignore_index=True).rename(columns={"id": "entity"})

    m = long(before).merge(long(after), on=["entity", "figure"], how="outer", suffixes=("_before", "_after"))
    m = m.rename(columns={"t_before": "before_t", "t_after": "after_t"})
    m["change_t"] = m["after_t"].astype(float) - m["before_t"].astype(float)
    changed = (m["change_t"].abs() > tol) | (m["before_t"].isna() != m["after_t"].isna())
    out = m[changed].copy()
    out["change_pct"] = 100.0 * out["change_t"] / out["before_t"].where(out["before_t"] != 0)
    out = out.reset_index(drop=True)
    fb = {f["id"]: f for f in before.factors}
    fa = {f["id"]: f for f in after.factors}
    roles = sorted(set(before.selection) | set(after.selection))
    out.attrs["factors"] = [
        {"role": k, "before": before.selection.get(k), "before_value": fb.get(before.selection.get(k), {}).get("value"),
         "after": after.selection.get(k), "after_value": fa.get(after.selection.get(k), {}).get("value")}
        for k in roles if before.selection.get(k) != after.selection.get(k)]
    return out


def restate(previous: CarbonResult, activity: Any, **kwargs: Any) -> tuple[CarbonResult, pd.DataFrame]:
    """Recompute ``previous.period`` with the factors the rules choose now, and the restatement diff.

    ``kwargs`` go to :func:`account` (same certificates, process rows, level...); ``factor_ids`` is not
    passed, so the current rule decides. Without calling this, re-run with
    ``account(..., factor_ids=previous.selection)`` to keep the published figures.
    """
    kwargs.setdefault("method", previous.method)
    kwargs.setdefault("level", previous.level)
    kwargs.setdefault("region", previous.region)
    new = account(activity, previous.period, **kwargs)
    return new, restatement(previous, new)


# -- public helpers for the services (greenpark.services.carbon_accounts) ----------------------
def flag(code: str, message: str, ids: list[str] | None = None, severity: str = "warning") -> dict[str, Any]:
    """A carbon/targets flag: ``{"code", "severity", "message", "ids"}`` (ids sorted, unique)."""
    return _flag(code, message, ids, severity)


def merge_flags(flags: list[dict]) -> list[dict]:
    """Flags with one entry per code (ids of the same code merged), in first-seen order."""
    return _merge_flags(flags)


def rule(library: FactorLibrary, topic: str, rule_id: str | None) -> dict[str, Any]:
    """The rule ``rule_id`` of ``topic`` in ``library.rules`` (the topic's default when None);
    raises :class:`CarbonError` for an unknown id."""
    return _rule(library, topic, rule_id)
