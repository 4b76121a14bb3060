"""One JSON error shape for the whole API::

    {"error": {"status": 403, "code": "forbidden", "message": "what went wrong and what to do", "details": ...}}

Every failure — an access refusal, a validation error, a user-fixable domain error (bad period,
unknown id, a file that cannot be read) or an unexpected exception — is rendered in this shape by
the handlers :func:`install` registers. Domain errors derive from
:class:`greenpark.errors.GreenparkError` and carry their own ``http_status`` and ``code``: one
handler maps them all, there is no per-class list here.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from greenpark.errors import GreenparkError

log = logging.getLogger("greenpark.api")

CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         406: "not_acceptable", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
         422: "validation_error", 429: "too_many_requests", 500: "internal_error", 503: "unavailable"}


class ApiError(GreenparkError):
    """An error response raised by the API layer itself: HTTP status, stable code, a message that says
    what to do next. Domain errors are not wrapped in it: every :class:`GreenparkError` carries its own
    ``http_status`` and ``code``."""

    def __init__(self, status: int, message: str, code: str | None = None, details: Any = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.http_status, self.message = status, message
        self.code, self.details = code or CODES.get(status, "error"), details
        self.headers = headers
        self.exit_status = 2 if status < 500 else 1

    @property
    def status(self) -> int:
        return self.http_status


def forbidden(message: str) -> ApiError:
    return ApiError(403, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def bad_request(message: str, details: Any = None) -> ApiError:
    return ApiError(400, message, details=details)


def error_body(status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "details": details}}


def error_response(status: int, message: str, code: str | None = None, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, code or CODES.get(status, "error"), message, details), status_code=status,
                        headers=headers)


def request_lang(request: Request) -> str:
    """``zh`` or ``en`` from the request's ``Accept-Language`` (highest q of the two; default ``en``).
    Error messages that come from the catalogue follow it; ``code`` never changes."""
    from greenpark.i18n import normalise

    best, best_q = "en", -1.0
    for i, part in enumerate((request.headers.get("accept-language") or "").split(",")):
        tag, _, params = part.strip().partition(";")
        lang = normalise(tag)
        if lang is None:
            continue
        q = 1.0
        for prm in params.split(";"):
            k, _, v = prm.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if q > best_q or (q == best_q and i == 0):
            best, best_q = lang, q
    return best if best_q > 0 else "en"


def install(app: FastAPI) -> None:
    """Render every error in the one shape; messages from the catalogue in the request's language."""
    from greenpark.i18n import text

    @app.exception_handler(GreenparkError)
    async def _greenpark(request: Request, exc: GreenparkError):
        """Every error greenpark raises on purpose: its own status and code (greenpark.errors)."""
        status = exc.http_status
        if status >= 500 and status != 503:  # a failure of greenpark itself: its text stays in the log
            return await _any(request, exc)
        message = exc.localized(request_lang(request)) if exc.message_code else \
            (getattr(exc, "message", None) or str(exc))
        return error_response(status, message, exc.code, exc.details, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
        if exc.status_code == 404 and message == "Not Found":
            message = text("api.no_such_resource", request_lang(request), path=request.url.path)
        elif exc.status_code == 405:
            message = text("api.method_not_allowed", request_lang(request), method=request.method,
                           path=request.url.path)
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = [{"loc": [str(x) for x in e.get("loc", ())], "message": e.get("msg", ""), "type": e.get("type", "")}
                   for e in exc.errors()]
        first = details[0] if details else {"loc": [], "message": "invalid request"}
        where = ".".join(first["loc"]) or "request"
        return error_response(422, f"{where}: {first['message']} (fix the request; details list every problem)",
                              details=details)

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception):
        ref = uuid.uuid4().hex[:12]
        log.exception("internal error %s on %s %s", ref, request.method, request.url.path)
        return error_response(500, f"internal error (reference {ref}); the server log has the details. "
                                   "Please report it with the reference.")
