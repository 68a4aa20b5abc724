"""Tenant API keys: service principals built from the parts a tenant-bound token already uses.

A key is three rows made together: a service `User` (unusable password, `@service.invalid`
address, never listed as a person), its `Membership` in the tenant with the key's role
(member or admin, never owner), and an `AuthToken` bound to the tenant whose secret starts
with `sk_` and expires only at `expires_at` (if given). So tenant resolution and
`tenant_mismatch`, roles, suspension, throttles (the key's own user budget), the process
caches and their Redis invalidation, and socket closing on revocation are the token's.
`ApiKey` ties them together and marks the user as a service account.

Invariants: at most settings.TENANT_API_KEYS_MAX live keys per tenant; revoking kills the token
(every process within a second: accounts.services.token_revoke) and drops the membership in one
transaction; a revoked key's rows stay (so it answers `token_revoked`, not `token_invalid`).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import AuthToken
from accounts.services import token_revoke
from accounts.tokens import token_digest
from common.actors import Actor
from common.domain_events import emit
from common.errors import ApplicationError, Conflict, NotFound

from .domain_events import ApiKeyCreated, ApiKeyRevoked
from .errors import InsufficientRole
from .models import MANAGER_ROLES, ApiKey, Membership, Tenant

KEY_PREFIX = "sk_"
KEY_ROLES = (Membership.Role.MEMBER, Membership.Role.ADMIN)
NEVER = datetime(9999, 12, 31, tzinfo=UTC)  # AuthToken.expires_at is required: a key without expiry
SERVICE_EMAIL_DOMAIN = "service.invalid"  # RFC 2606: no mailbox can exist there


class ApiKeyNotFound(NotFound):
    code, message = "api_key_not_found", "No such API key in this tenant."


class ApiKeyLimitReached(Conflict):
    code, message = "api_key_limit_reached", "This tenant has as many API keys as it may."


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError("Invalid input.", code="validation_error", details={field: [message]})


def _tenant_lock(tenant: Tenant) -> None:
    """The lock every membership change takes first (tenants.services._memberships_lock)."""
    list(Tenant.objects.select_for_update(no_key=True).filter(pk=tenant.pk).values_list("pk", flat=True))


def _require_manager(tenant: Tenant, actor: Actor) -> None:
    if actor.user is None or actor.operator:
        return  # system work and operators act with full rights
    role = Membership.objects.filter(tenant=tenant, user=actor.user).values_list("role", flat=True).first()
    if role not in MANAGER_ROLES:
        raise InsufficientRole(details={"role": role, "required": [str(r) for r in MANAGER_ROLES]})


def key_generate() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def api_key_create(
    *, tenant: Tenant, name: str, role: str, actor: Actor, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Mint a key (owners and admins; roles member or admin); returns (key, raw secret: shown once)."""
    name = (name or "").strip()
    if not name:
        raise _invalid("name", "This field may not be blank.")
    if role not in KEY_ROLES:
        raise _invalid("role", f"A key's role is one of {', '.join(KEY_ROLES)}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise _invalid("expires_at", "Must be in the future.")
    _tenant_lock(tenant)  # the count below cannot be passed by parallel creates
    _require_manager(tenant, actor)
    limit = settings.TENANT_API_KEYS_MAX
    live = ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True).count()
    if live >= limit:
        raise ApiKeyLimitReached(details={"limit": limit})
    key_id = uuid.uuid4()
    user = get_user_model().objects.create_user(  # password None: unusable, so it can never sign in
        email=f"key-{key_id.hex}@{SERVICE_EMAIL_DOMAIN}", password=None, name=f"API key: {name}"[:150]
    )
    Membership.objects.create(tenant=tenant, user=user, role=role)
    raw = key_generate()
    token = AuthToken.objects.create(
        user=user, tenant=tenant, digest=token_digest(raw), prefix=raw[:10], expires_at=expires_at or NEVER
    )
    key = ApiKey.objects.create(
        id=key_id,
        tenant=tenant,
        user=user,
        token=token,
        name=name,
        prefix=token.prefix,
        created_by=actor.user if actor.user is not None and actor.user.is_authenticated else None,
        expires_at=expires_at,
    )
    emit(
        ApiKeyCreated(
            tenant_id=str(tenant.pk),
            actor_id=actor.user_id,
            key_id=str(key.pk),
            key_name=name,
            prefix=key.prefix,
            role=role,
            user_id=user.pk,
            expires_at=expires_at.isoformat() if expires_at else None,
        ),
        actor=actor,
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, key_id, actor: Actor) -> None:
    """Revoke a live key of `tenant` (else 404 api_key_not_found): its token answers
    `token_revoked` everywhere at once, its sockets close, its membership goes."""
    _tenant_lock(tenant)
    key = (
        ApiKey.objects.select_for_update(of=("self",))
        .select_related("token")
        .filter(tenant=tenant, pk=key_id, revoked_at__isnull=True)
        .first()
    )
    if key is None:
        raise ApiKeyNotFound(details={"key_id": str(key_id)})
    _require_manager(tenant, actor)
    role = Membership.objects.filter(tenant=tenant, user_id=key.user_id).values_list("role", flat=True).first()
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    if key.token is not None:
        token_revoke(token=key.token)  # every process's copy, and credential.revoked closes its sockets
    Membership.objects.filter(tenant=tenant, user_id=key.user_id).delete()
    emit(
        ApiKeyRevoked(
            tenant_id=str(tenant.pk),
            actor_id=actor.user_id,
            key_id=str(key.pk),
            key_name=key.name,
            prefix=key.prefix,
            role=role or "",
            user_id=key.user_id,
        ),
        actor=actor,
    )


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """The tenant's live keys (revoked ones are not listed), each with `role` and `last_used_at`."""
    role = Membership.objects.filter(tenant_id=OuterRef("tenant_id"), user_id=OuterRef("user_id")).values("role")[:1]
    return (
        ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True)
        .select_related("token")
        .annotate(role=Subquery(role))
        .order_by("-created_at")
    )


def service_user_ids() -> QuerySet:
    """The users that are API keys (exclude them wherever people are listed or counted)."""
    return ApiKey.objects.values("user_id")


def api_key_name_of(user) -> str | None:
    """The key's name if `user` is an API key's service account, else None. Only users
    without a usable password are looked up (people nearly always have one)."""
    if user is None or not getattr(user, "pk", None) or user.has_usable_password():
        return None
    return ApiKey.objects.filter(user_id=user.pk).values_list("name", flat=True).first()
