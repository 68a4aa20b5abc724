"""Recording audit events: who did what to a tenant, from where."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.proxies import client_ip  # the trusted-proxy rule

from .models import AuditEvent, Tenant


@dataclass(frozen=True)
class Actor:
    """Who is acting and from which address (None for system work)."""

    user: Any = None
    ip: str | None = None

    @classmethod
    def from_request(cls, request) -> "Actor":
        user = getattr(request, "user", None)
        return cls(user=user if user is not None and user.is_authenticated else None, ip=client_ip(request))


SYSTEM = Actor()


def audit_record(*, tenant: Tenant | None, actor: Actor, action: str, target: str = "",
                 before: Any = None, after: Any = None) -> AuditEvent:
    user = actor.user
    return AuditEvent.objects.create(
        tenant=tenant,
        tenant_slug=tenant.slug if tenant else "",
        actor=user,
        actor_email=getattr(user, "email", "") or "",
        action=action,
        target=target,
        before=before,
        after=after,
        ip=actor.ip,
    )
