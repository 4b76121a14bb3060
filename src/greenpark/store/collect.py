"""What the store knows about live collection: per meter the last stored reading and the readings
of the 24 hours before it; per collector source the quarantined rows of its imports.

Imports of the collector are named ``collect:<source>`` (``push:<user>:collect:<source>`` when
they came through the server's push API).
"""

from __future__ import annotations

from typing import Any

__all__ = ["meter_activity", "quarantined_by_source"]


def meter_activity(cur) -> list[dict[str, Any]]:
    """Rows ``meter_id, last_ts`` (UTC wall clock) and ``n_24h`` (readings in the 24 h up to and
    including the last one) of every meter with readings."""
    rows = cur.execute("""
        WITH last AS (SELECT meter_id, max(ts) AS last_ts FROM readings GROUP BY meter_id)
        SELECT l.meter_id, l.last_ts, count(*) AS n_24h
        FROM last l JOIN readings r ON r.meter_id = l.meter_id AND r.ts > l.last_ts - INTERVAL 24 HOUR
        GROUP BY l.meter_id, l.last_ts ORDER BY l.meter_id""").fetchall()
    return [{"meter_id": m, "last_ts": t, "n_24h": int(n)} for m, t, n in rows]


def quarantined_by_source(cur) -> dict[str, dict[str, int]]:
    """``{source: {reason: rows}}`` of the quarantined rows of collector imports (open or not)."""
    rows = cur.execute("""
        SELECT source, reason, count(*) FROM quarantine WHERE source LIKE '%collect:%'
        GROUP BY source, reason ORDER BY source, reason""").fetchall()
    out: dict[str, dict[str, int]] = {}
    for source, reason, n in rows:
        name = source.rsplit("collect:", 1)[-1]
        out.setdefault(name, {})[reason] = out.setdefault(name, {}).get(reason, 0) + int(n)
    return out
