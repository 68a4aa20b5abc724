"""The delivery job: thin — one attempt per run (webhooks.services.delivery_attempt)."""

from __future__ import annotations

from django.conf import settings

from jobs.registry import Payload, job_task

from .services import TASK, delivery_attempt


class DeliverPayload(Payload):
    delivery_id: str


# The HTTP timeout is WEBHOOKS["TIMEOUT_SECONDS"] per read; the job's bounds the whole attempt.
@job_task(
    TASK,
    schema=DeliverPayload,
    timeout=int(settings.WEBHOOKS["TIMEOUT_SECONDS"]) + 2,  # the whole attempt: a receiver trickling bytes is cut here
    max_attempts=settings.WEBHOOKS["MAX_ATTEMPTS"],
    backoff=settings.WEBHOOKS["RETRY_BACKOFF_SECONDS"],
)
def webhook_deliver_task(job, payload: DeliverPayload) -> dict:
    return delivery_attempt(
        tenant=job.tenant,
        delivery_id=payload.delivery_id,
        attempt=job.attempt,
        max_attempts=job.max_attempts,
        backoff=settings.WEBHOOKS["RETRY_BACKOFF_SECONDS"],
    )
