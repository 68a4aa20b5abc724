"""DELETE /api/me: a user removes their own account. Here, not in accounts: it needs the
memberships (accounts sits below tenants).

What stays: tenant rows that name the user through a `db_constraint=False` foreign key
(messages, files, reports: on_delete DO_NOTHING) keep their user id and keep working; the
user is shown as deleted. Jobs keep running with their `user` set to NULL. Memberships and
tokens go with the account (CASCADE); the UserDeleted domain event closes live connections.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q

from accounts.flows import password_confirm
from common.errors import Conflict

from .models import Membership, Tenant

Role = Membership.Role


def tenants_solely_owned(*, user) -> list[Tenant]:
    """The tenants `user` owns with no other owner."""
    owned = Membership.objects.filter(user=user, role=Role.OWNER).values("tenant_id")
    return list(
        Tenant.objects.filter(pk__in=owned)
        .annotate(owners=Count("memberships", filter=Q(memberships__role=Role.OWNER)))
        .filter(owners=1)
        .order_by("slug")
    )


@transaction.atomic
def user_delete_self(*, user, password: str, request=None) -> None:
    """Delete `user` after checking `password` (400 wrong_password, within the login limits);
    409 last_owner while they are the only owner of a tenant (details.tenants name them)."""
    password_confirm(user=user, password=password, request=request)
    sole = tenants_solely_owned(user=user)
    if sole:
        raise Conflict(
            "You are the last owner of these tenants: make someone else owner, or delete them, first.",
            code="last_owner",
            details={"tenants": [{"id": str(t.pk), "slug": t.slug, "name": t.name} for t in sole]},
        )
    user.delete()  # accounts.signals emits UserDeleted before the memberships go
