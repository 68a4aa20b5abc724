"""What the uploads app announces (common/domain_events.py). The realtime events its
clients receive are uploads/events.py."""

from __future__ import annotations

from common.domain_events import DomainEvent, domain_event


@domain_event("file.stored")
class FileStored(DomainEvent):
    """A file is stored and `ready` (an upload, or a large image's processed JPEG).
    `original_name`: sanitised; `mime_type`: sniffed from the content."""

    tenant_id: str
    file_id: str
    original_name: str
    size: int
    mime_type: str
    sha256: str
    uploaded_by_id: int | None = None
    actor_id: int | None = None
