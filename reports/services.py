"""Asking for a report and building it.

    report, job = report_request(tenant=tenant, user=request.user, kind="members", params={})

The Report row (tenant schema) and its Job (public) are written in one
transaction: both exist, or neither. `report_build` runs in the qcluster, in
the tenant's schema, and stores the CSV through the default storage.
"""

from __future__ import annotations

import csv
import io
import tempfile

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from jobs.models import Job
from jobs.services import job_enqueue
from tenants.models import Tenant

from .kinds import report_kind_get, report_params_clean
from .models import Report

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def report_file_key(tenant: Tenant, report: Report) -> str:
    """Where a report's CSV lives: from ids the platform made, never from user input."""
    return f"tenants/{tenant.pk}/reports/{report.pk}.csv"


def report_request(*, tenant: Tenant, user, kind: str, params) -> tuple[Report, Job]:
    """Validate, record the report and queue `report.generate` (raises 400s; nothing queued then)."""
    kind_class = report_kind_get(kind)
    cleaned = report_params_clean(kind_class, params, tenant)
    with transaction.atomic():
        report = Report.objects.create(kind=kind, params=cleaned, created_by=user)
        job = job_enqueue(tenant, "report.generate", {"report_id": str(report.pk)}, user=user)
        report.job_id = job.pk
        report.save(update_fields=["job_id"])
    return report, job


def _cell(value):
    """Text a spreadsheet would run as a formula is quoted (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def report_build(*, tenant: Tenant, report_id, job) -> dict:
    """Write the report's CSV chunk by chunk (progress after each), store it, record the outcome.

    Runs in the tenant's schema. A re-delivery of a report already stored
    returns the same outcome without building it again."""
    report = Report.objects.get(pk=report_id)
    if report.state == Report.State.COMPLETED:
        return {"report": str(report.pk), "kind": report.kind, "rows": report.rows}
    Report.objects.filter(pk=report.pk).update(state=Report.State.RUNNING)
    builder = report_kind_get(report.kind)(tenant, report.params)
    total = builder.total()
    job.progress(0, f"0 of {total} rows")
    rows = 0
    with tempfile.TemporaryFile() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(builder.header)
        for chunk in builder.chunks():
            writer.writerows([_cell(value) for value in row] for row in chunk)
            rows += len(chunk)
            job.progress(min(99, 100 * rows / max(total, 1)), f"{rows} of {total} rows")
        text.flush()
        raw.seek(0)
        key = report_file_key(tenant, report)
        if default_storage.exists(key):  # an earlier attempt stored it, then died
            default_storage.delete(key)
        stored = default_storage.save(key, File(raw))
        text.detach()
    Report.objects.filter(pk=report.pk).update(
        state=Report.State.COMPLETED, file_key=stored, rows=rows, failed_reason="", finished_at=timezone.now()
    )
    job.progress(100, f"{rows} rows")
    return {"report": str(report.pk), "kind": report.kind, "rows": rows}


def report_fail(*, report_id, reason: str) -> None:
    """The job's last attempt failed: the report records it (it outlives its job)."""
    Report.objects.filter(pk=report_id).exclude(state=Report.State.COMPLETED).update(
        state=Report.State.FAILED, failed_reason=reason[:2000], finished_at=timezone.now()
    )
