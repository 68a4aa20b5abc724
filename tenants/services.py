"""Writes to tenants, memberships and domains. Each does its write and announces it
(tenants/domain_events.py) in the same transaction; what follows from it — the audit
row, the welcome email, held jobs, closed sockets — is the subscribers' (tenants,
emails, jobs, realtime subscribers.py), so the API, the admin, imports and the shell
get the same side effects by calling these."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.services import email_verified_require, token_create, user_authenticate
from common.actors import SYSTEM, Actor
from common.domain_events import emit
from common.errors import ApplicationError, Conflict, NotFound
from common.redis_client import redis_client

from .access import tenant_access_check
from .domain_events import (
    DomainAdded,
    DomainChanged,
    DomainRemoved,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    TenantCreated,
    TenantDeletionCancelled,
    TenantDeletionExpedited,
    TenantDeletionRequested,
    TenantReactivated,
    TenantSettingsChanged,
    TenantSuspended,
)
from .errors import (
    ConfirmationMismatch,
    InsufficientRole,
    TenantLimitReached,
    TenantNotPendingDeletion,
    TenantPendingDeletion,
    TenantPurgeStarted,
)
from .models import (
    MANAGER_ROLES,
    PURGE_ACTION,
    SLUG_RE,
    ApiKey,
    AuditEvent,
    Domain,
    Membership,
    Tenant,
    schema_name_for,
)
from .provisioning import pool_refill_after_commit, schema_provision
from .settings_schema import TenantSettingsSerializer, settings_effective

Role = Membership.Role


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError("Invalid input.", code="validation_error", details={field: [message]})


def _is_uuid(value: str) -> bool:
    """X-Tenant-ID takes a slug or an id: a slug that reads as an id could never be named."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def slug_validate(slug: str) -> str:
    slug = slug or ""
    if not re.fullmatch(SLUG_RE.strip("^$"), slug):
        raise _invalid("slug", "Use 1-50 lowercase letters, digits and hyphens, not starting or ending with a hyphen.")
    if slug in settings.RESERVED_SLUGS or slug.startswith(("pool-", "pg-", "xn--")) or _is_uuid(slug):
        raise ApplicationError("This slug is reserved.", code="slug_reserved", details={"slug": slug})
    return slug


@transaction.atomic
def tenant_create(*, slug: str, name: str, owner=None, actor: Actor = SYSTEM) -> Tenant:
    """Create a tenant with its domain and schema; `owner` becomes its owner."""
    slug = slug_validate(slug)
    name = (name or "").strip()
    if not name:
        raise _invalid("name", "This field may not be blank.")
    if Tenant.objects.filter(slug=slug).exists():
        raise Conflict("A tenant with this slug already exists.", code="slug_taken", details={"slug": slug})
    tenant = Tenant(slug=slug, name=name[:200], schema_name=schema_name_for(slug))
    try:
        with transaction.atomic():
            tenant.save()
            Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True)
    except IntegrityError as exc:  # a concurrent create of the same slug won
        raise Conflict("A tenant with this slug already exists.", code="slug_taken", details={"slug": slug}) from exc
    tenant.provisioned_by = schema_provision(tenant.schema_name)
    if owner is not None:
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    emit(
        TenantCreated(
            tenant_id=str(tenant.pk),
            actor_id=actor.user_id,
            slug=tenant.slug,
            tenant_name=tenant.name,
            owner_id=getattr(owner, "pk", None),
            owner_email=getattr(owner, "email", None),
        ),
        actor=actor,
    )
    pool_refill_after_commit()
    return tenant


def tenant_create_by_user(*, slug: str, name: str, owner, actor: Actor) -> Tenant:
    """Self-service creation (POST /api/tenants): `owner` may own at most
    settings.TENANTS_PER_USER tenants, else 403 tenant_limit_reached; an unverified owner
    gets 403 email_unverified (accounts: settings.UNVERIFIED_USERS_MAY). One user's creates
    run one at a time (a Redis lock), so parallel requests cannot pass the limit together.
    Operators (admin, shell: tenant_create) are not limited."""
    email_verified_require(user=owner, action="create_tenant")  # 403 email_unverified unless UNVERIFIED_USERS_MAY
    limit = settings.TENANTS_PER_USER
    with redis_client().lock(f"tenant_create:user:{owner.pk}", timeout=120, blocking_timeout=60):
        owned = Membership.objects.filter(user=owner, role=Role.OWNER).count()
        if owned >= limit:
            raise TenantLimitReached(details={"limit": limit, "owned": owned})
        return tenant_create(slug=slug, name=name, owner=owner, actor=actor)


@transaction.atomic
def tenant_settings_update(*, tenant: Tenant, data: Any, actor: Actor) -> dict[str, Any]:
    """Validate and merge `data` into the tenant's settings; returns the effective settings."""
    if not isinstance(data, dict):
        raise ApplicationError(
            "Settings must be a JSON object.",
            code="validation_error",
            details={"non_field_errors": ["Expected an object of settings."]},
        )
    serializer = TenantSettingsSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = settings_effective(tenant.settings)
    stored = dict(tenant.settings or {})
    for key, value in serializer.validated_data.items():
        if key == "features":
            stored["features"] = {**stored.get("features", {}), **value}
        else:
            stored[key] = value
    tenant.settings = stored
    tenant.save(update_fields=["settings", "updated_at"])
    after = settings_effective(stored)
    emit(
        TenantSettingsChanged(
            tenant_id=str(tenant.pk),
            actor_id=actor.user_id,
            before=_changed(before, after, before),
            after=_changed(before, after, after),
        ),
        actor=actor,
    )
    return after


def _changed(before: dict, after: dict, side: dict) -> dict:
    return {key: side.get(key) for key in set(before) | set(after) if before.get(key) != after.get(key)}


def _status_set(tenant: Tenant, status: str, actor: Actor) -> Tenant:
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.status == status:
            return tenant
        if tenant.status == Tenant.Status.PENDING_DELETION:  # restore it first (tenant_deletion_cancel)
            raise TenantPendingDeletion(details={"tenant": tenant.slug})
        previous = tenant.status
        tenant.status = status
        tenant.save(update_fields=["status", "updated_at"])
        event = TenantSuspended if status == Tenant.Status.SUSPENDED else TenantReactivated
        emit(event(tenant_id=str(tenant.pk), actor_id=actor.user_id, previous_status=previous), actor=actor)
    return tenant


def tenant_suspend(*, tenant: Tenant, actor: Actor) -> Tenant:
    """Suspend (no-op if it is): its jobs wait, its live connections close (subscribers)."""
    return _status_set(tenant, Tenant.Status.SUSPENDED, actor)


def tenant_reactivate(*, tenant: Tenant, actor: Actor) -> Tenant:
    return _status_set(tenant, Tenant.Status.ACTIVE, actor)


# --- deletion (the purge itself is lifecycle's: lifecycle/deletion.py) ----------------


def _deletion_actor_require_owner(tenant: Tenant, actor: Actor) -> None:
    role = _actor_role(tenant, actor)  # operators and system work act as owners
    if role != Role.OWNER:
        raise InsufficientRole(details={"role": role, "required": [Role.OWNER]})


@transaction.atomic
def tenant_deletion_request(*, tenant: Tenant, actor: Actor, confirm: str | None) -> Tenant:
    """An owner (or an operator) schedules the tenant's deletion: `confirm` must be its slug
    (400 confirmation_mismatch). It becomes pending_deletion until now +
    TENANT_DELETION_GRACE_DAYS: nothing is served in it (tenants.access), its sockets close and
    its jobs are held (subscribers), and lifecycle's sweep purges it once due. No-op if pending."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    _deletion_actor_require_owner(tenant, actor)
    if not isinstance(confirm, str) or confirm != tenant.slug:
        raise ConfirmationMismatch(details={"confirm": [f"Send the tenant's slug ({tenant.slug!r}) to confirm."]})
    if tenant.status == Tenant.Status.PENDING_DELETION:
        return tenant
    previous = tenant.status
    now = timezone.now()
    tenant.status = Tenant.Status.PENDING_DELETION
    tenant.deletion_requested_at = now
    tenant.deletion_due_at = now + timedelta(days=settings.TENANT_DELETION_GRACE_DAYS)
    tenant.save(update_fields=["status", "deletion_requested_at", "deletion_due_at", "updated_at"])
    emit(
        TenantDeletionRequested(
            tenant_id=str(tenant.pk),
            actor_id=actor.user_id,
            slug=tenant.slug,
            previous_status=previous,
            deletion_due_at=tenant.deletion_due_at.isoformat(),
        ),
        actor=actor,
    )
    return tenant


def _status_before_deletion(tenant: Tenant) -> str:
    """What the tenant was before its deletion was asked for (the audit row of the request
    keeps it); active if unknown. A suspended tenant restored stays suspended."""
    row = AuditEvent.objects.filter(tenant=tenant, action="tenant.deletion_request").order_by("-created_at", "-id")
    before = (row.values_list("before", flat=True).first() or {}).get("status")
    return Tenant.Status.SUSPENDED if before == Tenant.Status.SUSPENDED else Tenant.Status.ACTIVE


@transaction.atomic
def tenant_deletion_cancel(*, tenant: Tenant, actor: Actor) -> Tenant:
    """Restore a pending-deletion tenant (an owner, or an operator) before its purge begins:
    409 tenant_not_pending_deletion / tenant_purge_started otherwise. It returns to what it was
    (active, or suspended); an active one's jobs run again (subscribers)."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    _deletion_actor_require_owner(tenant, actor)
    if tenant.status != Tenant.Status.PENDING_DELETION:
        raise TenantNotPendingDeletion(details={"status": tenant.status})
    if AuditEvent.objects.filter(tenant=tenant, action=PURGE_ACTION).exists():  # lifecycle began removing it
        raise TenantPurgeStarted()
    tenant.status = _status_before_deletion(tenant)
    tenant.deletion_requested_at = tenant.deletion_due_at = None
    tenant.save(update_fields=["status", "deletion_requested_at", "deletion_due_at", "updated_at"])
    emit(
        TenantDeletionCancelled(
            tenant_id=str(tenant.pk), actor_id=actor.user_id, slug=tenant.slug, status=tenant.status
        ),
        actor=actor,
    )
    return tenant


@transaction.atomic
def tenant_deletion_expedite(*, tenant: Tenant, actor: Actor) -> Tenant:
    """An operator's "Delete now" for a tenant already pending deletion: it is due now, and
    lifecycle purges it at once (its subscriber queues the sweep). 409 if not pending."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.status != Tenant.Status.PENDING_DELETION:
        raise TenantNotPendingDeletion(details={"status": tenant.status})
    tenant.deletion_due_at = timezone.now()
    tenant.save(update_fields=["deletion_due_at", "updated_at"])
    emit(TenantDeletionExpedited(tenant_id=str(tenant.pk), actor_id=actor.user_id, slug=tenant.slug), actor=actor)
    return tenant


# --- members ------------------------------------------------------------------


def _actor_role(tenant: Tenant, actor: Actor) -> str | None:
    if actor.user is None or actor.operator:
        return Role.OWNER  # system work (seeding, the shell) and operators (the admin) act with full rights
    return Membership.objects.filter(tenant=tenant, user=actor.user).values_list("role", flat=True).first()


def _require_may_manage(tenant: Tenant, actor: Actor, *, touching_role: str | None) -> None:
    """Owners manage everyone; admins manage admins and members, never owners."""
    role = _actor_role(tenant, actor)
    if role not in MANAGER_ROLES:
        raise InsufficientRole(details={"role": role, "required": ["owner", "admin"]})
    if touching_role == Role.OWNER and role != Role.OWNER:
        raise InsufficientRole(
            "Only an owner can grant, change or remove the owner role.", details={"role": role, "required": ["owner"]}
        )


def _role_validate(role: str) -> str:
    if role not in Role.values:
        raise _invalid("role", f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    return role


def _owners_left_after(tenant: Tenant, membership: Membership) -> int:
    owners = Membership.objects.select_for_update().filter(tenant=tenant, role=Role.OWNER).order_by("pk")
    return sum(1 for m in owners if m.pk != membership.pk)


def _memberships_lock(tenant: Tenant) -> None:
    """Serialise the membership changes of one tenant: the first thing each one does
    is lock the tenant's row, so two owners demoting or removing each other at once
    take turns instead of deadlocking on each other's rows, and the second one sees
    the first's outcome (its own role, the owners left) and answers 403/409. FOR NO KEY
    UPDATE: rows that only reference the tenant (jobs, audit events) are not held up."""
    list(Tenant.objects.select_for_update(no_key=True).filter(pk=tenant.pk).values_list("pk", flat=True))


@transaction.atomic
def membership_add(*, tenant: Tenant, email: str, role: str, actor: Actor) -> Membership:
    role = _role_validate(role)
    _memberships_lock(tenant)  # two adds of one user: the second is 409 already_member, not an IntegrityError
    _require_may_manage(tenant, actor, touching_role=role)
    user = get_user_model().objects.filter(email=(email or "").strip().lower()).first()
    if user is None or ApiKey.objects.filter(user=user).exists():  # an API key's service account is nobody's to add
        raise NotFound(
            "No user has this email; they must sign up first.", code="user_not_found", details={"email": email}
        )
    if not user.email_verified:  # else whoever signed up first with someone's address would join in their place
        raise Conflict(
            "This account has not confirmed its email address yet; add it once it has.",
            code="user_unverified",
            details={"email": user.email},
        )
    return membership_join(tenant=tenant, user=user, role=role, actor=actor)


@transaction.atomic
def membership_join(*, tenant: Tenant, user, role: str, actor: Actor) -> Membership:
    """Make `user` a member with `role`: the checks of who may are the caller's (membership_add:
    a manager; tenants.invitations: an accepted invitation). 409 already_member; MemberAdded."""
    _memberships_lock(tenant)
    if Membership.objects.filter(tenant=tenant, user=user).exists():
        raise Conflict("This user is already a member.", code="already_member", details={"user_id": user.pk})
    membership = Membership.objects.create(tenant=tenant, user=user, role=role)
    emit(
        MemberAdded(tenant_id=str(tenant.pk), actor_id=actor.user_id, user_id=user.pk, email=user.email, role=role),
        actor=actor,
    )  # the welcome email's job commits with the membership (emails/subscribers.py)
    return membership


def _membership_get(tenant: Tenant, user_id) -> Membership:
    """A person's membership: an API key's service account is no member here (tenants.api_keys revokes it)."""
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(tenant=tenant, user_id=user_id)
        .exclude(user_id__in=ApiKey.objects.values("user_id"))
        .first()
    )
    if membership is None:
        raise NotFound(
            "This user is not a member of the tenant.", code="member_not_found", details={"user_id": user_id}
        )
    return membership


@transaction.atomic
def membership_role_change(*, tenant: Tenant, user_id: int, role: str, actor: Actor) -> Membership:
    role = _role_validate(role)
    _memberships_lock(tenant)
    membership = _membership_get(tenant, user_id)
    _require_may_manage(tenant, actor, touching_role=Role.OWNER if Role.OWNER in (role, membership.role) else role)
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and _owners_left_after(tenant, membership) == 0:
        raise Conflict("A tenant must keep at least one owner.", code="last_owner")
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    emit(
        MemberRoleChanged(
            tenant_id=str(tenant.pk),
            actor_id=actor.user_id,
            user_id=membership.user_id,
            previous_role=before,
            role=role,
        ),
        actor=actor,
    )
    return membership


@transaction.atomic
def membership_remove(*, tenant: Tenant, user_id: int, actor: Actor) -> None:
    _memberships_lock(tenant)
    membership = _membership_get(tenant, user_id)
    leaving = actor.user is not None and actor.user.pk == membership.user_id
    if not leaving:
        _require_may_manage(tenant, actor, touching_role=membership.role)
    if membership.role == Role.OWNER and _owners_left_after(tenant, membership) == 0:
        raise Conflict("A tenant must keep at least one owner.", code="last_owner")
    membership.delete()
    emit(
        MemberRemoved(
            tenant_id=str(tenant.pk),
            actor_id=actor.user_id,
            user_id=membership.user_id,
            email=membership.user.email,
            role=membership.role,
            left=leaving,
        ),
        actor=actor,
    )


# --- domains (operators, through the admin) --------------------------------------


def domains_changed(*, tenant: Tenant, actor: Actor, added=(), removed=(), changed=()) -> None:
    """Announce the domains an operator's admin form saved: names `added`, `removed`, and
    (old, new) pairs `changed`. Call inside the transaction that saved them."""
    common = {"tenant_id": str(tenant.pk), "actor_id": actor.user_id}
    for domain in added:
        emit(DomainAdded(**common, domain=domain), actor=actor)
    for domain in removed:
        emit(DomainRemoved(**common, domain=domain), actor=actor)
    for old, new in changed:
        emit(DomainChanged(**common, previous_domain=old, domain=new), actor=actor)


# --- tokens bound to a tenant -------------------------------------------------------


def tenant_token_issue(*, email: str, password: str, tenant: Tenant, request=None):
    """Check the credentials and issue a token that opens `tenant` only; returns (token, raw
    secret). The caller must be a member (403 not_a_member), and a suspended tenant issues
    no token bound to it (its access rules, tenants.access)."""
    from .selectors import membership_role

    user = user_authenticate(email=email, password=password, request=request)
    role = membership_role(tenant=tenant, user=user)
    if role is None:
        raise ApplicationError("You are not a member of this tenant.", code="not_a_member", status=403)
    tenant_access_check(tenant, role=role)
    return token_create(user=user, tenant=tenant)
