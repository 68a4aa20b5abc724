"""Writes to tenants, memberships and domains. Each writes its audit event in
the same transaction, and side effects run only after commit."""
from __future__ import annotations

import re
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from common.errors import ApplicationError, Conflict, NotFound
from common.redis import redis_client
from emails.services import digest_schedule_set, welcome_email_enqueue
from jobs.services import tenant_jobs_hold, tenant_jobs_release
from realtime.services import connections_close_for_tenant, connections_close_for_user

from .audit import SYSTEM, Actor, audit_record
from .errors import InsufficientRole, TenantLimitReached
from .models import MANAGER_ROLES, SLUG_RE, Domain, Membership, Tenant, schema_name_for
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


def tenant_snapshot(tenant: Tenant) -> dict[str, Any]:
    return {"slug": tenant.slug, "name": tenant.name, "status": tenant.status}


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
        raise Conflict("A tenant with this slug already exists.", code="slug_taken",
                       details={"slug": slug}) from exc
    tenant.provisioned_by = schema_provision(tenant.schema_name)
    if owner is not None:
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    digest_schedule_set(tenant=tenant)
    audit_record(tenant=tenant, actor=actor, action="tenant.create", target=f"tenant:{tenant.pk}",
                 after={**tenant_snapshot(tenant), "owner": getattr(owner, "email", None)})
    pool_refill_after_commit()
    return tenant


def tenant_create_by_user(*, slug: str, name: str, owner, actor: Actor) -> Tenant:
    """Self-service creation (POST /api/tenants): `owner` may own at most
    settings.TENANTS_PER_USER tenants, else 403 tenant_limit_reached. One user's creates
    run one at a time (a Redis lock), so parallel requests cannot pass the limit together.
    Operators (admin, shell: tenant_create) are not limited."""
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
        raise ApplicationError("Settings must be a JSON object.", code="validation_error",
                               details={"non_field_errors": ["Expected an object of settings."]})
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
    if after["timezone"] != before["timezone"]:
        from jobs.schedules import tenant_schedules_reschedule

        tenant_schedules_reschedule(tenant=tenant)  # "09:00" now means 09:00 on the new clock
    if before["features"]["realtime"] and not after["features"]["realtime"]:
        connections_close_for_tenant(tenant_id=tenant.pk, reason="feature_disabled")  # sockets and SSE streams
    audit_record(tenant=tenant, actor=actor, action="tenant.settings_update", target=f"tenant:{tenant.pk}",
                 before=_changed(before, after, before), after=_changed(before, after, after))
    return after


def _changed(before: dict, after: dict, side: dict) -> dict:
    return {key: side.get(key) for key in set(before) | set(after) if before.get(key) != after.get(key)}


def _status_set(tenant: Tenant, status: str, action: str, actor: Actor) -> Tenant:
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.status == status:
            return tenant
        before = tenant_snapshot(tenant)
        tenant.status = status
        tenant.save(update_fields=["status", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action=action, target=f"tenant:{tenant.pk}",
                     before={"status": before["status"]}, after={"status": status})
        if status == Tenant.Status.SUSPENDED:
            tenant_jobs_hold(tenant=tenant)  # its jobs wait (not lost, no attempt used) until reactivation
            connections_close_for_tenant(tenant_id=tenant.pk, reason="tenant_suspended")
        else:
            tenant_jobs_release(tenant=tenant)
    return tenant


def tenant_suspend(*, tenant: Tenant, actor: Actor) -> Tenant:
    return _status_set(tenant, Tenant.Status.SUSPENDED, "tenant.suspend", actor)


def tenant_reactivate(*, tenant: Tenant, actor: Actor) -> Tenant:
    return _status_set(tenant, Tenant.Status.ACTIVE, "tenant.reactivate", actor)


# --- members ------------------------------------------------------------------

def _actor_role(tenant: Tenant, actor: Actor) -> str | None:
    if actor.user is None:
        return Role.OWNER  # system work (admin actions, seeding) acts with full rights
    return (
        Membership.objects.filter(tenant=tenant, user=actor.user).values_list("role", flat=True).first()
    )


def _require_may_manage(tenant: Tenant, actor: Actor, *, touching_role: str | None) -> None:
    """Owners manage everyone; admins manage admins and members, never owners."""
    role = _actor_role(tenant, actor)
    if role not in MANAGER_ROLES:
        raise InsufficientRole(details={"role": role, "required": ["owner", "admin"]})
    if touching_role == Role.OWNER and role != Role.OWNER:
        raise InsufficientRole("Only an owner can grant, change or remove the owner role.",
                               details={"role": role, "required": ["owner"]})


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
    if user is None:
        raise NotFound("No user has this email; they must sign up first.", code="user_not_found",
                       details={"email": email})
    if Membership.objects.filter(tenant=tenant, user=user).exists():
        raise Conflict("This user is already a member.", code="already_member", details={"user_id": user.pk})
    membership = Membership.objects.create(tenant=tenant, user=user, role=role)
    audit_record(tenant=tenant, actor=actor, action="member.add", target=f"user:{user.pk}",
                 after={"email": user.email, "role": role})
    welcome_email_enqueue(membership=membership, actor_user=actor.user)  # committed with the membership
    return membership


def memberships_admin_changed(*, tenant: Tenant, actor: Actor, added: list[Membership],
                              role_changed: list[tuple[Membership, str]], removed: list[Membership]) -> None:
    """For memberships an operator changed in the admin's inline (rows already
    saved): what membership_add/_role_set/_remove do besides the row — the
    audit, the welcome email, and closing a removed member's live connections."""
    for membership in added:
        audit_record(tenant=tenant, actor=actor, action="member.add", target=f"user:{membership.user_id}",
                     after={"email": membership.user.email, "role": membership.role})
        welcome_email_enqueue(membership=membership, actor_user=actor.user)
    for membership, before in role_changed:
        audit_record(tenant=tenant, actor=actor, action="member.role_change", target=f"user:{membership.user_id}",
                     before={"role": before}, after={"role": membership.role})
    for membership in removed:
        audit_record(tenant=tenant, actor=actor, action="member.remove", target=f"user:{membership.user_id}",
                     before={"email": membership.user.email, "role": membership.role})
        connections_close_for_user(tenant_id=tenant.pk, user_id=membership.user_id, reason="not_a_member")


def _membership_get(tenant: Tenant, user_id) -> Membership:
    membership = (
        Membership.objects.select_for_update().select_related("user")
        .filter(tenant=tenant, user_id=user_id).first()
    )
    if membership is None:
        raise NotFound("This user is not a member of the tenant.", code="member_not_found",
                       details={"user_id": user_id})
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
    audit_record(tenant=tenant, actor=actor, action="member.role_change", target=f"user:{user_id}",
                 before={"role": before}, after={"role": role})
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
    audit_record(tenant=tenant, actor=actor, action="member.leave" if leaving else "member.remove",
                 target=f"user:{user_id}", before={"email": membership.user.email, "role": membership.role})
    membership.delete()
    connections_close_for_user(tenant_id=tenant.pk, user_id=membership.user_id, reason="not_a_member")


# --- domains (operators, through the admin) --------------------------------------

def domain_audit(*, tenant: Tenant, actor: Actor, added=(), removed=(), changed=()) -> None:
    for domain in added:
        audit_record(tenant=tenant, actor=actor, action="domain.add", target=f"domain:{domain}",
                     after={"domain": domain})
    for domain in removed:
        audit_record(tenant=tenant, actor=actor, action="domain.remove", target=f"domain:{domain}",
                     before={"domain": domain})
    for old, new in changed:
        audit_record(tenant=tenant, actor=actor, action="domain.change", target=f"domain:{new}",
                     before={"domain": old}, after={"domain": new})
