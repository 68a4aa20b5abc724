"""Jobs and the queue they wait in. Both live in the public schema.

`Job` is the record users and operators see: its state, progress, attempts,
result and failure. `QueueEntry` is the broker's row for a job that still has
to run (or a plain django-q2 task): the qcluster leases it, and it is deleted
in the same transaction that records the job's outcome. See jobs/broker.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Priority(models.IntegerChoices):
    HIGH = 0, "high"
    DEFAULT = 1, "default"
    LOW = 2, "low"

    @classmethod
    def from_name(cls, name: str) -> Priority:
        return {p.label: p for p in cls}[name]


class Job(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        SCHEDULED = "scheduled"
        ACTIVE = "active"
        RETRYING = "retrying"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    WAITING_STATES = (State.QUEUED, State.SCHEDULED, State.RETRYING)
    FINISHED_STATES = (State.COMPLETED, State.FAILED, State.CANCELLED)

    # Few indexes, on purpose: every claim and every outcome rewrites the row, and each
    # index costs an insert per write. The tenant is indexed by jobs_tenant_state.
    tenant = models.ForeignKey(
        "tenants.Tenant",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_index=False,
        related_name="jobs",
        help_text="Empty for platform jobs (run in public).",
    )
    task = models.CharField(max_length=100)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.DEFAULT)
    progress = models.SmallIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    timeout = models.PositiveIntegerField(default=300, help_text="Seconds one attempt may run.")
    critical = models.BooleanField(default=False, help_text="A final failure is reported to operators.")
    failed_reason = models.TextField(blank=True, default="")
    result = models.JSONField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001  NULL: no key (unique when set)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, db_index=False, on_delete=models.SET_NULL, related_name="+"
    )
    worker = models.CharField(
        max_length=200, blank=True, default="", help_text="host:pid of the worker running the current attempt."
    )
    run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_on = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tenant", "state", "-id"], name="jobs_tenant_state"),
            models.Index(
                fields=["state", "finished_on"], condition=Q(finished_on__isnull=False), name="jobs_state_finished"
            ),
            models.Index(fields=["created_by"], condition=Q(created_by__isnull=False), name="jobs_created_by"),
            models.Index(fields=["worker"], condition=Q(state="active"), name="jobs_active_worker"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"],
                name="jobs_idempotency_unique",
                condition=Q(idempotency_key__isnull=False),
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk} ({self.state})"

    @property
    def priority_name(self) -> str:
        return Priority(self.priority).label


class QueueEntry(models.Model):
    """One delivery-pending unit of work for the qcluster.

    Ready entries carry a fairness stamp `vt` (virtual time, per tenant) and are
    taken in (priority, vt) order; delayed entries (`vt` NULL) get their stamp
    when they come due. A lease is `leased_until` in the future; a lease that
    runs out makes the entry deliverable again (at-least-once). The lease and
    `deliveries` are in no index, and the table leaves half of each page free
    (fillfactor 50, migration 0004): leasing an entry is a HOT update, one new
    row version on the same page and no index entry, where rewriting an indexed
    column cost an entry in each of its four indexes.

    `held`: the tenant is suspended (jobs.services.tenant_jobs_hold). A held
    entry has no `vt`, so it is never dequeued, promoted or claimed; releasing
    it (reactivation) lets the next tick give it a fresh `vt`. Its job keeps its
    state and its attempts.
    """

    job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.CASCADE, related_name="entry")
    # NULL when the entry is a Job's (the job row holds the task).
    payload = models.TextField(null=True, blank=True, help_text="A plain django-q2 task (signed).")  # noqa: DJ001
    fair_key = models.UUIDField(help_text="Tenant id; the nil UUID for platform work.")
    priority = models.SmallIntegerField(default=Priority.DEFAULT)
    vt = models.BigIntegerField(null=True, blank=True)
    ready_at = models.DateTimeField(help_text="When it comes due (delayed jobs, retry backoff).")
    leased_until = models.DateTimeField(null=True, blank=True, help_text="Held by a worker until then.")
    lease_seconds = models.PositiveIntegerField(default=360)
    deliveries = models.PositiveIntegerField(default=0)
    held = models.BooleanField(default=False, db_default=False, help_text="Waits: its tenant is suspended.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "queue entries"
        indexes = [
            models.Index(fields=["priority", "vt", "id"], condition=Q(vt__isnull=False), name="jobs_q_ready"),
            models.Index(fields=["ready_at"], condition=Q(vt__isnull=True, held=False), name="jobs_q_delayed"),
            models.Index(fields=["fair_key"], condition=Q(held=True), name="jobs_q_held"),
            models.Index(fields=["fair_key", "vt"], name="jobs_q_fair"),
        ]

    def __str__(self) -> str:
        return f"queue entry {self.pk} (job {self.job_id})" if self.job_id else f"queue entry {self.pk}"


class TenantSchedule(models.Model):
    """A cron schedule of one tenant, in the tenant's own time zone."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=100)
    task = models.CharField(max_length=100)
    payload = models.JSONField(default=dict, blank=True)
    cron = models.CharField(max_length=100, help_text="Evaluated in the tenant's time zone setting.")
    enabled = models.BooleanField(default=True)
    next_run = models.DateTimeField(db_index=True)
    last_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="jobs_schedule_name_unique")]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.name} ({self.cron})"
