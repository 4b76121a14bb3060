"""M&V projects of park.toml on the store: assemble their data and evaluate them.

The wrapper between the store and the pure M&V core (:mod:`greenpark.core.mv`): it reads daily or
hourly rollups (never raw readings), the temperature observations of the project's weather
station and the monthly output of its product(s), builds :class:`mv.DailyData` /
:class:`mv.HourlyData`, and calls :func:`mv.evaluate`, adding the GB/T 2589-2020 tce
conversion, avoided CO2 (when the carbon core has a grid factor) and the designed saving.

Data rules (documented in the README, "M&V projects"):

- energy [project unit] per park-time day is the sum of the project meters' ``rollup_daily``
  quantities converted into the carrier's unit (``carriers.csv``). A day counts only when every
  meter has all its readings that day (``n_readings`` = day length / ``interval_minutes``);
  other days are missing (flag ``mv.data.incomplete_days``), never a low-consumption day. Hourly
  data come from ``rollup_hourly`` with the same rule per hour.
- temperature [degC]: the station's ``temperature`` observations are instantaneous samples;
  the daily (hourly) value is the mean of the samples whose park-time instant falls in the day
  (hour). Days with fewer samples than the station's usual count (the median over the span)
  are kept and flagged ``mv.data.temperature_partial_days``.
- production [product unit per day]: a product's ``monthly_output`` is spread evenly over the
  month's working days (weekdays and make-up working days of the Chinese calendar, less the
  project's ``shutdowns``); non-working days get 0; days outside the product entries' years
  are missing. List one product entry per year.
- ``shutdowns``: the plant's own closure days take the day type ``holiday`` (fit and prediction).
- ``model = "auto"``: the daily change-point model (it uses production and day types); when it
  is not fit for M&V and every meter is read at least hourly, the hourly TOWT model is tried and
  kept if it is fit. The choice and its reason are in flag ``mv.project.model_selected``.

Everything is vectorised (SQL aggregates and pandas); nothing loops over readings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from greenpark import park as park_mod
from greenpark import reference
from greenpark.core import mv, units
from greenpark.core.mv.data import Flag
from greenpark.errors import InputError
from greenpark.store import observations, rollups

KG_PER_T = 1000.0  # unit definition
TEMPERATURE = "temperature"  # station parameter (station_parameters.csv: weather.temperature, degC)


class ProjectError(InputError, ValueError):
    """An M&V project cannot be evaluated (no data at all for it in the store); says what to do."""


@dataclass
class ProjectData:
    """A project's assembled data over baseline start .. reporting end, and where it came from."""

    data: mv.DailyData | mv.HourlyData
    resolution: str  # "daily" | "hourly"
    unit: str
    carrier: str
    meters: list[str]
    lineage: dict[str, Any] = field(default_factory=dict)

    def baseline(self, proj: park_mod.MVProject):
        return self.data.between(proj.baseline.start, _end_of(self.data, proj.baseline.end))

    def reporting(self, proj: park_mod.MVProject):
        return self.data.between(proj.reporting.start, _end_of(self.data, proj.reporting.end))


def _end_of(data, day: dt.date):
    """Inclusive slice bound: the day itself (daily) or its last hour (hourly)."""
    return pd.Timestamp(day) + (pd.Timedelta(hours=23) if isinstance(data, mv.HourlyData) else pd.Timedelta(0))


# --------------------------------------------------------------------------------------------
# scope


def project_meters(park: park_mod.Park, proj: park_mod.MVProject) -> list[park_mod.Meter]:
    """The meters a project measures (its ``meters``, or the enterprise's top-level ``carrier`` meters)."""
    return park_mod._mv_project_meters(park, proj)


def project_unit(park: park_mod.Park, proj: park_mod.MVProject) -> tuple[str, str]:
    """(carrier, unit) of a project: the carrier's unit of ``carriers.csv`` [e.g. kWh]."""
    meters = project_meters(park, proj)
    carrier = meters[0].carrier
    return carrier, reference.load("carriers").get(carrier)["unit"]


def _span(proj: park_mod.MVProject) -> tuple[dt.date, dt.date]:
    return proj.baseline.start, proj.reporting.end


def _utc_bounds(start: dt.date, end: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """UTC wall-clock instants of local midnight at ``start`` and after ``end`` (the store's ts)."""
    lo = pd.Timestamp(start).tz_localize(tz).tz_convert("UTC").tz_localize(None)
    hi = (pd.Timestamp(end) + pd.Timedelta(days=1)).tz_localize(tz).tz_convert("UTC").tz_localize(None)
    return lo.to_pydatetime(), hi.to_pydatetime()


def _day_minutes(days: pd.DatetimeIndex, tz: str) -> np.ndarray:
    """Length of each local day [min] (1440, or 1380/1500 on DST change days)."""
    start = days.tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
    end = (days + pd.Timedelta(days=1)).tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
    return ((end - start) / pd.Timedelta(minutes=1)).to_numpy(float)


# --------------------------------------------------------------------------------------------
# energy


def _unit_factors(meters: list[park_mod.Meter], unit: str) -> dict[str, float]:
    return {m.id: units.conversion_factor(m.unit, unit) for m in meters}


def daily_energy(con, park: park_mod.Park, proj: park_mod.MVProject) -> tuple[pd.Series, list[Flag], dict]:
    """Daily energy of the project meters [project unit] from ``rollup_daily``, incomplete days NaN."""
    meters = project_meters(park, proj)
    carrier, unit = project_unit(park, proj)
    start, end = _span(proj)
    ids = [m.id for m in meters]
    df = rollups.daily(con, ids, start, end)
    days = pd.date_range(start, end, freq="D", name="date")
    minutes = _day_minutes(days, park.park.timezone)
    qty = df.pivot(index="day", columns="meter_id", values="quantity").reindex(index=days, columns=ids)
    cnt = df.pivot(index="day", columns="meter_id", values="n_readings").reindex(index=days, columns=ids)
    qty.index = cnt.index = days
    step = np.array([m.interval_minutes for m in meters], float)
    expected = np.floor(minutes[:, None] / step[None, :] + 1e-9)
    complete = (cnt.to_numpy(float) >= expected).all(axis=1)  # NaN counts compare False
    factors = np.array([_unit_factors(meters, unit)[i] for i in ids])
    energy = pd.Series((qty.to_numpy(float) * factors).sum(axis=1), index=days, name="energy")
    energy[~complete] = np.nan
    flags = []
    partial = ~complete & cnt.notna().any(axis=1).to_numpy()
    if partial.any():
        flags.append(Flag("mv.data.incomplete_days",
                          f"{int(partial.sum())} day(s) lack readings of at least one project meter; they are "
                          "treated as missing", "warning",
                          {"count": int(partial.sum()),
                           "days": [d.date().isoformat() for d in days[partial]][:50]}))
    lineage = {"meters": [{"id": m.id, "unit": m.unit, "to_project_unit": factors[k],
                           "interval_minutes": m.interval_minutes} for k, m in enumerate(meters)],
               "readings": int(df["n_readings"].sum()) if len(df) else 0,
               "source": "rollup_daily", "days_complete": int(complete.sum()), "days": len(days),
               # per meter: most readings on one day vs readings a full day needs (1440 / interval_minutes)
               "readings_per_day": {i: [int(np.nan_to_num(cnt[i].max())), int(np.median(expected[:, k]))]
                                    for k, i in enumerate(ids)}}
    return energy, flags, lineage


def hourly_energy(con, park: park_mod.Park, proj: park_mod.MVProject) -> tuple[pd.Series, dict]:
    """Hourly energy [project unit] from ``rollup_hourly`` (park-time hour starts), incomplete hours NaN."""
    meters = project_meters(park, proj)
    _, unit = project_unit(park, proj)
    start, end = _span(proj)
    ids = [m.id for m in meters]
    df = rollups.hourly(con, ids, dt.datetime.combine(start, dt.time()),
                        dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    hours = pd.date_range(pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(hours=23), freq="h")
    qty = df.pivot(index="hour", columns="meter_id", values="quantity").reindex(index=hours, columns=ids)
    cnt = df.pivot(index="hour", columns="meter_id", values="n_readings").reindex(index=hours, columns=ids)
    step = np.array([min(m.interval_minutes, 60) for m in meters], float)
    complete = (cnt.to_numpy(float) >= np.floor(60.0 / step)[None, :]).all(axis=1)
    factors = np.array([_unit_factors(meters, unit)[i] for i in ids])
    energy = pd.Series((qty.to_numpy(float) * factors).sum(axis=1), index=hours, name="energy")
    energy[~complete] = np.nan
    return energy, {"readings": int(df["n_readings"].sum()) if len(df) else 0, "source": "rollup_hourly",
                    "hours_complete": int(complete.sum()), "hours": len(hours)}


# --------------------------------------------------------------------------------------------
# temperature and production


def temperature_samples(con, park: park_mod.Park, proj: park_mod.MVProject) -> pd.Series:
    """The weather station's temperature samples [degC] over the project span, UTC-aware index."""
    lo, hi = _utc_bounds(*_span(proj), park.park.timezone)
    df = observations.samples(con, proj.weather_station, TEMPERATURE, lo, hi)
    idx = pd.DatetimeIndex(df["ts"]).tz_localize("UTC")
    return pd.Series(df["value"].to_numpy(float), index=idx, name="temperature")


def _temperature_flags(samples: pd.Series, tz: str, days: pd.DatetimeIndex) -> list[Flag]:
    if samples.empty:
        return []
    local = samples.index.tz_convert(tz).tz_localize(None).normalize()
    per_day = pd.Series(1, index=local).groupby(level=0).sum().reindex(days, fill_value=0)
    usual = float(np.median(per_day[per_day > 0])) if (per_day > 0).any() else 0.0
    partial = (per_day > 0) & (per_day < usual)
    if not partial.any():
        return []
    return [Flag("mv.data.temperature_partial_days",
                 f"{int(partial.sum())} day(s) have fewer temperature samples than the station's usual "
                 f"{usual:g} per day; their mean is taken over the samples present", "warning",
                 {"count": int(partial.sum()), "usual_per_day": usual,
                  "days": [d.date().isoformat() for d in per_day.index[partial]][:50]})]


def _shutdown_days(proj: park_mod.MVProject) -> pd.DatetimeIndex:
    if not proj.shutdowns:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(np.concatenate([pd.date_range(s.start, s.end, freq="D").to_numpy()
                                            for s in proj.shutdowns]))


def daily_production(park: park_mod.Park, proj: park_mod.MVProject, days: pd.DatetimeIndex,
                     working: np.ndarray) -> tuple[pd.Series | None, str | None]:
    """Daily production [product unit/d]: monthly output spread over the month's working days.

    ``working``: bool per day of ``days`` (Chinese calendar less the project's shutdowns).
    A month without any working day spreads its output over all its days. Days outside the
    years of the product entries are NaN.
    """
    if not proj.products:
        return None, None
    prods = {p.id: p for p in park.products}
    chosen = [prods[i] for i in proj.products]
    monthly = pd.Series(
        np.concatenate([np.asarray(p.monthly_output, float) for p in chosen]),
        index=pd.PeriodIndex([pd.Period(f"{p.year}-{m:02d}", "M") for p in chosen for m in range(1, 13)]))
    month = days.to_period("M")
    w = pd.Series(working.astype(float), index=days)
    n_work = w.groupby(month).transform("sum").to_numpy()
    n_days = w.groupby(month).transform("size").to_numpy()
    out = monthly.reindex(month).to_numpy(float)
    share = np.where(n_work > 0, working / np.where(n_work > 0, n_work, 1.0), 1.0 / n_days)
    return pd.Series(out * share, index=days, name="production"), chosen[0].unit


# --------------------------------------------------------------------------------------------
# assembly


def _apply_shutdowns(df: pd.DataFrame, shut: pd.DatetimeIndex) -> int:
    if not len(shut):
        return 0
    mask = df.index.normalize().isin(shut)
    df.loc[mask, "day_type"] = "holiday"
    df.loc[mask, "working"] = False
    return int(mask.sum())


def assemble(con, park: park_mod.Park, proj: park_mod.MVProject, resolution: str = "daily") -> ProjectData:
    """The project's data over baseline start .. reporting end at ``resolution`` (daily | hourly).

    Raises :class:`ProjectError` when the store has no energy rollups for the project meters at all.
    """
    tz = park.park.timezone
    carrier, unit = project_unit(park, proj)
    meters = [m.id for m in project_meters(park, proj)]
    start, end = _span(proj)
    days = pd.date_range(start, end, freq="D", name="date")
    temps = temperature_samples(con, park, proj)
    tflags = _temperature_flags(temps, tz, days)
    shut = _shutdown_days(proj)
    lineage: dict[str, Any] = {
        "station": {"id": proj.weather_station, "parameter": TEMPERATURE, "samples": len(temps),
                    "first": temps.index.min().isoformat() if len(temps) else None,
                    "last": temps.index.max().isoformat() if len(temps) else None},
        "shutdown_days": len(shut),
    }
    if len(temps) == 0:
        # an all-NaN series keeps the containers valid; sufficiency then reports missing temperature
        temps = pd.Series(np.nan, index=pd.DatetimeIndex([pd.Timestamp(start)]).tz_localize(tz))
    if resolution == "daily":
        energy, eflags, elin = daily_energy(con, park, proj)
        per_day = elin.pop("readings_per_day")
        if energy.notna().sum() == 0:
            sparse = [f"{i} has at most {got} of the {need} readings a day needs (interval_minutes = "
                      f"{1440 // max(need, 1)})" for i, (got, need) in per_day.items() if 0 < got < need]
            if sparse:  # readings are there, at the wrong rate: say so instead of "import them"
                raise ProjectError(f"mv_projects '{proj.id}': no day between {start} and {end} is complete: "
                                   f"{'; '.join(sparse)}. Import the meter's full-resolution readings, or correct "
                                   "its interval_minutes in park.toml if it is really read less often")
            raise ProjectError(f"mv_projects '{proj.id}': the store has no complete day of the meters "
                               f"{', '.join(meters)} between {start} and {end}; import their readings first "
                               "(greenpark ingest FILE)")
        dtypes, _ = mv.day_types(days)
        working = dtypes.isin(["weekday", "makeup_workday"]).to_numpy() & ~days.isin(shut)
        production, punit = daily_production(park, proj, days, working)
        data = mv.DailyData.from_series(energy, temps, production, tz=tz, unit=unit, production_unit=punit)
        data = data.between(start, end)   # energy has a row (maybe NaN) for every day of the span
        data.flags = [*data.flags, *eflags, *tflags]
        lineage.update(energy=elin)
        if production is not None:
            lineage["production"] = {"products": proj.products, "unit": punit,
                                     "method": "monthly output spread over the month's working days"}
    elif resolution == "hourly":
        energy, elin = hourly_energy(con, park, proj)
        if energy.notna().sum() == 0:
            raise ProjectError(f"mv_projects '{proj.id}': the store has no complete hour of the meters "
                               f"{', '.join(meters)} between {start} and {end}; import their readings first")
        aware = energy.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        aware = aware[aware.index.notna()]
        data = mv.HourlyData.from_series(aware, temps, tz=tz, unit=unit, interval_label="start")
        data = data.between(pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(hours=23))
        data.flags = [*data.flags, *tflags]
        lineage.update(energy=elin)
    else:
        raise ValueError(f"resolution must be 'daily' or 'hourly', not {resolution!r}")
    _apply_shutdowns(data.df, shut)
    return ProjectData(data, resolution, unit, carrier, meters, lineage)


# --------------------------------------------------------------------------------------------
# conversions


def coal_coefficient(park: park_mod.Park, proj: park_mod.MVProject) -> tuple[dict[str, Any], list[Flag]]:
    """The GB/T 2589-2020 coefficient of the project's carrier in kgce per project unit, cited."""
    carrier, unit = project_unit(park, proj)
    c = reference.load("carriers").get(carrier)
    cid = park.accounting.coefficients.get(carrier, c["default_coefficient"])
    row = reference.load("gbt2589_coefficients").get(cid)
    per_unit = row["unit"].split("/", 1)[1]
    value = float(row["value"]) * units.conversion_factor(unit, per_unit)
    cite = {**reference.citation(row), "value": value, "unit": f"kgce/{unit}", "table_value": row["value"],
            "table_unit": row["unit"]}
    flags = _status_flags([cite], "coefficient")
    if c["working_medium"] and not park.accounting.include_working_media:
        flags.append(Flag("mv.savings.working_medium",
                          f"{carrier} is a working medium (GB/T 2589 Annex B): its tce is shown for reference and is "
                          "not counted in comprehensive consumption (accounting.include_working_media = false)", "info"))
    return cite, flags


def emission_factor(park: park_mod.Park, proj: park_mod.MVProject) -> tuple[dict[str, Any] | None, list[Flag]]:
    """The grid electricity factor in kgCO2 per project unit, from the carbon core, or None with a flag.

    Location-based grid average of the park's ``grid_region`` (regional level) for the year the
    reporting period ends, chosen by :func:`greenpark.core.carbon.select_electricity_factor`.
    """
    carrier, unit = project_unit(park, proj)
    if carrier != "electricity":
        return None, [Flag("mv.savings.no_emission_factor",
                           f"avoided CO2 is computed for electricity only; this project measures {carrier}", "info")]
    try:
        from greenpark.core import carbon
        choice = carbon.select_electricity_factor(proj.reporting.end.year, level="regional",
                                                  region=park.park.grid_region)
    except Exception as exc:  # the carbon core is optional here: report why there is no tCO2
        return None, [Flag("mv.savings.no_emission_factor",
                           f"no grid emission factor for {park.park.grid_region} {proj.reporting.end.year}: {exc}",
                           "warning")]
    cite = choice.citation()
    # [tCO2/MWh] x [MWh per project unit] x 1000 = [kgCO2 per project unit]
    value = float(cite["value"]) * units.conversion_factor(unit, "MWh") * KG_PER_T
    out = {**cite, "value": value, "unit": f"kgCO2/{unit}", "table_value": cite["value"],
           "table_unit": cite.get("unit", "tCO2/MWh"), "rule": choice.rule, "reason": choice.reason}
    return out, _status_flags([out], "emission factor")


def _status_flags(rows: list[dict[str, Any]], what: str) -> list[Flag]:
    """UNVERIFIED and C1 (single-source) reference values used, as flags."""
    out = []
    unverified = [r["id"] for r in rows if r.get("status") == "UNVERIFIED"]
    single = [r["id"] for r in rows if r.get("status") == "C1"]
    if unverified:
        out.append(Flag("mv.reference.unverified", f"UNVERIFIED {what}(s) used: {', '.join(unverified)}; "
                        "check against the standard's text before relying on the result", "warning",
                        {"ids": unverified}))
    if single:
        out.append(Flag("mv.reference.single_source", f"{what}(s) from a single secondary source (C1) used: "
                        f"{', '.join(single)}", "info", {"ids": single}))
    return out


def designed_comparison(proj: park_mod.MVProject, savings: dict[str, Any], unit: str,
                        coal: dict[str, Any]) -> dict[str, Any] | None:
    """The designed saving next to the verified one, in the project unit over the reporting period.

    A per-year designed saving is pro-rated to the reporting period by days (365 d a year);
    ``within_uncertainty`` is |verified - designed| <= the verified saving's absolute uncertainty.
    """
    ds = proj.designed_saving
    if ds is None:
        return None
    if ds.unit == "tce":
        value = ds.value * KG_PER_T / float(coal["value"])   # [tce] -> [kgce] / [kgce/unit]
    else:
        value = ds.value * units.conversion_factor(ds.unit, unit)
    days = proj.reporting.days
    for_period = value * days / 365.0 if ds.per == "year" else value
    out = {"value": ds.value, "unit": ds.unit, "per": ds.per, "source": ds.source,
           "for_reporting_period": for_period, "project_unit": unit, "reporting_days": days}
    if savings and savings.get("energy") is not None:
        unc = (savings.get("uncertainty") or {}).get("absolute")
        diff = savings["energy"] - for_period
        out["difference"] = diff
        out["ratio"] = savings["energy"] / for_period if for_period else None
        out["within_uncertainty"] = None if unc is None else bool(abs(diff) <= unc)
    return out


# --------------------------------------------------------------------------------------------
# evaluation


def _project_info(park: park_mod.Park, proj: park_mod.MVProject, unit: str) -> dict[str, Any]:
    def per(p):
        return None if p is None else {"start": p.start.isoformat(), "end": p.end.isoformat(), "days": p.days}

    return {"id": proj.id, "name_zh": proj.name_zh, "name_en": proj.name_en, "enterprise": proj.enterprise,
            "option": proj.option, "model": proj.model, "meters": [m.id for m in project_meters(park, proj)],
            "carrier": project_unit(park, proj)[0], "unit": unit, "weather_station": proj.weather_station,
            "products": proj.products, "baseline": per(proj.baseline), "installation": per(proj.installation),
            "reporting": per(proj.reporting),
            "shutdowns": [{"start": s.start.isoformat(), "end": s.end.isoformat(), "reason": s.reason}
                          for s in proj.shutdowns],
            "description": proj.description}


def _hourly_possible(park: park_mod.Park, proj: park_mod.MVProject) -> bool:
    return all(m.interval_minutes <= 60 for m in project_meters(park, proj))


def _option_flags(park: park_mod.Park, proj: park_mod.MVProject) -> list[Flag]:
    meters = project_meters(park, proj)
    subs = [m.id for m in meters if m.parent is not None]
    if proj.option == "C" and subs:
        return [Flag("mv.project.option_c_submeters",
                     f"IPMVP Option C measures the whole facility at its utility meters; {', '.join(subs)} are "
                     "sub-meters (retrofit isolation is Option B)", "warning", {"meters": subs})]
    return []


def run(con, park: park_mod.Park, project_id: str, *, savings: bool = True, plot_path: str | Path | None = None,
        confidence: float | None = None, model_dict: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate one M&V project: the result of :func:`mv.evaluate` plus tce, tCO2 and designed saving.

    Parameters
    ----------
    con : DuckDB connection with ``rollup_daily``, ``rollup_hourly`` and ``observations``
    project_id : id of a ``[[mv_projects]]`` entry
    savings : False for the baseline only (``greenpark mv fit``): model, statistics, verdict
    plot_path : write the PNG of baseline, adjusted baseline and actual there (savings only)
    confidence : two-sided confidence of the savings uncertainty; default ASHRAE G14's 68 %
    model_dict : a frozen baseline model (``to_dict`` of an earlier fit) used instead of fitting

    Returns
    -------
    JSON-ready dict: ``project``, ``model``, ``metrics`` {cvrmse, nmbe, r2, ...}, ``savings``
    {energy, unit, tce, tco2, uncertainty, designed, ...} (None for ``savings=False``),
    ``verdict`` {fit, label, codes, criteria}, ``flags``, ``data`` (lineage), ``plot``.
    """
    proj = park.mv_project(project_id)
    info_flags: list[Flag] = _option_flags(park, proj)
    frozen = mv.model_from_dict(model_dict) if model_dict is not None else None
    if frozen is not None and frozen.unit != project_unit(park, proj)[1]:
        raise ProjectError(f"the frozen model is in {frozen.unit}, project '{proj.id}' measures "
                           f"{project_unit(park, proj)[1]}: refit it with 'greenpark mv fit {proj.id} --save PATH'")
    if frozen is not None:
        resolution = "hourly" if isinstance(frozen, mv.HourlyTOWTModel) else "daily"
        info_flags.append(Flag("mv.project.model_frozen", f"the baseline model was loaded ({frozen.kind}); not refitted",
                               "info"))
    elif proj.model == "hourly":
        resolution = "hourly"
    else:
        resolution = "daily"
    pdata = assemble(con, park, proj, resolution)
    result = _evaluate(park, proj, pdata, savings=savings, confidence=confidence, model=frozen)
    if proj.model == "auto" and frozen is None:
        reason = "daily change-point model fit for M&V"
        if not result["verdict"]["fit"] and _hourly_possible(park, proj):
            hdata = assemble(con, park, proj, "hourly")
            hres = _evaluate(park, proj, hdata, savings=savings, confidence=confidence)
            if hres["verdict"]["fit"]:
                result, pdata = hres, hdata
                reason = "the daily model is not fit for M&V; the hourly TOWT model is"
            else:
                reason = "neither the daily nor the hourly TOWT model is fit for M&V; the daily one is reported"
        elif not result["verdict"]["fit"]:
            reason = "the daily model is not fit for M&V and the meters are not read hourly (no TOWT model)"
        info_flags.append(Flag("mv.project.model_selected", f"model = auto: {pdata.resolution} ({reason})", "info",
                               {"resolution": pdata.resolution}))
    result["flags"] = [f.to_dict() for f in info_flags] + result["flags"]
    result["project"]["model_used"] = pdata.resolution
    result["data"] = {"resolution": pdata.resolution, "unit": pdata.unit, "carrier": pdata.carrier, **pdata.lineage}
    result["plot"] = None
    if plot_path is not None and savings and result["savings"] is not None:
        model = mv.model_from_dict(result["model"])
        result["plot"] = mv.plot.savings_png(model.predict(pdata.baseline(proj)), model.predict(pdata.reporting(proj)),
                                             plot_path, unit=pdata.unit, title=f"{proj.id}: {proj.name_en}",
                                             title_zh=proj.name_zh, freq="W")
    return mv.report._jsonable(result)


def _evaluate(park, proj, pdata: ProjectData, *, savings: bool, confidence, model=None) -> dict[str, Any]:
    info = _project_info(park, proj, pdata.unit)
    baseline = pdata.baseline(proj)
    reporting = pdata.reporting(proj)
    hourly = pdata.resolution == "hourly"
    if model is None:
        model = mv.HourlyTOWTModel() if hourly else mv.DailyChangePointModel()
    months = proj.reporting.days / mv.report.DAYS_PER_MONTH
    if not savings:
        if not model.fitted:
            model.fit(baseline)
        v = mv.verdict(model.metrics if model.fitted else {}, flags=model.flags, reporting_months=months)
        keys = ("cvrmse", "nmbe", "r2", "adj_r2", "rmse", "n", "p", "rho")
        flags = v.flags + _status_flags(v.criteria, "M&V criterion")
        return {"project": info, "model": model.to_dict(), "metrics": {k: model.metrics.get(k) for k in keys},
                "savings": None, "verdict": v.to_dict(), "flags": [f.to_dict() for f in flags], "plot": None}
    coal, cflags = coal_coefficient(park, proj)
    ef, eflags = emission_factor(park, proj)
    adjustments = [{"start": a.start, "end": a.end, "amount": a.amount, "reason": a.reason} for a in proj.adjustments]
    result = mv.evaluate(baseline, reporting, project=info, model=model, adjustments=adjustments,
                         coal_coefficient=coal, emission_factor=ef, confidence=confidence)
    crit = _status_flags(result["verdict"]["criteria"], "M&V criterion")
    result["flags"] = result["flags"] + [f.to_dict() for f in [*crit, *cflags, *eflags]]
    if result["savings"] is not None:
        result["savings"]["designed"] = designed_comparison(proj, result["savings"], pdata.unit, coal)
    return result


def summary(park: park_mod.Park) -> list[dict[str, Any]]:
    """One row per M&V project of park.toml (for ``greenpark mv list``)."""
    rows = []
    for proj in park.mv_projects:
        carrier, unit = project_unit(park, proj)
        ds = proj.designed_saving
        rows.append({**_project_info(park, proj, unit),
                     "designed_saving": None if ds is None else {"value": ds.value, "unit": ds.unit, "per": ds.per,
                                                                 "source": ds.source}})
    return rows
