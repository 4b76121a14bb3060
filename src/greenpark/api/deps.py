"""Dependencies of the routes (``Annotated`` types, as in full-stack-fastapi-template).

``BackendDep`` and ``ParkDep`` give the store and the park; ``CurrentUser`` the authenticated
principal; ``Reader``, ``Admin``, ``Overseer`` (park_admin or auditor), ``Pusher``
(park_admin or device), ``MeterPusher`` (park_admin or a device bound to meters or an enterprise:
a station gateway pushes observations only) and ``Writer`` (every role but auditors and devices,
for one's own tokens) refuse other roles with 403, as the README's role table says. :class:`Scope` answers what the principal
may see: enterprise users see one enterprise, and an id outside it gets the same 403 whether or
not it exists, so that nothing about other enterprises leaks through errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from greenpark.api.backend import Backend
from greenpark.api.errors import ApiError, forbidden, not_found
from greenpark.api.security import SESSION_COOKIE, authenticate
from greenpark.park import Park
from greenpark.services.users import Principal


def get_backend(request: Request) -> Backend:
    return request.app.state.backend


BackendDep = Annotated[Backend, Depends(get_backend)]


def get_park(request: Request) -> Park:
    return request.app.state.backend.park


ParkDep = Annotated[Park, Depends(get_park)]


# declared so that the OpenAPI document names the two ways in; :func:`authenticate` reads them
_bearer = HTTPBearer(auto_error=False, scheme_name="token",
                     description="API token: Authorization: Bearer gpk_... (greenpark user token, POST /api/v1/tokens)")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session",
                       description="browser session from POST /api/v1/auth/login; writes need X-CSRF-Token")


async def current_user(request: Request, backend: BackendDep,
                       _token: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                       _session: Annotated[str | None, Depends(_cookie)]) -> Principal:
    return await authenticate(request, backend)


CurrentUser = Annotated[Principal, Depends(current_user)]

ROLE_TEXT = {"park_admin": "park admins", "enterprise": "enterprise users", "auditor": "auditors", "device": "devices"}


def require(*roles: str) -> Callable:
    async def check(user: CurrentUser) -> Principal:
        if user.role not in roles:
            allowed = ", ".join(ROLE_TEXT[r] for r in roles)
            raise forbidden(f"this is for {allowed} only; you are '{user.username}' ({user.role})")
        return user

    return check


Reader = Annotated[Principal, Depends(require("park_admin", "enterprise", "auditor"))]
Admin = Annotated[Principal, Depends(require("park_admin"))]
Overseer = Annotated[Principal, Depends(require("park_admin", "auditor"))]
Pusher = Annotated[Principal, Depends(require("park_admin", "device"))]
#: park admins and the enterprise users manage their own API tokens; auditors write nothing, devices get theirs
Writer = Annotated[Principal, Depends(require("park_admin", "enterprise"))]


async def _meter_pusher(user: Pusher) -> Principal:
    if user.role == "device" and user.meters is None and user.enterprise_id is None:
        raise forbidden(f"'{user.username}' is a station gateway (a device without --meter or --enterprise): it "
                        "pushes station observations (POST /api/v1/observations) only, not meter readings")
    return user


#: who may push meter readings: park admins, and devices bound to meters or to an enterprise
MeterPusher = Annotated[Principal, Depends(_meter_pusher)]


class Scope:
    """What one principal may see of the park."""

    def __init__(self, user: Principal, park: Park):
        self.user, self.park = user, park

    @property
    def enterprise(self) -> str | None:
        """The one enterprise an enterprise user is bound to (None: the whole park)."""
        return self.user.enterprise_id if self.user.role == "enterprise" else None

    def owners(self) -> set[str]:
        if self.enterprise:
            return {self.enterprise}
        return {e.id for e in self.park.enterprises} | {self.park.park.id}

    def check_enterprise(self, enterprise_id: str) -> None:
        if self.enterprise and enterprise_id != self.enterprise:
            raise forbidden(f"enterprise users see only their own enterprise ({self.enterprise}); "
                            f"'{enterprise_id}' is not it")
        if enterprise_id not in {e.id for e in self.park.enterprises} | {self.park.park.id}:
            raise not_found(f"no enterprise '{enterprise_id}'; GET /api/v1/enterprises lists them")

    def check_meter(self, meter_id: str):
        meter = next((m for m in self.park.meters if m.id == meter_id), None)
        if self.enterprise and (meter is None or meter.owner != self.enterprise):
            raise forbidden(f"meter '{meter_id}' is not one of {self.enterprise}'s meters; "
                            "GET /api/v1/meters lists yours")
        if meter is None:
            raise not_found(f"no meter '{meter_id}'; GET /api/v1/meters lists them")
        return meter

    def meters(self) -> list:
        owners = self.owners()
        return [m for m in self.park.meters if m.owner in owners]

    def restricted_park(self, enterprise_id: str) -> Park:
        """The park as one enterprise sees it: its own enterprise entry, buildings, meters and
        products only, so that no computation can bring in another enterprise's figures."""
        self.check_enterprise(enterprise_id)
        p = self.park
        return p.model_copy(update={
            "enterprises": [e for e in p.enterprises if e.id == enterprise_id],
            "buildings": [b for b in p.buildings if b.owner == enterprise_id],
            "meters": [m for m in p.meters if m.owner == enterprise_id],
            "products": [x for x in p.products if x.enterprise == enterprise_id],
        })


def get_scope(user: Reader, park: ParkDep) -> Scope:
    return Scope(user, park)


ScopeDep = Annotated[Scope, Depends(get_scope)]

__all__ = ["Admin", "ApiError", "BackendDep", "CurrentUser", "MeterPusher", "Overseer", "ParkDep", "Pusher", "Reader",
           "Scope", "ScopeDep", "Writer", "require"]
