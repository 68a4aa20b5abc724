"""The authentication backend: Django's, behind the credential limits.

Every password check of the platform calls `authenticate()` — the token endpoint, DRF's
session login (/api-auth/login/), the admin login — so the per-account and per-address
limits (accounts/credential_limits.py) hold on all of them. A full window raises
`429 rate_limited` out of `authenticate()` (common.exceptions.ApplicationErrorMiddleware renders it for the
non-DRF login forms).
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from common.proxies import client_ip

from .credential_limits import credential_attempt


class RateLimitedModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            from django.contrib.auth import get_user_model

            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        username = username.strip().lower()
        attempt = credential_attempt(email=username, ip=client_ip(request) if request is not None else None)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            attempt.succeeded()
        return user
