"""park.toml ``[[sources]]``: a union discriminated by ``type`` (``mqtt``, ``modbus``, ``dlt645``).

park.toml itself checks each entry's ``type`` and that every ``name`` is unique
(:class:`greenpark.park.SourceEntry`); the fields of each type are validated here against the
model that lives beside its driver: :class:`greenpark.collect.mqtt.MqttSourceConfig`,
``greenpark.collect.modbus.ModbusSourceConfig`` and ``greenpark.collect.dlt645.Dlt645SourceConfig``
(each driver module also has ``build(config, park) -> PolledSource``). Errors name the file, the
entry and the field, as park.toml's own errors do.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel, ValidationError

from greenpark.collect.mqtt import MqttSourceConfig
from greenpark.park import Park, ParkError

__all__ = ["DRIVERS", "driver", "source_configs"]

#: type -> (module, config model) of the drivers
DRIVERS: dict[str, tuple[str, str]] = {
    "mqtt": ("greenpark.collect.mqtt", "MqttSourceConfig"),
    "modbus": ("greenpark.collect.modbus", "ModbusSourceConfig"),
    "dlt645": ("greenpark.collect.dlt645", "Dlt645SourceConfig"),
}


def driver(kind: str):
    """The driver module of a source type (ParkError when this installation has none)."""
    module = DRIVERS[kind][0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise ParkError(f"sources of type \"{kind}\" need the package {exc.name}: pip install greenpark") from None
        raise ParkError.t("collect.driver_missing", kind=kind, module=module) from None


def _model(kind: str) -> type[BaseModel]:
    if kind == "mqtt":
        return MqttSourceConfig
    return getattr(driver(kind), DRIVERS[kind][1])


def source_configs(park: Park, names: list[str] | None = None) -> list[Any]:
    """The validated config of every ``[[sources]]`` entry (or of those named), in file order."""
    where = str(park.source_path or "park.toml")
    problems: list[str] = []
    out: list[Any] = []
    known = [s.name for s in park.sources]
    for name in names or []:
        if name not in known:
            raise ParkError.t("collect.unknown_source", name=name, park=where, valid=", ".join(known) or "-")
    for i, entry in enumerate(park.sources):
        if names and entry.name not in names:
            continue
        data = entry.model_dump()
        try:
            out.append(_model(entry.type).model_validate(data))
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(x) for x in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown field (check the spelling; see the README's collect section)"
                elif err["type"] == "missing":
                    msg = "required field is missing"
                problems.append(f"{where}: sources[{i}] (name '{entry.name}') field '{loc}': {msg}")
    if problems:
        raise ParkError("\n".join(problems))
    return out
