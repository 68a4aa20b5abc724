"""The uploads' jobs: clean up one tenant's abandoned presigns and orphaned objects;
process a large image (POST /api/upload/image answered 202)."""

from __future__ import annotations

import uuid

from django.utils import timezone

from jobs.registry import Payload, job_task

from .cleanup import uploads_cleanup
from .services import IMAGE_TASK, image_process_run


class CleanupPayload(Payload):
    sweep: bool = False  # also list the tenant's objects and remove those no record names


@job_task("uploads.cleanup", schema=CleanupPayload, timeout=900, max_attempts=3, backoff=60.0)
def uploads_cleanup_task(job, payload: CleanupPayload) -> dict:
    return {"removed": uploads_cleanup(tenant=job.tenant, now=timezone.now(), sweep=payload.sweep)}


class ImagePayload(Payload):
    file: uuid.UUID  # the original File (in the job's tenant); never the content


# An 88 Mpx PNG (near the most the checks let through) takes ~1.5 s to process; the
# timeout leaves room for slow storage. Retries are for storage or database hiccups
# only (a bad image fails at once: JobFailure).
@job_task(IMAGE_TASK, schema=ImagePayload, timeout=120, max_attempts=3, backoff=10.0)
def image_process_task(job, payload: ImagePayload) -> dict:
    return image_process_run(job=job, file_id=payload.file)
