"""One shared redis-py client for the platform's own keys (counters, presence…).

Every key the platform writes through it is built with `tenant_key`, so it
carries the tenant it belongs to — except the few that are global by design,
because they must hold across every host: the credential limits
(`auth:limit:…`, accounts/credential_limits.py) and the per-user tenant-create
lock (`tenant_create:user:…`, tenants/services.py).
"""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)


def tenant_key(tenant_id, *parts) -> str:
    """`t:<tenant id>:<part>:<part>…` — the only way platform code names a tenant's key."""
    return ":".join(["t", str(tenant_id), *map(str, parts)])
