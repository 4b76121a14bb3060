"""One root for every error greenpark raises on purpose.

Each class knows how the two edges report it, so the mapping lives here and nowhere else:

- ``exit_status``: the CLI's exit status (2 = something the user can fix, 1 = the system failed);
- ``http_status``: the API's status code;
- ``code``: a stable, machine-readable error code (labelled zh/en in the catalogue, kind ``error``).

The CLI (:func:`greenpark.cli.common.friendly_errors`) prints ``str(exc)`` and exits with
``exc.exit_status``; the API (:mod:`greenpark.api.errors`) answers ``exc.http_status`` with
``{"error": {"status", "code", "message", "details"}}``. Domain modules derive their errors from the
class whose meaning fits (an unknown id is a :class:`NotFoundError`, a bad period an
:class:`InputError`, data that exists but cannot be evaluated a :class:`DataError`) and keep a
builtin base (``ValueError``, ``LookupError``) where callers catch it.

This module imports nothing from greenpark: every layer may use it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AuthenticationError", "ConflictError", "DataError", "ForbiddenError", "GreenparkError", "InputError",
           "InternalError", "NotFoundError", "StoreUnavailable", "TooLargeError", "status_code"]


class GreenparkError(Exception):
    """Root: an error greenpark raises on purpose; the message says what happened and what to do."""

    exit_status: int = 1
    http_status: int = 500
    code: str = "internal_error"
    details: Any = None
    headers: dict[str, str] | None = None
    #: the catalogue message (kind ``message``) this error was made from, and its fields
    message_code: str | None = None
    message_params: dict[str, Any] = {}

    @classmethod
    def t(cls, message_code: str, /, **params: Any) -> GreenparkError:
        """An error whose message comes from the catalogue, so each person reads it in their own
        language: ``str(exc)`` is English (logs, tests), :meth:`localized` gives zh or en."""
        from greenpark.i18n import text

        exc = cls(text(message_code, "en", **params))
        exc.message_code, exc.message_params = message_code, params
        return exc

    def localized(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the current language); errors made without a
        catalogue message have one text, returned as it is."""
        if self.message_code is None:
            return str(self)
        from greenpark.i18n import text

        return text(self.message_code, lang, **self.message_params)


class InputError(GreenparkError):
    """A request, argument, file or park.toml the user can fix (bad period, invalid value...)."""

    exit_status = 2
    http_status = 400
    code = "bad_request"


class NotFoundError(InputError):
    """An id that does not exist (meter, station, project, dataset); the message lists valid ones."""

    http_status = 404
    code = "not_found"


class ConflictError(InputError):
    """A request that clashes with what is stored (exists already, already resolved)."""

    http_status = 409
    code = "conflict"


class ForbiddenError(InputError):
    """A request the caller's role or scope does not allow."""

    http_status = 403
    code = "forbidden"


class AuthenticationError(InputError):
    """Missing or wrong credentials."""

    http_status = 401
    code = "unauthenticated"


class TooLargeError(InputError):
    """A body, file or table larger than the limits."""

    http_status = 413
    code = "payload_too_large"


class DataError(InputError):
    """Data that exists but cannot be evaluated (no valid days, unconvertible values, a model that
    cannot be fitted): the user fixes the data, not the request."""

    http_status = 422
    code = "unprocessable_data"


class StoreUnavailable(GreenparkError):
    """The store cannot be opened or reached (server down, locked file, unknown schema version)."""

    exit_status = 1
    http_status = 503
    code = "unavailable"


class InternalError(GreenparkError):
    """A failure of greenpark itself (a translation or helper process that failed): report it."""


def status_code(exc: BaseException) -> tuple[int, int]:
    """(exit status, HTTP status) of any exception: a GreenparkError's own, else (1, 500)."""
    if isinstance(exc, GreenparkError):
        return exc.exit_status, exc.http_status
    return 1, 500
