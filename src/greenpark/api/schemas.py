"""Request and response bodies of the API (separate models for input and public output)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

Role = Literal["park_admin", "enterprise", "auditor", "device"]
#: the most readings one JSON push may carry (larger loads: several batches)
MAX_PUSH_ROWS = 100_000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    status: int
    code: str = Field(description="stable code: bad_request, unauthenticated, forbidden, not_found, conflict, "
                                  "validation_error, csrf_failed, internal_error, ...")
    message: str = Field(description="what went wrong and what to do next")
    details: Any = None


class ErrorOut(BaseModel):
    """The one error shape of the API."""

    error: ErrorDetail


ERRORS = {s: {"model": ErrorOut} for s in (400, 401, 403, 404, 409, 422)}


# -- accounts ------------------------------------------------------------------------------------
class LoginIn(_In):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class PrincipalOut(BaseModel):
    user_id: int | None
    username: str
    role: Role
    enterprise_id: str | None
    meters: list[str] | None
    via: str


class MeOut(BaseModel):
    user: PrincipalOut
    csrf_token: str | None = Field(None, description="send it as X-CSRF-Token on writes of a browser session")


class UserIn(_In):
    username: str = Field(min_length=1, max_length=64)
    role: Role
    enterprise_id: str | None = Field(None, max_length=64, description="required for role enterprise")
    meters: list[str] | None = Field(None, max_length=10_000, description="device: meters it may push for")
    password: str | None = Field(None, max_length=1024, description="for browser login; devices use tokens")


class UserOut(BaseModel):
    user_id: int
    username: str
    role: Role
    enterprise_id: str | None
    meters: list[str] | None
    has_password: bool
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None


class TokenIn(_In):
    name: str = Field(min_length=1, max_length=100, description="what or where the token is used")
    username: str | None = Field(None, max_length=64, description="park admins may issue tokens for another user")
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class TokenOut(BaseModel):
    token_id: int
    user_id: int
    username: str
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the token itself: shown once, store it now")


class AuditOut(BaseModel):
    audit_id: int
    occurred_at: dt.datetime
    user_id: int | None
    username: str
    role: str | None
    action: str
    target: str | None
    enterprise_id: str | None
    import_id: int | None
    before_state: Any
    after_state: Any
    remote: str | None


# -- park ----------------------------------------------------------------------------------------
class StationOut(BaseModel):
    id: str
    kind: str
    name_zh: str
    name_en: str
    water_body: str | None = None


class ParkOut(BaseModel):
    id: str
    name_zh: str
    name_en: str
    timezone: str
    grid_region: str
    province: str | None
    enterprises: int
    meters: int
    stations: list[StationOut]
    data_months: list[str] = Field(description="months (YYYY-MM, park time) with readings you may see")
    years: list[int]


class EconomicsOut(BaseModel):
    year: int
    output_value_10k_cny: float | None
    value_added_10k_cny: float | None


class EnterpriseOut(BaseModel):
    id: str
    name_zh: str
    name_en: str
    industry: str
    economics: list[EconomicsOut]
    meters: int


class BuildingOut(BaseModel):
    id: str
    name_zh: str
    name_en: str
    floor_area_m2: float
    type: str


class ProductOut(BaseModel):
    id: str
    name_zh: str
    name_en: str
    unit: str
    year: int


class MeterOut(BaseModel):
    id: str
    owner: str
    carrier: str
    unit: str
    kind: str
    interval_minutes: int
    multiplier: float
    parent: str | None
    end_use: str | None
    building: str | None
    renewable_generation: bool
    export: bool
    readings: int = Field(description="readings stored")
    first_hour: str | None = Field(description="first hour with readings (park time)")
    last_hour: str | None = Field(description="last hour with readings (park time)")


class EnterpriseDetail(EnterpriseOut):
    buildings: list[BuildingOut]
    meter_list: list[MeterOut]
    products: list[ProductOut]


# -- readings ------------------------------------------------------------------------------------
class ReadingIn(_In):
    meter_id: str = Field(max_length=200)
    timestamp: str = Field(max_length=100, description="ISO 8601; with an offset, or naive = park time")
    value: StrictBool | float | str | None = Field(description="interval consumption (or register value) in unit")
    unit: str | None = Field(None, max_length=50, description="default: the meter's unit")


class PushIn(_In):
    source: str | None = Field(None, max_length=100, description="a label for the import log, e.g. 'gateway 3'")
    readings: list[ReadingIn] = Field(max_length=MAX_PUSH_ROWS)


class ObservationIn(_In):
    station_id: str = Field(max_length=200)
    timestamp: str = Field(max_length=100, description="ISO 8601 (or a date for daily water samples); with an "
                                                       "offset, or naive = park time")
    parameter: str = Field(max_length=50, description="e.g. pm25, o3, temperature, cod (station_parameters.csv)")
    value: StrictBool | float | str | None = Field(description="the concentration or measurement in unit")
    unit: str | None = Field(None, max_length=50, description="default: the parameter's reference unit")


class PushObservationsIn(_In):
    source: str | None = Field(None, max_length=100, description="a label for the import log, e.g. 'AQ station 1'")
    observations: list[ObservationIn] = Field(max_length=MAX_PUSH_ROWS)


class RejectedRow(BaseModel):
    index: int = Field(description="0-based position of the row in the batch")
    reason: str
    detail: str | None
    raw: str | None


class ImportSummary(BaseModel):
    import_id: int | None
    source: str
    checksum: str
    rows_read: int
    accepted: int
    unchanged: int
    corrected: int
    rejected: int
    rejected_by_reason: dict[str, int]


class PushOut(ImportSummary):
    rejected_rows: list[RejectedRow]


class ImportOut(BaseModel):
    import_id: int
    source: str
    checksum: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    rows_read: int
    accepted: int
    unchanged: int
    corrected: int
    rejected: int
    status: str
    greenpark_version: str


class QuarantineOut(BaseModel):
    import_id: int
    source: str
    line_no: int | None
    reason: str
    detail: str | None
    raw: str | None
    meter_id: str | None = Field(None, description="the meter the row was for, when the row named one")
    ts: dt.datetime | None = Field(None, description="the row's instant [UTC], when it could be read")
    resolved_by_import: int | None
    resolved_at: dt.datetime | None
    resolution: str | None


class QuarantinePage(BaseModel):
    total: int
    by_reason: dict[str, int]
    by_status: dict[str, int] = Field(description="the rows of the filters counted as open, resolved, superseded")
    rows: list[QuarantineOut]


class FixIn(_In):
    """The corrected row: meter_id (readings) or station_id and parameter (observations)."""

    meter_id: str | None = Field(None, max_length=200)
    station_id: str | None = Field(None, max_length=200)
    parameter: str | None = Field(None, max_length=50)
    timestamp: str = Field(max_length=100)
    value: StrictBool | float | str | None
    unit: str | None = Field(None, max_length=50)


class RowKey(_In):
    import_id: int = Field(ge=0, le=2**62)
    line_no: int = Field(ge=0, le=2**62)


class ResubmitIn(_In):
    rows: list[RowKey] = Field(min_length=1, max_length=10_000)


class FixOut(BaseModel):
    resolved: list[RowKey]
    imports: list[PushOut]
