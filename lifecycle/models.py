"""A tenant's exports: tenant data, in the tenant's own schema (lifecycle is a tenant app).

An `Export` is one archive of the tenant (lifecycle/archive.py), built by the `tenant.export`
job into the default storage at `tenants/<tenant id>/exports/<export id>.zip`. It lives in
the tenant's schema, so it goes with the tenant (a purge drops the schema and the prefix) and
another tenant's id is simply not there; the platform-host views read it inside the tenant's
schema (`schema_context`). The Job lives in `public` and may be pruned, so the export keeps
its own outcome; while it waits or runs, a job that died shows it as failed (selectors).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Export(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    ACTIVE = (Status.PENDING, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    # Users and jobs live in `public`: no database constraint from a tenant schema (see realtime.models).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    job_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    file_key = models.CharField(
        max_length=300,
        blank=True,
        default="",
        help_text="Key in the default storage; empty until the archive is stored.",
    )
    size = models.BigIntegerField(null=True, blank=True, help_text="Bytes of the archive.")
    sha256 = models.CharField(max_length=64, blank=True, default="", help_text="Of the archive file.")
    rows = models.BigIntegerField(null=True, blank=True, help_text="Table rows in the archive.")
    files = models.IntegerField(null=True, blank=True, help_text="Stored files in the archive.")
    failed_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"
