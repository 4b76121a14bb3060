"""The audit log (table ``audit_log``): one row per write, appended inside the write's transaction.

States are stored as JSON text; :mod:`greenpark.services.users` encodes and decodes them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from greenpark.store.users import next_id, rows


def insert(con, occurred_at: dt.datetime, user_id: int | None, username: str, role: str | None, action: str,
           target: str | None, enterprise_id: str | None, import_id: int | None, before_json: str | None,
           after_json: str | None, remote: str | None) -> int:
    """Append one entry; returns its audit_id."""
    aid = next_id(con, "audit_log", "audit_id")
    con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [aid, occurred_at, user_id, username, role, action, target, enterprise_id, import_id,
                 before_json, after_json, remote])
    return aid


def entries(con, *, action: str | None = None, username: str | None = None, since: dt.datetime | None = None,
            limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Entries, newest first, filtered by action, username and time (states as JSON text)."""
    where, params = [], []
    if action:
        where.append("action = ?")
        params.append(action)
    if username:
        where.append("username = ?")
        params.append(username)
    if since:
        where.append("occurred_at >= ?")
        params.append(since)
    sql = ("SELECT * FROM audit_log" + (" WHERE " + " AND ".join(where) if where else "") +
           " ORDER BY audit_id DESC LIMIT ? OFFSET ?")
    return rows(con.execute(sql, [*params, limit, offset]))
