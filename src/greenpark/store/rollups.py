"""Reads of the rollups that the accounts use (energy, carbon, dual control, M&V, the API's park view).

Every statement is written once in DuckDB's SQL and runs on PostgreSQL through
:mod:`greenpark.store.postgres`. The functions take a connection of the store (``Store.con`` or a
reader/cursor of it) and return Arrow tables (or pandas frames where the caller pivots them).

The energy accounts (:func:`greenpark.services.energy.compute`), the carbon accounts and the
dual-control targets all read their monthly figures through :func:`monthly_energy` and
:func:`monthly_activity`, which share :data:`TOP_LEVEL` (sub-meters never double count),
:data:`SIGNED_QUANTITY` (export deducted) and :data:`KGCE` (GB/T 2589 standard coal): one
definition, so the figures of the three cannot drift apart.

``coefficients`` arguments are the table of :func:`greenpark.core.energy.meter_coefficients`
(meter_id, coefficient_id, kgce_per_unit, to_coef_unit, counted); it is registered on a private
cursor for the duration of the read.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pyarrow as pa

from greenpark.store import exact_sum

if TYPE_CHECKING:
    import pandas as pd

#: meters that count in totals: top-level meters (sub-meters only break totals down)
TOP_LEVEL = "m.parent IS NULL"
#: a rollup quantity with export deducted [meter unit]
SIGNED_QUANTITY = "CASE WHEN m.export THEN -r.quantity ELSE r.quantity END"
#: GB/T 2589 standard coal of a rollup quantity [kgce]; working media only when counted
KGCE = f"CASE WHEN c.counted THEN {SIGNED_QUANTITY} * c.to_coef_unit * c.kgce_per_unit ELSE 0 END"
#: on-site renewable generation less export, at the meter's coefficient [kgce]
RENEWABLE_KGCE = ("CASE WHEN m.renewable_generation THEN r.quantity WHEN m.export THEN -r.quantity "
                  "ELSE 0 END * c.to_coef_unit * c.kgce_per_unit")


def _date(d: dt.date) -> str:
    return f"DATE '{d.isoformat()}'"


@contextmanager
def _registered(con, **tables) -> Iterator:
    """A private cursor of ``con`` with ``tables`` registered under the given names."""
    cur = con.cursor()
    for name, t in tables.items():
        cur.register(name, t)
    try:
        yield cur
    finally:
        for name in tables:
            cur.unregister(name)


def _meter_period_sql(start: dt.date, end: dt.date) -> str:
    """Per meter over [start, end): quantity, readings, expected readings (from ``_gp_calendar``)."""
    return f"""
        SELECT m.meter_id, m.owner, m.carrier, m.unit, m.parent, m.end_use, m.building,
               m.renewable_generation, m.export, m.interval_minutes,
               c.coefficient_id, c.kgce_per_unit, c.to_coef_unit, c.counted,
               COALESCE({exact_sum("r.quantity")}, 0) AS quantity,
               CAST(COALESCE(SUM(r.n_readings), 0) AS BIGINT) AS n_readings,
               CASE m.period WHEN 'month' THEN CAST((SELECT COUNT(*) FROM _gp_calendar k) AS DOUBLE)
                    ELSE CAST((SELECT SUM(k.minutes) FROM _gp_calendar k) AS DOUBLE) / m.interval_minutes
               END AS expected_readings, m.period
        FROM meters m
        JOIN _gp_coef c ON c.meter_id = m.meter_id
        LEFT JOIN rollup_monthly r
               ON r.meter_id = m.meter_id AND r.month >= {_date(start)} AND r.month < {_date(end)}
        GROUP BY m.meter_id, m.owner, m.carrier, m.unit, m.parent, m.end_use, m.building,
                 m.renewable_generation, m.export, m.interval_minutes, m.period,
                 c.coefficient_id, c.kgce_per_unit, c.to_coef_unit, c.counted"""


def _calendar(start: dt.date, end: dt.date) -> pa.Table:
    """(month, minutes) of the months in [start, end)."""
    months = []
    d = start
    while d < end:
        months.append({"month": d, "minutes": calendar.monthrange(d.year, d.month)[1] * 1440})
        d = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return pa.Table.from_pylist(months, schema=pa.schema([("month", pa.date32()), ("minutes", pa.int64())]))


def meter_period(con, coefficients: pa.Table, start: dt.date, end: dt.date) -> pa.Table:
    """Per meter (every meter of ``meters``) over the months [start, end): its metadata, coefficient,
    ``quantity`` [meter unit], ``n_readings`` and ``expected_readings`` (minutes / interval)."""
    with _registered(con, _gp_coef=coefficients, _gp_calendar=_calendar(start, end)) as cur:
        return cur.sql(_meter_period_sql(start, end) + " ORDER BY m.meter_id").to_arrow_table()


def meter_remainders(con, coefficients: pa.Table, start: dt.date, end: dt.date) -> pa.Table:
    """Per meter over [start, end): ``own_quantity`` = its quantity less its sub-meters' [meter unit],
    ``n_children``, with owner, carrier, unit, building, end_use, to_coef_unit, kgce_per_unit, counted,
    export and renewable_generation."""
    with _registered(con, _gp_coef=coefficients, _gp_calendar=_calendar(start, end)) as cur:
        return cur.sql(f"""
            WITH q AS ({_meter_period_sql(start, end)}),
            kids AS (SELECT parent, {exact_sum("quantity")} AS child_quantity, COUNT(*) AS n_children
                     FROM q WHERE parent IS NOT NULL GROUP BY parent)
            SELECT q.meter_id, q.owner, q.carrier, q.unit, q.building, q.end_use,
                   q.quantity - COALESCE(k.child_quantity, 0) AS own_quantity,
                   CAST(COALESCE(k.n_children, 0) AS BIGINT) AS n_children, q.to_coef_unit, q.kgce_per_unit, q.counted,
                   q.export, q.renewable_generation
            FROM q LEFT JOIN kids k ON k.parent = q.meter_id
            ORDER BY q.meter_id""").to_arrow_table()


def monthly_energy(con, coefficients: pa.Table, start: dt.date, end: dt.date, *, by_carrier: bool) -> pa.Table:
    """GB/T 2589 comprehensive energy consumption per owner and month [kgce] over [start, end).

    Columns ``owner, month, kgce, renewable_kgce`` and, with ``by_carrier``, ``carrier`` and
    ``quantity`` (export deducted) [coefficient unit]. Top-level meters only (:data:`TOP_LEVEL`).
    ``renewable_kgce`` is on-site renewable generation less export [kgce]."""
    carrier = "m.carrier, " if by_carrier else ""
    quantity = f"{exact_sum(SIGNED_QUANTITY + ' * c.to_coef_unit')} AS quantity, " if by_carrier else ""
    order = "r.month, m.owner, m.carrier" if by_carrier else "m.owner, r.month"
    with _registered(con, _gp_coef=coefficients) as cur:
        return cur.sql(f"""
            SELECT m.owner, {carrier}r.month, {quantity}{exact_sum(KGCE)} AS kgce,
                   {exact_sum(RENEWABLE_KGCE)} AS renewable_kgce
            FROM rollup_monthly r JOIN meters m ON m.meter_id = r.meter_id
            JOIN _gp_coef c ON c.meter_id = m.meter_id
            WHERE {TOP_LEVEL} AND r.month >= {_date(start)} AND r.month < {_date(end)}
            GROUP BY m.owner, {carrier}r.month ORDER BY {order}""").to_arrow_table()


def monthly_activity(con, conversions: pa.Table, start: dt.date, end: dt.date) -> pa.Table:
    """Monthly activity per owner, carrier and flow over [start, end) [carrier unit].

    ``conversions``: (meter_id, to_unit, unit, flow) per meter. Rows ``enterprise_id, month,
    carrier, flow, quantity, unit``; top-level meters only (:data:`TOP_LEVEL`)."""
    with _registered(con, _gp_conv=conversions) as cur:
        return cur.sql(f"""
            SELECT m.owner AS enterprise_id, r.month, m.carrier, c.flow,
                   {exact_sum("r.quantity * c.to_unit")} AS quantity, c.unit
            FROM rollup_monthly r JOIN meters m ON m.meter_id = r.meter_id JOIN _gp_conv c ON c.meter_id = r.meter_id
            WHERE {TOP_LEVEL} AND r.month >= {_date(start)} AND r.month < {_date(end)}
            GROUP BY m.owner, r.month, m.carrier, c.flow, c.unit
            ORDER BY m.owner, r.month, m.carrier, c.flow""").to_arrow_table()


def daily(con, meter_ids: list[str], first: dt.date, last: dt.date) -> pd.DataFrame:
    """``rollup_daily`` rows (meter_id, day, quantity, n_readings) of ``meter_ids``, days in [first, last]."""
    return con.execute("SELECT meter_id, day, quantity, n_readings FROM rollup_daily "
                       "WHERE list_contains(?, meter_id) AND day BETWEEN ? AND ?", [meter_ids, first, last]).df()


def hourly(con, meter_ids: list[str], start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """``rollup_hourly`` rows (meter_id, hour, quantity, n_readings) of ``meter_ids``, hours in [start, end)."""
    return con.execute("SELECT meter_id, hour, quantity, n_readings FROM rollup_hourly "
                       "WHERE list_contains(?, meter_id) AND hour >= ? AND hour < ?", [meter_ids, start, end]).df()


def meter_stats(con) -> dict[str, dict]:
    """Per meter: readings stored, first and last hour (park time, ``YYYY-MM-DDTHH:MM``), from the hourly rollups."""
    rows = con.execute("""
        SELECT meter_id, sum(n_readings), strftime(min(hour), '%Y-%m-%dT%H:%M'), strftime(max(hour), '%Y-%m-%dT%H:%M')
        FROM rollup_hourly GROUP BY meter_id""").fetchall()
    return {r[0]: {"readings": int(r[1]), "first_hour": r[2], "last_hour": r[3]} for r in rows}


def owner_months(con) -> list[tuple[str, str]]:
    """(owner, month ``YYYY-MM``) pairs with readings, park time, ordered by month."""
    return [tuple(r) for r in con.execute("""
        SELECT m.owner, strftime(r.month, '%Y-%m') FROM rollup_monthly r JOIN meters m USING (meter_id)
        WHERE r.n_readings > 0 GROUP BY ALL ORDER BY 2""").fetchall()]
