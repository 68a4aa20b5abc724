"""The export job: thin — it builds the export its payload names (lifecycle/exports.py)."""

from __future__ import annotations

from uuid import UUID

from jobs.registry import Payload, job_task
from jobs.runner import JobTimeout

from .exports import TASK, export_fail, export_run


class ExportPayload(Payload):
    export_id: UUID


@job_task(TASK, schema=ExportPayload, timeout=3600, max_attempts=3, backoff=30.0)
def tenant_export(job, payload: ExportPayload) -> dict:
    try:
        return export_run(tenant=job.tenant, export_id=payload.export_id, job=job)
    except (Exception, JobTimeout) as exc:
        if job.attempt >= job.max_attempts or not getattr(exc, "retry", True):
            export_fail(
                tenant=job.tenant, export_id=payload.export_id, reason=str(exc) or type(exc).__name__, job_id=job.id
            )
        raise
