"""Imports (list, upload a file) and the quarantine (list, fix a row, re-submit rows).

A fixed or re-submitted row goes through the import path again as a new import (same
validation, same merge); the quarantined row is then marked resolved by that import, and if it
fails again it is quarantined anew in that import, with its new reason. Park admins write;
auditors read; enterprise users and devices do not see imports (a file holds many enterprises'
rows). Enterprise users see, fix and re-submit the quarantined rows of their own meters (and no
other row: one of another enterprise answers 404 as if it did not exist).
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from greenpark import ingest
from greenpark.api.deps import Admin, BackendDep, Overseer, ParkDep, Reader, Scope, Writer
from greenpark.api.errors import ApiError, bad_request, forbidden, not_found
from greenpark.api.render import csv_response
from greenpark.api.routes.readings import import_out
from greenpark.api.schemas import ERRORS, FixIn, FixOut, ImportOut, PushOut, QuarantinePage, ResubmitIn
from greenpark.services import quarantine as quarantine_service
from greenpark.services import users
from greenpark.store import imports as store_imports
from greenpark.store import quarantine as store_quarantine

router = APIRouter(tags=["imports"], responses=ERRORS)

#: largest file accepted by upload [bytes]
MAX_UPLOAD_BYTES = ingest.limits.DEFAULT.max_file_bytes


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/imports", response_model=list[ImportOut], name="list_imports")
def list_imports(user: Overseer, backend: BackendDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                 offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[dict]:
    """Every import (files, pushes, fixes), newest first: source, checksum, counts by outcome."""
    return store_imports.list_imports(backend.cursor(), limit, offset)


@router.get("/imports/{import_id}", name="read_import")
def read_import(import_id: int, user: Overseer, backend: BackendDep) -> dict[str, Any]:
    """One import with its quarantined rows counted by reason."""
    if not 0 <= import_id < 2**62:
        raise not_found(f"no import {import_id}")
    found = store_imports.get_import(backend.cursor(), import_id)
    if found is None:
        raise not_found(f"no import {import_id}; GET /api/v1/imports lists them")
    return found


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._\-\u4e00-\u9fff]+")


def safe_name(filename: str | None) -> str:
    """A file name that is safe in a directory of ours: no path, no leading dots ('..', '.x')."""
    name = _SAFE_NAME.sub("_", (filename or "").replace("\\", "/").rsplit("/", 1)[-1])[:120].lstrip(".")
    return name or "upload.csv"


@router.post("/imports", response_model=ImportOut | dict, status_code=201, name="upload_import")
async def upload_import(user: Admin, park: ParkDep, backend: BackendDep, request: Request,
                        file: Annotated[UploadFile, File(description="CSV (any encoding), Excel (.xlsx, .xls, HTML "
                                                                     "saved as .xls) or Parquet file of readings or "
                                                                     "station observations")],
                        force: Annotated[bool, Query(description="re-process a file imported before")] = False,
                        profile: Annotated[str | None, Query(max_length=64, description="import profile "
                                                             "[profiles.NAME] of park.toml")] = None,
                        encoding: Annotated[str | None, Query(max_length=40, description="text encoding of a CSV "
                                                              "file (e.g. gb18030); default: detected")] = None):
    """Import a file exactly as 'greenpark ingest' does (park admins)."""
    name = safe_name(file.filename)
    tmp = Path(tempfile.mkdtemp(prefix="greenpark-upload-"))
    try:
        path = tmp / name
        size = 0
        with path.open("wb") as fh:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise ApiError(413, f"the file is larger than {MAX_UPLOAD_BYTES >> 20:,} MiB; split it")
                fh.write(chunk)
        remote = _remote(request)

        def prepare():
            # reading, parsing and validating need no writer: they run beside it, so that logins
            # and other writes do not wait for them (only the merge below holds the writer)
            return ingest.prepare_file(backend.cursor(), backend.store.timezone, path, force=force, park=park,
                                       name=name, profile=profile, encoding=encoding)

        prepared = await run_in_threadpool(prepare)

        def run(store):
            result = ingest.merge_prepared(store, prepared)
            with store.transaction() as con:
                users.audit(con, user, "imports.upload", f"file {name}",
                               after={k: v for k, v in result.as_dict().items() if k != "path"},
                               import_id=result.import_id, remote=remote)
            if result.skipped_as_duplicate_of is not None:
                return {"skipped_as_duplicate_of": result.skipped_as_duplicate_of, "source": name,
                        "message": f"{name} was imported before (import {result.skipped_as_duplicate_of}); nothing "
                                   "changed. Send force=true to re-process it."}
            return {k: v for k, v in store_imports.get_import(store.con, result.import_id).items()
                    if k != "rejected_by_reason"}

        return await backend.write(run)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Status(str, Enum):
    open = "open"
    resolved = "resolved"
    all = "all"


class OutFormat(str, Enum):
    json = "json"
    csv = "csv"


def _scope_meters(user, park) -> list[str] | None:
    """The meters an enterprise user's quarantine is limited to (None: the whole park)."""
    scope = Scope(user, park)
    return [m.id for m in scope.meters()] if scope.enterprise else None


@router.get("/quarantine", name="list_quarantine", response_model=QuarantinePage,
            responses={200: {"content": {"application/json": {}, "text/csv": {}}}})
def list_quarantine(user: Reader, park: ParkDep, backend: BackendDep,
                    reason: Annotated[str | None, Query(max_length=64, description="only this reason code")] = None,
                    import_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
                    source: Annotated[str | None, Query(max_length=300, description="only rows of imports of this "
                                                                                     "file or source")] = None,
                    meter: Annotated[str | None, Query(max_length=200, description="only rows of this meter")] = None,
                    period: Annotated[str | None, Query(max_length=20, description="2025, 2025-Q1 or 2025-03")] = None,
                    status: Status = Status.open, format: OutFormat = OutFormat.json,
                    limit: Annotated[int, Query(ge=1, le=100_000)] = 200,
                    offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    """Rejected rows with reason code, detail and original line: open (default: neither fixed nor
    superseded by a later accepted reading of the same meter and time), resolved or all.
    Enterprise users see the rows of their own meters only. ``format=csv`` gives them in the file
    layout (meter_id, timestamp, value, unit) with reason and key columns, for fixing."""
    meters = _scope_meters(user, park)
    if meter is not None and meters is not None:
        Scope(user, park).check_meter(meter)
    sel = quarantine_service.Selection(reason=reason, import_id=import_id, source=source, meter=meter, period=period,
                                       meters=meters, status=status.value).check(park)
    cur = backend.cursor()
    if format == OutFormat.csv:
        rows = store_quarantine.list_rows(cur, status=sel.status, limit=limit, offset=offset, **sel.filters())
        return csv_response(quarantine_service.export_rows(rows, park.tz), list(quarantine_service.EXPORT_COLUMNS),
                            "quarantine.csv")
    return quarantine_service.listing(cur, sel, limit=limit, offset=offset)


def _quarantined(con, keys: list[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    return store_quarantine.rows_for_keys(con, keys)


def _check_open(found: dict, keys: list[tuple[int, int]], meters: list[str] | None = None) -> None:
    """404 for rows that do not exist or, for an enterprise user, are not of its meters (the same
    answer, so that nothing of other enterprises leaks); 409 for rows already resolved."""
    missing = [k for k in keys if k not in found or (meters is not None and found[k]["meter_id"] not in meters)]
    if missing:
        raise not_found("no quarantined row " + ", ".join(f"(import {i}, line {n})" for i, n in missing[:5]) +
                        "; GET /api/v1/quarantine lists them")
    done = [found[k] for k in keys if found[k]["resolved_by_import"] is not None]
    if done:
        raise ApiError(409, "already resolved: " + ", ".join(
            f"(import {r['import_id']}, line {r['line_no']}) by import {r['resolved_by_import']}" for r in done[:5]))


def _resolve(con, keys: list[tuple[int, int]], result: ingest.ImportResult, action: str, audit_id: int) -> None:
    store_quarantine.resolve(con, keys, result.import_id, action, audit_id)


@router.post("/quarantine/{import_id}/{line_no}/fix", response_model=FixOut, name="fix_quarantined_row")
async def fix_row(import_id: int, line_no: int, body: FixIn, user: Writer, park: ParkDep, backend: BackendDep,
                  request: Request) -> dict:
    """Submit a corrected version of a quarantined row (park admins; enterprise users for rows of
    their own meters). It is imported as a new import through the same validation; the original
    row is marked resolved by that import."""
    meters = _scope_meters(user, park)
    if meters is not None:
        if body.station_id is not None:
            raise forbidden("enterprise users fix meter readings of their own meters only, not station observations")
        if body.meter_id is not None:
            Scope(user, park).check_meter(body.meter_id)
    if (body.meter_id is None) == (body.station_id is None):
        raise bad_request("give either meter_id (a reading) or station_id and parameter (an observation)")
    if body.station_id is not None and not body.parameter:
        raise bad_request("an observation needs parameter (e.g. pm25)")
    if not (0 <= import_id < 2**62 and 0 <= line_no < 2**62):
        raise not_found(f"no quarantined row (import {import_id}, line {line_no})")
    value = None if body.value is None else (str(body.value).lower() if isinstance(body.value, bool) else
                                             repr(body.value) if isinstance(body.value, float) else str(body.value))
    if body.meter_id is not None:
        table = pa.table({"meter_id": [body.meter_id], "timestamp": [body.timestamp], "value": [value],
                          "unit": pa.array([body.unit], pa.string())})
    else:
        table = pa.table({"station_id": [body.station_id], "timestamp": [body.timestamp],
                          "parameter": [body.parameter], "value": [value], "unit": pa.array([body.unit], pa.string())})
    key = (import_id, line_no)
    remote = _remote(request)

    def run(store):
        found = _quarantined(store.con, [key])
        _check_open(found, [key], meters)

        def done(result):
            aid = users.audit(store.con, user, "quarantine.fix", f"import {import_id} line {line_no}",
                                 before=found[key], after={"row": body.model_dump(), "import_id": result.import_id,
                                                           "accepted": result.accepted + result.unchanged
                                                           + result.corrected, "rejected": result.rejected},
                                 import_id=result.import_id, remote=remote)
            _resolve(store.con, [key], result, "fix", aid)

        result = ingest.ingest_batch(store, park, table, source=f"fix:{import_id}:{line_no}", before_commit=done)
        return {"resolved": [{"import_id": import_id, "line_no": line_no}], "imports": [import_out(store.con, result)]}

    return await backend.write(run)


def _split_raw(row: dict, station_ids: set[str]) -> tuple[str, list[str]] | None:
    """The layout and fields of a quarantined row's original line (None when it has no usable shape)."""
    raw = row["raw"] or ""
    try:
        fields = next(csv.reader([raw]), [])
    except csv.Error:
        return None
    if fields and fields[0].strip() in station_ids and len(fields) in (4, 5):
        return "station", (fields + [""])[:5]
    if len(fields) in (3, 4):
        return "meter", (fields + [""])[:4]
    return None


@router.post("/quarantine/resubmit", response_model=FixOut, name="resubmit_quarantined_rows")
async def resubmit(body: ResubmitIn, user: Writer, park: ParkDep, backend: BackendDep, request: Request) -> dict:
    """Re-submit quarantined rows as they were (park admins; enterprise users for rows of their own
    meters), e.g. after adding a missing meter to park.toml and restarting the server: one new
    import per layout; each row is marked resolved."""
    keys = list(dict.fromkeys((k.import_id, k.line_no) for k in body.rows))
    meters = _scope_meters(user, park)
    station_ids = {s.id for s in park.stations}
    remote = _remote(request)

    def run(store):
        found = _quarantined(store.con, keys)
        _check_open(found, keys, meters)
        groups: dict[str, list] = {"meter": [], "station": []}
        bad = []
        for k in keys:
            split = _split_raw(found[k], station_ids)
            if split is None:
                bad.append(k)
            else:
                groups[split[0]].append((k, split[1]))
        if bad:
            raise bad_request("these rows have no readable original line (a malformed row?): " + ", ".join(
                f"(import {i}, line {n})" for i, n in bad[:5]) + "; fix them one by one with "
                "POST /api/v1/quarantine/{import_id}/{line_no}/fix")
        out: list[dict] = []
        for layout, items in groups.items():
            if not items:
                continue
            names = (["meter_id", "timestamp", "value", "unit"] if layout == "meter"
                     else ["station_id", "timestamp", "parameter", "value", "unit"])
            cols = {n: pa.array([f[1][j].strip() or None for f in items], pa.string()) for j, n in enumerate(names)}
            table = pa.table(cols)
            ks = [f[0] for f in items]

            def done(result, ks=ks):
                aid = users.audit(store.con, user, "quarantine.resubmit", f"{len(ks)} row(s)",
                                     before=[found[k] for k in ks],
                                     after={"import_id": result.import_id, "accepted": result.accepted
                                            + result.unchanged + result.corrected, "rejected": result.rejected},
                                     import_id=result.import_id, remote=remote)
                _resolve(store.con, ks, result, "resubmit", aid)

            result = ingest.ingest_batch(store, park, table, source=f"resubmit:{user.username}", before_commit=done)
            out.append(import_out(store.con, result))
        return {"resolved": [{"import_id": i, "line_no": n} for i, n in keys], "imports": out}

    return await backend.write(run)




@router.post("/quarantine/resubmit-file", name="resubmit_quarantine_file",
             responses={200: {"description": "resolved and skipped rows, and the new import (null: nothing to do)"}})
async def resubmit_file(user: Writer, park: ParkDep, backend: BackendDep, request: Request,
                        file: Annotated[UploadFile, File(description="a corrected export: GET /api/v1/quarantine"
                                                                     "?format=csv, first four columns fixed")]) -> dict:
    """Import the corrected rows of a quarantine export as one new import and mark each original
    row (``import_id, line_no``) resolved by it, as 'greenpark quarantine resubmit FILE' does (park
    admins; enterprise users for rows of their own meters). Rows already resolved are skipped: the
    same file twice changes nothing."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(413, f"the file is larger than {MAX_UPLOAD_BYTES >> 20:,} MiB; split it")
    name = safe_name(file.filename)
    rows = quarantine_service.parse_fix_csv(data, name)
    meters = _scope_meters(user, park)
    remote = _remote(request)

    def run(store):
        out = quarantine_service.resubmit(store, park, rows, user, meters=meters, remote=remote,
                                          source=f"resubmit:{name}")
        return {"resolved": out["resolved"], "skipped": out["skipped"],
                "import": import_out(store.con, out["import"]) if out["import"] is not None else None}

    return await backend.write(run)


__all__ = ["PushOut", "router"]
