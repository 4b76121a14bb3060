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
