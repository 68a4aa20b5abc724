"""The purge sweep as a platform job: `tenant.purge_due`, fired by the platform schedule
`tenant-purge` (settings.TENANT_PURGE_SWEEP_CRON, every 5 minutes by default) and queued at once by
an operator's "Delete now" (lifecycle/deletion_subscribers.py). One attempt: the next sweep is the retry."""

from __future__ import annotations

from jobs.registry import job_task

from .deletion import tenants_purge_due


@job_task("tenant.purge_due", platform=True, timeout=3600, max_attempts=1, critical=True)
def purge_due_task(job, payload) -> dict:
    return tenants_purge_due()
