"""Emails that follow from what other apps announce. Within the emitting transaction:
each email is a job row, so it commits with the change that caused it or not at all
(an outbox: no email about a membership that was rolled back, none lost after a commit)."""

from __future__ import annotations

from accounts.domain_events import SignupRequested
from common.actors import Actor
from common.domain_events import subscribe
from tenants.domain_events import MemberAdded, TenantCreated
from tenants.models import Membership, Tenant

from .services import digest_schedule_set, signup_email_enqueue, welcome_email_enqueue


@subscribe(MemberAdded, within_transaction=True)
def _member_added(event: MemberAdded, actor: Actor | None) -> None:
    membership = Membership.objects.select_related("tenant", "user").get(
        tenant_id=event.tenant_id, user_id=event.user_id
    )
    welcome_email_enqueue(membership=membership, actor_user=actor.user if actor else None)


@subscribe(TenantCreated, within_transaction=True)
def _tenant_created(event: TenantCreated, actor: Actor | None) -> None:
    digest_schedule_set(tenant=Tenant.objects.get(pk=event.tenant_id))


@subscribe(SignupRequested, within_transaction=True)
def _signup_requested(event: SignupRequested, actor: Actor | None) -> None:
    signup_email_enqueue(email=event.email, account_created=event.user_id is not None)
