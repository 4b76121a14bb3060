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


def is_known(unit: str) -> bool:
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
