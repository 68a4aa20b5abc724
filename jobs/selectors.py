"""Reads of the job system."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .errors import JobNotFound
from .models import Job

STAT_STATES = {
    "waiting": [Job.State.QUEUED],
    "active": [Job.State.ACTIVE],
    "scheduled": [Job.State.SCHEDULED, Job.State.RETRYING],
    "completed": [Job.State.COMPLETED],
    "failed": [Job.State.FAILED],
    "cancelled": [Job.State.CANCELLED],
}


def job_list(*, tenant, user, sees_all: bool, state: str | None = None) -> QuerySet[Job]:
    """A tenant's jobs: all of them for its admins, the user's own otherwise."""
    jobs = Job.objects.filter(tenant=tenant)
    if not sees_all:
        jobs = jobs.filter(created_by=user)
    if state:
        jobs = jobs.filter(state=state)
    return jobs.order_by("-id")


def job_get(*, tenant, user, sees_all: bool, job_id: int) -> Job:
    job = job_list(tenant=tenant, user=user, sees_all=sees_all).filter(pk=job_id).first()
    if job is None:
        raise JobNotFound(details={"job": job_id})
    return job


def job_count(*, tenant) -> int:
    """The tenant's jobs still on record (maintenance prunes finished ones after JOBS_RETENTION_DAYS)."""
    return Job.objects.filter(tenant=tenant).count()


def _aggregates() -> dict:
    return {name: Count("id", filter=Q(state__in=states)) for name, states in STAT_STATES.items()}


def queue_stats(*, tenant) -> dict[str, int]:
    """{waiting, active, scheduled, completed, failed, cancelled} of one tenant."""
    return Job.objects.filter(tenant=tenant).aggregate(**_aggregates())


def queue_stats_platform() -> dict:
    """The same for the whole platform, and per tenant (operators)."""
    total = Job.objects.aggregate(**_aggregates())
    rows = Job.objects.values("tenant_id", "tenant__slug").annotate(**_aggregates()).order_by("tenant__slug")
    tenants = []
    for row in rows:
        tenant_id, slug = row.pop("tenant_id"), row.pop("tenant__slug")
        tenants.append({"tenant": str(tenant_id) if tenant_id else None, "slug": slug or "(platform)", **row})
    return {"total": total, "tenants": tenants}
