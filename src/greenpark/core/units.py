"""Units of measure: one pint registry for greenpark.

Meter readings are converted into the meter's unit on import, and into the unit a coefficient or
factor is expressed per when accounts are computed. Standard coal (kgce, tce) is deliberately *not*
defined as an energy unit: coefficients come from GB/T 2589-2020 tables, never from a calorific
conversion, so that 0.1229 kgce/kWh stays 0.1229 and not 3.6/29.3076.
"""

from __future__ import annotations

from functools import cache

import pint

from greenpark.errors import InputError

# Gas volumes in GB/T 2589 and the GHG accounting guides are at the reference (standard) state,
# so greenpark's m3 for a gas *is* the reference-state cubic metre; Nm3 and Sm3 are accepted as
# names of the same unit. Volumes are never converted into masses (no density is assumed).
# pH is dimensionless: a row in unit "pH" is a pH value (pint would otherwise read "pH" as picohenry).
_DEFINITIONS = """
Nm3 = meter ** 3
Sm3 = meter ** 3
m3 = meter ** 3
pH = 1
wan_kWh = 10000 * kWh
wan_m3 = 10000 * meter ** 3
"""


class UnitError(InputError, ValueError):
    """A unit that is unknown or cannot be converted into the requested one."""


@cache
def registry() -> pint.UnitRegistry:
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for line in _DEFINITIONS.strip().splitlines():
        ureg.define(line)
    return ureg


@cache
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Multiplier that converts a quantity in ``from_unit`` into ``to_unit`` [1].

    Raises UnitError when either unit is unknown or the dimensions differ.
    """
    if from_unit == to_unit:
        return 1.0
    ureg = registry()
    try:
        return float(ureg.Quantity(1.0, from_unit).to(to_unit).magnitude)
    except (pint.errors.UndefinedUnitError, pint.errors.DimensionalityError, AttributeError,
            TypeError, ValueError, AssertionError) as exc:
        raise UnitError(f"cannot convert '{from_unit}' into '{to_unit}': {exc}") from None


def is_convertible(from_unit: str, to_unit: str) -> bool:
    """Whether ``from_unit`` converts into ``to_unit`` (same dimension)."""
    try:
        conversion_factor(from_unit, to_unit)
    except UnitError:
        return False
    return True


@cache
def _aliases() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """(alias -> unit for every carrier, (alias, carrier) -> unit) of reference/data/unit_aliases.csv."""
    from greenpark import reference

    common, scoped = {}, {}
    for r in reference.load("unit_aliases").rows:
        carriers = [c.strip() for c in (r.get("carriers") or "").split(";") if c.strip()]
        if carriers:
            for c in carriers:
                scoped[(r["alias"], c)] = r["unit"]
        else:
            common[r["alias"]] = r["unit"]
    return common, scoped


def canonical(unit: str, carrier: str | None = None) -> str:
    """The pint unit of a spelling (``度`` -> kWh, ``T`` -> t, ``方`` -> m3; for a water meter
    ``m3`` -> t) from reference/data/unit_aliases.csv; other spellings are returned trimmed."""
    u = unit.strip()
    common, scoped = _aliases()
    if carrier is not None:
        u = common.get(u, u)
        return scoped.get((u, carrier), u)
    return common.get(u, u)


def spellings(unit: str, carrier: str | None = None) -> list[str]:
    """Accepted spellings of ``unit`` (and of units convertible into it) for a meter of ``carrier``:
    the aliases of unit_aliases.csv whose unit converts into ``unit``, pint's own name first."""
    common, scoped = _aliases()
    target = canonical(unit, carrier)
    out = [target]
    for alias, u in [*common.items(), *[(a, u) for (a, c), u in scoped.items() if c == carrier]]:
        if alias not in out and is_convertible(canonical(u, carrier), target):
            out.append(alias)
    return out


def conversion_factor_for(from_unit: str, to_unit: str, carrier: str | None) -> float:
    """:func:`conversion_factor` after reading both spellings for a meter of ``carrier``
    (:func:`canonical`)."""
    return conversion_factor(canonical(from_unit, carrier), canonical(to_unit, carrier))


def is_known(unit: str) -> bool:
    unit = canonical(unit)
    try:
        registry().Unit(unit)
    except Exception:
        return False
    return True


@cache
def conversion_affine(from_unit: str, to_unit: str) -> tuple[float, float]:
    """(scale, offset) with x_to = x_from * scale + offset; handles offset units such as degF -> degC."""
    if from_unit == to_unit:
        return 1.0, 0.0
    ureg = registry()
    try:
        zero = float(ureg.Quantity(0.0, from_unit).to(to_unit).magnitude)
        one = float(ureg.Quantity(1.0, from_unit).to(to_unit).magnitude)
    except (pint.errors.UndefinedUnitError, pint.errors.DimensionalityError, AttributeError,
            TypeError, ValueError, AssertionError) as exc:
        raise UnitError(f"cannot convert '{from_unit}' into '{to_unit}': {exc}") from None
    return one - zero, zero
