"""DRF authentication by `Authorization: Bearer <token>`.

The tenant middleware may already have read the token (to find the token's
tenant); then the same lookup is reused instead of a second query.
"""

from __future__ import annotations

from drf_spectacular import authentication as spectacular_auth
from rest_framework import authentication, exceptions

from common.compat.drf import django_request as http_request
from common.errors import ApplicationError

from .selectors import token_get_valid
from .tokens import bearer_from_header

REQUEST_TOKEN_ATTR = "_platform_auth_token"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        raw = bearer_from_header(request.META.get("HTTP_AUTHORIZATION"))
        if raw is None:
            return None
        django_request = http_request(request)
        token = getattr(django_request, REQUEST_TOKEN_ATTR, None)
        if token is None:
            try:
                token = token_get_valid(raw)
            except ApplicationError as exc:
                raise _AuthFailed(exc) from exc
            setattr(django_request, REQUEST_TOKEN_ATTR, token)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class _AuthFailed(exceptions.AuthenticationFailed):
    """Carries our stable code (token_expired, token_revoked, …) through DRF."""

    def __init__(self, error: ApplicationError):
        super().__init__(error.message, code=error.code)
        self.app_error = error


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, its CSRF refusal named `csrf_failed`."""

    def enforce_csrf(self, request):
        from common.exceptions import CsrfFailed

        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise CsrfFailed(exc.detail) from None


class SessionScheme(spectacular_auth.SessionScheme):
    """drf-spectacular documents it as DRF's session authentication (cookieAuth)."""

    target_class = SessionAuthentication
