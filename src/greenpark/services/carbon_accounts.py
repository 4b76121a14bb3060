"""The carbon accounts of a park: park.toml and the store in, published results kept.

This module wires the pure core :mod:`greenpark.core.carbon` to a park: it turns park.toml's carbon sections
into their input tables, reads activity data from the store's monthly rollups
(:func:`greenpark.services.energy.monthly_activity`, never raw readings), screens certificate registrations, and
keeps the results it publishes in the store (:mod:`greenpark.store.results`). Dual-control targets are in
:mod:`greenpark.services.targets`.

Published results and restatement
---------------------------------
The first :func:`carbon_report` of a year, for one grid level and region, factor-year rule and certificate
matching rule, *publishes* its result: the store keeps every factor it used (id, value, unit, source,
status: the factor edition), the factor ids chosen by role and the figures. Later reports of that year
pin those factors (:func:`pinned_library`), so a newer factor edition, a value corrected in a data file
or a USER factor added to park.toml does not change a published year. What it would change is computed
and reported (``pending``). With ``restate=True`` the year is recomputed with the factors in force now,
the published row is superseded, and the difference is recorded and shown: per figure the change
against the published figure, split into the factor effect (new factors on today's activity) and the
data effect (today's activity against the activity the result was published with).

Certificate registrations
-------------------------
Certificates come from park.toml ``[[certificates]]``. The import step
(:func:`greenpark.core.carbon.screen_certificates`) rejects every registration with a problem and leaves it
out of the market-based accounts, like a quarantined reading; both registrations of a serial used twice
are rejected (park.toml does not say which one is right), and each rejection names both uses. A serial
already applied in a published result of another year (the store's registry of uses) is rejected too
(code ``serial_used_in_other_period``). The accounts of the remaining registrations are computed and the
rejections are shown with every output (flag ``carbon.certificates.rejected``, severity error).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from greenpark import __version__
from greenpark.core import carbon
from greenpark.errors import InputError
from greenpark.park import Park
from greenpark.services import energy
from greenpark.store import results

#: figures of one entity kept with a published result [tCO2]
FIGURES = carbon.FIGURES


class CarbonAccountsError(InputError, ValueError):
    """The carbon accounts of the park cannot be computed; the message says what to fix."""


AccountsError = CarbonAccountsError  # the former name (not users.AccountError: user accounts)


# ---------------------------------------------------------------------------------------------
# park.toml -> input tables of the cores
# ---------------------------------------------------------------------------------------------
def certificates_table(park: Park) -> pd.DataFrame:
    """``[[certificates]]`` as the certificate table of :mod:`greenpark.core.carbon` (mwh [MWh])."""
    cols = ["id", "kind", "enterprise_id", "serial_start", "serial_end", "mwh", "generation_start",
            "generation_end", "project", "province"]
    rows = [{"id": c.id, "kind": c.kind, "enterprise_id": c.enterprise, "serial_start": c.serial_start,
             "serial_end": c.serial_end, "mwh": c.mwh, "generation_start": pd.Timestamp(c.generation_start),
             "generation_end": pd.Timestamp(c.generation_end), "project": c.project, "province": c.province}
            for c in park.certificates]
    return pd.DataFrame(rows, columns=cols)


def process_table(park: Park) -> pd.DataFrame:
    """``[[process_emissions]]`` as monthly process rows (quantity [unit], factor [factor_unit])."""
    cols = ["enterprise_id", "month", "process", "quantity", "unit", "factor", "factor_unit", "source", "status"]
    rows = [{"enterprise_id": x.enterprise, "month": pd.Timestamp(x.year, m + 1, 1), "process": x.process,
             "quantity": q, "unit": x.unit, "factor": x.factor, "factor_unit": x.factor_unit, "source": x.source,
             "status": x.status}
            for x in park.process_emissions for m, q in enumerate(x.monthly_quantity)]
    return pd.DataFrame(rows, columns=cols)


def factor_library(park: Park) -> carbon.FactorLibrary:
    """Default factors plus park.toml's USER factors ``[[carbon_fuels]]``, ``[[carbon_grid_factors]]``,
    ``[[carbon_heat_factors]]`` and ``[carbon] at_risk_share``."""
    fuels = [{"id": f.id, "fuel": f.fuel, "ncv": f.ncv, "cc": f.cc, "of": f.of, "ad_unit": f.ad_unit,
              "ncv_unit": f"GJ/{f.ad_unit}" if f.ad_unit else None, "cc_unit": "tC/TJ" if f.ad_unit else None,
              "source": f.source, "status": "USER", "note": f.note} for f in park.carbon_fuels]
    grid = [{"id": g.id, "data_year": g.data_year, "basis": g.basis, "level": g.level, "region": g.region,
             "value": g.value, "unit": "tCO2/MWh", "notice": g.notice or None, "published": g.published,
             "source": g.source, "status": "USER"} for g in park.carbon_grid_factors]
    heat = [{"id": h.id, "kind": h.kind, "value": h.value, "unit": h.unit, "enterprise_id": h.enterprise,
             "default": False, "source": h.source, "status": "USER"} for h in park.carbon_heat_factors]
    rules = []
    if park.carbon.at_risk_share is not None:
        rules.append({"id": "at_risk_share", "topic": "dual_control_status", "kind": "projection_share_of_cap",
                      "value": park.carbon.at_risk_share, "default": True, "status": "USER",
                      "source": "park.toml [carbon] at_risk_share"})
    try:
        return carbon.factor_library(pd.DataFrame(fuels) if fuels else None, pd.DataFrame(grid) if grid else None,
                                     pd.DataFrame(heat) if heat else None, pd.DataFrame(rules) if rules else None)
    except carbon.CarbonError as exc:
        raise AccountsError(f"park.toml carbon factors: {exc}") from None


def activity(con, park: Park, year: int) -> pd.DataFrame:
    """Monthly activity of ``year`` from the monthly rollups (:func:`greenpark.services.energy.monthly_activity`)."""
    return energy.monthly_activity(con, park, dt.date(year, 1, 1), dt.date(year + 1, 1, 1)).to_pandas()


# ---------------------------------------------------------------------------------------------
# Published results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """What a published result is the result of: year, grid level and region, and the two rules."""

    period: int
    level: str
    region: str | None
    rule: str
    matching: str

    def params(self) -> list[Any]:
        return [self.period, self.level, self.region or "", self.rule, self.matching]


@dataclass
class Published:
    """One row of ``carbon_results``."""

    result_id: int
    key: Key
    published_at: dt.datetime
    greenpark_version: str
    #: role -> {"id", "reason"}: the factors the rules chose, and why (result lineage ``selections``)
    selection: dict[str, dict[str, str]]
    factors: list[dict[str, Any]]
    figures: dict[str, dict[str, float | None]]
    restates: int | None = None
    restatement: dict[str, Any] | None = None

    @property
    def pins(self) -> dict[str, str]:
        """Factor ids by role to pin in :func:`greenpark.core.carbon.account` (electricity roles)."""
        return {k: v["id"] for k, v in self.selection.items() if k.startswith("electricity_")}

    def summary(self) -> dict[str, Any]:
        return {"result_id": self.result_id, "published_at": self.published_at.isoformat(timespec="seconds"),
                "greenpark_version": self.greenpark_version,
                "selection": {k: v["id"] for k, v in self.selection.items()}, "restates": self.restates}


def published(con, key: Key) -> Published | None:
    """The current (not superseded) published result of ``key``, or None."""
    row = results.current(con, key.params())
    if row is None:
        return None
    return Published(result_id=int(row[0]), key=key, published_at=row[1], greenpark_version=row[2],
                     selection=json.loads(row[3]), factors=json.loads(row[4]), figures=json.loads(row[5]),
                     restates=row[6], restatement=json.loads(row[7]) if row[7] else None)


def figures_of(result: carbon.CarbonResult) -> dict[str, dict[str, float | None]]:
    """Figures of a result by entity ("park" and enterprise ids), full precision [tCO2]."""
    out = {"park": {k: result.park[k] for k in FIGURES}}
    for r in result.enterprises.to_dict("records"):
        out[str(r["id"])] = {k: None if pd.isna(r[k]) else float(r[k]) for k in FIGURES}
    return out


def _publish(store, key: Key, result: carbon.CarbonResult, restates: Published | None,
             restatement: dict[str, Any] | None) -> Published:
    """Insert a published result (and its certificate uses); supersede ``restates``. One transaction."""
    con = store.con
    now = dt.datetime.now(dt.UTC)
    figs = figures_of(result)
    with store.transaction():
        rid = results.insert(con, key.params(), now, __version__,
                             json.dumps(result.lineage["selections"], ensure_ascii=False),
                             json.dumps(result.factors, default=str, ensure_ascii=False), json.dumps(figs),
                             restates.result_id if restates else None,
                             json.dumps(restatement, default=str, ensure_ascii=False) if restatement else None)
        if result.certificates is not None and len(result.certificates):
            c = result.certificates[result.certificates["applied_mwh"] > 0]
            uses = _uses_frame(rid, key.period, c, result.lineage["certificate_serials"])
            if len(uses):  # on the publishing connection itself: the uses commit with the result, or not at all
                results.insert_uses(con, uses)
    return Published(result_id=rid, key=key, published_at=now, greenpark_version=__version__,
                     selection=dict(result.lineage["selections"]), factors=result.factors, figures=figs,
                     restates=restates.result_id if restates else None, restatement=restatement)


USES_COLUMNS = results.USES_COLUMNS


def _uses_frame(result_id: int, period: int, applied: pd.DataFrame, serials: pd.DataFrame) -> pd.DataFrame:
    u = applied[["id", "kind", "enterprise_id", "applied_mwh"]].merge(serials, on="id", how="left")
    rng = carbon.serial_ranges(u)
    out = pd.DataFrame({
        "result_id": result_id, "period": period, "certificate_id": u["id"], "kind": u["kind"],
        "enterprise_id": u["enterprise_id"], "serial_start": u["serial_start"], "serial_end": u["serial_end"],
        "serial_head": rng["head"], "serial_lo": rng["lo"], "serial_hi": rng["hi"],
        "applied_mwh": u["applied_mwh"].astype(float)})
    return out[USES_COLUMNS]


def pinned_library(library: carbon.FactorLibrary, factors: list[dict[str, Any]]) -> carbon.FactorLibrary:
    """The factor library with the factors of a published result put back, value, status and source.

    Electricity rows are restored by id (added back when a data file or park.toml no longer has them);
    fuel parameters by (fuel, parameter); heat rows by id, and USER heat rows that the published result
    did not use are left out (a supplier factor added later changes the year only with ``--restate``).
    """
    pub = pd.DataFrame(factors)
    if pub.empty:
        return library
    keep = ["value", "status", "source"]
    elec = library.electricity.copy()
    ep = pub[pub["basis"].notna()] if "basis" in pub.columns else pub.iloc[0:0]
    if len(ep):
        elec = elec[~elec["id"].isin(ep["id"])]
        add = ep.reindex(columns=[c for c in elec.columns if c in ep.columns]).copy()
        if "published" in add.columns:
            add["published"] = add["published"].map(lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else v)
        elec = pd.concat([elec, add], ignore_index=True)
    fuels = library.fuels.copy()
    fp = pub[pub["fuel"].notna()].copy() if "fuel" in pub.columns else pub.iloc[0:0]
    if len(fp):
        fp["parameter"] = fp["id"].str.rsplit(":", n=1).str[1]
        key = fuels["fuel"] + "/" + fuels["parameter"]
        ad_unit = fuels.groupby("fuel")["ad_unit"].last()
        fp["ad_unit"] = fp["fuel"].map(ad_unit)
        missing = fp["ad_unit"].isna() & (fp["parameter"] == "ncv")
        fp.loc[missing, "ad_unit"] = fp.loc[missing, "unit"].str.split("/", n=1).str[1]
        fp["ad_unit"] = fp["ad_unit"].fillna(fp["fuel"].map(fp.dropna(subset=["ad_unit"]).groupby("fuel")["ad_unit"].last()))
        fp["row_id"] = fp["id"].str.rsplit(":", n=1).str[0]
        fuels = pd.concat([fuels[~key.isin(fp["fuel"] + "/" + fp["parameter"])],
                           fp.reindex(columns=fuels.columns)], ignore_index=True)
    heat = library.heat.copy()
    hp = pub[pub["kind"].isin(["heat_factor", "steam_heat"])].copy() if "kind" in pub.columns else pub.iloc[0:0]
    heat = heat[(heat["status"] != "USER") | heat["id"].isin(hp["id"])]
    if len(hp):
        have = heat.set_index("id")
        for col in keep:  # restore published values of rows that still exist
            m = heat["id"].isin(hp["id"])
            heat.loc[m, col] = heat.loc[m, "id"].map(hp.set_index("id")[col]).to_numpy()
        add = hp[~hp["id"].isin(have.index)].reindex(columns=heat.columns)
        add["default"] = False
        heat = pd.concat([heat, add], ignore_index=True)
    return replace(library, electricity=elec.reset_index(drop=True), fuels=fuels.reset_index(drop=True),
                   heat=heat.reset_index(drop=True))


def factor_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Factors that differ between two factor lists: ids added, removed, or with another value or status."""
    b = {f["id"]: f for f in before}
    a = {f["id"]: f for f in after}
    out = []
    for fid in sorted(set(a) | set(b)):
        fb, fa = b.get(fid), a.get(fid)
        if fb and fa and fb.get("value") == fa.get("value") and fb.get("status") == fa.get("status"):
            continue
        out.append({"id": fid, "before_value": fb and fb.get("value"), "before_status": fb and fb.get("status"),
                    "after_value": fa and fa.get("value"), "after_status": fa and fa.get("status"),
                    "unit": (fa or fb).get("unit"), "source": (fa or fb).get("source")})
    return out


def _changes(published_figs: dict, pinned: carbon.CarbonResult, current: carbon.CarbonResult) -> pd.DataFrame:
    """Per (entity, figure): published, pinned (published factors, today's activity) and current [tCO2]."""
    def long(figs: dict, name: str) -> pd.DataFrame:
        return pd.DataFrame([(e, k, v) for e, d in figs.items() for k, v in d.items()],
                            columns=["entity", "figure", name])

    m = long(published_figs, "published_t").merge(long(figures_of(pinned), "pinned_t"), on=["entity", "figure"],
                                                   how="outer").merge(long(figures_of(current), "after_t"),
                                                                      on=["entity", "figure"], how="outer")
    for c in ("published_t", "pinned_t", "after_t"):
        m[c] = m[c].astype(float)
    m = m.rename(columns={"published_t": "before_t"})
    m["change_t"] = m["after_t"].fillna(0) - m["before_t"].fillna(0)
    m["factor_effect_t"] = m["after_t"].fillna(0) - m["pinned_t"].fillna(0)
    m["data_effect_t"] = m["pinned_t"].fillna(0) - m["before_t"].fillna(0)
    tol = 1e-9
    changed = (m["change_t"].abs() > tol) | (m["factor_effect_t"].abs() > tol) | \
        (m["before_t"].isna() != m["after_t"].isna())
    out = m[changed].copy()
    out["change_pct"] = 100.0 * out["change_t"] / out["before_t"].where(out["before_t"] != 0)
    order = {"park": 0}
    out["_o"] = out["entity"].map(lambda e: order.get(e, 1))
    out["_f"] = out["figure"].map({f: i for i, f in enumerate(FIGURES)})
    return out.sort_values(["_o", "entity", "_f"]).drop(columns=["_o", "_f", "pinned_t"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Certificates: screening against park.toml and the registry of published uses
# ---------------------------------------------------------------------------------------------
def screen(con, park: Park, period: int, library: carbon.FactorLibrary
           ) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """Accepted and rejected registrations of park.toml for ``period`` (module docstring), with flags."""
    matching = park.carbon.certificate_matching
    accepted, rejected, flags = carbon.screen_certificates(certificates_table(park), matching, library)
    if accepted.empty:
        return accepted, rejected, flags
    uses = results.uses_in_other_periods(con, period)
    if uses.empty:
        return accepted, rejected, flags
    a = accepted.assign(position=range(len(accepted)))
    eligible = (a["generation_start"].dt.year <= period) & (a["generation_end"].dt.year >= period)
    rng = carbon.serial_ranges(a)
    a = a.join(rng[["head", "lo", "hi"]])[eligible]
    pairs = a.merge(uses, left_on="head", right_on="serial_head", how="inner")
    pairs = pairs[(pairs["lo"] <= pairs["serial_hi"]) & (pairs["serial_lo"] <= pairs["hi"])]
    same_id = a.merge(uses, left_on="id", right_on="certificate_id", how="inner")
    hits = pd.concat([pairs, same_id[~same_id["position"].isin(pairs["position"])]], ignore_index=True)
    if hits.empty:
        return accepted, rejected, flags
    msgs = hits.assign(message=lambda h: (
        "certificate '" + h["id"] + "' (enterprise " + h["enterprise_id_x"] + ", serials "
        + h["serial_start_x"].fillna("-").astype(str) + ".." + h["serial_end_x"].fillna("-").astype(str)
        + ") was already applied in the published " + h["period"].astype(str) + " result #"
        + h["result_id"].astype(str) + " as certificate '" + h["certificate_id"] + "' (enterprise "
        + h["enterprise_id_y"] + ", serials " + h["serial_start_y"].fillna("-").astype(str) + ".."
        + h["serial_end_y"].fillna("-").astype(str) + ")"))
    more = pd.DataFrame({"position": -1, "id": msgs["id"], "enterprise_id": msgs["enterprise_id_x"],
                         "code": "serial_used_in_other_period", "message": msgs["message"]})
    rejected = pd.concat([rejected, more], ignore_index=True)
    accepted = accepted[~accepted["id"].isin(msgs["id"])].reset_index(drop=True)
    flags = [f for f in flags if f["code"] != "carbon.certificates.rejected"]
    flags.append(carbon.flag("carbon.certificates.rejected",
                              f"{rejected['id'].nunique()} certificate registration(s) rejected and left out of the "
                              "market-based accounts; fix them in park.toml: "
                              + "; ".join(dict.fromkeys(rejected["message"])), rejected["id"].tolist(), "error"))
    return accepted, rejected, flags


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
@dataclass
class CarbonReport:
    """What ``greenpark carbon`` shows: the result, where its factors come from, what --restate would do."""

    result: carbon.CarbonResult
    key: Key
    #: published_now | pinned | restated | nothing_to_restate | not_published (read-only run)
    status: str
    published: Published | None
    #: figures that differ between the published row and the result shown (restated) or the current
    #: factors (pending): entity, figure, before_t, after_t, change_t, factor_effect_t, data_effect_t, change_pct
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    factor_changes: list[dict[str, Any]] = field(default_factory=list)
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)


def resolve_level(park: Park, level: str | None, region: str | None) -> tuple[str, str | None]:
    """Grid level and region: the arguments, else ``[carbon]``, region defaulting to the park's."""
    lv = level or park.carbon.level
    if lv == "national":
        return lv, None
    if region:
        return lv, region
    if level is None or level == park.carbon.level:
        rg = park.carbon_region if park.carbon.level == lv else None
    else:
        rg = None
    rg = rg or (park.park.grid_region if lv == "regional" else park.park.province)
    if not rg:
        raise AccountsError(f"level {lv} needs a region: set park.province or [carbon] region in park.toml")
    return lv, rg


def _account(act, period, method, level, region, park, certs, process, lib, pins=None) -> carbon.CarbonResult:
    try:
        res = carbon.account(act, period, method=method, level=level, region=region,
                             rule=park.carbon.factor_year_rule, certificates=certs, process=process, library=lib,
                             fuel_map=park.carbon.fuel_map or None, factor_ids=pins,
                             matching=park.carbon.certificate_matching)
    except carbon.CarbonError as exc:
        raise AccountsError(str(exc)) from None
    res.lineage["certificate_serials"] = certs[["id", "serial_start", "serial_end"]] if len(certs) else \
        pd.DataFrame(columns=["id", "serial_start", "serial_end"])
    return res


def carbon_report(store, park: Park, period: int, *, method: str | None = None, level: str | None = None,
                  region: str | None = None, restate: bool = False, write: bool = True) -> CarbonReport:
    """The carbon accounts of ``park`` for the calendar year ``period`` [tCO2] (module docstring).

    Parameters
    ----------
    store : greenpark.store.Store
        Open store (writable when ``write``): monthly rollups in, published results kept.
    method : {"location", "market", "both"}, optional
        Method of the result shown (default ``[carbon] method``); the published result always has both.
    level, region : grid level and region of the location-based factor (default ``[carbon]``).
    restate : bool
        Recompute a published year with the factors in force now and publish that (supersedes the row).
    write : bool
        Publish a first result / a restatement. False computes without writing (``status`` not_published
        when nothing was published yet).
    """
    method = method or park.carbon.method
    level, region = resolve_level(park, level, region)
    key = Key(period, level, region, park.carbon.factor_year_rule, park.carbon.certificate_matching)
    lib = factor_library(park)
    con = store.con
    act = activity(con, park, period)
    process = process_table(park)
    certs, rejected, cflags = screen(con, park, period, lib)
    if act.empty and not (process["month"].dt.year == period).any():
        raise AccountsError(f"no activity data for {period} in the store: import readings first "
                            "('greenpark ingest FILE') or choose another --period")
    pub = published(con, key)
    current = _account(act, period, "both", level, region, park, certs, process, lib)
    changes, fchanges = pd.DataFrame(), []
    data_flag = None
    if pub is None:
        if write:
            pub = _publish(store, key, current, None, None)
            status = "published_now"
        else:
            status = "not_published"
        shown_lib, pins = lib, (pub.pins if pub else None)
    else:
        plib = pinned_library(lib, pub.factors)
        pinned = _account(act, period, "both", level, region, park, certs, process, plib, pub.pins)
        changes = _changes(pub.figures, pinned, current)
        fchanges = factor_changes(pinned.factors, current.factors)
        roles = {**{v: k for k, v in pinned.selection.items()}, **{v: k for k, v in current.selection.items()}}
        for f in fchanges:
            f["role"] = roles.get(f["id"])
        if restate and len(changes):
            record = {"restates": pub.result_id, "factors": fchanges,
                      "changes": json.loads(changes.to_json(orient="records"))}
            pub = _publish(store, key, current, pub, record) if write else pub
            status = "restated" if write else "not_published"
            shown_lib, pins = lib, current.selection
        else:
            status = "nothing_to_restate" if restate else "pinned"
            shown_lib, pins = plib, pub.pins
            if not restate:  # what --restate would change: the factor effect only (data is always current)
                moved = changes.loc[changes["data_effect_t"].abs() > 1e-9, "entity"]
                if len(moved):
                    data_flag = carbon.flag(
                        "carbon.published.data_changed",
                        f"activity or certificates changed since result #{pub.result_id} was published (late or "
                        "corrected readings, park.toml edits): the figures shown use today's data with the published "
                        "factors; --restate publishes them", sorted(set(moved)), "info")
                changes = changes[changes["factor_effect_t"].abs() > 1e-9].reset_index(drop=True)
    if method == "both" and status in ("published_now", "restated", "not_published"):
        shown = current
    elif method == "both" and status in ("pinned", "nothing_to_restate"):
        shown = pinned
    else:
        shown = _account(act, period, method, level, region, park, certs, process, shown_lib, pins)
    shown.flags = carbon.merge_flags(shown.flags + cflags + ([data_flag] if data_flag else [])
                                     + market_exceeds_location(shown))
    if status in ("pinned", "nothing_to_restate"):  # the published choice and its reason, not "pinned"
        rule = carbon.rule(plib, "electricity_factor_year", key.rule)
        shown.lineage["factor_year_rule"] = rule["id"]
        shown.lineage["factor_year_rule_source"] = str(rule["source"])
        shown.lineage["selections"] = {
            role: {"id": v["id"], "reason": f"as published in result #{pub.result_id}: {v['reason']}"}
            for role, v in pub.selection.items() if role in shown.lineage["selections"]}
    if status == "pinned" and len(changes):
        shown.flags.append(carbon.flag(
            "carbon.published.restatement_pending",
            f"the factors in force now differ from those of published result #{pub.result_id}: "
            f"{len(changes)} figures would change with --restate", sorted({c["id"] for c in fchanges})))
    return CarbonReport(result=shown, key=key, status=status, published=pub, changes=changes,
                        factor_changes=fchanges, rejected=rejected)


def market_exceeds_location(res) -> list[dict[str, Any]]:
    """``carbon.market_exceeds_location`` (info) when both Scope 2 figures are shown and the market-based
    one is larger, for the park and the enterprises where it is (issue 16 #12: explain, don't surprise)."""
    if res.method != "both":
        return []
    loc, mkt = res.park.get("scope2_location_t"), res.park.get("scope2_market_t")
    e = res.enterprises
    over = e.loc[e["scope2_market_t"] > e["scope2_location_t"] + 1e-9, "id"].tolist() if len(e) else []
    if not over and not (loc is not None and mkt is not None and mkt > loc + 1e-9):
        return []
    return [carbon.flag(
        "carbon.market_exceeds_location",
        "market-based Scope 2 exceeds location-based: electricity not covered by green certificates is counted "
        "at the residual-mix factor, which leaves out the non-fossil power traded on the market and so lies "
        "above the grid-average factor of the location-based method", over, "info")]


def to_json_dict(report: CarbonReport, enterprise: str | None = None, ndigits: int = 4) -> dict[str, Any]:
    """The dict ``greenpark carbon --format json`` prints: top-level keys exactly ``period, method, park,
    enterprises, certificates, factors, lineage`` [tCO2, MWh]; level, region, flags, the published result
    and the restatement are in ``lineage``."""
    d = carbon.to_json_dict(report.result, ndigits)
    certs = d.pop("certificates") or {"by_enterprise": [], "by_certificate": [], "unapplied_mwh": 0.0}
    certs["rejected"] = [{k: r[k] for k in ("id", "enterprise_id", "code", "message")}
                         for r in report.rejected.to_dict("records")]
    ents = d.pop("enterprises")
    if enterprise:
        ents = [e for e in ents if e["id"] == enterprise]
        certs["by_enterprise"] = [c for c in certs["by_enterprise"] if c["id"] == enterprise]
        certs["by_certificate"] = [c for c in certs["by_certificate"] if c["enterprise_id"] == enterprise]
    if enterprise:  # the factors its own lines use
        ln = report.result.lines
        used = set(",".join(ln.loc[ln["enterprise_id"] == enterprise, "factor_ids"].dropna()).split(","))
        d["factors"] = [f for f in d["factors"] if f["id"] in used]
    lineage = d.pop("lineage")
    lineage.pop("certificate_serials", None)
    lineage = {"level": d.pop("level"), "region": d.pop("region"), **lineage,
               "activity_source": "monthly rollups of the store (greenpark.services.energy.monthly_activity)",
               "published": {"status": report.status,
                             **(report.published.summary() if report.published else {})},
               "restatement": None, "flags": d.pop("flags")}
    if len(report.changes) or report.factor_changes:
        rows = json.loads(report.changes.round(ndigits + 2).to_json(orient="records"))
        lineage["restatement"] = {"applied": report.status == "restated",
                                  "restates": report.published.restates if report.status == "restated" else
                                  (report.published.result_id if report.published else None),
                                  "factors": report.factor_changes, "changes": rows}
    return {"period": d.pop("period"), "method": d.pop("method"), "park": d.pop("park"), "enterprises": ents,
            "certificates": certs, "factors": d.pop("factors"), "lineage": lineage}
