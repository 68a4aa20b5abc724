"""Compacting a document's update log into a snapshot (the `doc.compact` job, queued every
DOCUMENTS["COMPACT_EVERY_UPDATES"] updates; idempotent, so at-least-once delivery is fine).

In one transaction, with the document's row locked (appends wait, briefly): the snapshot and
every update up to `last_seq` are merged into one new snapshot `up_to_seq = last_seq`, and what
it replaces is deleted; `size` becomes the snapshot's bytes plus nothing (no update is newer).
Open rooms are unaffected: their content already holds those updates, and a catch-up that asks
for updates the snapshot replaced gets the snapshot instead (selectors.document_log)."""

from __future__ import annotations

from django.db import transaction

from .models import Document, DocumentSnapshot, DocumentUpdate
from .ydoc import doc_build


def document_compact(*, document_id) -> dict:
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None:
            return {"compacted": 0}
        snapshot = DocumentSnapshot.objects.filter(document=document).order_by("-up_to_seq").first()
        floor = snapshot.up_to_seq if snapshot is not None else 0
        updates = list(
            DocumentUpdate.objects.filter(document=document, seq__gt=floor, seq__lte=document.last_seq)
            .order_by("seq")
            .values_list("data", flat=True)
        )
        if not updates:
            return {"compacted": 0}
        parts = ([bytes(snapshot.state)] if snapshot is not None else []) + [bytes(data) for data in updates]
        state = doc_build(None, parts).get_update()  # re-encoded: deleted content collected
        DocumentSnapshot.objects.create(document=document, state=state, up_to_seq=document.last_seq)
        DocumentSnapshot.objects.filter(document=document, up_to_seq__lt=document.last_seq).delete()
        DocumentUpdate.objects.filter(document=document, seq__lte=document.last_seq).delete()
        Document.objects.filter(pk=document.pk).update(size=len(state))
    return {"compacted": len(updates), "up_to_seq": document.last_seq, "bytes": len(state)}
