"""The uploads' job: clean up one tenant's abandoned presigns and orphaned objects."""
from __future__ import annotations

from django.utils import timezone

from jobs.registry import Payload, job_task

from .cleanup import uploads_cleanup


class CleanupPayload(Payload):
    sweep: bool = False  # also list the tenant's objects and remove those no record names


@job_task("uploads.cleanup", schema=CleanupPayload, timeout=900, max_attempts=3, backoff=60.0)
def uploads_cleanup_task(job, payload: CleanupPayload) -> dict:
    return {"removed": uploads_cleanup(tenant=job.tenant, now=timezone.now(), sweep=payload.sweep)}
