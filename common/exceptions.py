"""DRF exception handler and Django error views: every error, one JSON shape."""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .errors import ApplicationError, application_error_response, error_body, error_response

logger = logging.getLogger(__name__)


class CsrfFailed(drf.PermissionDenied):
    """A session-authenticated write without its CSRF token (accounts.authentication)."""

    default_code = "csrf_failed"


# DRF's exceptions mapped onto stable codes of our vocabulary.
DRF_CODES: dict[type, str] = {
    CsrfFailed: "csrf_failed",
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
        return Response(exc.as_dict(), status=exc.status, headers=getattr(exc, "headers", None))
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # Django's own check on a body (DATA_UPLOAD_MAX_MEMORY_SIZE)
        set_rollback()
        return request_too_large_response()
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


def request_too_large_response():
    return error_response(
        "request_too_large",
        "The request body is larger than this endpoint accepts.",
        413,
        {"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
    )


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return request_too_large_response()
    return error_response("bad_request", "Bad request.", 400)


def handler403(request, exception=None):
    return error_response("permission_denied", "You may not do this.", 403)


def handler404(request, exception=None):
    return error_response("not_found", "Not found.", 404)


def handler500(request):
    # Called inside Django's `except` for errors raised by (sync) middlewares,
    # such as the tenant lookup: sys.exc_info() is the error.
    if database_unavailable(sys.exc_info()[1]):
        return service_unavailable_response()
    return error_response("internal_error", "Something went wrong on our side.", 500)


# An exhausted database pool is a temporary condition of ours, not a bug: 503.


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` is (or was caused by) a wait for a pooled database
    connection that timed out or was turned away (Django wraps psycopg_pool's
    errors in its OperationalError)."""
    try:
        from psycopg_pool import PoolTimeout, TooManyRequests
    except ImportError:  # pragma: no cover - psycopg_pool is a pinned dependency
        return False
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (PoolTimeout, TooManyRequests)):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def service_unavailable_response():
    response = error_response("service_unavailable", "The service is busy; try again shortly.", 503)
    response["Retry-After"] = "1"
    return response


class DatabaseUnavailableMiddleware:
    """A view that could not get a database connection in time (the pool's
    timeout) answers 503 service_unavailable (handler500 does the same for the
    middlewares' errors)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if database_unavailable(exception):
            logger.warning("no database connection in time for %s %s", request.method, request.path)
            return service_unavailable_response()
        return None


class ApplicationErrorMiddleware:
    """An ApplicationError raised in a non-DRF view (the session and admin login forms:
    `429 rate_limited` from authenticate()) answers its own JSON, not a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ApplicationError):
            return application_error_response(exception)
        return None


HTML_APPS = ("/admin/", "/api-auth/")  # pages for people: Django's own CSRF page explains more there


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: Django's CSRF check refused a write (non-DRF views)."""
    if request.path_info.startswith(HTML_APPS):
        from django.views.csrf import csrf_failure as django_csrf_failure

        return django_csrf_failure(request, reason)
    return error_response("csrf_failed", "CSRF verification failed.", 403, {"reason": reason})


ERROR_CODES_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiErrorsAsJsonMiddleware:
    """The last line for /api/: an error answered in anything but JSON (Django's technical
    404/500 pages with DEBUG on, a bare HttpResponseNotAllowed, a future view's HTML) is
    replaced by the JSON error shape for its status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        code = ERROR_CODES_BY_STATUS.get(status, "internal_error" if status >= 500 else "bad_request")
        try:
            message = HTTPStatus(status).phrase + "."
        except ValueError:
            message = "Error."
        replaced = error_response(code, message, status)
        for name in KEPT_HEADERS:
            if name in response:
                replaced[name] = response[name]
        return replaced
