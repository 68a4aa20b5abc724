"""Which tenant a request or socket is for, and whether the caller may enter.

Order: the host's domain → the X-Tenant-ID header (slug or id) → the tenant
the bearer token is bound to. A header or token naming another tenant than the
host (or than each other) is a `tenant_mismatch`; neither can open a tenant
the caller is not a member of. Shared by the HTTP and the ASGI middleware.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from common.compat.drf import django_request

from .access import tenant_access_check
from .cache import cached_role, cached_tenant_for_host, cached_tenant_for_ref, ref_canonical
from .errors import NotAMember, TenantMismatch, TenantNotFound
from .models import Tenant


@dataclass(frozen=True)
class Resolution:
    tenant: Tenant | None
    source: str  # "host", "header", "token" or "platform"


def host_normalize(host: str) -> str:
    host = (host or "").strip().lower().rstrip(".")
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def _matches(tenant: Tenant, ref: str) -> bool:
    return ref_canonical(ref) in (tenant.slug, str(tenant.pk))


def tenant_resolve(*, host: str, header_ref: str | None = None, token_tenant_id=None) -> Resolution:
    host = host_normalize(host)
    header_ref = (header_ref or "").strip() or None
    if host not in settings.PLATFORM_HOSTS:
        tenant = cached_tenant_for_host(host)
        if tenant is None:
            raise TenantNotFound("No tenant serves this host.", details={"host": host})
        if header_ref and not _matches(tenant, header_ref):
            raise TenantMismatch(
                "X-Tenant-ID names another tenant than the host.", details={"host": host, "x_tenant_id": header_ref}
            )
        if token_tenant_id and str(token_tenant_id) != str(tenant.pk):
            raise TenantMismatch("The token belongs to another tenant than the host.", details={"host": host})
        return Resolution(tenant, "host")
    if header_ref:
        tenant = cached_tenant_for_ref(header_ref)
        if tenant is None:
            raise TenantNotFound(details={"x_tenant_id": header_ref})
        if token_tenant_id and str(token_tenant_id) != str(tenant.pk):
            raise TenantMismatch(
                "The token belongs to another tenant than X-Tenant-ID.", details={"x_tenant_id": header_ref}
            )
        return Resolution(tenant, "header")
    if token_tenant_id:
        tenant = cached_tenant_for_ref(str(token_tenant_id))
        if tenant is None:
            raise TenantNotFound()
        return Resolution(tenant, "token")
    return Resolution(None, "platform")


def tenant_admit(tenant: Tenant, user, *, capability: str | None = None) -> str | None:
    """The caller's role in the tenant; raises if they may not enter (not a
    member, the tenant suspended, or `capability` switched off: tenants.access).

    Anonymous callers are let through to the view, which asks them to log in
    (so login pages and the API schema work on tenant hosts).
    """
    role = None
    if user is not None and user.is_authenticated:
        role = cached_role(tenant.pk, user.pk)
        if role is None:
            raise NotAMember(details={"tenant": tenant.slug})
    tenant_access_check(tenant, role=role, capability=capability)
    return role


def request_tenant(request) -> Tenant | None:
    """The tenant of a Django or DRF request; None on the platform host.

    Platform requests carry no `tenant` attribute at all: that is what
    django-tenants' admin templates take to mean "public".
    """
    return getattr(django_request(request), "tenant", None)


def request_role(request) -> str | None:
    return getattr(django_request(request), "tenant_role", None)
