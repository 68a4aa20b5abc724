"""Rate limits per user and per tenant (DRF throttling, 429 with Retry-After).

Keys carry the tenant: a user's budget in tenant A is not spent in B. The tenant
budget is the tenant's own `rate_limit_per_minute` setting. Every throttle counts in
one atomic Redis window (common.ratelimit), not DRF's read-modify-write of a cached
list, which lost counts between concurrent requests.

`RequestRateThrottle` is the default: the user (or anonymous network) window and the
tenant window of a request, taken together in one round trip — in both or, when
either is full, in neither.
"""

from __future__ import annotations

from rest_framework import throttling

from common.proxies import client_ip, client_network
from common.ratelimit import window_take, windows_take

from .resolution import request_tenant
from .settings_schema import settings_effective


def _tenant_part(request) -> str:
    tenant = request_tenant(request)
    return str(tenant.pk) if tenant is not None else "platform"


class AtomicWindowMixin:
    """DRF's throttle API (rate, cache key, wait) over common.ratelimit's atomic window."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return self._take()

    def _take(self) -> bool:
        self._wait = window_take(self.key, limit=self.num_requests, window_seconds=self.duration)
        return self._wait == 0

    def window(self, request, view) -> tuple[str, int, float] | None:
        """(key, limit, seconds) this throttle would count the request in, or None."""
        if self.rate is None:
            return None
        key = self.get_cache_key(request, view)
        return None if key is None else (key, self.num_requests, self.duration)

    def wait(self):
        return getattr(self, "_wait", None) or None


class UserRateThrottle(AtomicWindowMixin, throttling.UserRateThrottle):
    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return f"throttle:user:{_tenant_part(request)}:{request.user.pk}"


class AnonRateThrottle(AtomicWindowMixin, throttling.AnonRateThrottle):
    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return f"throttle:anon:{_tenant_part(request)}:{client_network(client_ip(request))}"


class PerMinuteTenantThrottle(AtomicWindowMixin, throttling.SimpleRateThrottle):
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
        window = self.window(request, view)
        if window is None:
            return True
        self.key, self.num_requests, self.duration = window
        return self._take()

    def window(self, request, view) -> tuple[str, int, float] | None:
        tenant = request_tenant(request)
        if tenant is None:
            return None
        limit, key = self.per_minute(request, tenant), self.key_for(request, tenant)
        return None if limit is None or key is None else (key, limit, 60)


class TenantRateThrottle(PerMinuteTenantThrottle):
    scope = "tenant"

    def per_minute(self, request, tenant) -> int:
        return settings_effective(tenant.settings)["rate_limit_per_minute"]

    def key_for(self, request, tenant) -> str | None:
        # The members' budget: anyone can send anonymous requests to a tenant's host (or name
        # it in X-Tenant-ID), so those count per network (AnonRateThrottle), not here, or a
        # few wrong logins a minute would answer 429 to every member.
        if not request.user or not request.user.is_authenticated:
            return None
        return f"throttle:tenant:{tenant.pk}"


class RequestRateThrottle(throttling.BaseThrottle):
    """The default throttles — user, tenant, anonymous — counted in one round trip."""

    parts = (UserRateThrottle, TenantRateThrottle, AnonRateThrottle)

    def allow_request(self, request, view):
        windows = [w for part in self.parts if (w := part().window(request, view)) is not None]
        self._wait = windows_take(windows)
        return self._wait == 0

    def wait(self):
        return self._wait or None
