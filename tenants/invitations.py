"""Tenant invitations: an owner or admin invites an email address; whoever opens the emailed link
joins with the invitation's role — signed in as that address, or by setting a password, which makes
the account (verified: the link proves the address).

Invariants:
- The link's token is 256 random bits (`secrets.token_urlsafe(32)`), made once; only its SHA-256 is
  stored. It reaches the email through the domain event's private `link_token` (never in the event's
  payload, so neither webhooks nor the audit log see it) and then the email job's payload, like a
  password-reset token. A resend makes a new token: the previous link opens nothing any more.
- An invitation is single-use and lives settings.INVITATION_TTL_DAYS; its status is derived
  (accepted, revoked, expired, else pending). At most one pending invitation per address per tenant.
- Per tenant: at most settings.INVITATIONS_PENDING_MAX pending, and settings.INVITATIONS_PER_TENANT_PER_DAY
  emails (creations and resends) per UTC day; beyond, 429 invitation_limit_reached.
- Accepting goes through tenants.services.membership_join (MemberAdded: audit, welcome email, live
  events); a tenant that is not active (suspended, pending deletion) refuses invites and accepts.
- Owners invite any role, admins members and admins (the rule of tenants.services.membership_add).
  An invitation holds only while its inviter still could make it (removed, demoted, deactivated: 410
  invitation_revoked; a deleted account's pending ones are revoked); a manager's resend vouches anew.
- The token is in the link's path: LinkTokenRedactor keeps it out of the access log and Django's warnings.
- API keys' service accounts are never invited (their `.invalid` addresses are refused) nor accept.
- The anonymous doors (look-up, accept) spend a per-network window (settings.AUTH_LIMITS PER_IP per
  WINDOW_SECONDS) and never say whether the address has an account, except to the link's holder on
  accept (`sign_in_required`): the link was sent to that address, so its holder learns nothing new.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, QuerySet, Value, When
from django.utils import timezone

from accounts.credential_limits import CredentialsRateLimited
from accounts.domain_events import EmailVerified
from accounts.flows import password_validate
from accounts.services import email_verified_require, token_create
from common.actors import SYSTEM, Actor
from common.domain_events import emit
from common.errors import ApplicationError, Conflict, NotFound
from common.proxies import client_network
from common.ratelimit import retry_after_seconds, window_take
from common.redis_client import redis_client, tenant_key

from . import domain_events as events
from .access import tenant_access_check
from .errors import InsufficientRole
from .models import MANAGER_ROLES, ApiKey, Invitation, Membership, Tenant
from .services import membership_add, membership_join

Role = Membership.Role
Status = Invitation.Status


class InvitationNotFound(NotFound):
    code, message = "invitation_not_found", "No such invitation (a resent one has a new link)."


class InvitationExpired(ApplicationError):
    status, code, message = 410, "invitation_expired", "This invitation has expired; ask for a new one."


class InvitationRevoked(ApplicationError):
    status, code, message = 410, "invitation_revoked", "This invitation was withdrawn."


class InvitationUsed(ApplicationError):
    status, code, message = 410, "invitation_used", "This invitation has been accepted already."


class InvitationPending(Conflict):
    code, message = "invitation_pending", "This address has a pending invitation to this tenant (resend it)."


class InvitationNotPending(Conflict):
    code, message = "invitation_not_pending", "This invitation is no longer pending."


class InvitationEmailMismatch(ApplicationError):
    status, code, message = 403, "invitation_email_mismatch", "This invitation is for another email address."


class SignInRequired(ApplicationError):
    status, code, message = 401, "sign_in_required", "This address has an account: sign in, then accept."


class InvitationLimitReached(ApplicationError):
    status, code, message = 429, "invitation_limit_reached", "This tenant may not send more invitations now."

    def __init__(self, *, details: dict, retry_after: int | None = None):
        super().__init__(details={**details, **({"retry_after": retry_after} if retry_after else {})})
        if retry_after:
            self.headers = {"Retry-After": str(retry_after)}


GONE = {Status.EXPIRED: InvitationExpired, Status.REVOKED: InvitationRevoked, Status.ACCEPTED: InvitationUsed}


def token_hash(raw: str) -> str:
    return hashlib.sha256((raw or "").encode()).hexdigest()


LINK_IN_PATH = re.compile(r"(/api/invitations/)[^/?#\s\"]+")
LOGGERS_WITH_PATHS = ("django.request", "django.server", "uvicorn.access", "uvicorn.error", "common.exceptions")


class LinkTokenRedactor(logging.Filter):
    """The link's token is in the path (GET /api/invitations/{token}, …/accept): the access log and
    Django's 4xx warnings would keep live tokens. Installed on LOGGERS_WITH_PATHS (tenants.apps)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = LINK_IN_PATH.sub(r"\1[redacted]", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(LINK_IN_PATH.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        return True


def _token_new() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)  # 256 random bits
    return raw, token_hash(raw)


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError("Invalid input.", code="validation_error", details={field: [message]})


def _email_clean(email: str) -> str:
    email = get_user_model().objects.normalize_email((email or "").strip()).lower()
    if len(email) > Invitation._meta.get_field("email").max_length:  # validate_email allows 320: a 500 on insert
        raise _invalid("email", "Ensure this address has at most 254 characters.")
    try:
        validate_email(email)
    except DjangoValidationError:
        raise _invalid("email", "Enter a valid email address.") from None
    if email.endswith(".invalid"):  # RFC 2606: no mailbox there (API keys' service accounts live there)
        raise _invalid("email", "This address cannot receive email.")
    return email


def _tenant_lock(tenant: Tenant) -> None:
    """The lock every membership change takes first (tenants.services._memberships_lock)."""
    list(Tenant.objects.select_for_update(no_key=True).filter(pk=tenant.pk).values_list("pk", flat=True))


def _require_may_invite(tenant: Tenant, actor: Actor, role: str) -> None:
    if actor.user is None or actor.operator:
        return  # system work and operators act with full rights
    mine = Membership.objects.filter(tenant=tenant, user=actor.user).values_list("role", flat=True).first()
    if mine not in MANAGER_ROLES:
        raise InsufficientRole(details={"role": mine, "required": [str(r) for r in MANAGER_ROLES]})
    if role == Role.OWNER and mine != Role.OWNER:
        raise InsufficientRole("Only an owner can invite an owner.", details={"role": mine, "required": ["owner"]})


def _status_now():
    now = timezone.now()
    return Case(
        When(accepted_at__isnull=False, then=Value(Status.ACCEPTED)),
        When(revoked_at__isnull=False, then=Value(Status.REVOKED)),
        When(expires_at__lte=now, then=Value(Status.EXPIRED)),
        default=Value(Status.PENDING),
        output_field=CharField(),
    )


def _pending(queryset: QuerySet[Invitation]) -> QuerySet[Invitation]:
    return queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


def invitation_list(*, tenant: Tenant, status: str | None = None) -> QuerySet[Invitation]:
    """The tenant's invitations, newest first; `status` (pending, accepted, revoked, expired) filters."""
    queryset = Invitation.objects.filter(tenant=tenant).select_related("invited_by").order_by("-created_at", "id")
    if status:
        if status not in Status.values:
            raise _invalid("status", f"Use one of {', '.join(Status.values)}.")
        queryset = queryset.annotate(status_now=_status_now()).filter(status_now=status)
    return queryset


@contextmanager
def _send_spend(tenant: Tenant):
    """One email of the tenant's settings.INVITATIONS_PER_TENANT_PER_DAY (UTC day), atomic (INCR);
    given back if the block raises (its transaction rolls back)."""
    limit = settings.INVITATIONS_PER_TENANT_PER_DAY
    now = timezone.now().astimezone(UTC)
    key = tenant_key(tenant.pk, "invitations", "sent", now.date().isoformat())
    client = redis_client()
    pipe = client.pipeline()
    pipe.incr(key)
    pipe.expire(key, 2 * 24 * 3600)
    used = pipe.execute()[0]
    if used > limit:
        client.decr(key)
        midnight = datetime.combine(now.date() + timedelta(days=1), dt_time.min, tzinfo=UTC)
        raise InvitationLimitReached(
            details={"limit": limit, "per": "day", "sent_today": used - 1},
            retry_after=max(1, int((midnight - now).total_seconds())),
        )
    try:
        yield
    except BaseException:
        client.decr(key)
        raise


def _pending_limit_check(tenant: Tenant) -> None:
    limit = settings.INVITATIONS_PENDING_MAX
    pending = _pending(Invitation.objects.filter(tenant=tenant)).count()
    if pending >= limit:
        raise InvitationLimitReached(details={"limit": limit, "per": "pending", "pending": pending})


def _address_free(tenant: Tenant, email: str, *, besides: Invitation | None = None) -> None:
    """409 already_member, or invitation_pending when another pending invitation has the address."""
    member = Membership.objects.filter(tenant=tenant, user__email=email).values_list("user_id", flat=True).first()
    if member is not None:
        raise Conflict("This user is already a member.", code="already_member", details={"user_id": member})
    others = Invitation.objects.filter(tenant=tenant, email=email).exclude(pk=getattr(besides, "pk", None))
    pending = _pending(others).first()
    if pending is not None:
        raise InvitationPending(details={"invitation_id": str(pending.pk), "email": email})


def _event_fields(invitation: Invitation, actor: Actor) -> dict:
    return {
        "tenant_id": str(invitation.tenant_id),
        "actor_id": actor.user_id,
        "invitation_id": str(invitation.pk),
        "email": invitation.email,
        "role": invitation.role,
    }


def _sent_fields(invitation: Invitation, actor: Actor) -> dict:
    return {
        **_event_fields(invitation, actor),
        "expires_at": invitation.expires_at.isoformat(),
        "send_count": invitation.send_count,
    }


@transaction.atomic
def invitation_create(*, tenant: Tenant, email: str, role: str, actor: Actor) -> tuple[Invitation, str]:
    """Invite `email` with `role` and email it the link; returns (invitation, raw link token).
    400 validation_error, 403 insufficient_role / tenant_suspended, 409 already_member /
    invitation_pending, 429 invitation_limit_reached."""
    if role not in Role.values:
        raise _invalid("role", f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    email = _email_clean(email)
    _tenant_lock(tenant)  # the counts and the one-pending rule below cannot be passed by parallel invites
    tenant = Tenant.objects.get(pk=tenant.pk)
    tenant_access_check(tenant)
    _require_may_invite(tenant, actor, role)
    _address_free(tenant, email)
    _pending_limit_check(tenant)
    raw, digest = _token_new()
    now = timezone.now()
    with _send_spend(tenant):
        invitation = Invitation.objects.create(
            tenant=tenant,
            email=email,
            role=role,
            token_hash=digest,
            invited_by=actor.user if actor.user is not None and actor.user.is_authenticated else None,
            expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
            last_sent_at=now,
            send_count=1,
        )
        emit(events.InvitationCreated.with_link_token(raw, **_sent_fields(invitation, actor)), actor=actor)
    return invitation, raw


def _invitation_locked(tenant: Tenant, invitation_id) -> Invitation:
    invitation = Invitation.objects.select_for_update().filter(tenant=tenant, pk=invitation_id).first()
    if invitation is None:
        raise InvitationNotFound(details={"invitation_id": str(invitation_id)})
    return invitation


@transaction.atomic
def invitation_resend(*, tenant: Tenant, invitation_id, actor: Actor) -> tuple[Invitation, str]:
    """Email a pending or expired invitation again with a new link (the old one dies) and a fresh
    INVITATION_TTL_DAYS; returns (invitation, raw link token). 404 invitation_not_found (none such in
    this tenant), 409 invitation_not_pending (accepted, revoked) / already_member / invitation_pending
    (the address was invited again since it expired), 429 invitation_limit_reached."""
    _tenant_lock(tenant)
    tenant = Tenant.objects.get(pk=tenant.pk)
    tenant_access_check(tenant)
    invitation = _invitation_locked(tenant, invitation_id)
    _require_may_invite(tenant, actor, invitation.role)
    status = invitation.status
    if status not in (Status.PENDING, Status.EXPIRED):
        raise InvitationNotPending(details={"invitation_id": str(invitation.pk), "status": status})
    _address_free(tenant, invitation.email, besides=invitation)  # no link to a member; one pending per address
    if status == Status.EXPIRED:
        _pending_limit_check(tenant)
    raw, digest = _token_new()
    now = timezone.now()
    with _send_spend(tenant):
        invitation.token_hash, invitation.last_sent_at = digest, now
        if actor.user is not None and actor.user.is_authenticated:  # the resender vouches for it now
            invitation.invited_by = actor.user
        invitation.expires_at = now + timedelta(days=settings.INVITATION_TTL_DAYS)
        invitation.send_count += 1
        invitation.save(update_fields=["token_hash", "last_sent_at", "expires_at", "send_count", "invited_by"])
        emit(events.InvitationResent.with_link_token(raw, **_sent_fields(invitation, actor)), actor=actor)
    return invitation, raw


@transaction.atomic
def invitation_revoke(*, tenant: Tenant, invitation_id, actor: Actor) -> Invitation:
    """Withdraw a pending invitation: its link answers 410 invitation_revoked. 404 invitation_not_found,
    409 invitation_not_pending."""
    _tenant_lock(tenant)
    invitation = _invitation_locked(tenant, invitation_id)
    _require_may_invite(tenant, actor, invitation.role)
    status = invitation.status
    if status != Status.PENDING:
        raise InvitationNotPending(details={"invitation_id": str(invitation.pk), "status": status})
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    emit(events.InvitationRevoked(**_event_fields(invitation, actor)), actor=actor)
    return invitation


def invitations_of_inviter_revoke(*, user_id: int) -> int:
    """Revoke the pending invitations `user_id` made, as the system: their account is being deleted
    (tenants.subscribers, on UserDeleted), and with invited_by NULL they would read as the platform's
    own (_inviter_still_may). Returns how many."""
    pending = _pending(Invitation.objects.filter(invited_by_id=user_id)).select_related("tenant").order_by("pk")
    for invitation in (found := list(pending)):
        invitation_revoke(tenant=invitation.tenant, invitation_id=invitation.pk, actor=SYSTEM)
    return len(found)


# --- the invitee's side (anonymous doors) ---------------------------------------------------


def _link_attempt(ip: str | None) -> None:
    """One look-up or accept from this client's network: 429 rate_limited beyond AUTH_LIMITS PER_IP."""
    limits = settings.AUTH_LIMITS
    wait = window_take(
        f"auth:limit:invitation:{client_network(ip)}", limit=limits["PER_IP"], window_seconds=limits["WINDOW_SECONDS"]
    )
    if wait:
        raise CredentialsRateLimited(retry_after=retry_after_seconds(wait))


def _invitation_for(raw: str, *, lock: bool = False) -> Invitation:
    """The pending invitation of a link token, its tenant active; else 404 / 410 / 403 tenant_suspended.
    `lock`: the tenant's membership lock, then the invitation's row (the order of the managers' writes)."""
    digest = token_hash(raw)
    if lock:
        tenant_id = Invitation.objects.filter(token_hash=digest).values_list("tenant_id", flat=True).first()
        if tenant_id is not None:
            _tenant_lock(Tenant(pk=tenant_id))
    queryset = Invitation.objects.select_related("tenant", "invited_by")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    invitation = queryset.filter(token_hash=digest).first() if raw else None
    if invitation is None:
        raise InvitationNotFound()
    status = invitation.status
    if status != Status.PENDING:
        raise GONE[status]()
    tenant_access_check(invitation.tenant)
    _inviter_still_may(invitation)
    return invitation


def _inviter_still_may(invitation: Invitation) -> None:
    """An invitation holds while its inviter could still make it: one removed from the tenant,
    demoted, or deactivated leaves no invitation behind to come back through (410 invitation_revoked).
    None (system work) and operators (staff) are the platform's own."""
    inviter = invitation.invited_by
    if inviter is None or inviter.is_staff:
        return
    mine = Membership.objects.filter(tenant_id=invitation.tenant_id, user=inviter).values_list("role", flat=True)
    mine = mine.first() if inviter.is_active else None
    if mine not in MANAGER_ROLES or (invitation.role == Role.OWNER and mine != Role.OWNER):
        raise InvitationRevoked(details={"reason": "inviter_no_longer_may_invite"})


def invitation_lookup(*, token: str, ip: str | None) -> Invitation:
    """What the link opens (anyone holding it): the pending invitation with its tenant."""
    _link_attempt(ip)
    return _invitation_for(token)


def _is_service_account(user) -> bool:
    return ApiKey.objects.filter(user_id=user.pk).exists()


@transaction.atomic
def invitation_accept(*, token: str, user=None, password: str | None = None, ip: str | None = None):
    """Join the invitation's tenant; returns (membership, raw bearer token or None).

    Signed in (`user`): the account's address must be the invitation's (403 invitation_email_mismatch);
    an unverified one may accept when settings.UNVERIFIED_USERS_MAY has "accept_invitations" (else 403
    email_unverified) and becomes verified. Not signed in: an address with an account is 401
    sign_in_required; otherwise `password` (Django's validators) makes a verified account, and a bearer
    token for it is returned. 404 / 410 / 403 tenant_suspended as the look-up; 409 already_member."""
    _link_attempt(ip)
    invitation = _invitation_for(token, lock=True)
    User = get_user_model()
    created = False
    if user is not None and user.is_authenticated:
        if user.email.lower() != invitation.email or _is_service_account(user):
            raise InvitationEmailMismatch()
        email_verified_require(user=user, action="accept_invitations")
    elif User.objects.filter(email=invitation.email).exists():
        raise SignInRequired()
    else:
        if not password:
            raise _invalid("password", "Choose a password for your new account.")
        password_validate(password, user=User(email=invitation.email))
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=invitation.email, password=password, email_verified=True)
        except IntegrityError as exc:  # an account for this address was made meanwhile
            raise SignInRequired() from exc
        created = True
    actor = Actor(user=user, ip=ip)
    if not user.email_verified:  # the emailed link proves the address
        user.email_verified = True
        user.save(update_fields=["email_verified"])  # a save: every process drops its cached copy (signals)
        emit(EmailVerified(user_id=user.pk, email=user.email), actor=actor)
    membership = membership_join(tenant=invitation.tenant, user=user, role=invitation.role, actor=actor)
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    emit(
        events.InvitationAccepted(**_event_fields(invitation, actor), user_id=user.pk, account_created=created),
        actor=actor,
    )
    raw = token_create(user=user)[1] if created else None
    return membership, raw


# --- adding by email: a member if they can be, else an invitation ------------------------------


def member_add_or_invite(*, tenant: Tenant, email: str, role: str, actor: Actor) -> Membership | Invitation:
    """POST /members and the CSV import: a verified account (or an API key's service account, which
    membership_add refuses) is added at once; an address without an account, or whose account has
    not confirmed it, is invited (only the address's owner can accept). The errors of both."""
    clean = get_user_model().objects.normalize_email((email or "").strip()).lower()
    user = get_user_model().objects.filter(email=clean).first()
    if user is not None and (user.email_verified or _is_service_account(user)):
        return membership_add(tenant=tenant, email=clean, role=role, actor=actor)
    return invitation_create(tenant=tenant, email=clean, role=role, actor=actor)[0]
