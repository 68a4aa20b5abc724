"""Exports: asking for one, building it (the `tenant.export` job), reading them.

    export, job = export_request(tenant=tenant, user=request.user, actor=actor)

The Export row (the tenant's schema) and its Job (public) are written in one transaction: both
exist, or neither. One export per tenant is under way at a time (409 export_in_progress): the
check runs under a lock on the tenant's row, and an export whose job died (timed out, cancelled,
killed on its last attempt) no longer counts. `export_run` builds the archive (lifecycle/archive.py)
in a temporary file and stores it at `tenants/<tenant id>/exports/<export id>.zip`; then only the
newest settings.LIFECYCLE_EXPORTS_KEPT finished exports are kept (older rows and archives go).
A failed export stays failed and keeps no archive (what an attempt stored goes); only its own job
builds it, so a retried job (POST /api/jobs/<id>/retry) builds nothing.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from common.actors import Actor
from common.domain_events import emit
from jobs.models import Job
from jobs.services import job_enqueue
from tenants.models import Tenant

from .archive import archive_write
from .domain_events import ExportCompleted, ExportFailed, ExportRequested
from .errors import ExportInProgress, ExportNotFound, ExportNotReady
from .models import Export

logger = logging.getLogger(__name__)

TASK = "tenant.export"
DEAD_JOB_STATES = (Job.State.FAILED, Job.State.CANCELLED, Job.State.COMPLETED)  # and no archive recorded


def export_file_key(tenant: Tenant, export: Export) -> str:
    """Where an export's archive lives: from ids the platform made, never from user input."""
    return f"tenants/{tenant.pk}/exports/{export.pk}.zip"


# --- reads (in the tenant's schema, from any schema) ---------------------------------------


def export_state(export: Export, job: Job | None) -> str:
    """The export's own status once finished; a pending/running export whose job ended
    without it recording an outcome (timeout, killed worker) is failed."""
    if export.status in Export.ACTIVE and (job is None or job.state in DEAD_JOB_STATES):
        return Export.Status.FAILED if export.job_id else export.status
    if export.status == Export.Status.PENDING and job is not None and job.state == Job.State.ACTIVE:
        return Export.Status.RUNNING
    return export.status


def exports_with_jobs(tenant: Tenant, exports) -> list[tuple[Export, Job | None]]:
    """Each export with its job: the tenant's own only (a job id names a row in `public`)."""
    exports = list(exports)
    jobs = Job.objects.filter(tenant=tenant).in_bulk([e.job_id for e in exports if e.job_id])
    return [(export, jobs.get(export.job_id)) for export in exports]


def export_list(*, tenant: Tenant) -> list[tuple[Export, Job | None]]:
    """The tenant's exports, newest first, each with its job."""
    with schema_context(tenant.schema_name):
        return exports_with_jobs(tenant, Export.objects.order_by("-created_at"))


def export_get(*, tenant: Tenant, export_id) -> tuple[Export, Job | None]:
    """One of the tenant's exports (another tenant's id is simply not in this schema: 404)."""
    with schema_context(tenant.schema_name):
        export = Export.objects.filter(pk=export_id).first()
        if export is None:
            raise ExportNotFound(details={"export": str(export_id)})
        return exports_with_jobs(tenant, [export])[0]


def export_file(*, tenant: Tenant, export: Export) -> tuple[str, str]:
    """(storage key, download name) of a finished export (409 export_not_ready before)."""
    if export.status != Export.Status.DONE or not export.file_key:
        raise ExportNotReady(details={"export": str(export.pk), "status": export.status})
    if not export.file_key.startswith(f"tenants/{tenant.pk}/exports/"):  # never another tenant's file
        raise ExportNotFound(details={"export": str(export.pk)})
    return export.file_key, f"{tenant.slug}-export-{export.finished_at:%Y-%m-%d}-{str(export.pk)[:8]}.zip"


# --- writes ---------------------------------------------------------------------------------


def _dead_exports_fail(tenant: Tenant) -> None:
    """Record as failed the exports whose job ended without them (they block nothing then)."""
    for export, job in exports_with_jobs(tenant, Export.objects.filter(status__in=Export.ACTIVE)):
        if export_state(export, job) == Export.Status.FAILED:
            reason = (job.failed_reason if job else "") or "its job ended without an archive"
            export_fail(tenant=tenant, export_id=export.pk, reason=reason)


def export_request(*, tenant: Tenant, user, actor: Actor) -> tuple[Export, Job]:
    """Record an export and queue `tenant.export` (409 export_in_progress: one at a time)."""
    with transaction.atomic():
        list(Tenant.objects.select_for_update(no_key=True).filter(pk=tenant.pk).values_list("pk", flat=True))
        with schema_context(tenant.schema_name):
            _dead_exports_fail(tenant)
            running = Export.objects.filter(status__in=Export.ACTIVE).first()
            if running is not None:
                raise ExportInProgress(details={"export": str(running.pk), "job_id": running.job_id})
            export = Export.objects.create(requested_by=user)
            job = job_enqueue(tenant, TASK, {"export_id": str(export.pk)}, user=user)
            export.job_id = job.pk
            export.save(update_fields=["job_id"])
            emit(
                ExportRequested(
                    tenant_id=str(tenant.pk), export_id=str(export.pk), job_id=job.pk, actor_id=actor.user_id
                ),
                actor=actor,
            )
    return export, job


def _outcome(export: Export) -> dict:
    return {"export": str(export.pk), "size": export.size, "sha256": export.sha256, "rows": export.rows}


def export_run(*, tenant: Tenant, export_id, job) -> dict:
    """Build and store the archive (runs in the tenant's schema, in the qcluster), with progress.
    A re-delivered job whose export is already done returns its outcome as it is."""
    from jobs.runner import JobFailure

    export = Export.objects.filter(pk=export_id).first()
    if export is None:
        raise JobFailure(f"export_not_found: {export_id}", retry=False)
    if export.status == Export.Status.DONE:
        return _outcome(export)
    if export.status == Export.Status.FAILED or export.job_id != getattr(job, "id", export.job_id):
        # A failed export stays failed (its job retried through /api/jobs/<id>/retry by an admin, or
        # another job naming it, would build an archive no owner asked for, beside the one-at-a-time check).
        raise JobFailure(f"export_not_runnable: {export_id} is {export.status} (ask for a new export)", retry=False)
    Export.objects.filter(pk=export.pk).update(status=Export.Status.RUNNING, failed_reason="")
    job.progress(0, "reading tables")
    with tempfile.TemporaryFile() as raw:
        manifest = archive_write(tenant=tenant, export_id=str(export.pk), out=raw, progress=job.progress)
        raw.seek(0)
        digest = hashlib.sha256()
        while chunk := raw.read(1024 * 1024):
            digest.update(chunk)
        size = raw.tell()
        raw.seek(0)
        key = export_file_key(tenant, export)
        if default_storage.exists(key):  # an earlier attempt stored it, then died
            default_storage.delete(key)
        stored = default_storage.save(key, File(raw, name=key))
    export.status, export.file_key, export.size, export.sha256 = Export.Status.DONE, stored, size, digest.hexdigest()
    export.rows = sum(table["rows"] for table in manifest["tables"])
    export.files, export.finished_at, export.failed_reason = len(manifest["files"]), timezone.now(), ""
    with transaction.atomic():
        export.save(
            update_fields=["status", "file_key", "size", "sha256", "rows", "files", "finished_at", "failed_reason"]
        )
        emit(
            ExportCompleted(
                tenant_id=str(tenant.pk),
                export_id=str(export.pk),
                size=size,
                sha256=export.sha256,
                rows=export.rows,
                files=export.files,
            )
        )
    exports_prune(keep=settings.LIFECYCLE_EXPORTS_KEPT)
    job.progress(100, f"{export.rows} rows, {export.files} files")
    return _outcome(export)


def export_fail(*, tenant: Tenant, export_id, reason: str, job_id: int | None = None) -> None:
    """The job's last attempt failed (or it died): the export records it, once (given `job_id`: only
    if that job is the export's own)."""
    with transaction.atomic():
        exports = Export.objects.filter(pk=export_id, status__in=Export.ACTIVE)
        updated = (exports if job_id is None else exports.filter(job_id=job_id)).update(
            status=Export.Status.FAILED, failed_reason=reason[:2000], finished_at=timezone.now()
        )
        if updated:
            emit(ExportFailed(tenant_id=str(tenant.pk), export_id=str(export_id), reason=reason[:500]))
            # An attempt may have stored (part of) the archive before it died: a failed export keeps none.
            key = export_file_key(tenant, Export(pk=export_id))
            transaction.on_commit(lambda: _storage_delete(key))


def _storage_delete(key: str) -> None:
    try:
        if default_storage.exists(key):
            default_storage.delete(key)
    except Exception:
        logger.warning("could not delete %s of a failed export", key, exc_info=True)


def exports_prune(*, keep: int) -> int:
    """Keep the `keep` newest finished exports of the current schema's tenant; delete the
    others and their archives (the archive once the row's deletion commits). Returns how many went."""
    finished = Export.objects.exclude(status__in=Export.ACTIVE).order_by("-created_at", "-pk")
    old = list(finished.values_list("pk", "file_key")[keep:])
    if not old:
        return 0
    keys = [key for _, key in old if key]
    with transaction.atomic():
        Export.objects.filter(pk__in=[pk for pk, _ in old]).delete()
        transaction.on_commit(lambda: [default_storage.delete(key) for key in keys])
    return len(old)
