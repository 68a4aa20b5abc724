"""DRF exception handler and Django error views: every error, one JSON shape."""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .errors import ApplicationError, error_body, error_response

logger = logging.getLogger(__name__)

# DRF's exceptions mapped onto stable codes of our vocabulary.
DRF_CODES: dict[type, str] = {
    drf.ParseError: "malformed_request",
    drf.AuthenticationFailed: "authentication_failed",
    drf.NotAuthenticated: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "rate_limited",
    drf.ValidationError: "validation_error",
}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if not isinstance(exc, drf.APIException):
        return None  # a real bug: Django's 500 handler answers (and logs) it

    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    details: dict = {}
    if isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1)
        headers["Retry-After"] = str(wait)
        details = {"retry_after": wait}
        message = "Too many requests."
    elif isinstance(exc, drf.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = "Invalid input."
    else:
        message = str(exc.detail)
    code = _code_for(exc)
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


def _code_for(exc: drf.APIException) -> str:
    for cls in type(exc).__mro__:
        if cls in DRF_CODES:
            return DRF_CODES[cls]
    return exc.default_code or "error"


# Django's own error views (non-DRF paths), in the same shape.

def handler400(request, exception=None):
    return error_response("bad_request", "Bad request.", 400)


def handler403(request, exception=None):
    return error_response("permission_denied", "You may not do this.", 403)


def handler404(request, exception=None):
    return error_response("not_found", "Not found.", 404)


def handler500(request):
    return error_response("internal_error", "Something went wrong on our side.", 500)
