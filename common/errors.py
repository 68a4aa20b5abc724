"""The one error vocabulary of the platform.

Every 4xx/5xx the platform answers, over HTTP or WebSocket, carries a stable
`code` from this module, a human `message` and `details`:

    {"error": {"code": "tenant_not_found", "message": "...", "details": {}}}

Services raise `ApplicationError` (or a subclass); the DRF exception handler,
the tenant middleware and the Django error handlers all render it the same way.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


class ApplicationError(Exception):
    status = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ):
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(code: str, message: str, status: int, details: dict[str, Any] | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


def application_error_response(exc: ApplicationError) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=exc.status, headers=getattr(exc, "headers", None))


# --- the errors with a name of their own -----------------------------------


class NotFound(ApplicationError):
    status, code, message = 404, "not_found", "Not found."


class Conflict(ApplicationError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


class Forbidden(ApplicationError):
    status, code, message = 403, "permission_denied", "You may not do this."


class Unauthenticated(ApplicationError):
    status, code, message = 401, "not_authenticated", "Authentication credentials were not provided."
