"""Background work of the tenants app (run by the qcluster). Thin: call a service."""

from .provisioning import pool_fill


def tenant_pool_fill() -> int:
    return pool_fill()
