"""Email jobs: thin — they call one service each."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from pydantic import Field

from jobs.registry import Payload, job_task

from .services import digest_run, email_send


class EmailPayload(Payload):
    to: list[str] = Field(min_length=1, max_length=settings.EMAILS["MAX_RECIPIENTS"])
    subject: str = Field(min_length=1, max_length=200)
    template: str
    context: dict = Field(default_factory=dict)


@job_task(
    "email.send", schema=EmailPayload, timeout=60, max_attempts=5, backoff=settings.EMAILS["RETRY_BACKOFF_SECONDS"]
)
def email_send_task(job, payload: EmailPayload) -> dict:
    return email_send(tenant=job.tenant, **payload.model_dump())


@job_task("email.digest", timeout=300, max_attempts=3, backoff=60.0)
def email_digest_task(job, payload) -> dict:
    return digest_run(tenant=job.tenant, now=timezone.now())


@job_task(
    "email.platform_send",
    schema=EmailPayload,
    platform=True,
    timeout=60,
    max_attempts=5,
    backoff=settings.EMAILS["RETRY_BACKOFF_SECONDS"],
)
def email_platform_send_task(job, payload: EmailPayload) -> dict:
    """`email.send` for the platform's own emails (signup): no tenant, sent in the platform's name."""
    return email_send(tenant=None, **payload.model_dump())
