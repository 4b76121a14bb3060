"""Log in and out (browser sessions), change one's password, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from greenpark.api.deps import BackendDep, CurrentUser
from greenpark.api.errors import ApiError
from greenpark.api.schemas import ERRORS, ErrorOut, LoginIn, MeOut
from greenpark.api.security import SESSION_COOKIE
from greenpark.services import users

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERRORS)


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/login", response_model=MeOut, name="login",
             responses={429: {"model": ErrorOut, "description": "too many failed logins; wait Retry-After seconds"}})
async def login(body: LoginIn, request: Request, response: Response, backend: BackendDep) -> MeOut:
    """Log in with a username and password; sets the session cookie and returns the CSRF token.

    Repeated failures are throttled (429 with ``Retry-After``, the right password included) per
    username and per client address; every failure is in the audit log (``auth.login_failed``)."""
    throttle = request.app.state.login_throttle
    remote = _remote(request)
    wait = throttle.retry_after(body.username, remote)
    if wait is not None:
        seconds, what = wait
        raise ApiError(429, f"too many failed logins {'for this username' if what == 'username' else 'from your address'}; "
                            f"try again in {seconds} s (ask a park admin if you forgot the password)",
                       details={"retry_after": seconds, "limited": what}, headers={"Retry-After": str(seconds)})
    principal = await run_in_threadpool(
        lambda: users.authenticate_password(backend.cursor(), body.username, body.password))
    if principal is None or principal.role == "device":
        throttled, counts = throttle.failed(body.username, remote)

        def record(store):
            with store.transaction() as con:
                users.audit_login_failure(con, body.username, remote, failures=counts, throttled=throttled)

        await backend.write(record)
        raise ApiError(401, "wrong username or password (devices use API tokens, not passwords)")
    throttle.succeeded(body.username)
    settings = request.app.state.settings

    def start(store):
        with store.transaction() as con:
            sid, csrf = users.create_session(con, principal, settings.session_ttl)
            users.audit(con, principal, "auth.login", f"user {principal.username}", remote=remote)
        return sid, csrf

    sid, csrf = await backend.write(start)
    response.set_cookie(SESSION_COOKIE, sid, max_age=int(settings.session_ttl.total_seconds()), httponly=True,
                        samesite="strict", secure=settings.secure_cookies, path="/")
    return MeOut(user=principal.public(), csrf_token=csrf)


@router.post("/logout", status_code=204, name="logout")
async def logout(user: CurrentUser, request: Request, response: Response, backend: BackendDep) -> Response:
    """End this browser session (a token request only clears the cookie)."""
    if user.session_hash:
        def end(store):
            with store.transaction() as con:
                users.end_session(con, user.session_hash)
                users.audit(con, user, "auth.logout", f"user {user.username}", remote=_remote(request))

        await backend.write(end)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut, name="read_me")
async def me(user: CurrentUser) -> MeOut:
    """Who is asking, and the CSRF token of a browser session."""
    return MeOut(user=user.public(), csrf_token=user.csrf_token)


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


@router.post("/password", status_code=204, name="change_password")
async def change_password(body: PasswordIn, user: CurrentUser, request: Request, backend: BackendDep) -> Response:
    """Change your own password (users with a password; devices use tokens). Your other browser
    sessions end; this one (if the request came from a session) stays. Common passwords and the
    username are refused."""
    if user.role == "device" or user.user_id is None:
        raise ApiError(403, "devices authenticate with API tokens; a park admin issues new ones")
    ok = await run_in_threadpool(
        lambda: users.authenticate_password(backend.cursor(), user.username, body.current_password))
    if ok is None:
        raise ApiError(403, "the current password is wrong; nothing was changed")

    def change(store):
        with store.transaction() as con:
            try:
                ended = users.set_password(con, user.username, body.new_password, keep_session=user.session_hash)
            except users.AccountError as exc:
                raise ApiError(400, str(exc)) from None
            users.audit(con, user, "user.password", f"user {user.username}", after={"sessions_ended": ended},
                        remote=_remote(request))

    await backend.write(change)
    return Response(status_code=204)
