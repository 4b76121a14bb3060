"""Measurement & verification (M&V) of energy savings: IPMVP Option B/C with ASHRAE Guideline 14-2014 statistics."""

from .data import DailyData, DataError, Flag, HourlyData, ModelError, MVError, day_types, degree_days
from .model import DailyChangePointModel, HourlyTOWTModel, model_from_dict
from .savings import NonRoutineAdjustment, avoided_energy
from .stats import check_sufficiency, cvrmse, fractional_savings_uncertainty, goodness_of_fit, nmbe, r_squared, verdict
