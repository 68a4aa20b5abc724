"""What the lifecycle app announces (common/domain_events.py). Each carries `tenant_id`, so
webhooks offer them (webhooks/catalogue.py; connected in LifecycleConfig.ready())."""

from __future__ import annotations

from common.domain_events import DomainEvent, domain_event


@domain_event("export.requested")
class ExportRequested(DomainEvent):
    tenant_id: str
    export_id: str
    job_id: int
    actor_id: int | None = None


@domain_event("export.completed")
class ExportCompleted(DomainEvent):
    """The archive is stored: `size` bytes, `sha256` of the file, `rows` and `files` inside."""

    tenant_id: str
    export_id: str
    size: int
    sha256: str
    rows: int
    files: int
    actor_id: int | None = None


@domain_event("export.failed")
class ExportFailed(DomainEvent):
    tenant_id: str
    export_id: str
    reason: str
    actor_id: int | None = None
