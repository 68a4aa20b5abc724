"""Documents' jobs: the throttled `doc.updated` announcement and the compaction of the update log."""

from __future__ import annotations

from django.db import transaction

from common.domain_events import emit
from jobs.registry import Payload, job_task

from .compaction import document_compact
from .domain_events import DocumentUpdated
from .models import Document


class DocumentPayload(Payload):
    document_id: str


@job_task("doc.announce", schema=DocumentPayload, timeout=30, max_attempts=3, backoff=2.0)
def document_announce(job, payload: DocumentPayload) -> dict:
    """Emit `doc.updated` for everything stored up to now (nothing if the document is gone)."""
    with transaction.atomic():
        document = Document.objects.filter(pk=payload.document_id).first()
        if document is None:
            return {"announced": None}
        emit(
            DocumentUpdated(
                tenant_id=str(job.tenant.pk),
                document_id=str(document.pk),
                title=document.title,
                seq=document.last_seq,
                size=document.size,
            )
        )
    return {"announced": document.last_seq}


@job_task("doc.compact", schema=DocumentPayload, timeout=300, max_attempts=3, backoff=5.0)
def document_compact_task(job, payload: DocumentPayload) -> dict:
    return document_compact(document_id=payload.document_id)
