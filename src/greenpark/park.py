"""The park description (``park.toml``): park, enterprises, buildings, meters, products, stations.

``load(path)`` validates the file and returns a :class:`Park`; errors name the file, the entry
(by its id where it has one) and what to fix. ``find_park_file`` implements the CLI rule: the
``--park PATH`` option, else ``park.toml`` in the current directory.
"""

from __future__ import annotations

import datetime as dt
import tomllib
import zoneinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from greenpark import reference
from greenpark.core import units
from greenpark.errors import InputError, NotFoundError

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]


class ParkError(InputError, ValueError):
    """park.toml is missing or invalid; the message says where and what to fix."""


class ParkIdError(NotFoundError, ParkError):
    """An id park.toml does not define (station, enterprise, M&V project); the message lists the valid ids."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParkInfo(_Model):
    id: Id
    name_zh: str
    name_en: str
    timezone: str = "Asia/Shanghai"
    grid_region: str = "east_china"
    province: str | None = None
    #: DuckDB file (relative to park.toml) or a database URL
    db: str = "greenpark.duckdb"
    #: the engine of the accounts: "duckdb" (the store at ``db``; also PostgreSQL URLs) or "spark"
    #: (Parquet data lake at ``lake``, greenpark.store.spark)
    engine: Literal["duckdb", "spark"] = "duckdb"
    #: Spark stores: the lake root (relative to park.toml, or an object-store URL such as s3a://...)
    lake: str = "lake"
    #: Spark stores: the master URL (local[N], spark://host:port, yarn; default GREENPARK_SPARK_MASTER or local[2])
    spark_master: str | None = None
    #: whether a reading's timestamp labels the end (default) or the start of its interval
    interval_label: Literal["end", "start"] = "end"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone '{v}'; use an IANA name such as 'Asia/Shanghai'") from None
        return v


class Accounting(_Model):
    """Choices that change accounts; each choice that is not from a standard records its source."""

    #: coefficient id per carrier, overriding carriers.csv (e.g. natural_gas = "natural_gas_gasfield")
    coefficients: dict[str, str] = {}
    #: coal rate for electricity at equal value [gce/kWh]; None = not reported
    equal_value_coal_rate_gce_per_kwh: float | None = Field(default=None, gt=0, lt=1000)
    equal_value_coal_rate_source: str | None = None
    equal_value_coal_rate_status: Literal["C2+", "C1", "UNVERIFIED", "USER"] = "USER"
    #: count energy-consuming working media (water, compressed air) in comprehensive consumption
    include_working_media: bool = False

    @model_validator(mode="after")
    def _rate_source(self) -> Accounting:
        if self.equal_value_coal_rate_gce_per_kwh is not None and not self.equal_value_coal_rate_source:
            raise ValueError("equal_value_coal_rate_source is required when equal_value_coal_rate_gce_per_kwh is set "
                             "(name the statistic and year the coal rate comes from)")
        return self


class PlausibleRange(_Model):
    min: float | None = None
    max: float | None = None


class Plausibility(_Model):
    """Limits that quarantine implausible data (value_out_of_range, timestamp_too_early); defaults
    in reference/data/plausibility.csv. Carriers: one reading [carrier unit]; parameters: one
    observation [the parameter's stored unit]; register: a register times multiplier."""

    earliest: dt.date | None = None
    carriers: dict[str, PlausibleRange] = {}
    parameters: dict[str, PlausibleRange] = {}
    registers: PlausibleRange | None = None

    @model_validator(mode="after")
    def _known(self) -> Plausibility:
        for what, keys, dataset, col in (("carriers", self.carriers, "carriers", "id"),
                                         ("parameters", self.parameters, "station_parameters", "parameter")):
            valid = sorted({r[col] for r in reference.load(dataset).rows})
            for k in keys:
                if k != "*" and k not in valid:
                    raise ValueError(f"plausibility.{what}: '{k}' is not one of {', '.join(valid)} (or '*')")
        return self


class Economics(_Model):
    year: int = Field(ge=2000, le=2100)
    output_value_10k_cny: float | None = Field(default=None, ge=0)
    value_added_10k_cny: float | None = Field(default=None, ge=0)


class Enterprise(_Model):
    id: Id
    name_zh: str
    name_en: str
    industry: str
    economics: list[Economics] = []


class Building(_Model):
    id: Id
    name_zh: str
    name_en: str
    owner: str
    floor_area_m2: float = Field(gt=0)
    type: Literal["factory", "office", "warehouse", "public", "datacenter", "laboratory", "other"]


class MeterEvent(_Model):
    """A meter replacement or reset at ``at`` (park time unless an offset is given)."""

    kind: Literal["replacement"]
    at: dt.datetime
    #: last register value of the old meter [register units]
    old_final: float
    #: first register value of the new meter [register units]
    new_initial: float = 0.0
    note: str = ""


class Meter(_Model):
    id: Id
    owner: str
    carrier: str
    unit: str
    kind: Literal["interval", "cumulative"] = "interval"
    interval_minutes: int = Field(default=15, ge=1, le=44640)
    #: a meter read once a day or once a month (bills): each reading is labelled by its period
    #: (2025-01, 2025年1月, 202501, 2025/1; 2025-03-01, 2025年3月1日, 20250301) and completeness counts
    #: days or months; interval_minutes is then 1440 (day) or 44640 (month, its longest length)
    interval: Literal["month", "day"] | None = None
    multiplier: float = Field(default=1.0, gt=0)
    parent: str | None = None
    end_use: str | None = None
    building: str | None = None
    renewable_generation: bool = False
    export: bool = False
    #: largest value the register shows before it rolls over to zero (cumulative meters)
    #: the value at which the register wraps to zero (its modulus, e.g. 100000000 for 8 digits)
    register_rollover: float | None = Field(default=None, gt=0)
    #: override of the park's interval_label for this meter (e.g. "start" for daily fuel logs)
    interval_label: Literal["end", "start"] | None = None
    events: list[MeterEvent] = []
    name: str = ""

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str, info) -> str:
        carrier = info.data.get("carrier")
        u = units.canonical(v, carrier)
        if not units.is_known(u):
            from greenpark.i18n import text

            raise ValueError(text("import.unknown_unit", "en", meter=info.data.get("id", "?"), unit=v,
                                  accepted=", ".join(units.spellings("kWh") + units.spellings("m3", carrier)
                                                     + units.spellings("t"))))
        return u

    @model_validator(mode="before")
    @classmethod
    def _period(cls, data):
        if isinstance(data, dict) and data.get("interval") in ("month", "day"):
            if data.get("interval_label") == "end":
                raise ValueError(f"meter {data.get('id')}: a meter with interval = \"{data['interval']}\" labels each "
                                 "reading by its period (2025-01 is January's consumption); drop interval_label = \"end\"")
            data = {**data, "interval_label": "start",
                    "interval_minutes": 1440 if data["interval"] == "day" else 44640}
        return data


class SourceEntry(BaseModel):
    """One ``[[sources]]`` entry of live collection, as park.toml holds it: its ``type`` (the
    discriminator) and unique ``name``; the fields of each type are validated by
    :func:`greenpark.collect.config.source_configs` (the models live beside their drivers)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: Literal["mqtt", "modbus", "dlt645"]
    name: Id


class CollectSettings(_Model):
    """``[collect]``: where ``greenpark collect`` keeps its spool and how it delivers."""

    #: folder of the on-disk spool and the collector's status file (relative to park.toml)
    spool_dir: str = "collect-spool"
    #: "store": the collector writes the store itself (it must be the store's only writer on DuckDB);
    #: "api": it pushes to the running server (``api_url``) with a device token
    deliver: Literal["store", "api"] = "store"
    api_url: str = "http://127.0.0.1:8000"
    #: environment variable holding the device token for deliver = "api" (never the token itself)
    api_token_env: str = "GREENPARK_COLLECT_TOKEN"
    #: most readings per delivered batch
    batch_max: int = Field(default=50_000, ge=1, le=100_000)


class Product(_Model):
    id: Id
    enterprise: str
    name_zh: str
    name_en: str
    unit: str
    year: int
    monthly_output: list[float] = Field(min_length=12, max_length=12)


class Station(_Model):
    id: Id
    name_zh: str
    name_en: str
    kind: Literal["air", "water", "weather"]
    water_body: Literal["river", "lake"] | None = None

    @model_validator(mode="after")
    def _water(self) -> Station:
        if self.kind == "water" and self.water_body is None:
            raise ValueError("water stations need water_body = \"river\" or \"lake\" (lakes and reservoirs)")
        return self


# --- carbon sections (issue 3): models for [carbon], [[certificates]], [[targets]] go here -------
class Carbon(_Model):
    """``[carbon]``: the choices of the carbon accounts (greenpark.core.carbon); each is stated in the output."""

    #: method shown by default: location-based, market-based or both (total_t = location unless "market")
    method: Literal["location", "market", "both"] = "both"
    #: grid level of the location-based factor
    level: Literal["national", "regional", "provincial"] = "national"
    #: grid region (level regional) or province (level provincial); default park.grid_region / park.province
    region: str | None = None
    #: data-year rule of the MEE/NBS electricity factors (carbon_rules.csv, topic electricity_factor_year)
    factor_year_rule: str = "latest_published"
    #: which consumption months a certificate may cover (carbon_rules.csv, topic certificate_matching)
    certificate_matching: Literal["calendar_year", "generation_month"] = "calendar_year"
    #: carrier -> fuel parameter id of carbon_fuel_parameters.csv (e.g. raw_coal = "bituminous_coal")
    fuel_map: dict[str, str] = {}
    #: Scope 2 method of the CO2 figures that dual-control targets are measured with
    targets_method: Literal["location", "market"] = "location"
    #: energy figure of energy targets: GB/T 2589 comprehensive consumption as `greenpark energy` reports
    #: it, or that minus non-fossil electricity (on-site renewable consumed and certified green
    #: electricity, at calorific equivalent; greenpark's reading of 发改环资〔2024〕113号)
    targets_energy: Literal["gbt2589", "excluding_non_fossil"] = "gbt2589"
    #: status at_risk when the projection exceeds this share of the cap (default from carbon_rules.csv)
    at_risk_share: float | None = Field(default=None, gt=0, le=1)

    @field_validator("factor_year_rule")
    @classmethod
    def _rule(cls, v: str) -> str:
        ids = [r["id"] for r in reference.load("carbon_rules").rows if r["topic"] == "electricity_factor_year"]
        if v not in ids:
            raise ValueError(f"unknown factor_year_rule '{v}'; valid rules: {', '.join(ids)}")
        return v

    @field_validator("fuel_map")
    @classmethod
    def _fuels(cls, v: dict[str, str]) -> dict[str, str]:
        fuels = [r["fuel"] for r in reference.load("carbon_fuel_parameters").rows]
        bad = {k: f for k, f in v.items() if f not in fuels}
        if bad:
            raise ValueError(f"fuel_map: unknown fuel(s) {bad}; valid fuels: {', '.join(fuels)} "
                             "(or add the fuel as [[carbon_fuels]])")
        return v


class CarbonFuel(_Model):
    """``[[carbon_fuels]]``: a measured fuel parameter (status USER) that replaces the default of its fuel."""

    id: Id
    fuel: str
    #: net calorific value [GJ/t, or GJ/10^4 Nm3 for gases]
    ncv: float | None = Field(default=None, gt=0)
    #: carbon content per unit heat [tC/TJ]
    cc: float | None = Field(default=None, gt=0)
    #: oxidation rate [1]
    of: float | None = Field(default=None, gt=0, le=1)
    #: activity unit of a fuel without a default ("t" or "10^4 Nm3")
    ad_unit: Literal["t", "10^4 Nm3"] | None = None
    source: str = Field(min_length=1)
    note: str = ""

    @model_validator(mode="after")
    def _some(self) -> CarbonFuel:
        if self.ncv is None and self.cc is None and self.of is None:
            raise ValueError("give at least one of ncv [GJ/unit], cc [tC/TJ] or of [1]")
        return self


class CarbonGridFactor(_Model):
    """``[[carbon_grid_factors]]``: a purchased-electricity factor (status USER), e.g. a newer MEE/NBS year."""

    id: Id
    data_year: int = Field(ge=2000, le=2100)
    basis: Literal["average", "residual", "fossil", "ets"] = "average"
    level: Literal["national", "regional", "provincial"] = "national"
    region: str | None = None
    #: [tCO2/MWh]
    value: float = Field(ge=0, lt=5)
    #: date the factor was published (the latest_published rule compares it with the reporting year)
    published: dt.date | None = None
    notice: str = ""
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _region(self) -> CarbonGridFactor:
        if self.level != "national" and not self.region:
            raise ValueError(f"a {self.level} factor needs region (e.g. east_china or jiangsu)")
        return self


class CarbonHeatFactor(_Model):
    """``[[carbon_heat_factors]]``: a supplier's heat factor [tCO2/GJ] or steam heat content [GJ/t] (USER)."""

    id: Id
    kind: Literal["heat_factor", "steam_heat"]
    value: float = Field(gt=0)
    #: only this enterprise's heat or steam (default: every enterprise's)
    enterprise: str | None = None
    source: str = Field(min_length=1)

    @property
    def unit(self) -> str:
        return "tCO2/GJ" if self.kind == "heat_factor" else "GJ/t"


class Certificate(_Model):
    """``[[certificates]]``: a green certificate (GEC) range or a green-power contract of one enterprise."""

    id: Id
    kind: Literal["gec", "green_power_contract"]
    #: enterprise id (or the park id) whose grid electricity it covers
    enterprise: str
    #: first and last serial of a GEC range (required for GECs; 1 GEC = 1 MWh)
    serial_start: str | None = None
    serial_end: str | None = None
    #: [MWh]
    mwh: float = Field(gt=0)
    generation_start: dt.date
    generation_end: dt.date
    project: str = ""
    province: str = ""
    note: str = ""


class ProcessEmission(_Model):
    """``[[process_emissions]]``: Scope 1 process emissions = activity x factor, month by month."""

    id: Id
    enterprise: str
    #: what emits, e.g. "lithium carbonate decomposition"
    process: str
    year: int = Field(ge=2000, le=2100)
    #: activity of each month, January to December [unit]
    monthly_quantity: list[float] = Field(min_length=12, max_length=12)
    unit: str
    #: [factor_unit], e.g. tCO2/t
    factor: float = Field(ge=0)
    factor_unit: str = Field(pattern=r"^tCO2/.+")
    source: str = Field(min_length=1)
    status: Literal["C2+", "C1", "UNVERIFIED", "USER"] = "USER"

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        if not units.is_known(v):
            raise ValueError(f"unknown unit '{v}'; use a pint unit such as t, kg, m3")
        return v


class Target(_Model):
    """``[[targets]]``: a dual-control cap (双控目标) of one enterprise or the park for one year."""

    #: enterprise id, or the park id for the whole park
    entity: str
    year: int = Field(ge=2000, le=2100)
    #: co2_t [tCO2], co2_intensity [tCO2/10^4 CNY value added], energy_tce [tce], energy_intensity [tce/10^4 CNY]
    metric: Literal["co2_t", "co2_intensity", "energy_tce", "energy_intensity"]
    cap: float = Field(gt=0)
    #: the document that sets the cap
    source: str = Field(min_length=1)
# --- end of carbon sections ---------------------------------------------------------------------

# --- indicator sections (issue 13): zero-carbon park and green-factory indicators ---------------
#: clean-energy components greenpark can count (发改环资〔2025〕910号 leaves the definition open)
CLEAN_ENERGY = ("onsite_renewable", "green_electricity", "natural_gas")
#: green-factory tiers, highest first
TIERS = ("national", "provincial", "municipal")
#: green-factory indicators (GB/T 36132-2025, the quantitative ones greenpark computes) -> better direction
GF_INDICATORS = {"unit_product_energy": "le", "energy_per_output": "le", "co2_per_output": "le",
                 "renewable_share": "ge", "water_per_output": "le", "water_reuse": "ge",
                 "solid_waste_utilisation": "ge", "platform_functions": "ge"}


class IndicatorSettings(_Model):
    """``[indicators]``: the readings greenpark takes of definitions the notice leaves open."""

    #: Scope 2 method of the core indicator's CO2 (market: certified green electricity at zero)
    scope2_method: Literal["location", "market"] = "market"
    #: what counts as clean energy in the clean-energy share (greenpark's reading, flagged in the output)
    clean_energy: list[Literal["onsite_renewable", "green_electricity", "natural_gas"]] = [
        "onsite_renewable", "green_electricity"]
    #: a core threshold [tCO2/tce] for a park whose size band has no published one (< 200,000 tce/yr)
    core_threshold_tco2_per_tce: float | None = Field(default=None, gt=0)
    core_threshold_source: str | None = None

    @model_validator(mode="after")
    def _source(self) -> IndicatorSettings:
        if self.core_threshold_tco2_per_tce is not None and not self.core_threshold_source:
            raise ValueError("indicators.core_threshold_tco2_per_tce needs core_threshold_source (who set it)")
        return self


class IndicatorRecord(_Model):
    """``[[indicator_records]]``: annual figures of one enterprise (or the park) the meters do not give."""

    enterprise: str
    year: int = Field(ge=2000, le=2100)
    #: general industrial solid waste generated / comprehensively utilised [t]
    solid_waste_generated_t: float | None = Field(default=None, ge=0)
    solid_waste_utilised_t: float | None = Field(default=None, ge=0)
    #: waste heat, cold and pressure available / recovered and used [GJ]
    waste_heat_available_gj: float | None = Field(default=None, ge=0)
    waste_heat_recovered_gj: float | None = Field(default=None, ge=0)
    #: reused (recirculated) water and fresh water intake [t]; used where no meter measures them
    reused_water_t: float | None = Field(default=None, ge=0)
    fresh_water_t: float | None = Field(default=None, ge=0)
    #: where the figures come from (statistics form, audit report...)
    source: str = Field(min_length=1)


class EnergyQuota(_Model):
    """``[[energy_quotas]]``: grade values of the energy-quota standard that applies to a product."""

    product: str
    #: the standard, e.g. "GB 30510-2014"
    standard: str = Field(min_length=1)
    #: kgce per the product's unit
    grade1: float = Field(gt=0)
    grade2: float = Field(gt=0)
    grade3: float | None = Field(default=None, gt=0)
    source: str = Field(min_length=1)


class Benchmark(_Model):
    """``[[benchmarks]]``: a benchmark (基准值) and/or leading (引领值) value of a green-factory indicator,
    entered with its source (GB/T 36132-2025 values are not shipped: the published ones conflict)."""

    indicator: Literal["unit_product_energy", "energy_per_output", "co2_per_output", "renewable_share",
                       "water_per_output", "water_reuse", "solid_waste_utilisation", "platform_functions"]
    #: applies to this enterprise only / to this industry / to this energy band (renewable_share); none = all
    enterprise: str | None = None
    industry: str | None = None
    energy_band: Literal["ge_10000", "5000_10000", "3000_5000", "lt_3000"] | None = None
    benchmark: float | None = None
    leading: float | None = None
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _value(self) -> Benchmark:
        if self.benchmark is None and self.leading is None:
            raise ValueError(f"benchmarks ({self.indicator}): give benchmark and/or leading")
        return self


class GreenFactory(_Model):
    """``[[green_factories]]``: an enterprise's green-factory status and its energy-and-carbon platform."""

    enterprise: str
    tier: Literal["national", "provincial", "municipal"] | None = None
    year_awarded: int | None = Field(default=None, ge=2000, le=2100)
    #: year of the next re-evaluation (as set by the awarding body; greenpark does not assume a cycle)
    reevaluation_due: int | None = Field(default=None, ge=2000, le=2100)
    #: ids of green_factory_platform.csv the enterprise's own systems provide
    platform_functions: list[str] = []
    source: str = Field(min_length=1)


class Programme(_Model):
    """``[programme]``: the park's green-factory target, e.g. 20 provincial-or-higher factories by a date."""

    target_count: int = Field(gt=0)
    min_tier: Literal["national", "provincial", "municipal"] = "provincial"
    by: dt.date
    source: str = Field(min_length=1)
# --- end of indicator sections ------------------------------------------------------------------

# --- M&V sections (issue 5): models for [[mv_projects]] go here ----------------------------------
class MVPeriod(_Model):
    """An inclusive range of park-time dates (``{ start = 2024-01-01, end = 2024-12-31 }``)."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _order(self) -> MVPeriod:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class MVAdjustment(MVPeriod):
    """A non-routine adjustment (IPMVP Core Concepts 2022): ``amount`` [project unit] added to the
    adjusted baseline over ``start`` .. ``end`` (or ``period = "2025-06"``, a month or a year), with
    the documented ``reason``."""

    amount: float
    reason: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _period(cls, data):
        if isinstance(data, dict) and "period" in data:
            data = dict(data)
            text = str(data.pop("period"))
            try:
                if len(text) == 4:
                    y = int(text)
                    start, end = dt.date(y, 1, 1), dt.date(y, 12, 31)
                else:
                    y, m = (int(x) for x in text.split("-"))
                    start = dt.date(y, m, 1)
                    end = dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)
            except ValueError:
                raise ValueError(f"period '{text}' is neither a year (2025) nor a month (2025-06); "
                                 "or give start and end dates") from None
            data.setdefault("start", start)
            data.setdefault("end", end)
        return data


class MVShutdown(MVPeriod):
    """Days the plant was closed beyond the official calendar (extended Spring Festival stop,
    annual maintenance): they take the day type ``holiday`` in the fit and in the prediction."""

    reason: str = Field(min_length=1)


class MVDesignedSaving(_Model):
    """The saving the retrofit was designed for, shown beside the verified one (for reference)."""

    value: float = Field(gt=0)
    #: the project's energy unit (or one convertible into it, e.g. MWh for kWh), or "tce"
    unit: str
    #: a saving per year (pro-rated to the reporting period by days) or over the reporting period
    per: Literal["year", "reporting_period"] = "year"
    source: str = ""


class MVProject(_Model):
    """An M&V project (IPMVP Option B or C): what is measured, the periods and the model."""

    id: Id
    name_zh: str
    name_en: str
    enterprise: str
    #: meters in scope, summed (one carrier); or leave empty and give ``carrier``
    meters: list[str] = []
    #: all top-level meters of this carrier owned by the enterprise (whole facility, Option C)
    carrier: str | None = None
    #: station of kind "weather" with a temperature series [degC]
    weather_station: str
    #: product id(s) whose monthly output is a regressor (one product entry per year)
    product: str | list[str] | None = None
    baseline: MVPeriod
    installation: MVPeriod | None = None
    reporting: MVPeriod
    option: Literal["B", "C"]
    model: Literal["daily", "hourly", "auto"] = "auto"
    designed_saving: MVDesignedSaving | None = None
    adjustments: list[MVAdjustment] = []
    shutdowns: list[MVShutdown] = []
    description: str = ""

    @property
    def products(self) -> list[str]:
        if self.product is None:
            return []
        return [self.product] if isinstance(self.product, str) else list(self.product)


def _mv_project_meters(park: Park, proj: MVProject) -> list[Meter]:
    """The meters a project measures: its ``meters``, or the enterprise's top-level meters of ``carrier``."""
    if proj.meters:
        by_id = {m.id: m for m in park.meters}
        return [by_id[i] for i in proj.meters if i in by_id]
    return [m for m in park.meters if m.owner == proj.enterprise and m.carrier == proj.carrier
            and m.parent is None and not m.export and not m.renewable_generation]


def _mv_cross_references(park: Park) -> list[str]:
    """Problems of [[mv_projects]] against the rest of park.toml, each naming the entry and the fix."""
    problems: list[str] = []
    ids = [p.id for p in park.mv_projects]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"mv_projects: id '{dup}' is used more than once; ids must be unique")
    ents = {e.id for e in park.enterprises}
    meters = {m.id: m for m in park.meters}
    stations = {s.id: s for s in park.stations}
    products = {p.id: p for p in park.products}
    for proj in park.mv_projects:
        where = f"mv_projects '{proj.id}'"
        if proj.enterprise not in ents:
            problems.append(f"{where}: enterprise '{proj.enterprise}' is not an enterprise id")
        if bool(proj.meters) == bool(proj.carrier):
            problems.append(f"{where}: give either meters = [...] (the meters in scope) or carrier = \"...\" "
                            "(the enterprise's top-level meters of that carrier), not both or neither")
        for mid in proj.meters:
            m = meters.get(mid)
            if m is None:
                problems.append(f"{where}: meter '{mid}' is not a meter id")
            elif m.owner != proj.enterprise:
                problems.append(f"{where}: meter '{mid}' belongs to {m.owner}, not to enterprise {proj.enterprise}")
            elif m.export or m.renewable_generation:
                problems.append(f"{where}: meter '{mid}' is an export or generation meter; list consumption meters")
            elif m.parent in proj.meters:
                problems.append(f"{where}: meter '{mid}' is a sub-meter of '{m.parent}', which is also listed: "
                                "its energy would be counted twice; list one of them")
        scope = _mv_project_meters(park, proj)
        carriers = sorted({m.carrier for m in scope})
        if len(carriers) > 1:
            problems.append(f"{where}: the meters measure different carriers ({', '.join(carriers)}); "
                            "an M&V project measures one carrier: make one project per carrier")
        if proj.carrier and proj.enterprise in ents and not scope:
            problems.append(f"{where}: enterprise {proj.enterprise} has no top-level {proj.carrier} meter; "
                            "list the meters with meters = [...]")
        if proj.model == "hourly":
            coarse = [m.id for m in scope if m.interval_minutes > 60]
            if coarse:
                problems.append(f"{where}: model = \"hourly\" needs meters read at least hourly; "
                                f"{', '.join(coarse)} are not: use model = \"daily\"")
        st = stations.get(proj.weather_station)
        if st is None:
            weather = ", ".join(s.id for s in park.stations if s.kind == "weather") or "none defined"
            problems.append(f"{where}: weather_station '{proj.weather_station}' is not a station id "
                            f"(weather stations: {weather}); add a [[stations]] entry with kind = \"weather\"")
        elif st.kind != "weather":
            problems.append(f"{where}: station '{st.id}' is of kind {st.kind}; weather_station needs kind = \"weather\"")
        prods = proj.products
        for pid in prods:
            p = products.get(pid)
            if p is None:
                problems.append(f"{where}: product '{pid}' is not a product id")
            elif p.enterprise != proj.enterprise:
                problems.append(f"{where}: product '{pid}' belongs to {p.enterprise}, not to {proj.enterprise}")
        known = [products[p] for p in prods if p in products]
        if len({p.unit for p in known}) > 1:
            problems.append(f"{where}: products {', '.join(prods)} have different units; production needs one unit")
        years = [p.year for p in known]
        for y in sorted({y for y in years if years.count(y) > 1}):
            problems.append(f"{where}: two products cover the year {y}; list one product entry per year")
        gap = [y for y in range(proj.reporting.start.year, proj.reporting.end.year + 1) if known and y not in years]
        if gap:
            problems.append(f"{where}: products {', '.join(prods)} declare no monthly output for "
                            f"{', '.join(map(str, gap))}: production does not cover the reporting period, so the "
                            "baseline model cannot predict it; add a [[products]] entry for each reporting year")
        inst = proj.installation
        first_after = inst.start if inst else proj.reporting.start
        if proj.baseline.end >= first_after:
            problems.append(f"{where}: the baseline ends {proj.baseline.end}, not before the "
                            f"{'installation' if inst else 'reporting period'} starts ({first_after})")
        if inst and inst.end >= proj.reporting.start:
            problems.append(f"{where}: the installation period ends {inst.end}, not before the reporting "
                            f"period starts ({proj.reporting.start})")
        for a in proj.adjustments:
            if a.start < proj.reporting.start or a.end > proj.reporting.end:
                problems.append(f"{where}: adjustment '{a.reason}' ({a.start}..{a.end}) lies outside the reporting "
                                f"period {proj.reporting.start}..{proj.reporting.end}")
        ds = proj.designed_saving
        if ds is not None and ds.unit != "tce" and len(carriers) == 1:
            cunit = scope[0].unit
            try:
                units.conversion_factor(ds.unit, cunit)
            except units.UnitError:
                problems.append(f"{where}: designed_saving unit '{ds.unit}' is neither 'tce' nor convertible into "
                                f"the meters' unit '{cunit}'")
    return problems
# --- end of M&V sections ------------------------------------------------------------------------


class ImportProfile(_Model):
    """``[profiles.NAME]``: how to read the exports of one system (``greenpark ingest --profile NAME``).

    Built-in header aliases (reference/data/header_aliases.csv) apply to every file; a profile adds
    what a particular export needs."""

    #: the file's headers -> greenpark's columns (meter_id, timestamp, value, unit)
    columns: dict[str, str] = {}
    #: meter names in the file (cells of the meter column, or the meter columns of a wide file) -> meter ids
    meters: dict[str, str] = {}
    #: line (row) of the header, counted from 1; the lines above it are titles and are skipped
    header_row: int = Field(default=1, ge=1, le=1000)
    #: lines right after the header to skip (a units row, a blank line)
    skip_rows: int = Field(default=0, ge=0, le=1000)
    #: sheet of an Excel file: its name or its position from 1 (default the first)
    sheet: str | int | None = None
    #: text encoding of a CSV file (e.g. gb18030, gbk, utf-8); default: detected
    encoding: str | None = None
    #: strptime format of the timestamps when they are in none of the accepted layouts (e.g. "%d.%m.%Y %H:%M")
    timestamp_format: str | None = None
    #: decimal mark of the values ("," only when this export writes 1.234,5)
    decimal: Literal[".", ","] = "."
    #: thousands mark written inside numbers ("," by default is removed from 1,234,008.0)
    thousands: Literal[",", ".", " ", "'", ""] = ","
    #: CSV field separator
    delimiter: Literal[",", ";", "\t", "|"] = ","
    #: "wide": a time column and one column per meter (melted into rows)
    layout: Literal["long", "wide"] = "long"
    #: the unit of every value when the file has no unit column (e.g. 度, 方, 吨)
    unit: str | None = None

    @model_validator(mode="after")
    def _marks(self) -> ImportProfile:
        if self.decimal == self.thousands:
            raise ValueError(f"decimal and thousands marks are both '{self.decimal}'")
        bad = sorted(set(self.columns.values()) - {"meter_id", "timestamp", "value", "unit"})
        if bad:
            raise ValueError(f"columns map to {', '.join(bad)}; map headers to meter_id, timestamp, value or unit")
        if self.unit is not None and not units.is_known(self.unit):
            raise ValueError(f"unknown unit '{self.unit}'")
        return self


class Park(_Model):
    park: ParkInfo
    accounting: Accounting = Accounting()
    plausibility: Plausibility = Plausibility()
    #: import profiles of the exports of particular systems ([profiles.NAME])
    profiles: dict[str, ImportProfile] = {}
    enterprises: list[Enterprise] = []
    buildings: list[Building] = []
    meters: list[Meter] = []
    products: list[Product] = []
    stations: list[Station] = []
    # carbon fields (issue 3) go here
    carbon: Carbon = Carbon()
    carbon_fuels: list[CarbonFuel] = []
    carbon_grid_factors: list[CarbonGridFactor] = []
    carbon_heat_factors: list[CarbonHeatFactor] = []
    certificates: list[Certificate] = []
    process_emissions: list[ProcessEmission] = []
    targets: list[Target] = []
    # live collection (issue 11)
    collect: CollectSettings = CollectSettings()
    sources: list[SourceEntry] = []

    @model_validator(mode="after")
    def _carbon_references(self) -> Park:
        """Cross-references of the carbon sections (certificate ids and serials are checked on import)."""
        problems: list[str] = []
        owners = {e.id for e in self.enterprises} | {self.park.id}
        who = f"is neither an enterprise id nor the park id '{self.park.id}'"
        for kind in ("carbon_fuels", "carbon_grid_factors", "carbon_heat_factors", "process_emissions"):
            ids = [x.id for x in getattr(self, kind)]
            for dup in sorted({i for i in ids if ids.count(i) > 1}):
                problems.append(f"{kind}: id '{dup}' is used more than once; ids must be unique")
        for c in self.certificates:
            if c.enterprise not in owners:
                problems.append(f"certificates '{c.id}': enterprise '{c.enterprise}' {who}")
        for x in self.process_emissions:
            if x.enterprise not in owners:
                problems.append(f"process_emissions '{x.id}': enterprise '{x.enterprise}' {who}")
        for h in self.carbon_heat_factors:
            if h.enterprise is not None and h.enterprise not in owners:
                problems.append(f"carbon_heat_factors '{h.id}': enterprise '{h.enterprise}' {who}")
        known_fuels = {r["fuel"] for r in reference.load("carbon_fuel_parameters").rows}
        for f in self.carbon_fuels:
            if f.fuel not in known_fuels and f.ad_unit is None:
                problems.append(f"carbon_fuels '{f.id}': fuel '{f.fuel}' has no default parameters; give ad_unit "
                                "(\"t\" or \"10^4 Nm3\") and all of ncv, cc and of")
        seen: dict[tuple, int] = {}
        for i, t in enumerate(self.targets):
            if t.entity not in owners:
                problems.append(f"targets[{i}]: entity '{t.entity}' {who}")
            key = (t.entity, t.year, t.metric)
            if key in seen:
                problems.append(f"targets[{i}]: a second {t.metric} cap for '{t.entity}' in {t.year} "
                                f"(first: targets[{seen[key]}]); keep one")
            seen.setdefault(key, i)
        if self.carbon.level != "national" and not (self.carbon.region or
                                                     (self.park.grid_region if self.carbon.level == "regional"
                                                      else self.park.province)):
            problems.append(f"carbon.level = \"{self.carbon.level}\" needs carbon.region or park."
                            f"{'grid_region' if self.carbon.level == 'regional' else 'province'}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def carbon_region(self) -> str | None:
        """Region (or province) of the location-based grid factor at ``carbon.level``; None for national."""
        if self.carbon.level == "national":
            return None
        return self.carbon.region or (self.park.grid_region if self.carbon.level == "regional" else self.park.province)
    # M&V fields (issue 5) go here
    mv_projects: list[MVProject] = []
    # indicator fields (issue 13)
    indicators: IndicatorSettings = IndicatorSettings()
    indicator_records: list[IndicatorRecord] = []
    energy_quotas: list[EnergyQuota] = []
    benchmarks: list[Benchmark] = []
    green_factories: list[GreenFactory] = []
    programme: Programme | None = None

    @model_validator(mode="after")
    def _indicator_references(self) -> Park:
        problems: list[str] = []
        ents = {e.id for e in self.enterprises}
        owners = ents | {self.park.id}
        prods = {p.id for p in self.products}
        for i, r in enumerate(self.indicator_records):
            if r.enterprise not in owners:
                problems.append(f"indicator_records[{i}]: '{r.enterprise}' is neither an enterprise id nor the park id")
            if (r.solid_waste_utilised_t or 0) > (r.solid_waste_generated_t or float("inf")):
                problems.append(f"indicator_records[{i}]: solid_waste_utilised_t exceeds solid_waste_generated_t")
        for q in self.energy_quotas:
            if q.product not in prods:
                problems.append(f"energy_quotas: product '{q.product}' is not a [[products]] id")
            if q.grade1 > q.grade2:
                problems.append(f"energy_quotas ({q.product}): grade1 (leading) must be at most grade2")
        for b in self.benchmarks:
            if b.enterprise is not None and b.enterprise not in ents:
                problems.append(f"benchmarks ({b.indicator}): enterprise '{b.enterprise}' is not an enterprise id")
        functions = set(reference.load("green_factory_platform").ids)
        seen: set[str] = set()
        for g in self.green_factories:
            if g.enterprise not in ents:
                problems.append(f"green_factories: '{g.enterprise}' is not an enterprise id")
            if g.enterprise in seen:
                problems.append(f"green_factories: '{g.enterprise}' appears twice; keep one entry")
            seen.add(g.enterprise)
            if g.tier is not None and g.year_awarded is None:
                problems.append(f"green_factories ({g.enterprise}): a tier needs year_awarded")
            bad = sorted(set(g.platform_functions) - functions)
            if bad:
                problems.append(f"green_factories ({g.enterprise}): unknown platform functions {bad}; "
                                f"valid: {', '.join(sorted(functions))}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _mv_references(self) -> Park:
        problems = _mv_cross_references(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def mv_project(self, project_id: str) -> MVProject:
        for p in self.mv_projects:
            if p.id == project_id:
                return p
        valid = ", ".join(p.id for p in self.mv_projects) or "— ([[mv_projects]])"
        raise ParkIdError.t("park.unknown_mv_project", id=project_id, valid=valid)

    #: the file this park was read from (None when built in code)
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _references(self) -> Park:
        problems: list[str] = []
        for kind in ("enterprises", "buildings", "meters", "products", "stations", "sources"):
            ids = [x.name if kind == "sources" else x.id for x in getattr(self, kind)]
            for dup in sorted({i for i in ids if ids.count(i) > 1}):
                problems.append(f"{kind}: {'name' if kind == 'sources' else 'id'} '{dup}' is used more than once; "
                                f"{'names' if kind == 'sources' else 'ids'} must be unique")
        owners = {e.id for e in self.enterprises} | {self.park.id}
        carriers = set(reference.load("carriers").ids)
        meters = {m.id: m for m in self.meters}
        buildings = {b.id for b in self.buildings}
        for name, prof in self.profiles.items():
            unknown = sorted({v for v in prof.meters.values() if v not in meters})
            if unknown:
                problems.append(f"profiles '{name}': meters maps to {', '.join(unknown[:5])}, not a meter id")
        for b in self.buildings:
            if b.owner not in owners:
                problems.append(f"buildings '{b.id}': owner '{b.owner}' is neither an enterprise id nor the park id "
                                f"'{self.park.id}'")
        for m in self.meters:
            where = f"meters '{m.id}'"
            if m.owner not in owners:
                problems.append(f"{where}: owner '{m.owner}' is neither an enterprise id nor the park id '{self.park.id}'")
            if m.carrier not in carriers:
                problems.append(f"{where}: carrier '{m.carrier}' is unknown; valid carriers: {', '.join(sorted(carriers))}")
            else:
                cunit = reference.load("carriers").get(m.carrier)["unit"]
                try:
                    units.conversion_factor(m.unit, cunit)
                except units.UnitError:
                    rows = reference.load("carriers").rows
                    fits = [c["id"] for c in rows if c["unit"] == m.unit] or \
                        [c["id"] for c in rows if units.is_convertible(m.unit, c["unit"])]
                    problems.append(f"{where}: unit '{m.unit}' cannot be converted into '{cunit}' for carrier {m.carrier}"
                                    + (f"; steam metered as energy ({m.unit}) is carrier \"heat\"" if m.carrier == "steam"
                                       and "heat" in fits else
                                       f"; a meter in {m.unit} measures carrier {' or '.join(fits)}" if fits else ""))
            if m.building and m.building not in buildings:
                problems.append(f"{where}: building '{m.building}' is not a building id")
            if m.parent is not None:
                p = meters.get(m.parent)
                if p is None:
                    problems.append(f"{where}: parent '{m.parent}' is not a meter id")
                elif p.carrier != m.carrier:
                    problems.append(f"{where}: parent '{m.parent}' measures {p.carrier}, not {m.carrier}")
                elif p.owner != m.owner:
                    problems.append(f"{where}: parent '{m.parent}' belongs to {p.owner}, not {m.owner}")
            if m.register_rollover is not None and m.kind != "cumulative":
                problems.append(f"{where}: register_rollover applies to cumulative meters only (kind = \"cumulative\"); "
                                "an interval meter's readings are consumptions, they do not roll over")
            if m.events and m.kind != "cumulative":
                problems.append(f"{where}: events (replacements) apply to cumulative meters only")
            if m.renewable_generation and m.export:
                problems.append(f"{where}: a meter is either renewable_generation or export, not both")
        for m in self.meters:  # cycles in the sub-meter tree
            seen, cur = {m.id}, m.parent
            while cur is not None and cur in meters:
                if cur in seen:
                    problems.append(f"meters '{m.id}': parent chain loops back ({' -> '.join(seen)})")
                    break
                seen.add(cur)
                cur = meters[cur].parent
        ents = {e.id for e in self.enterprises}
        for p in self.products:
            if p.enterprise not in ents:
                problems.append(f"products '{p.id}': enterprise '{p.enterprise}' is not an enterprise id")
        for carrier, cid in self.accounting.coefficients.items():
            try:
                row = reference.load("gbt2589_coefficients").get(cid)
            except reference.ReferenceError as exc:
                problems.append(f"accounting.coefficients.{carrier}: {exc}")
                continue
            if row["carrier"] != carrier:
                problems.append(f"accounting.coefficients.{carrier}: coefficient '{cid}' is for {row['carrier']}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    # -- helpers ---------------------------------------------------------------------------
    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.park.timezone)

    def station(self, station_id: str) -> Station:
        for st in self.stations:
            if st.id == station_id:
                return st
        valid = ", ".join(st.id for st in self.stations) or "— ([[stations]])"
        raise ParkIdError.t("park.unknown_station", id=station_id, valid=valid)

    def meter(self, meter_id: str) -> Meter:
        for m in self.meters:
            if m.id == meter_id:
                return m
        raise KeyError(meter_id)

    def enterprise(self, enterprise_id: str) -> Enterprise:
        for e in self.enterprises:
            if e.id == enterprise_id:
                return e
        valid = ", ".join(e.id for e in self.enterprises)
        raise ParkIdError.t("park.unknown_enterprise", id=enterprise_id, valid=valid)

    @property
    def db_path(self) -> str:
        """The store location: a URL as given, or a file path resolved against park.toml's folder."""
        if "://" in self.park.db:
            return self.park.db
        base = self.source_path.parent if self.source_path else Path.cwd()
        return str((base / self.park.db).resolve())

    @property
    def spool_path(self) -> Path:
        """The collector's spool folder, resolved against park.toml's folder."""
        base = self.source_path.parent if self.source_path else Path.cwd()
        return (base / self.collect.spool_dir).resolve()

    @property
    def lake_path(self) -> str:
        """The lake root of Spark stores: a URL as given, or a path resolved against park.toml's folder."""
        if "://" in self.park.lake:
            return self.park.lake
        base = self.source_path.parent if self.source_path else Path.cwd()
        return str((base / self.park.lake).resolve())


def _entry_name(data: dict, loc: tuple) -> str:
    """'meters[3] (id E01-EL)' for a pydantic error location."""
    if not loc:
        return "(top level)"
    head = str(loc[0])
    if len(loc) > 1 and isinstance(loc[1], int):
        items = data.get(head, [])
        item = items[loc[1]] if loc[1] < len(items) and isinstance(items[loc[1]], dict) else {}
        key = "id" if "id" in item else "name"
        ident = item.get(key)
        entry = f"{head}[{loc[1]}]" + (f" ({key} '{ident}')" if ident else "")
        rest = ".".join(str(x) for x in loc[2:])
        return entry + (f" field '{rest}'" if rest else "")
    return ".".join(str(x) for x in loc)


def parse(text: str, source: str = "park.toml", path: Path | None = None) -> Park:
    """Validate park.toml text; ParkError lists every problem with file and entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParkError.t("park.invalid_toml", source=source, detail=exc) from None
    try:
        park = Park.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling; see the README's park.toml reference)"
            elif err["type"] == "missing":
                msg = "required field is missing"
            loc = err["loc"]
            where = _entry_name(data, loc) if loc else "(cross-references)"
            for line in msg.splitlines():
                lines.append(f"{source}: {where}: {line}")
        raise ParkError("\n".join(lines)) from None
    return park.model_copy(update={"source_path": path})


def load(path: str | Path) -> Park:
    path = Path(path)
    if not path.is_file():
        raise ParkError.t("park.no_such_file", path=path)
    return parse(path.read_text(encoding="utf-8"), source=str(path), path=path.resolve())


def find_park_file(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    here = Path.cwd() / "park.toml"
    if here.is_file():
        return here
    raise ParkError.t("park.not_found")
