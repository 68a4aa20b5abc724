"""Sending email, always through a job.

    job = email_request(tenant=tenant, user=user, to=["a@example.com"], subject="Hi",
                        template="generic", context={"body": "..."})

Nothing here talks SMTP on a request: `email.send` (emails/tasks.py) renders
and sends in the qcluster through Django's email backend, and an SMTP failure
fails the attempt, which the job system retries with backoff (5 attempts).
"""

from __future__ import annotations

import smtplib
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from email.utils import formataddr, make_msgid, parseaddr
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone
from pydantic import ValidationError

from common.redis_client import redis_client, tenant_key
from jobs.models import Job
from jobs.runner import JobFailure
from jobs.schedules import tenant_schedule_set, tenant_timezone
from jobs.services import job_enqueue
from tenants.errors import NotAMember
from tenants.models import Domain, Membership, Tenant
from tenants.settings_schema import settings_effective

from .catalog import EmailTemplate, email_template_get, email_templates_for_api
from .errors import EmailContextInvalid, EmailQuotaExceeded, EmailTemplateUnknown
from .selectors import digest_summary

DIGEST_SCHEDULE = "digest"
DIGEST_CRON = "0 9 * * *"  # 09:00 in the tenant's `timezone` setting


def tenant_display_name(tenant: Tenant | None) -> str:
    """The name emails show (subject, From), on one line; None: the platform's own."""
    if tenant is None:
        return " ".join(settings.PLATFORM_NAME.split())
    return " ".join((settings_effective(tenant.settings).get("display_name") or tenant.name).split())


def _tenant_context(tenant: Tenant | None) -> dict:
    if tenant is None:
        host = settings.BASE_DOMAIN
    else:
        host = (
            Domain.objects.filter(tenant=tenant)
            .order_by("-is_primary", "domain")
            .values_list("domain", flat=True)
            .first()
        ) or f"{tenant.slug}.{settings.BASE_DOMAIN}"
    url = f"https://{host}" if settings.SESSION_COOKIE_SECURE else f"http://{host}:{settings.PORT}"
    return {"name": tenant_display_name(tenant), "host": host, "url": url}


def email_context_clean(template: EmailTemplate, context) -> dict:
    try:
        return template.context.model_validate(context or {}).model_dump(mode="json")
    except ValidationError as exc:
        details = {".".join(["context", *(str(p) for p in err["loc"])]): [err["msg"]] for err in exc.errors()}
        raise EmailContextInvalid(details=details) from exc


def _email_payload(to: list[str], subject: str, template: str, context: dict) -> dict:
    return {"to": to, "subject": subject, "template": template, "context": context}


def email_request(*, tenant: Tenant, user, to: list[str], subject: str, template: str, context: dict) -> Job:
    """An email a tenant admin asked for: validated, counted against the tenant's daily
    recipient quota, then queued as `email.send` (raises 400s/429 and then queues nothing).
    `to` is already a clean list of addresses."""
    spec = email_template_get(template, api=True)
    if spec is None:
        raise EmailTemplateUnknown(details={"template": template, "templates": email_templates_for_api()})
    payload = _email_payload(to, subject, template, email_context_clean(spec, context))
    with email_quota_spend(tenant=tenant, recipients=len(to)):
        return job_enqueue(tenant, "email.send", payload, user=user)


def _quota_key(tenant: Tenant, day: str) -> str:
    return tenant_key(tenant.pk, "emails", "recipients", day)


@contextmanager
def email_quota_spend(*, tenant: Tenant, recipients: int):
    """Take `recipients` from the tenant's POST /api/send-email budget of today (UTC):
    EMAILS["RECIPIENTS_PER_TENANT_PER_DAY"]; over it → 429 email_quota_exceeded and nothing
    is taken. Given back if the block raises. Atomic (INCRBY), so parallel requests cannot
    pass the limit together."""
    limit = settings.EMAILS["RECIPIENTS_PER_TENANT_PER_DAY"]
    now = timezone.now().astimezone(UTC)
    key = _quota_key(tenant, now.date().isoformat())
    client = redis_client()
    pipe = client.pipeline()
    pipe.incrby(key, recipients)
    pipe.expire(key, 2 * 24 * 3600)
    used = pipe.execute()[0]
    if used > limit:
        client.decrby(key, recipients)
        midnight = datetime.combine(now.date() + timedelta(days=1), dt_time.min, tzinfo=UTC)
        raise EmailQuotaExceeded(
            retry_after=max(1, int((midnight - now).total_seconds())), limit=limit, used=used - recipients
        )
    try:
        yield
    except BaseException:
        client.decrby(key, recipients)
        raise


def email_render(*, tenant: Tenant, template: str, context: dict) -> tuple[str, str]:
    """(text, html) of a declared template, from validated context."""
    spec = email_template_get(template)
    if spec is None:
        raise EmailTemplateUnknown(details={"template": template})
    data = {**email_context_clean(spec, context), "tenant": _tenant_context(tenant)}
    return render_to_string(f"emails/{template}.txt", data), render_to_string(f"emails/{template}.html", data)


def email_send(*, tenant: Tenant | None, to: list[str], subject: str, template: str, context: dict) -> dict:
    """Render and send one message (text + HTML) through settings.EMAIL_BACKEND, in the
    tenant's name (None: the platform's). Raises when the backend fails (SMTP down,
    refused): the job retries."""
    text, html = email_render(tenant=tenant, template=template, context=context)
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    message_id = make_msgid(domain=address.rpartition("@")[2] or settings.BASE_DOMAIN)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=to,
        from_email=formataddr((tenant_display_name(tenant), address)),
        headers={"Message-ID": message_id},
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:  # a 5xx for every recipient: retrying cannot help
        raise JobFailure(f"every recipient was refused: {sorted(exc.recipients)}", retry=False) from exc
    return {"to": to, "template": template, "message_id": message_id}


# --- welcome ----------------------------------------------------------------------


def welcome_email_enqueue(*, membership: Membership, actor_user=None) -> Job:
    """Queue the welcome email of a new member, in the caller's transaction (so it
    goes only if the membership is committed); once per membership."""
    tenant = membership.tenant
    payload = _email_payload(
        [membership.user.email], f"Welcome to {tenant_display_name(tenant)}", "welcome", {"role": membership.role}
    )
    return job_enqueue(tenant, "email.send", payload, user=actor_user, idempotency_key=f"welcome:{membership.pk}")


# --- invitations --------------------------------------------------------------------


def invitation_link(token: str) -> str:
    """What the email links to: settings.INVITATION_LINK (a front end's page, `{token}` in it), else
    the platform's GET /api/invitations/{token}."""
    if settings.INVITATION_LINK:
        return settings.INVITATION_LINK.replace("{token}", token)
    return f"{_tenant_context(None)['url']}/api/invitations/{token}"


def invitation_email_enqueue(*, invitation, token: str, actor_user=None) -> Job:
    """Queue the invitation's email (each send once: new, then each resend), in the caller's transaction.
    The raw token travels in the job's payload only (like a reset token's): it dies when used, revoked,
    replaced by a resend, or at expiry. The job's result and the jobs API never show the payload."""
    tenant = invitation.tenant
    context = {
        "email": invitation.email,
        "role": invitation.role,
        "inviter": getattr(invitation.invited_by, "email", "") or "",
        "link": invitation_link(token),
        "accept_url": f"{_tenant_context(None)['url']}/api/invitations/{token}/accept",
        "token": token,
        "valid_days": settings.INVITATION_TTL_DAYS,
    }
    payload = _email_payload(
        [invitation.email], f"You are invited to {tenant_display_name(tenant)}", "invitation", context
    )
    key = f"invitation:{invitation.pk}:{invitation.send_count}"
    return job_enqueue(tenant, "email.send", payload, user=actor_user, idempotency_key=key)


# --- signup (the platform's own emails) ------------------------------------------------


def signup_email_enqueue(*, email: str, account_created: bool, verify_token: str = "") -> Job:
    """The answer to a signup, by email only (the API says the same to everyone): a new
    account's welcome with its verification token, or — the address had one already — a note
    that someone tried. `email.platform_send`: no tenant."""
    name = tenant_display_name(None)
    context = {"email": email}
    if account_created:
        subject, template = f"Your {name} account is ready", "account_created"
        context.update(verify_token=verify_token, valid_hours=settings.EMAIL_VERIFICATION_TIMEOUT // 3600)
    else:
        subject, template = f"Someone tried to sign up to {name} with your address", "signup_attempted"
    return job_enqueue(None, "email.platform_send", _email_payload([email], subject, template, context))


# --- account flows (the platform's own emails) ----------------------------------------
# The tokens travel in the job's payload (a row in public): they die when used, expire, and
# a reset token also dies once the password changes.


def password_reset_email_enqueue(*, email: str, token: str) -> Job:
    subject = f"Reset your {tenant_display_name(None)} password"
    context = {"email": email, "token": token, "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60}
    return job_enqueue(None, "email.platform_send", _email_payload([email], subject, "password_reset", context))


def verification_email_enqueue(*, email: str, token: str) -> Job:
    subject = f"Confirm your {tenant_display_name(None)} address"
    context = {"email": email, "token": token, "valid_hours": settings.EMAIL_VERIFICATION_TIMEOUT // 3600}
    return job_enqueue(None, "email.platform_send", _email_payload([email], subject, "verify_email", context))


def email_changed_email_enqueue(*, old_email: str, new_email: str) -> Job:
    """Tell the old address it is no longer the account's (a change it did not make is noticed)."""
    subject = f"Your {tenant_display_name(None)} address was changed"
    context = {"old_email": old_email, "new_email": new_email}
    return job_enqueue(None, "email.platform_send", _email_payload([old_email], subject, "email_changed", context))


def password_changed_email_enqueue(*, email: str, via: str) -> Job:
    subject = f"Your {tenant_display_name(None)} password was changed"
    context = {"email": email, "via": via}
    return job_enqueue(None, "email.platform_send", _email_payload([email], subject, "password_changed", context))


# --- the daily digest ----------------------------------------------------------------


def digest_opt_in_set(*, tenant: Tenant, user, opt_in: bool) -> bool:
    if not Membership.objects.filter(tenant=tenant, user=user).update(digest_opt_in=opt_in):
        raise NotAMember()
    return opt_in


def digest_schedule_set(*, tenant: Tenant):
    """The tenant's `digest` schedule: `email.digest` at 09:00 in its time zone."""
    return tenant_schedule_set(tenant=tenant, name=DIGEST_SCHEDULE, task="email.digest", cron=DIGEST_CRON)


def digest_schedules_ensure() -> int:
    """Give every tenant that has none its digest schedule (after each migrate; idempotent)."""
    created = 0
    for tenant in Tenant.objects.exclude(schedules__name=DIGEST_SCHEDULE).iterator():
        digest_schedule_set(tenant=tenant)
        created += 1
    return created


def digest_run(*, tenant: Tenant, now: datetime) -> dict:
    """The `email.digest` job (tenant schema active): one `email.send` per opted-in
    member who has something new (unread notifications, messages of the last 24 h in
    rooms they can read), at most once per member per local day."""
    if not tenant.is_active:
        return {"members": 0, "queued": 0, "nothing_new": 0, "skipped": "tenant suspended"}
    tz = ZoneInfo(tenant_timezone(tenant))
    day = now.astimezone(tz).date().isoformat()
    subject = f"Your daily digest from {tenant_display_name(tenant)}"
    members = (
        Membership.objects.filter(tenant=tenant, digest_opt_in=True, user__is_active=True)
        .select_related("user")
        .order_by("id")
    )
    count = queued = 0
    for membership in members:
        count += 1
        summary = digest_summary(user=membership.user, since=now - timedelta(days=1), tz=tz)
        if summary is None:
            continue
        job_enqueue(
            tenant,
            "email.send",
            _email_payload([membership.user.email], subject, "digest", {"date": day, **summary}),
            idempotency_key=f"digest:{day}:{membership.user_id}",
        )
        queued += 1
    return {"members": count, "queued": queued, "nothing_new": count - queued}
