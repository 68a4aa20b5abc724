"""Reports a tenant asked for: tenant data, in each tenant's schema.

A report is built by the `report.generate` job (reports/tasks.py) into a CSV in
the default storage under `tenants/<tenant id>/reports/<report id>.csv`. The
Job lives in `public` and may be pruned by maintenance, so the report keeps its
own outcome (state, rows, file, finish time); while it waits or runs, its state
is read from the job (reports/selectors.py).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Report(models.Model):
    class Kind(models.TextChoices):
        MEMBERS = "members", "Members"
        ACTIVITY = "activity", "Activity per day"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True, help_text="Validated by reports.kinds; defaults filled in.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    failed_reason = models.TextField(blank=True, default="")
    file_key = models.CharField(
        max_length=300, blank=True, default="", help_text="Key in the default storage; empty until the CSV is stored."
    )
    rows = models.PositiveIntegerField(null=True, blank=True, help_text="Data rows in the CSV (header aside).")
    # Users and jobs live in `public`: no database constraint from a tenant schema (see realtime.models).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    job_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} report {self.pk} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.COMPLETED, self.State.FAILED, self.State.CANCELLED)
