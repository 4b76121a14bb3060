"""Users (park admins) and API tokens (each user their own; park admins everyone's)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from greenpark.api.deps import Admin, BackendDep, CurrentUser, ParkDep, Writer
from greenpark.api.errors import ApiError, forbidden, not_found
from greenpark.api.schemas import ERRORS, TokenCreated, TokenIn, TokenOut, UserIn, UserOut
from greenpark.services import users

router = APIRouter(tags=["users"], responses=ERRORS)


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None


def _conflict(exc: users.AccountError) -> ApiError:
    return ApiError(409 if "exists already" in str(exc) or "already" in str(exc) else 400, str(exc))


@router.get("/users", response_model=list[UserOut], name="list_users")
def list_users(user: Admin, backend: BackendDep) -> list[dict]:
    """Every user (park admins only)."""
    return users.list_users(backend.cursor())


@router.post("/users", response_model=UserOut, status_code=201, name="create_user")
async def create_user(body: UserIn, user: Admin, park: ParkDep, backend: BackendDep, request: Request) -> dict:
    """Add a user with a role (park admins only); issue tokens with POST /api/v1/tokens."""
    def add(store):
        with store.transaction() as con:
            try:
                new = users.add_user(con, park, body.username, body.role, enterprise_id=body.enterprise_id,
                                        meters=body.meters, password=body.password, created_by=user.username)
            except users.AccountError as exc:
                raise _conflict(exc) from None
            users.audit(con, user, "user.add", f"user {new['username']}", after=new,
                           enterprise_id=new["enterprise_id"], remote=_remote(request))
        return new

    return await backend.write(add)


@router.post("/users/{username}/revoke", response_model=UserOut, name="revoke_user")
async def revoke_user(username: str, user: Admin, backend: BackendDep, request: Request) -> dict:
    """Revoke a user with its tokens and sessions (park admins only)."""
    if username == user.username:
        raise ApiError(400, "you cannot revoke yourself; ask another park admin")

    def revoke(store):
        with store.transaction() as con:
            try:
                before, after = users.revoke_user(con, username)
            except users.AccountError as exc:
                raise (not_found(str(exc)) if "no user" in str(exc) else _conflict(exc)) from None
            users.audit(con, user, "user.revoke", f"user {username}", before=before, after=after,
                           enterprise_id=after["enterprise_id"], remote=_remote(request))
        return after

    return await backend.write(revoke)


@router.get("/tokens", response_model=list[TokenOut], name="list_tokens")
def list_tokens(user: CurrentUser, backend: BackendDep) -> list[dict]:
    """Your API tokens (park admins: every token). The tokens themselves are never shown again."""
    _no_device(user)
    return users.list_tokens(backend.cursor(), None if user.role == "park_admin" else user.user_id)


def _no_device(user) -> None:
    if user.role == "device":
        raise forbidden("devices push readings only; a park admin manages their tokens")
    if user.user_id is None:
        raise forbidden("this principal has no user account")


@router.post("/tokens", response_model=TokenCreated, status_code=201, name="create_token")
async def create_token(body: TokenIn, user: Writer, backend: BackendDep, request: Request) -> dict:
    """Issue an API token for yourself (park admins: for any user, e.g. a device; auditors write nothing)."""
    _no_device(user)
    target = body.username or user.username
    if target != user.username and user.role != "park_admin":
        raise forbidden("only park admins issue tokens for other users")
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=body.expires_in_days)) if body.expires_in_days else None

    def issue(store):
        with store.transaction() as con:
            try:
                token, row = users.create_token(con, target, body.name, expires_at=expires)
            except users.AccountError as exc:
                raise not_found(str(exc)) from None
            users.audit(con, user, "token.create", f"token {row['token_id']} of {target}", after=row,
                           remote=_remote(request))
        return {**row, "token": token}

    return await backend.write(issue)


@router.delete("/tokens/{token_id}", response_model=TokenOut, name="revoke_token")
async def revoke_token(token_id: int, user: Writer, backend: BackendDep, request: Request) -> dict:
    """Revoke an API token (your own; park admins: any)."""
    _no_device(user)
    if not 0 <= token_id < 2**62:
        raise not_found(f"no token {token_id}")
    row = await run_in_threadpool(lambda: users.get_token(backend.cursor(), token_id))
    if row is None or (user.role != "park_admin" and row["user_id"] != user.user_id):
        raise not_found(f"no token {token_id} among yours; GET /api/v1/tokens lists them")

    def revoke(store):
        with store.transaction() as con:
            try:
                before, after = users.revoke_token(con, token_id)
            except users.AccountError as exc:
                raise ApiError(409, str(exc)) from None
            users.audit(con, user, "token.revoke", f"token {token_id} of {row['username']}", before=before,
                           after=after, remote=_remote(request))
        return after

    return await backend.write(revoke)
