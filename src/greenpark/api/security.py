"""Authentication at the HTTP edge: API tokens (``Authorization: Bearer gpk_...``) and browser
sessions (an HttpOnly, SameSite=Strict cookie) with CSRF protection.

A session's writes (POST, PUT, PATCH, DELETE) must carry the session's CSRF token in the
``X-CSRF-Token`` header (the login response and ``GET /api/v1/auth/me`` return it), and a
cross-origin ``Origin`` header is refused. Token requests carry no ambient credential, so they
need neither. Lookups are cached until the next write (every change of users, tokens and
sessions goes through the server's writer) and at most :data:`AUTH_CACHE_SECONDS`.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from greenpark.api.backend import Backend
from greenpark.api.errors import ApiError
from greenpark.services import users
from greenpark.services.users import Principal

SESSION_COOKIE = "gp_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AUTH_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    """Server settings that concern access."""

    #: how long a browser session lasts
    session_ttl: dt.timedelta = dt.timedelta(hours=12)
    #: send cookies with the Secure flag (set when the server is behind HTTPS)
    secure_cookies: bool = False
    #: failed logins of one username within ``login_window`` after which its logins get 429, even with
    #: the right password, until the window has passed (counted in memory: per server process)
    login_max_failures: int = 5
    #: failed logins from one client address within ``login_window`` (any usernames) after which that
    #: address gets 429; higher than the per-user limit because offices share an address; 0: no limit
    #: (behind a reverse proxy every client has the proxy's address)
    login_max_failures_per_address: int = 20
    login_window: dt.timedelta = dt.timedelta(minutes=15)
    #: how often the server deletes expired and revoked sessions and long-dead API tokens (and once at start)
    purge_interval: dt.timedelta = dt.timedelta(hours=1)
    #: expired or revoked API tokens stay listed this long, then are deleted (the audit log keeps their story)
    token_retention: dt.timedelta = dt.timedelta(days=90)
    #: largest request body of a file upload (multipart/form-data) [bytes]; larger: 413
    max_upload_bytes: int = 50 * 1024 * 1024
    #: largest request body of any other request (JSON pushes, logins...) [bytes]; larger: 413. A full
    #: push of 100,000 readings with offsets and units is about 10 MiB
    max_json_bytes: int = 16 * 1024 * 1024


def unauthenticated(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(request: Request, backend: Backend) -> Principal:
    """The principal of a request, or a 401 that says how to authenticate."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthenticated("send an API token as 'Authorization: Bearer gpk_...'")
        principal = await _lookup(backend, ("token", users.secret_hash(token)),
                                  lambda: users.token_principal(backend.cursor(), token))
        if principal is None:
            raise unauthenticated("the API token is unknown, revoked or expired; ask a park admin for a new one")
        return principal
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        principal = await _lookup(backend, ("session", users.secret_hash(sid)),
                                  lambda: users.session_principal(backend.cursor(), sid))
        if principal is None:
            raise unauthenticated("your session has ended; log in again (POST /api/v1/auth/login)")
        if request.method not in SAFE_METHODS:
            check_csrf(request, principal)
        return principal
    raise unauthenticated("log in (POST /api/v1/auth/login) or send an API token as 'Authorization: Bearer gpk_...'")


async def _lookup(backend: Backend, key, fetch):
    hit = backend.auth.peek(key, ttl=AUTH_CACHE_SECONDS)
    if hit is not None:
        return hit[0]
    return await run_in_threadpool(backend.auth.get, key, fetch, AUTH_CACHE_SECONDS, lambda p: p is not None)


def check_csrf(request: Request, principal: Principal) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not principal.csrf_token or not hmac.compare_digest(sent.encode(), principal.csrf_token.encode()):
        raise ApiError(403, f"a write from a browser session needs the {CSRF_HEADER} header with the session's "
                            "CSRF token (from the login response or GET /api/v1/auth/me)", code="csrf_failed")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = urlsplit(origin).netloc
        if host != request.headers.get("host", ""):
            raise ApiError(403, f"cross-origin write refused (Origin {origin}); use the dashboard on this server",
                           code="csrf_failed")


# -- the HTTP edge: body size limit and security headers (a pure ASGI middleware) -----------------
#: sent with every response; API responses also get ``Cache-Control: no-store`` (they carry account data)
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


class HttpGuard:
    """Refuse request bodies above the limits of :class:`Settings` with a 413 in the API's error
    shape (announced by Content-Length: before reading; streamed: as soon as the limit is passed),
    and add the security headers to every response."""

    def __init__(self, app, settings: Settings, api_prefix: str = "/api/"):
        self.app, self.settings, self.api_prefix = app, settings, api_prefix

    def limit(self, headers: dict[bytes, bytes]) -> tuple[int, str]:
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
            return self.settings.max_upload_bytes, "a file upload"
        return self.settings.max_json_bytes, "a request body"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        limit, what = self.limit(headers)
        message = (f"{what} may be at most {_mib(limit)}; split it into smaller batches or files "
                   "(the limit is a server setting)")
        api = scope.get("path", "").startswith(self.api_prefix)

        async def send_with_headers(msg):
            if msg["type"] == "http.response.start":
                have = {k.lower() for k, _ in msg.get("headers", [])}
                extra = [h for h in SECURITY_HEADERS if h[0] not in have]
                if api and b"cache-control" not in have:
                    extra.append((b"cache-control", b"no-store"))
                msg = {**msg, "headers": [*msg.get("headers", []), *extra]}
            await send(msg)

        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            from greenpark.api.errors import error_response

            response = error_response(413, message, headers={"Connection": "close"})
            return await response(scope, receive, send_with_headers)
        seen = 0

        async def counted_receive():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    from starlette.exceptions import HTTPException

                    raise HTTPException(413, message)
            return msg

        await self.app(scope, counted_receive, send_with_headers)
