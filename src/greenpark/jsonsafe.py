"""JSON-safe results: the cores return floats that may be NaN; JSON has no NaN."""

from __future__ import annotations

import math
from typing import Any


def clean(obj: Any) -> Any:
    """NaN and infinities become null, recursively through dicts, lists and tuples."""
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    return obj


#: first characters that make a spreadsheet read a cell as a formula (CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """A text cell that a spreadsheet would run as a formula, quoted with a leading apostrophe
    (for CSV exports); other values unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value
