"""Rate limits per user and per tenant (DRF throttling, 429 with Retry-After).

Cache keys carry the tenant: a user's budget in tenant A is not spent in B.
The tenant budget is the tenant's own `rate_limit_per_minute` setting.
"""
from __future__ import annotations

from rest_framework import throttling

from common.proxies import client_ip, client_network

from .resolution import request_tenant
from .settings_schema import settings_effective


def _tenant_part(request) -> str:
    tenant = request_tenant(request)
    return str(tenant.pk) if tenant is not None else "platform"


class UserRateThrottle(throttling.UserRateThrottle):
    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return f"throttle:user:{_tenant_part(request)}:{request.user.pk}"


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return f"throttle:anon:{_tenant_part(request)}:{client_network(client_ip(request))}"


class PerMinuteTenantThrottle(throttling.SimpleRateThrottle):
    """A sliding one-minute window whose budget a tenant setting gives.
    Subclasses say how many requests (`per_minute`) under which key (`key_for`);
    None from either means: not limited here."""

    def __init__(self):  # the rate comes from the tenant, not from settings
        pass

    def per_minute(self, request, tenant) -> int | None:
        raise NotImplementedError

    def key_for(self, request, tenant) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view):
        tenant = request_tenant(request)
        if tenant is None:
            return True
        self.num_requests, self.key = self.per_minute(request, tenant), self.key_for(request, tenant)
        if self.num_requests is None or self.key is None:
            return True
        self.duration = 60
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()


class TenantRateThrottle(PerMinuteTenantThrottle):
    scope = "tenant"

    def per_minute(self, request, tenant) -> int:
        return settings_effective(tenant.settings)["rate_limit_per_minute"]

    def key_for(self, request, tenant) -> str:
        return f"throttle:tenant:{tenant.pk}"
