"""Reads about tenants, memberships and audit events."""

from __future__ import annotations

import uuid
from datetime import date

from django.db.models import Count, QuerySet
from django.utils import timezone

from common import counters
from common.redis_client import redis_client, tenant_key

from .access import tenant_access_check
from .cache import cached_role, cached_tenant_for_ref
from .errors import InsufficientRole, NotAMember, TenantNotFound
from .models import MANAGER_ROLES, ApiKey, AuditEvent, Membership, Tenant
from .provisioning import schema_size_bytes
from .usage import usage_with_contributions


def tenant_get_by_ref(ref: str) -> Tenant:
    tenant = cached_tenant_for_ref(ref)
    if tenant is None:
        raise TenantNotFound(details={"tenant": ref})
    return tenant


def membership_role(*, tenant: Tenant, user) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    return cached_role(tenant.pk, user.pk)


def tenant_list_for_user(*, user) -> QuerySet[Tenant]:
    return Tenant.objects.filter(memberships__user=user).prefetch_related("domains").order_by("slug")


def tenant_get_for_member(
    *, tenant_id, user, manager: bool = False, write: bool = False, lifecycle: bool = False
) -> tuple[Tenant, str]:
    """The tenant and the caller's role; 404 if there is no such tenant,
    403 not_a_member / insufficient_role / tenant_suspended / tenant_pending_deletion
    otherwise (a suspended tenant: its owners may read, nobody writes; a tenant pending
    deletion: its owners keep the `lifecycle` routes, detail and restore — tenants.access)."""
    try:
        tenant = Tenant.objects.prefetch_related("domains").get(pk=uuid.UUID(str(tenant_id)))
    except (ValueError, Tenant.DoesNotExist):
        raise TenantNotFound(details={"tenant": str(tenant_id)}) from None
    role = membership_role(tenant=tenant, user=user)
    if role is None:
        raise NotAMember()
    if manager and role not in MANAGER_ROLES:
        raise InsufficientRole(details={"role": role, "required": [str(r) for r in MANAGER_ROLES]})
    tenant_access_check(tenant, role=role, record_read=not write, lifecycle=lifecycle)
    return tenant, role


def people_memberships(*, tenant: Tenant) -> QuerySet[Membership]:
    """The tenant's memberships of people: API keys' service accounts (tenants.api_keys) are not members."""
    return Membership.objects.filter(tenant=tenant).exclude(user_id__in=ApiKey.objects.values("user_id"))


def membership_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return people_memberships(tenant=tenant).select_related("user").order_by("created_at", "id")


def audit_list(*, tenant: Tenant) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(tenant=tenant).order_by("-created_at", "-id")


def api_requests_key(tenant_id, day: date | None = None) -> str:
    day = day or timezone.now().date()
    return tenant_key(tenant_id, "usage", "api_requests", day.isoformat())


def tenant_usage(*, tenant: Tenant) -> dict:
    """What the tenant uses: members, schema size and today's API requests, plus the figures
    the apps above register (tenants.usage): uploads' storage_bytes and files (pending and
    ready), jobs' jobs."""
    members = people_memberships(tenant=tenant).count()
    counters.flush()  # this process's counts of the last second; other processes' within a second
    api_today = int(redis_client().get(api_requests_key(tenant.pk)) or 0)
    return usage_with_contributions(
        tenant,
        {
            "members": members,
            "schema_bytes": schema_size_bytes(tenant.schema_name),
            "api_requests_today": api_today,
        },
    )


def tenants_with_member_counts() -> QuerySet[Tenant]:
    return Tenant.objects.annotate(member_count=Count("memberships"))
