"""Recording audit events: who did what to a tenant, from where.

The tenants app writes its rows from the domain events its services emit (tenants/subscribers.py)."""

from __future__ import annotations

from typing import Any

from common.actors import SYSTEM, Actor  # re-exported: the rest of the code names them from here

from .api_keys import api_key_name_of
from .models import AuditEvent, Tenant

__all__ = ["SYSTEM", "Actor", "audit_record"]


def audit_record(
    *, tenant: Tenant | None, actor: Actor, action: str, target: str = "", before: Any = None, after: Any = None
) -> AuditEvent:
    """`actor_email` is the user's email, or `api-key:<name>` when an API key acted."""
    user = actor.user
    key_name = api_key_name_of(user)
    return AuditEvent.objects.create(
        tenant=tenant,
        tenant_slug=tenant.slug if tenant else "",
        actor=user,
        actor_email=f"api-key:{key_name}"[:254] if key_name else (getattr(user, "email", "") or ""),
        action=action,
        target=target,
        before=before,
        after=after,
        ip=actor.ip,
    )
