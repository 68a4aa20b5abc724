"""Emails that follow from what other apps announce. Within the emitting transaction:
each email is a job row, so it commits with the change that caused it or not at all
(an outbox: no email about a membership that was rolled back, none lost after a commit)."""

from __future__ import annotations

from accounts.domain_events import (
    EmailChanged,
    EmailChangeRequested,
    EmailVerificationRequested,
    PasswordChanged,
    PasswordResetRequested,
    SignupRequested,
)
from accounts.link_tokens import email_verification_token_make, password_reset_token_make
from accounts.models import User
from common.actors import Actor
from common.domain_events import subscribe
from tenants.domain_events import InvitationCreated, InvitationResent, InvitationSent, MemberAdded, TenantCreated
from tenants.models import Invitation, Membership, Tenant

from .services import (
    digest_schedule_set,
    email_changed_email_enqueue,
    invitation_email_enqueue,
    password_changed_email_enqueue,
    password_reset_email_enqueue,
    signup_email_enqueue,
    verification_email_enqueue,
    welcome_email_enqueue,
)


@subscribe(MemberAdded, within_transaction=True)
def _member_added(event: MemberAdded, actor: Actor | None) -> None:
    membership = Membership.objects.select_related("tenant", "user").get(
        tenant_id=event.tenant_id, user_id=event.user_id
    )
    welcome_email_enqueue(membership=membership, actor_user=actor.user if actor else None)


def _invitation_sent(event: InvitationSent, actor: Actor | None) -> None:
    # The raw token is the event's private `link_token` (never in its payload: tenants/domain_events.py).
    invitation = Invitation.objects.select_related("tenant", "invited_by").get(pk=event.invitation_id)
    invitation_email_enqueue(invitation=invitation, token=event.link_token, actor_user=actor.user if actor else None)


subscribe(InvitationCreated, within_transaction=True)(_invitation_sent)
subscribe(InvitationResent, within_transaction=True)(_invitation_sent)


@subscribe(TenantCreated, within_transaction=True)
def _tenant_created(event: TenantCreated, actor: Actor | None) -> None:
    digest_schedule_set(tenant=Tenant.objects.get(pk=event.tenant_id))


@subscribe(SignupRequested, within_transaction=True)
def _signup_requested(event: SignupRequested, actor: Actor | None) -> None:
    user = User.objects.filter(pk=event.user_id).first() if event.user_id else None
    token = email_verification_token_make(user) if user and not user.email_verified else ""
    signup_email_enqueue(email=event.email, account_created=event.user_id is not None, verify_token=token)


@subscribe(PasswordResetRequested, within_transaction=True)
def _password_reset_requested(event: PasswordResetRequested, actor: Actor | None) -> None:
    user = User.objects.get(pk=event.user_id)
    password_reset_email_enqueue(email=user.email, token=password_reset_token_make(user))


@subscribe(EmailVerificationRequested, within_transaction=True)
def _verification_requested(event: EmailVerificationRequested, actor: Actor | None) -> None:
    user = User.objects.get(pk=event.user_id)
    verification_email_enqueue(email=user.email, token=email_verification_token_make(user))


@subscribe(PasswordChanged, within_transaction=True)
def _password_changed(event: PasswordChanged, actor: Actor | None) -> None:
    password_changed_email_enqueue(email=User.objects.get(pk=event.user_id).email, via=event.via)


@subscribe(EmailChangeRequested, within_transaction=True)
def _email_change_requested(event: EmailChangeRequested, actor: Actor | None) -> None:
    user = User.objects.get(pk=event.user_id)
    token = email_verification_token_make(user, new_email=event.new_email)
    verification_email_enqueue(email=event.new_email, token=token)


@subscribe(EmailChanged, within_transaction=True)
def _email_changed(event: EmailChanged, actor: Actor | None) -> None:
    email_changed_email_enqueue(old_email=event.old_email, new_email=event.new_email)
