"""The cached lookups that make tenant resolution free of SQL in steady state.

host → tenant, ref (slug or id) → tenant and (tenant, user) → role live in the
"platform" cache (Redis), and in front of it in each process (common/localcache.py:
no round trip at all). Entries are dropped — in Redis and in every process — by
tenants.signals whenever a Tenant, Domain or Membership is saved or deleted,
whatever saved it.

A ref is made canonical (`ref_canonical`) before it touches the cache, so each
tenant has one ref entry per slug and one per id however a client spells it
(hex without dashes, {…}, urn:uuid:…, upper case): the entries the signals drop
are the only ones there are. Every entry also expires (TENANT_TTL), a second
line of defence for changes no signal sees (a queryset .update()).
"""

from __future__ import annotations

import re
import uuid

from django.core.cache import caches
from django.db import transaction

from common.localcache import LocalCache, invalidate

from .models import SLUG_RE, Domain, Membership, Tenant

MISSING = "-"
NEGATIVE_TTL = 60  # unknown hosts/refs: cached briefly, and dropped when one is created
TENANT_TTL = 300  # known hosts/refs: dropped on every change, and at the latest after this
ROLE_TTL = 3600
LOCAL_TTL = 60  # in-process copies: dropped on every change too, and at the latest after this
_SLUG = re.compile(SLUG_RE)
_local = LocalCache("tenants", ttl=LOCAL_TTL)


def _cache():
    return caches["platform"]


def host_key(host: str) -> str:
    return f"host:{host}"


def ref_key(ref: str) -> str:
    return f"ref:{ref}"


def role_key(tenant_id, user_id) -> str:
    return f"role:{tenant_id}:{user_id}"


def tenant_tag(tenant_id) -> str:
    return f"tenant:{tenant_id}"


def _tenant_tags(tenant: Tenant | None):
    """Kept in-process under its tenant's tag; an unknown host or ref is not (the shared
    cache keeps those briefly), so made-up hosts cannot crowd out real tenants."""
    return (tenant_tag(tenant.pk),) if tenant is not None else None


def cached_tenant_for_host(host: str) -> Tenant | None:
    return _local.get_or_load(host_key(host), lambda: _shared_tenant_for_host(host), tags=_tenant_tags)


def _shared_tenant_for_host(host: str) -> Tenant | None:
    cache = _cache()
    hit = cache.get(host_key(host))
    if hit is not None:
        return None if hit == MISSING else hit
    domain = Domain.objects.select_related("tenant").filter(domain=host).first()
    tenant = domain.tenant if domain else None
    cache.set(host_key(host), tenant or MISSING, TENANT_TTL if tenant else NEGATIVE_TTL)
    return tenant


def ref_canonical(ref) -> str | None:
    """The one spelling of a tenant ref: an id as str(UUID) (whatever form
    uuid.UUID() parses), a slug in lower case; None if it can be neither."""
    ref = str(ref or "").strip().lower()
    if not ref or len(ref) > 64:
        return None
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        return ref if _SLUG.fullmatch(ref) else None


def cached_tenant_for_ref(ref) -> Tenant | None:
    """A tenant by slug or by id (as the X-Tenant-ID header or a token names it)."""
    ref = ref_canonical(ref)
    if ref is None:
        return None
    return _local.get_or_load(ref_key(ref), lambda: _shared_tenant_for_ref(ref), tags=_tenant_tags)


def _shared_tenant_for_ref(ref: str) -> Tenant | None:
    cache = _cache()
    hit = cache.get(ref_key(ref))
    if hit is not None:
        return None if hit == MISSING else hit
    try:
        tenant = Tenant.objects.filter(pk=uuid.UUID(ref)).first()
    except ValueError:
        tenant = Tenant.objects.filter(slug=ref).first()
    cache.set(ref_key(ref), tenant or MISSING, TENANT_TTL if tenant else NEGATIVE_TTL)
    return tenant


def cached_role(tenant_id, user_id) -> str | None:
    return _local.get_or_load(
        role_key(tenant_id, user_id),
        lambda: _shared_role(tenant_id, user_id),
        tags=lambda role: (tenant_tag(tenant_id),) if role else None,
    )


def _shared_role(tenant_id, user_id) -> str | None:
    cache = _cache()
    hit = cache.get(role_key(tenant_id, user_id))
    if hit is not None:
        return None if hit == MISSING else hit
    role = Membership.objects.filter(tenant_id=tenant_id, user_id=user_id).values_list("role", flat=True).first()
    cache.set(role_key(tenant_id, user_id), role or MISSING, ROLE_TTL)
    return role


def domains_key(tenant_id) -> str:
    return f"domains:{tenant_id}"


def cached_domains(tenant_id) -> list[str]:
    """The tenant's domain names (in-process only: a short list, dropped when a domain changes)."""
    return _local.get_or_load(
        domains_key(tenant_id),
        lambda: list(Domain.objects.filter(tenant_id=tenant_id).values_list("domain", flat=True)),
        tags=lambda domains: (tenant_tag(tenant_id),),
    )


def forget(*keys: str) -> None:
    """Drop keys now and again after the commit, so a request that read the old
    row between the two cannot leave a stale entry behind."""
    cache = _cache()
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))
    invalidate(*keys)  # the same keys are the in-process copies' tags


def forget_tenant(tenant: Tenant) -> None:
    domains = Domain.objects.filter(tenant_id=tenant.pk).values_list("domain", flat=True)
    forget(*[host_key(d) for d in domains], ref_key(str(tenant.pk)), ref_key(tenant.slug), tenant_tag(tenant.pk))


def forget_host(host: str, tenant_id=None) -> None:
    forget(host_key(host), *([domains_key(tenant_id)] if tenant_id else []))


def forget_role(tenant_id, user_id) -> None:
    forget(role_key(tenant_id, user_id))
