"""Uploaded files and presigned uploads: tenant data, in each tenant's schema.

A `File` is an object in storage (key `tenants/<tenant id>/uploads/<uuid><ext>`)
and what the platform learned about it: size, the MIME type its content sniffed
as, SHA-256, who uploaded it. `pending` while it is being stored (it already
counts toward the quota, so two uploads cannot both squeeze under it), `ready`
once stored and checked; `rejected` is for checks that finish after the
request (none yet: every refusal today happens before a File is recorded).

A `PendingUpload` records a presign: the key handed to one user, so `confirm`
can check the key was presigned for this user in this tenant and is confirmed
once. The cleanup job removes those never confirmed after an hour.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class File(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        READY = "ready"
        REJECTED = "rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=200, unique=True, help_text="The storage key; made from ids, never from a name.")
    original_name = models.CharField(max_length=255, help_text="Sanitised; metadata only.")
    size = models.BigIntegerField()
    mime_type = models.CharField(max_length=100, help_text="Sniffed from the content, never the client's.")
    sha256 = models.CharField(max_length=64)
    # Users live in `public`: no database constraint from a tenant schema (see realtime.models).
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"


class PendingUpload(models.Model):
    key = models.CharField(max_length=200, unique=True)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, help_text="Fixed by the presign (the extension's type).")
    declared_size = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="The upload URL is refused after this.")
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"presign {self.key}"
