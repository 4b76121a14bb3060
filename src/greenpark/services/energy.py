"""Energy accounts of a park (GB/T 2589-2020): park.toml and the store's monthly rollups in.

The wiring of :mod:`greenpark.core.energy` (the calculations and their definitions) to the reads
of :mod:`greenpark.store.rollups`. ``con`` is a connection of the store (DuckDB, or PostgreSQL
through :mod:`greenpark.store.postgres`) on which the relations ``rollup_monthly`` and ``meters``
exist; the reads register their small relations on private cursors and open nothing themselves.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from greenpark.core import energy as core
from greenpark.store import rollups

#: the period error of :mod:`greenpark.core.energy` (api/errors.py maps it from here)
PeriodError = core.PeriodError


def compute(con, park, period: core.Period, enterprise: str | None = None) -> dict:
    """The energy accounts of ``park`` for ``period`` as a JSON-ready dict (:func:`greenpark.core.energy.assemble`).

    ``con``: a store connection with ``meters`` and ``rollup_monthly``. Keys: period, park,
    enterprises, breakdowns, lineage, flags.
    """
    coef, cited = core.meter_coefficients(park)
    meters = rollups.meter_period(con, coef, period.start, period.end).to_pylist()
    remainders = rollups.meter_remainders(con, coef, period.start, period.end).to_pylist()
    monthly = rollups.monthly_energy(con, coef, period.start, period.end, by_carrier=True).to_pylist()
    return core.assemble(park, period, meters, remainders, monthly, cited, enterprise)


def monthly_activity(con, park, start: dt.date, end: dt.date) -> pa.Table:
    """Monthly activity data per enterprise, carrier and flow from the monthly rollups [carrier unit].

    Rows: ``enterprise_id, month (first day, park time), carrier, flow, quantity, unit`` for the
    months in [start, end). Top-level meters only (sub-meters never double count). ``flow`` is
    ``grid_import`` (electricity from the grid), ``onsite_renewable`` (generation meters),
    ``export`` (export meters, positive quantities) or ``delivered`` (every other carrier). The
    unit is the carrier's unit in carriers.csv (kWh, m3, kg, MJ, t). This is the input of the
    carbon accounts (greenpark.core.carbon) and of dual-control targets.
    """
    return rollups.monthly_activity(con, core.activity_conversions(park), start, end)


def monthly_energy_tce(con, park, start: dt.date, end: dt.date):
    """Comprehensive energy consumption per owner and month [tce], GB/T 2589-2020, from monthly rollups.

    The same reads and definition as :func:`compute` (:func:`greenpark.store.rollups.monthly_energy`:
    top-level meters; export deducted; on-site renewable generation counted; working media only when
    configured): a pandas frame ``enterprise_id, month (datetime64), energy_tce, renewable_kgce``
    where ``renewable_kgce`` is on-site renewable generation less export [kgce].
    """
    import pandas as pd

    coef, _ = core.meter_coefficients(park)
    df = rollups.monthly_energy(con, coef, start, end, by_carrier=False).to_pandas()
    df = df.rename(columns={"owner": "enterprise_id"})
    df["energy_tce"] = df["kgce"] / core.KG_PER_T
    df["month"] = pd.to_datetime(df["month"])
    return df[["enterprise_id", "month", "energy_tce", "renewable_kgce"]]
