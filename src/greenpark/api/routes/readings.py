"""Readings: query (raw or hourly/daily/monthly rollups, JSON or CSV), push in batches, and the
data quality of a meter (gaps, incomplete hours, corrections, quarantined rows).

Pushed readings go through the same validation and merge as file imports
(:func:`greenpark.ingest.ingest_batch`): each batch is one import, rows that fail land in the
quarantine with their reason code, and the response lists them by position in the batch.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from enum import Enum
from typing import Annotated

import pandas as pd
import pyarrow as pa
from fastapi import APIRouter, Query, Request

from greenpark import ingest
from greenpark.api.backend import Backend
from greenpark.api.deps import BackendDep, MeterPusher, ParkDep, ScopeDep
from greenpark.api.errors import bad_request, forbidden
from greenpark.api.render import csv_response
from greenpark.api.schemas import ERRORS, PushIn, PushOut
from greenpark.services import users
from greenpark.store import quarantine as store_quarantine
from greenpark.store import readings as store_readings

router = APIRouter(tags=["readings"], responses=ERRORS)

#: most rows one query returns (ask again from the last time for more)
MAX_ROWS = 200_000


class Resolution(str, Enum):
    raw = "raw"
    hour = "hour"
    day = "day"
    month = "month"


class OutFormat(str, Enum):
    json = "json"
    csv = "csv"


def parse_time(text: str | None, tz: str, name: str) -> dt.datetime | None:
    """An ISO date or date-time; naive = park time. Returns the park-time wall clock (naive)."""
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise bad_request(f"{name} '{text}' is not an ISO 8601 date or date-time (e.g. 2025-03-01 or "
                          "2025-03-01T08:00:00+08:00)") from None
    if t.tzinfo is not None:
        t = t.astimezone(zoneinfo.ZoneInfo(tz)).replace(tzinfo=None)
    if not dt.datetime(1900, 1, 1) <= t <= dt.datetime(2200, 1, 1):
        raise bad_request(f"{name} '{text}' is outside the years 1900-2200")
    return t


def to_utc(local: dt.datetime, tz: str) -> dt.datetime:
    return local.replace(tzinfo=zoneinfo.ZoneInfo(tz)).astimezone(dt.UTC).replace(tzinfo=None)


def _expected(interval_minutes: int, resolution: Resolution) -> str:
    """SQL for readings expected in one period of a rollup (NULL where it does not apply)."""
    per = {Resolution.hour: "60", Resolution.day: "1440",
           Resolution.month: "(extract(day FROM last_day(period)) * 1440)"}[resolution]
    if resolution == Resolution.hour and 60 % interval_minutes:
        return "NULL"
    return f"CAST({per} / {interval_minutes} AS BIGINT)"


def query_readings(backend: Backend, meters: list, resolution: Resolution, start: dt.datetime | None,
                   end: dt.datetime | None, limit: int) -> tuple[list[dict], bool]:
    """Rows ``meter_id, time, value[, n_readings, expected]`` in park time, ordered by meter and time."""
    tz = backend.timezone
    cur = backend.cursor()
    out: list[dict] = []
    truncated = False
    raw = resolution == Resolution.raw
    lo = (to_utc(start, tz) if raw else start) if start is not None else None
    hi = (to_utc(end, tz) if raw else end) if end is not None else None
    for m in meters:
        room = limit - len(out)
        if room <= 0:
            truncated = True
            break
        rows = store_readings.query_readings(cur, m.id, None if raw else _expected(m.interval_minutes, resolution),
                                             resolution.value, lo, hi, room + 1)
        if len(rows) > room:
            rows, truncated = rows[:room], True
        out.extend(rows)
    return out, truncated


@router.get("/readings", name="query_readings",
            responses={200: {"content": {"application/json": {}, "text/csv": {}},
                             "description": "rows of meter_id, time (park time), value[, n_readings, expected]"}})
def read_readings(scope: ScopeDep, backend: BackendDep,
                  meter: Annotated[list[str] | None, Query(max_length=500, description="meter id(s)")] = None,
                  enterprise: Annotated[str | None, Query(max_length=64, description="every meter of this owner")] = None,
                  start: Annotated[str | None, Query(max_length=40, description="from (ISO date or date-time; naive = park time)")] = None,
                  end: Annotated[str | None, Query(max_length=40, description="until, exclusive")] = None,
                  resolution: Resolution = Resolution.hour,
                  format: OutFormat = OutFormat.json,
                  limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 50_000):
    """Readings of meters you may see: raw interval values or hourly, daily or monthly rollups
    [meter unit], with reading counts and expected counts for the data-quality view."""
    tz = backend.timezone
    t0, t1 = parse_time(start, tz, "start"), parse_time(end, tz, "end")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise bad_request("end must be after start")
    if meter:
        meters = [scope.check_meter(m) for m in dict.fromkeys(meter)]
    elif enterprise is not None:
        scope.check_enterprise(enterprise)
        meters = [m for m in scope.meters() if m.owner == enterprise]
    else:
        meters = scope.meters()
    rows, truncated = query_readings(backend, meters, resolution, t0, t1, limit)
    if format == OutFormat.csv:
        cols = ["meter_id", "time", "value"] + ([] if resolution == Resolution.raw else ["n_readings", "expected"])
        return csv_response(rows, cols, f"readings-{resolution.value}.csv")
    return {"timezone": tz, "resolution": resolution.value, "start": start, "end": end, "truncated": truncated,
            "meters": {m.id: {"unit": m.unit, "carrier": m.carrier, "owner": m.owner,
                              "interval_minutes": m.interval_minutes} for m in meters},
            "rows": rows}


@router.get("/meters/{meter_id}/quality", name="read_meter_quality")
def read_meter_quality(meter_id: str, scope: ScopeDep, backend: BackendDep,
                       start: Annotated[str | None, Query(max_length=40)] = None,
                       end: Annotated[str | None, Query(max_length=40)] = None,
                       limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> dict:
    """Data quality of one meter: missing hours (gaps), hours with fewer readings than its interval
    gives, corrected readings (old and new value) and quarantined rows that name it."""
    m = scope.check_meter(meter_id)
    tz = backend.timezone
    t0, t1 = parse_time(start, tz, "start"), parse_time(end, tz, "end")
    cur = backend.cursor()
    hours = store_readings.hourly_counts(cur, m.id, t0, t1)
    per_hour = 60 // m.interval_minutes if 60 % m.interval_minutes == 0 else None
    gaps, incomplete = [], []
    if not hours.empty:
        lo = pd.Timestamp(t0) if t0 is not None else hours["hour"].iloc[0]
        hi = (pd.Timestamp(t1) - pd.Timedelta(hours=1)) if t1 is not None else hours["hour"].iloc[-1]
        if per_hour is not None:
            full = pd.date_range(lo.floor("h"), hi.floor("h"), freq="h")
            missing = full.difference(pd.DatetimeIndex(hours["hour"]))
            if len(missing):
                run = (missing.to_series().diff() != pd.Timedelta(hours=1)).cumsum()
                for _, g in missing.to_series().groupby(run):
                    gaps.append({"from": g.iloc[0].strftime("%Y-%m-%dT%H:%M"),
                                 "to": (g.iloc[-1] + pd.Timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                                 "hours": len(g)})
            inc = hours[hours["n_readings"] < per_hour]
            incomplete = [{"hour": h.strftime("%Y-%m-%dT%H:%M"), "n_readings": int(n), "expected": per_hour}
                          for h, n in zip(inc["hour"], inc["n_readings"], strict=True)]
    corr = store_readings.corrections(cur, m.id, to_utc(t0, tz) if t0 is not None else None,
                                      to_utc(t1, tz) if t1 is not None else None)
    q = store_quarantine.for_meter(cur, m.id)
    return {
        "meter_id": m.id, "interval_minutes": m.interval_minutes, "timezone": tz,
        "hours_with_readings": len(hours), "readings_per_hour": per_hour,
        "gaps": gaps[:limit], "gap_count": len(gaps), "missing_hours": sum(g["hours"] for g in gaps),
        "incomplete_hours": incomplete[:limit], "incomplete_count": len(incomplete),
        "corrections": corr.head(limit).astype(object).where(corr.head(limit).notna(), None).to_dict("records"),
        "correction_count": len(corr),
        "quarantined": q.head(limit).astype(object).where(q.head(limit).notna(), None).to_dict("records"),
        "quarantined_count": len(q),
        "quarantined_by_reason": q["reason"].value_counts().to_dict() if len(q) else {},
        "note": "quarantined rows are matched by the meter id at the start of the original row",
    }


def allowed_meters(user: users.Principal, park) -> set[str] | None:
    """Meters a principal may push for (None: every meter)."""
    if user.role != "device":
        return None
    if user.meters is not None:
        return set(user.meters)
    if user.enterprise_id is not None:
        return {m.id for m in park.meters if m.owner == user.enterprise_id}
    return None


def push_table(rows, keys: tuple[str, ...] = ("meter_id", "timestamp")) -> pa.Table:
    """A pushed batch as the columns of a file: ``keys`` as text, then value (numbers as they came,
    anything else as text) and unit when any row has one; the import path validates the cells."""
    values = [r.value for r in rows]
    if all(type(v) is float for v in values):
        varr = pa.array(values, pa.float64())
    else:
        # booleans stay words ('true' is not a number: unparsable_value), never 1.0
        varr = pa.array([None if v is None else str(v).lower() if isinstance(v, bool)
                         else (repr(v) if isinstance(v, float) else str(v)) for v in values], pa.string())
    cols = {k: pa.array([getattr(r, k) for r in rows], pa.string()) for k in keys} | {"value": varr}
    if any(r.unit is not None for r in rows):
        cols["unit"] = pa.array([r.unit for r in rows], pa.string())
    return pa.table(cols)


def import_out(con, result: ingest.ImportResult, limit: int = 1000) -> dict:
    rejected = []
    if result.rejected and result.import_id is not None:
        rejected = [{"index": r[0] - 2 if r[0] is not None else -1, "reason": r[1], "detail": r[2], "raw": r[3]}
                    for r in store_quarantine.rows_of_import(con, result.import_id, limit)]
    d = result.as_dict()
    return {k: d[k] for k in ("import_id", "source", "checksum", "rows_read", "accepted", "unchanged", "corrected",
                              "rejected", "rejected_by_reason")} | {"rejected_rows": rejected}


@router.post("/readings", response_model=PushOut, name="push_readings")
async def push_readings(body: PushIn, user: MeterPusher, park: ParkDep, backend: BackendDep, request: Request) -> dict:
    """Push a batch of readings (park admins and devices). One batch is one import: every row is
    new, unchanged, a correction or quarantined with its reason code (listed by position)."""
    if not body.readings:
        raise bad_request("the batch has no readings; send {\"readings\": [{\"meter_id\": ..., \"timestamp\": ..., "
                          "\"value\": ...}]}")
    allowed = allowed_meters(user, park)
    if allowed is not None:
        other = sorted({r.meter_id for r in body.readings} - allowed)
        if other:
            raise forbidden(f"this device may push readings only for {', '.join(sorted(allowed)) or 'no meter'}; "
                            f"the batch has rows for {', '.join(other[:5])}{' ...' if len(other) > 5 else ''}; "
                            "nothing was imported")
    table = push_table(body.readings)
    source = f"push:{user.username}" + (f":{body.source}" if body.source else "")
    remote = request.client.host if request.client else None
    enterprise = user.enterprise_id if user.role == "device" else None

    def run(store):
        def audit(result):
            users.audit(store.con, user, "readings.push", f"import {result.import_id}",
                           after={k: v for k, v in result.as_dict().items() if k not in ("checksum", "path")},
                           enterprise_id=enterprise, import_id=result.import_id, remote=remote)

        result = ingest.ingest_batch(store, park, table, source=source, before_commit=audit)
        return import_out(store.con, result)

    return await backend.write(run)
