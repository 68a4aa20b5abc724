"""Uploads per user per minute: the tenant's `uploads_per_minute` setting (429 rate_limited)."""
from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from tenants.resolution import request_tenant

from .selectors import upload_rules


class UploadRateThrottle(SimpleRateThrottle):
    scope = "uploads"

    def __init__(self):  # the rate comes from the tenant, not from settings
        pass

    def allow_request(self, request, view):
        tenant = request_tenant(request)
        if tenant is None or not request.user or not request.user.is_authenticated:
            return True
        self.num_requests, self.duration = upload_rules(tenant).uploads_per_minute, 60
        self.key = f"throttle:uploads:{tenant.pk}:{request.user.pk}"
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()
