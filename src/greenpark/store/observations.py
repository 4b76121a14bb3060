"""Observations family: station observations (``observations``, ``observations_history``) and
the reads the environment and M&V services make of them.

Observations are stored as UTC instants (TIMESTAMP, UTC wall clock) in the parameter's unit
(station_parameters.csv). Writes run inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from greenpark.store.readings import merge_rows


def stage_valid(con) -> None:
    """_new(station_id, ts, parameter, value) from the valid rows of _parsed."""
    con.execute("CREATE OR REPLACE TEMP TABLE _new AS SELECT station_id, ts, parameter, value "
                "FROM _parsed WHERE reason IS NULL")


def merge_observations(con, import_id: int, now: dt.datetime, *,
                       protect_after: int | None = None) -> dict[str, int]:
    """Merge _new into observations (new, unchanged, corrected, kept; see
    :func:`greenpark.store.readings.merge_rows`)."""
    return merge_rows(con, "observations", "observations_history", ("station_id", "ts", "parameter"), import_id,
                      now, protect_after=protect_after)


def air_hourly(cur, lo: dt.datetime, hi: dt.datetime, station: str | None = None) -> pd.DataFrame:
    """Observations of air stations in [lo, hi) (UTC wall clock): ``station_id, ts, pollutant, value``
    ordered by station, time and pollutant."""
    sql = """
        SELECT o.station_id, o.ts, o.parameter AS pollutant, o.value
        FROM observations o JOIN stations s USING (station_id)
        WHERE s.kind = 'air' AND o.ts >= ? AND o.ts < ?""" + (" AND o.station_id = ?" if station else "")
    return cur.execute(sql + " ORDER BY 1, 2, 3", [lo, hi, *([station] if station else [])]).df()


def water_samples(cur, lo: dt.datetime, hi: dt.datetime) -> pd.DataFrame:
    """Observations of water stations in [lo, hi): ``section_id, ts, parameter, value``."""
    return cur.execute("""
        SELECT o.station_id AS section_id, o.ts, o.parameter, o.value
        FROM observations o JOIN stations s USING (station_id)
        WHERE s.kind = 'water' AND o.ts >= ? AND o.ts < ? ORDER BY 1, 2, 3""", [lo, hi]).df()


def water_sections(cur) -> pd.DataFrame:
    """The park's water stations: ``section_id, water_body, name_en``."""
    return cur.execute("SELECT station_id AS section_id, water_body, name_en FROM stations "
                       "WHERE kind = 'water' ORDER BY 1").df()


def samples(cur, station_id: str, parameter: str, lo: dt.datetime, hi: dt.datetime) -> pd.DataFrame:
    """One station's samples of one parameter in [lo, hi): ``ts, value`` in time order."""
    return cur.execute(
        "SELECT ts, value FROM observations WHERE station_id = ? AND parameter = ? AND ts >= ? AND ts < ? "
        "ORDER BY ts", [station_id, parameter, lo, hi]).df()
