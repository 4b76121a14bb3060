"""Users, API tokens and browser sessions (tables ``users``, ``api_tokens``, ``sessions``).

Plain reads and writes; the rules (roles, password hashing, what may be revoked) are in
:mod:`greenpark.services.users`. Secrets arrive here hashed. Writes run inside the caller's
transaction. Rows are returned as dicts keyed by column name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

USER_COLUMNS = "user_id, username, role, enterprise_id, meters, created_at, created_by, revoked_at"
TOKEN_COLUMNS = "t.token_id, t.user_id, u.username, t.name, t.prefix, t.created_at, t.expires_at, t.revoked_at"


def rows(cur) -> list[dict[str, Any]]:
    """The rows of an executed cursor as dicts keyed by column name."""
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def next_id(con, table: str, col: str) -> int:
    """max(col) + 1 of ``table`` (ids are allocated by the single writer)."""
    return con.execute(f"SELECT coalesce(max({col}), 0) + 1 FROM {table}").fetchall()[0][0]


def _first(found: list[dict[str, Any]]) -> dict[str, Any] | None:
    return found[0] if found else None


# -- users -----------------------------------------------------------------------------------------
def user(con, username: str) -> dict[str, Any] | None:
    """The user row of ``username`` (meters as JSON text) with ``has_password``, or None."""
    return _first(rows(con.execute(f"SELECT {USER_COLUMNS}, password_hash IS NOT NULL AS has_password FROM users "
                                   "WHERE username = ?", [username])))


def users(con, enterprise_id: str | None = None) -> list[dict[str, Any]]:
    """Every user row (of one enterprise when given), by user_id, with ``has_password``."""
    where, params = ("WHERE enterprise_id = ?", [enterprise_id]) if enterprise_id else ("", [])
    return rows(con.execute(f"SELECT {USER_COLUMNS}, password_hash IS NOT NULL AS has_password FROM users {where} "
                            "ORDER BY user_id", params))


def insert_user(con, username: str, role: str, enterprise_id: str | None, meters_json: str | None,
                password_hash: str | None, created_at: dt.datetime, created_by: str) -> int:
    """Add a user; returns its user_id."""
    uid = next_id(con, "users", "user_id")
    con.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                [uid, username, role, enterprise_id, meters_json, password_hash, created_at, created_by])
    return uid


def revoke_user(con, user_id: int, at: dt.datetime) -> None:
    """Revoke a user with its active tokens and sessions."""
    con.execute("UPDATE users SET revoked_at = ? WHERE user_id = ?", [at, user_id])
    con.execute("UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", [at, user_id])
    con.execute("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", [at, user_id])


def set_password_hash(con, user_id: int, password_hash: str) -> None:
    con.execute("UPDATE users SET password_hash = ? WHERE user_id = ?", [password_hash, user_id])


def active_login(con, username: str) -> dict[str, Any] | None:
    """user_id, username, role, enterprise_id, meters, password_hash of an active user, or None."""
    return _first(rows(con.execute("SELECT user_id, username, role, enterprise_id, meters, password_hash FROM users "
                                   "WHERE username = ? AND revoked_at IS NULL", [username])))


# -- API tokens --------------------------------------------------------------------------------------
def insert_token(con, user_id: int, name: str, token_hash: str, prefix: str, created_at: dt.datetime,
                 expires_at: dt.datetime | None) -> int:
    """Add an API token (its hash); returns its token_id."""
    tid = next_id(con, "api_tokens", "token_id")
    con.execute("INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                [tid, user_id, name, token_hash, prefix, created_at, expires_at])
    return tid


def token(con, token_id: int) -> dict[str, Any] | None:
    """The listing row of a token (:data:`TOKEN_COLUMNS`), or None."""
    return _first(rows(con.execute(f"SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u USING (user_id) "
                                   "WHERE t.token_id = ?", [token_id])))


def tokens(con, user_id: int | None = None) -> list[dict[str, Any]]:
    """Listing rows of every token (of one user when given), by token_id."""
    where, params = ("WHERE t.user_id = ?", [user_id]) if user_id is not None else ("", [])
    return rows(con.execute(f"SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u USING (user_id) {where} "
                            "ORDER BY t.token_id", params))


def revoke_token(con, token_id: int, at: dt.datetime) -> None:
    con.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?", [at, token_id])


def token_user(con, token_hash: str) -> dict[str, Any] | None:
    """The active user of an active token (user fields, token_id, expires_at), or None."""
    return _first(rows(con.execute("""
        SELECT u.user_id, u.username, u.role, u.enterprise_id, u.meters, t.token_id, t.expires_at
        FROM api_tokens t JOIN users u USING (user_id)
        WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.revoked_at IS NULL""", [token_hash])))


# -- browser sessions --------------------------------------------------------------------------------
def insert_session(con, session_hash: str, user_id: int, csrf_token: str, created_at: dt.datetime,
                   expires_at: dt.datetime) -> None:
    con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, NULL)",
                [session_hash, user_id, csrf_token, created_at, expires_at])


def session_user(con, session_hash: str) -> dict[str, Any] | None:
    """The active user of an active session (user fields, csrf_token, expires_at), or None."""
    return _first(rows(con.execute("""
        SELECT u.user_id, u.username, u.role, u.enterprise_id, u.meters, s.csrf_token, s.expires_at
        FROM sessions s JOIN users u USING (user_id)
        WHERE s.session_hash = ? AND s.revoked_at IS NULL AND u.revoked_at IS NULL""", [session_hash])))


def end_session(con, session_hash: str, at: dt.datetime) -> None:
    con.execute("UPDATE sessions SET revoked_at = ? WHERE session_hash = ? AND revoked_at IS NULL",
                [at, session_hash])


def end_user_sessions(con, user_id: int, at: dt.datetime, *, keep: str | None = None) -> int:
    """Revoke every open session of a user but ``keep`` (a session hash); returns how many."""
    where = "user_id = ? AND revoked_at IS NULL AND session_hash <> ?"
    params = [user_id, keep or ""]
    n = con.execute(f"SELECT count(*) FROM sessions WHERE {where}", params).fetchall()[0][0]
    con.execute(f"UPDATE sessions SET revoked_at = ? WHERE {where}", [at, *params])
    return int(n)


_ENDED_SESSIONS = "FROM sessions WHERE expires_at <= ? OR revoked_at IS NOT NULL"
_ENDED_TOKENS = "FROM api_tokens WHERE expires_at <= ? OR revoked_at <= ?"


def ended_counts(con, now: dt.datetime, token_cutoff: dt.datetime) -> dict[str, int]:
    """Sessions ended by ``now`` and tokens that expired or were revoked by ``token_cutoff``."""
    n_sessions = con.execute(f"SELECT count(*) {_ENDED_SESSIONS}", [now]).fetchall()[0][0]
    n_tokens = con.execute(f"SELECT count(*) {_ENDED_TOKENS}", [token_cutoff, token_cutoff]).fetchall()[0][0]
    return {"sessions": int(n_sessions), "tokens": int(n_tokens)}


def delete_ended_sessions(con, now: dt.datetime) -> None:
    con.execute(f"DELETE {_ENDED_SESSIONS}", [now])


def delete_ended_tokens(con, token_cutoff: dt.datetime) -> None:
    con.execute(f"DELETE {_ENDED_TOKENS}", [token_cutoff, token_cutoff])
