"""What the documents app announces (common/domain_events.py); webhooks offer it (its tenant_id).

Declared when documents.models is imported (Django imports every app's models before any app's
ready()), so webhooks' catalogue, read in its ready(), already has it."""

from __future__ import annotations

from common.domain_events import DomainEvent, domain_event


@domain_event("doc.updated")
class DocumentUpdated(DomainEvent):
    """The document changed (throttled: at most one per DOCUMENTS["UPDATED_EVENT_SECONDS"] per
    document, announcing every change up to `seq`; the last change is announced within that time
    plus the queue's latency). Fetch `GET /api/docs/{id}/content` for the content."""

    tenant_id: str
    document_id: str
    title: str
    seq: int
    size: int
    actor_id: int | None = None
