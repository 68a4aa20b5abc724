"""Uploads per user per minute: the tenant's `uploads_per_minute` setting (429 rate_limited)."""

from __future__ import annotations

from tenants.throttling import PerMinuteTenantThrottle

from .selectors import upload_rules


class UploadRateThrottle(PerMinuteTenantThrottle):
    scope = "uploads"

    def per_minute(self, request, tenant) -> int | None:
        return upload_rules(tenant).uploads_per_minute

    def key_for(self, request, tenant) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return f"throttle:uploads:{tenant.pk}:{request.user.pk}"
