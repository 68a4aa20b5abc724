"""Collaborative documents: tenant data, in each tenant's schema (see docs/documents.md).

Invariants:
- A document's content is its DocumentSnapshot (if any) merged with every DocumentUpdate whose
  `seq` is above the snapshot's `up_to_seq`. Updates are appended, never changed; `seq` counts
  1, 2, 3… per document with no gap (taken from `Document.last_seq` in the inserting
  transaction), so a server process that missed one on Redis knows it did.
- `size` is the bytes of the snapshot plus the updates after it: the document-size limit.
- A private document admits its members only (DocumentMember), as private rooms do; its
  `viewer` members read and never write.
- A DocumentVersion holds the whole state it names (not only its seq: compaction deletes updates);
  restoring it appends a new update, the log is never rewound.
References to users (in `public`) have no database constraint (see realtime.models).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from . import domain_events  # noqa: F401  (doc.updated, declared before any app's ready(): webhooks')


class Document(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    is_private = models.BooleanField(default=False, help_text="Private documents admit their members only.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    size = models.BigIntegerField(default=0, help_text="Bytes of the snapshot and the updates after it.")
    last_seq = models.BigIntegerField(default=0, help_text="The seq of the latest update (0: none yet).")

    class Meta:
        ordering = ["-updated_at", "id"]

    def __str__(self) -> str:
        return self.title


class DocumentMember(models.Model):
    class Role(models.TextChoices):
        EDITOR = "editor", "Editor"
        VIEWER = "viewer", "Viewer"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EDITOR)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "user"], name="document_member_unique")]

    def __str__(self) -> str:
        return f"user {self.user_id} in document {self.document_id} ({self.role})"


class DocumentUpdate(models.Model):
    """One Yjs update (v1 encoding), as a client sent it, appended before it was broadcast."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="updates")
    seq = models.BigIntegerField()
    data = models.BinaryField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "seq"]
        constraints = [models.UniqueConstraint(fields=["document", "seq"], name="document_update_seq_unique")]

    def __str__(self) -> str:
        return f"update {self.seq} of document {self.document_id}"


class DocumentSnapshot(models.Model):
    """The merged state of a document's updates up to `up_to_seq` (written by compaction)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="snapshots")
    state = models.BinaryField()
    up_to_seq = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "-up_to_seq"]
        constraints = [models.UniqueConstraint(fields=["document", "up_to_seq"], name="document_snapshot_unique")]

    def __str__(self) -> str:
        return f"snapshot of document {self.document_id} up to {self.up_to_seq}"


class DocumentVersion(models.Model):
    """A named version: the whole document as one update (v1) at `seq`. Kept as the state, not only
    the seq, because compaction deletes the updates a seq names. Restoring one appends a new update."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    name = models.CharField(max_length=200)
    seq = models.BigIntegerField(help_text="The last update the version includes.")
    state = models.BinaryField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "-created_at", "id"]
        indexes = [models.Index(fields=["document", "-created_at"], name="document_version_recent")]

    def __str__(self) -> str:
        return f"version {self.name!r} of document {self.document_id} at {self.seq}"
