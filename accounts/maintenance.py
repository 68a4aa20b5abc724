"""Nightly clean-up of logins (steps: common/maintenance.py; run by jobs/maintenance.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from common.maintenance import maintenance_step, rows_delete


@maintenance_step("sessions")
def sessions_expired_remove(*, now: datetime) -> int:
    """Django sessions past their expiry (what `clearsessions` does)."""
    from django.contrib.sessions.models import Session

    return rows_delete(Session.objects.filter(expire_date__lt=now))


@maintenance_step("auth_tokens")
def auth_tokens_dead_remove(*, now: datetime) -> int:
    """Tokens expired or revoked more than AUTH_TOKEN_RETENTION_DAYS ago. Until then a
    client using one still hears `token_expired` / `token_revoked`, not `token_invalid`."""
    from .models import AuthToken

    cutoff = now - timedelta(days=settings.AUTH_TOKEN_RETENTION_DAYS)
    return rows_delete(AuthToken.objects.filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)))
