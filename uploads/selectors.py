"""Reads: a tenant's upload rules (from its settings), its files, its usage."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet, Sum
from django_tenants.utils import schema_context

from tenants.settings_schema import settings_effective

from .errors import FileNotFound
from .models import File

MIB = 1024 * 1024
COUNTED = (File.Status.PENDING, File.Status.READY)  # what occupies storage


@dataclass(frozen=True)
class UploadRules:
    max_bytes: int
    allowed_types: list[str]
    quota_bytes: int
    uploads_per_minute: int


def upload_rules(tenant) -> UploadRules:
    effective = settings_effective(tenant.settings)
    return UploadRules(
        max_bytes=effective["max_upload_mb"] * MIB,
        allowed_types=list(effective["allowed_file_types"]),
        quota_bytes=effective["storage_quota_mb"] * MIB,
        uploads_per_minute=effective["uploads_per_minute"],
    )


def storage_used() -> dict:
    """{storage_bytes, files} of the current schema's tenant."""
    totals = File.objects.filter(status__in=COUNTED).aggregate(bytes=Sum("size"), files=Count("id"))
    return {"storage_bytes": totals["bytes"] or 0, "files": totals["files"]}


def tenant_storage_usage(*, tenant) -> dict:
    """{storage_bytes, files} of `tenant`, from any schema (the usage API runs on the platform host)."""
    with schema_context(tenant.schema_name):
        return storage_used()


def file_list(*, status: str | None = None) -> QuerySet[File]:
    files = File.objects.all()
    files = files.filter(status=status) if status else files.filter(status=File.Status.READY)
    return files.order_by("-created_at", "id")


def file_get(*, file_id) -> File:
    """A ready file of the current tenant (another tenant's id is simply not here)."""
    file = File.objects.filter(pk=file_id, status=File.Status.READY).first()
    if file is None:
        raise FileNotFound(details={"file": str(file_id)})
    return file
