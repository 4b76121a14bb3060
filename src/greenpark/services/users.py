"""Accounts and access: users with a role, API tokens, browser sessions and the audit log.

Roles (who sees and changes what is decided by the API; this module stores who is who):

- ``park_admin``: reads everything, writes (readings, quarantine fixes, users, tokens);
- ``enterprise``: reads the data of one enterprise (``enterprise_id``) and nothing else;
- ``auditor``: reads everything, with lineage and the audit log, and changes nothing;
- ``device``: pushes readings only, for the meters listed in ``meters`` (or, with an
  ``enterprise_id``, for that enterprise's meters); with neither, it is a station gateway and
  pushes station observations only.

Secrets are never stored: passwords as argon2id hashes (argon2-cffi's RFC 9106 low-memory
profile), API tokens and session ids as sha256 hashes (they are long random strings, so a fast
hash is enough). The SQL is in :mod:`greenpark.store.users` and :mod:`greenpark.store.audit`.
Functions take a store connection; writes run inside the caller's transaction
(the caller is the store's single writer: the server's writer thread or a CLI command).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from importlib import resources
from typing import Any

from greenpark.errors import InputError

ROLES = ("park_admin", "enterprise", "auditor", "device")
#: roles that may read data (device: push only)
READERS = ("park_admin", "enterprise", "auditor")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "gpk_"


class AccountError(InputError, ValueError):
    """A user, token or session request that cannot be done; the message says what to do."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user, how they authenticated, and what their role binds them to."""

    user_id: int | None
    username: str
    role: str
    enterprise_id: str | None = None
    #: meters a device may push for (None: no list)
    meters: tuple[str, ...] | None = None
    #: token | session | cli
    via: str = "token"
    session_hash: str | None = None
    csrf_token: str | None = None
    token_id: int | None = None

    def public(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "username": self.username, "role": self.role,
                "enterprise_id": self.enterprise_id, "meters": list(self.meters) if self.meters is not None else None,
                "via": self.via}


# -- the store (imported on first use: importing this module, as the CLI does at start, loads no engine)
def _users_sql():
    from greenpark.store import users

    return users


def _audit_sql():
    from greenpark.store import audit

    return audit


# -- passwords and secrets -----------------------------------------------------------------------
def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters "
                           "(a passphrase of a few words is good)")
    return _hasher().hash(password)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (reference/data/common_passwords.txt), casefolded."""
    text = resources.files("greenpark.reference").joinpath("data", "common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(ln.strip().casefold() for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))


def check_password(password: str, username: str) -> None:
    """Refuse passwords that are guessed first: too short, on the common list, the username (or the
    username with digits), or a few characters repeated."""
    if len(password) < MIN_PASSWORD_LENGTH:
        hash_password(password)  # the length message
    folded, name = password.casefold(), username.casefold()
    if folded in common_passwords():
        raise AccountError("this password is on the list of common passwords that are guessed first; "
                           "choose another (a passphrase of a few unrelated words is good)")
    if name and (folded == name or (folded.startswith(name) and folded[len(name):].isdigit())
                 or folded == name[::-1]):
        raise AccountError("the password must not be the username (or the username with digits); choose another")
    if len(set(folded)) < 4:
        raise AccountError("the password repeats too few characters (at least 4 different ones); choose another")


_DUMMY_HASH: str | None = None


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; spends the same time when there is no hash (unknown user)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    global _DUMMY_HASH
    ph = _hasher()
    if password_hash is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = ph.hash(secrets.token_urlsafe(16))
        with contextlib.suppress(VerificationError, InvalidHashError):
            ph.verify(_DUMMY_HASH, password + "\x00")
        return False
    try:
        return ph.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- users ---------------------------------------------------------------------------------------


def _user_out(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("user_id", "username", "role", "enterprise_id", "created_at", "created_by",
                               "revoked_at")}
    out["meters"] = json.loads(row["meters"]) if row.get("meters") else None
    out["has_password"] = bool(row.get("has_password"))
    return out


def get_user(con, username: str) -> dict[str, Any] | None:
    row = _users_sql().user(con, username)
    return _user_out(row) if row else None


def list_users(con, enterprise_id: str | None = None) -> list[dict[str, Any]]:
    return [_user_out(r) for r in _users_sql().users(con, enterprise_id)]


def add_user(con, park, username: str, role: str, *, enterprise_id: str | None = None,
             meters: list[str] | None = None, password: str | None = None, created_by: str) -> dict[str, Any]:
    """Create a user; returns it (without the password hash). Checks ids against ``park``."""
    if not USERNAME.fullmatch(username or ""):
        raise AccountError(f"username '{username}': use 1-64 letters, digits, '.', '_', '-' or '@', "
                           "starting with a letter or digit")
    if role not in ROLES:
        raise AccountError(f"role '{role}' is unknown; roles: {', '.join(ROLES)}")
    ents = {e.id for e in park.enterprises}
    if role == "enterprise" and not enterprise_id:
        raise AccountError("an enterprise user needs --enterprise ID (the one enterprise it may see); "
                           f"enterprises: {', '.join(sorted(ents))}")
    if enterprise_id is not None and role not in ("enterprise", "device"):
        raise AccountError(f"--enterprise binds enterprise and device users only, not {role}")
    if enterprise_id is not None and enterprise_id not in ents:
        raise AccountError(f"enterprise '{enterprise_id}' is not in park.toml; enterprises: {', '.join(sorted(ents))}")
    if meters is not None:
        if role != "device":
            raise AccountError("--meter lists the meters a device may push for; it applies to device users only")
        known = {m.id: m for m in park.meters}
        bad = [m for m in meters if m not in known]
        if bad:
            raise AccountError(f"meter(s) {', '.join(bad)} not in park.toml; check the ids")
        if enterprise_id is not None:
            other = [m for m in meters if known[m].owner != enterprise_id]
            if other:
                raise AccountError(f"meter(s) {', '.join(other)} do not belong to {enterprise_id}")
    if role == "device" and password:
        raise AccountError("device users authenticate with API tokens only; leave the password out and issue a "
                           "token ('greenpark user add NAME --role device --token')")
    if get_user(con, username) is not None:
        raise AccountError(f"user '{username}' exists already (usernames are never reused, even when revoked); "
                           "choose another name")
    if password:
        check_password(password, username)
    pw_hash = hash_password(password) if password else None
    _users_sql().insert_user(con, username, role, enterprise_id,
                            json.dumps(sorted(meters)) if meters is not None else None, pw_hash, _now(), created_by)
    return get_user(con, username)


def revoke_user(con, username: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Revoke a user, its tokens and sessions; returns (before, after)."""
    before = get_user(con, username)
    if before is None:
        raise AccountError(f"no user '{username}'; 'greenpark user list' (or GET /api/v1/users) lists them")
    if before["revoked_at"] is not None:
        raise AccountError(f"user '{username}' was revoked already at {before['revoked_at']}")
    _users_sql().revoke_user(con, before["user_id"], _now())
    return before, get_user(con, username)


def set_password(con, username: str, password: str, *, keep_session: str | None = None) -> int:
    """Set a user's password and end the user's browser sessions but ``keep_session`` (the hash of
    the session that changed it); returns how many sessions were ended."""
    user = get_user(con, username)
    if user is None:
        raise AccountError(f"no user '{username}'")
    if user["role"] == "device":
        raise AccountError("device users authenticate with API tokens only")
    check_password(password, username)
    _users_sql().set_password_hash(con, user["user_id"], hash_password(password))
    return end_sessions(con, user["user_id"], keep=keep_session)


# -- principals ----------------------------------------------------------------------------------
def _principal(row: dict[str, Any], via: str, **extra) -> Principal:
    meters = tuple(json.loads(row["meters"])) if row.get("meters") else None
    return Principal(user_id=row["user_id"], username=row["username"], role=row["role"],
                     enterprise_id=row["enterprise_id"], meters=meters, via=via, **extra)


def authenticate_password(con, username: str, password: str) -> Principal | None:
    row = _users_sql().active_login(con, username)
    if not verify_password(row["password_hash"] if row else None, password) or row is None:
        return None
    return _principal(row, "session")


# -- API tokens ------------------------------------------------------------------------------------
def create_token(con, username: str, name: str, *, expires_at: dt.datetime | None = None) -> tuple[str, dict]:
    """Issue an API token for ``username``; returns (token, its listing row). The token is shown once."""
    user = get_user(con, username)
    if user is None or user["revoked_at"] is not None:
        raise AccountError(f"no active user '{username}'")
    if not name or len(name) > 100:
        raise AccountError("a token needs a name of 1-100 characters (what or where it is used, e.g. 'gateway 3')")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tid = _users_sql().insert_token(con, user["user_id"], name, secret_hash(token), token[:10], _now(), expires_at)
    return token, get_token(con, tid)


def get_token(con, token_id: int) -> dict[str, Any] | None:
    return _users_sql().token(con, token_id)


def list_tokens(con, user_id: int | None = None) -> list[dict[str, Any]]:
    return _users_sql().tokens(con, user_id)


def revoke_token(con, token_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    before = get_token(con, token_id)
    if before is None:
        raise AccountError(f"no token {token_id}; GET /api/v1/tokens (or 'greenpark user list') lists them")
    if before["revoked_at"] is not None:
        raise AccountError(f"token {token_id} was revoked already at {before['revoked_at']}")
    _users_sql().revoke_token(con, token_id, _now())
    return before, get_token(con, token_id)


def token_principal(con, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = _users_sql().token_user(con, secret_hash(token))
    if row is None or (row["expires_at"] is not None and row["expires_at"] <= _now()):
        return None
    return _principal(row, "token", token_id=row["token_id"])


# -- browser sessions ----------------------------------------------------------------------------
def create_session(con, principal: Principal, ttl: dt.timedelta) -> tuple[str, str]:
    """A new session for a user who logged in; returns (session id for the cookie, CSRF token)."""
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = _now()
    _users_sql().insert_session(con, secret_hash(sid), principal.user_id, csrf, now, now + ttl)
    return sid, csrf


def session_principal(con, session_id: str) -> Principal | None:
    h = secret_hash(session_id)
    row = _users_sql().session_user(con, h)
    if row is None or row["expires_at"] <= _now():
        return None
    return _principal(row, "session", session_hash=h, csrf_token=row["csrf_token"])


def end_session(con, session_hash: str) -> None:
    _users_sql().end_session(con, session_hash, _now())


def end_sessions(con, user_id: int, *, keep: str | None = None) -> int:
    """End every open browser session of a user but ``keep`` (a session hash); returns how many."""
    return _users_sql().end_user_sessions(con, user_id, _now(), keep=keep)


#: how long expired or revoked API tokens stay listed before :func:`purge_sessions` deletes them
TOKEN_RETENTION = dt.timedelta(days=90)


def ended_counts(con, *, now: dt.datetime | None = None,
                 token_retention: dt.timedelta = TOKEN_RETENTION) -> dict[str, int]:
    """What :func:`purge_sessions` would delete: ``{"sessions": n, "tokens": n}`` (a read)."""
    now = now or _now()
    return _users_sql().ended_counts(con, now, now - token_retention)


def purge_sessions(con, *, now: dt.datetime | None = None,
                   token_retention: dt.timedelta = TOKEN_RETENTION) -> dict[str, int]:
    """Delete ended browser sessions (expired or revoked: they can never be used again) and API
    tokens that expired or were revoked more than ``token_retention`` ago (until then they stay
    listed, so that their owner sees what ended). Returns the counts deleted,
    ``{"sessions": n, "tokens": n}``. The audit log keeps the logins, logouts and revocations."""
    now = now or _now()
    counts = ended_counts(con, now=now, token_retention=token_retention)
    cutoff = now - token_retention
    if counts["sessions"]:
        _users_sql().delete_ended_sessions(con, now)
    if counts["tokens"]:
        _users_sql().delete_ended_tokens(con, cutoff)
    return counts


# -- audit log -----------------------------------------------------------------------------------
def audit(con, who: Principal, action: str, target: str | None = None, *, before: Any = None, after: Any = None,
          enterprise_id: str | None = None, import_id: int | None = None, remote: str | None = None) -> int:
    """Record one write (inside the write's own transaction); returns the audit id."""
    def js(x):
        return None if x is None else json.dumps(x, ensure_ascii=False, default=str, sort_keys=True)

    return _audit_sql().insert(con, _now(), who.user_id, who.username, who.role, action, target, enterprise_id,
                              import_id, js(before), js(after), remote)


def audit_login_failure(con, username: str, remote: str | None, *, failures: dict[str, int] | None = None,
                        throttled: bool = False) -> int:
    """Record a failed login (wrong password, unknown or revoked user, a device) under the name
    that was tried, with no user id or role: ``auth.login_failed``."""
    who = Principal(user_id=None, username=username, role=None, via="password")  # type: ignore[arg-type]
    return audit(con, who, "auth.login_failed", f"user {username}",
                 after={"throttled": throttled, **({"failures": failures} if failures else {})}, remote=remote)


def audit_entries(con, *, action: str | None = None, username: str | None = None, since: dt.datetime | None = None,
                  limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Audit entries, newest first (:func:`greenpark.store.audit.entries`), states decoded from JSON."""
    rows = _audit_sql().entries(con, action=action, username=username, since=since, limit=limit, offset=offset)
    for r in rows:
        for k in ("before_state", "after_state"):
            r[k] = json.loads(r[k]) if r[k] else None
    return rows


def cli_principal() -> Principal:
    """The CLI user as the audit log records it ('cli:<os user>'; the CLI runs as the store's owner)."""
    import getpass

    try:
        who = getpass.getuser()
    except Exception:  # no user name in the environment (containers)
        who = "unknown"
    return Principal(user_id=None, username=f"cli:{who}", role="park_admin", via="cli")
