"""The report job: thin — it builds the report its payload names."""

from __future__ import annotations

from uuid import UUID

from jobs.registry import Payload, job_task
from jobs.runner import JobTimeout

from .services import report_build, report_fail


class ReportPayload(Payload):
    report_id: UUID


@job_task("report.generate", schema=ReportPayload, timeout=300, max_attempts=3, backoff=5.0)
def report_generate(job, payload: ReportPayload) -> dict:
    try:
        return report_build(tenant=job.tenant, report_id=payload.report_id, job=job)
    except (Exception, JobTimeout) as exc:
        if job.attempt >= job.max_attempts:
            report_fail(report_id=payload.report_id, reason=str(exc) or type(exc).__name__)
        raise
