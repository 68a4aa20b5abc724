"""Removing what no File stands for, in the current tenant's schema:

1. presigns over an hour old that never became a File (never confirmed, or
   refused at confirm), with any object uploaded for them;
2. Files stuck `pending` for over an hour (a process died between recording
   and storing), with their object;
3. with `sweep`, every object under `tenants/<id>/uploads/` that no File or
   presign names: objects of deleted records whose deletion failed, or of a
   crash between storing and recording.

Run by the `uploads.cleanup` job (queued by presigns, one per tenant per hour)
and nightly by the maintenance step `orphaned_files` (with the sweep).
Returns how many presigns, files and objects it removed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from .models import File, PendingUpload
from .pipeline.storage import object_delete, object_keys, object_size, uploads_prefix

BATCH = 500


def uploads_cleanup(*, tenant, now: datetime, sweep: bool = True) -> int:
    cutoff = now - timedelta(seconds=settings.UPLOADS["ABANDONED_AFTER_SECONDS"])
    removed = 0
    while True:
        with transaction.atomic():
            presigns = list(
                PendingUpload.objects.select_for_update(skip_locked=True)
                .filter(created_at__lt=cutoff)
                .filter(Q(confirmed_at__isnull=True) | Q(confirmed_at__lt=cutoff))[:BATCH]
            )
            if not presigns:
                break
            recorded = set(File.objects.filter(key__in=[p.key for p in presigns]).values_list("key", flat=True))
            for presign in presigns:
                if presign.key not in recorded and object_size(presign.key) is not None:
                    object_delete(presign.key)
            PendingUpload.objects.filter(pk__in=[p.pk for p in presigns]).delete()
            removed += len(presigns)
    for file in list(File.objects.filter(status=File.Status.PENDING, updated_at__lt=cutoff)[: BATCH * 10]):
        object_delete(file.key)
        file.delete()
        removed += 1
    if sweep:
        keys = object_keys(uploads_prefix(tenant))
        for start in range(0, len(keys), BATCH):
            batch = keys[start : start + BATCH]
            known = set(File.objects.filter(key__in=batch).values_list("key", flat=True))
            known |= set(PendingUpload.objects.filter(key__in=batch).values_list("key", flat=True))
            for key in batch:
                if key not in known:
                    object_delete(key)
                    removed += 1
    return removed
