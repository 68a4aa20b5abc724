"""The purge of a tenant whose deletion is due (tenants.services.tenant_deletion_request set it
pending_deletion; the sweep `tenant.purge_due`, lifecycle/deletion_tasks.py, runs this every few
minutes; an operator's "Delete now" queues the sweep at once).

What goes, in this order, each step idempotent (a purge killed mid-way is finished by the next
sweep, which finds the tenant still there and carries on):

1. the purge record: one `tenants.AuditEvent` (action tenant.purge) written first. From then on
   the tenant can no longer be restored; it keeps who asked and when, and adds up what each
   step removed. It is the one trace left: when the tenant row goes, its `tenant` becomes NULL
   and `tenant_slug` stays.
2. files: every object under `tenants/<id>/` in the default storage and the uploads storage
   (uploads, reports, imports, exports all live there), local disk or S3.
3. the schema: `DROP SCHEMA … CASCADE` (its webhooks, files rows, rooms, exports, …). A pooled
   schema was renamed to the tenant's when it was claimed: it is the tenant's like any other.
4. Redis: every key that names the tenant — its id (`t:<id>:…`: event log, trim floor,
   presence, connections, tickets, usage counters, email quota; `throttle:*:<id>…`; the
   platform cache's `role:<id>:…`, `ref:<id>`), its id in hex, its schema (the default cache's
   `<schema>:…` keys) and, exactly, the platform cache's `ref:<slug>` and `host:<domain>` keys.
5. public rows, in batches then in one transaction: its jobs and queue entries, its audit
   events (but the purge record), its API keys' service accounts (their tokens go with them),
   then the tenant row, whose cascade takes memberships, domains, schedules, API keys,
   invitations and tenant-bound tokens. `tenant.purged` is emitted in that transaction.
6. Redis once more after that commit (a request refused meanwhile may have cached the tenant).

A purge holds a PostgreSQL advisory lock on the tenant for its duration (two sweeps, or a sweep
and "Delete now", never purge one tenant at once); the lock dies with the connection.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.files.storage import Storage, storages
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tenants.utils import quote_schema_name, schema_context

from common.actors import SYSTEM, Actor
from common.domain_events import emit
from common.maintenance import rows_delete
from common.redis_client import redis_client
from jobs.models import Job, QueueEntry
from tenants.audit import audit_record
from tenants.cache import host_key, ref_key
from tenants.models import PURGE_ACTION, ApiKey, AuditEvent, Domain, Tenant
from tenants.provisioning import schema_is_present
from uploads.pipeline.storage import storage_is_s3
from webhooks.models import Endpoint

from .deletion_events import TenantPurged

logger = logging.getLogger("lifecycle")

REDIS_BATCH = 500


def storage_prefix(tenant_id) -> str:
    """Where every app keeps the tenant's objects (uploads, reports, imports, exports)."""
    return f"tenants/{tenant_id}/"


# --- the steps ------------------------------------------------------------------------------


def _storages() -> list[Storage]:
    aliases = dict.fromkeys(["default", settings.UPLOADS["STORAGE"]])
    return [storages[alias] for alias in aliases]


def storage_keys(storage: Storage, prefix: str) -> list[str]:
    """Every object name under `prefix` (a folder, recursively), on local disk or S3."""
    if storage_is_s3(storage):
        from common.compat.storages import s3_access

        client, bucket, s3_key = s3_access(storage)
        full = s3_key(prefix)
        location = len(full) - len(prefix)  # the storage's `location` comes before every name
        names = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=full):
            names += [item["Key"][location:] for item in page.get("Contents", [])]
        return names
    folder = prefix.rstrip("/")
    if not storage.exists(folder):
        return []
    folders, files = storage.listdir(folder)
    return [f"{folder}/{name}" for name in files] + [
        key for sub in folders for key in storage_keys(storage, f"{folder}/{sub}/")
    ]


def _files_remove(tenant_id) -> int:
    prefix, removed = storage_prefix(tenant_id), 0
    for storage in _storages():
        keys = storage_keys(storage, prefix)
        if storage_is_s3(storage):
            from common.compat.storages import s3_access

            client, bucket, s3_key = s3_access(storage)
            for start in range(0, len(keys), 1000):
                batch = [{"Key": s3_key(key)} for key in keys[start : start + 1000]]
                client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        else:
            for key in keys:
                storage.delete(key)
            _folders_remove(storage, prefix.rstrip("/"))
        removed += len(keys)
    return removed


def _folders_remove(storage: Storage, folder: str) -> None:
    """The empty folders left on local disk (deepest first)."""
    if not storage.exists(folder):
        return
    for sub in storage.listdir(folder)[0]:
        _folders_remove(storage, f"{folder}/{sub}")
    storage.delete(folder)


def _schema_drop(tenant: Tenant) -> dict[str, int]:
    """Drop the tenant's schema; counts its tables and webhooks (0 once dropped)."""
    connection.set_schema_to_public()
    if not schema_is_present(tenant.schema_name):
        return {}
    with schema_context(tenant.schema_name):
        try:
            with transaction.atomic():
                webhooks = Endpoint.objects.count()
        except DatabaseError:  # a schema not migrated that far
            webhooks = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [tenant.schema_name])
        tables = cursor.fetchone()[0]
        cursor.execute("SET LOCAL lock_timeout = '30s'")  # a worker still in it: wait, then the next sweep
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote_schema_name(tenant.schema_name)} CASCADE")
    connection.set_schema_to_public()
    return {"schema_tables": tables, "webhooks": webhooks}


def tenant_redis_keys(*, tenant_id, schema_name: str, slug: str, domains: list[str]) -> list[str]:
    """Every Redis key of the tenant (see the module's docstring), found by one SCAN."""
    tid = str(tenant_id)
    hex_id = tid.replace("-", "")
    schema_prefix = f"{schema_name}:"
    platform = caches["platform"]
    exact = {platform.make_key(ref_key(slug)), *(platform.make_key(host_key(d)) for d in domains)}
    found = []
    for raw in redis_client().scan_iter(count=1000):
        key = raw.decode() if isinstance(raw, bytes) else raw
        if tid in key or hex_id in key or key.startswith(schema_prefix) or key in exact:
            found.append(key)
    return found


def _redis_remove(*, tenant_id, schema_name: str, slug: str, domains: list[str]) -> int:
    keys = tenant_redis_keys(tenant_id=tenant_id, schema_name=schema_name, slug=slug, domains=domains)
    client = redis_client()
    for start in range(0, len(keys), REDIS_BATCH):
        client.unlink(*keys[start : start + REDIS_BATCH])
    return len(keys)


_LABELS = {
    "accounts.User": "service_accounts",
    "accounts.AuthToken": "auth_tokens",
    "tenants.Membership": "memberships",
    "tenants.Domain": "domains",
    "tenants.ApiKey": "api_keys",
    "tenants.Invitation": "invitations",
    "jobs.TenantSchedule": "schedules",
    "jobs.Job": "jobs",
    "jobs.QueueEntry": "queue_entries",
}


def _counted(removed: dict[str, int], by_model: dict[str, int]) -> None:
    for label, count in by_model.items():
        if label != Tenant._meta.label and count:
            name = _LABELS.get(label, label)
            removed[name] = removed.get(name, 0) + count


def _rows_remove(tenant: Tenant, record: AuditEvent, actor: Actor) -> dict[str, int]:
    """Step 5: the public rows, the tenant's last; returns the counts."""
    removed = {
        "queue_entries": rows_delete(QueueEntry.objects.filter(fair_key=tenant.pk)),
        "jobs": rows_delete(Job.objects.filter(tenant=tenant)),
        "audit_events": rows_delete(AuditEvent.objects.filter(tenant=tenant).exclude(pk=record.pk)),
    }
    with transaction.atomic():
        if not Tenant.objects.select_for_update().filter(pk=tenant.pk).exists():
            return removed
        service_accounts = list(ApiKey.objects.filter(tenant=tenant).values_list("user_id", flat=True))
        _counted(removed, get_user_model().objects.filter(pk__in=service_accounts).delete()[1])  # keys, tokens too
        _counted(removed, Tenant.objects.filter(pk=tenant.pk).delete()[1])  # memberships, domains, schedules, …
        _record_update(record, removed, state="purged", purged_at=timezone.now().isoformat())
        emit(
            TenantPurged(tenant_id=str(tenant.pk), slug=tenant.slug, removed=removed, actor_id=actor.user_id),
            actor=actor,
        )
    return removed


# --- the purge ------------------------------------------------------------------------------


@contextlib.contextmanager
def _purge_lock(tenant_id):
    """A session advisory lock on the tenant's purge: True if this connection holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [f"tenant_purge:{tenant_id}"])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [f"tenant_purge:{tenant_id}"])


def _record_update(record: AuditEvent, removed: dict[str, int], **fields) -> None:
    after = dict(record.after or {})
    totals = dict(after.get("removed") or {})
    for name, count in removed.items():
        totals[name] = totals.get(name, 0) + count
    after.update(fields, removed=totals)
    record.after = after
    AuditEvent.objects.filter(pk=record.pk).update(after=after)


def _purge_begin(tenant_id, actor: Actor, now: datetime) -> tuple[Tenant, AuditEvent] | None:
    """The tenant and its purge record (created now, or the one a killed purge left), or None
    when there is nothing to purge: no such tenant, not pending deletion, or not due yet."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().filter(pk=tenant_id).first()
        if tenant is None or tenant.status != Tenant.Status.PENDING_DELETION:
            return None
        record = AuditEvent.objects.filter(tenant=tenant, action=PURGE_ACTION).first()
        if record is not None:
            return tenant, record
        if tenant.deletion_due_at is None or tenant.deletion_due_at > now:
            return None
        request = (
            AuditEvent.objects.filter(tenant=tenant, action="tenant.deletion_request")
            .order_by("-created_at", "-id")
            .first()
        )
        expedite = AuditEvent.objects.filter(tenant=tenant, action="tenant.deletion_expedite").first()
        record = audit_record(
            tenant=tenant,
            actor=actor,
            action=PURGE_ACTION,
            target=f"tenant:{tenant.pk}",
            before={"slug": tenant.slug, "name": tenant.name, "schema_name": tenant.schema_name},
            after={
                "state": "started",
                "requested_by": request.actor_email if request else None,
                "requested_at": (tenant.deletion_requested_at or now).isoformat(),
                "deletion_due_at": tenant.deletion_due_at.isoformat(),
                "expedited_by": expedite.actor_email if expedite else None,
                "started_at": now.isoformat(),
                "removed": {},
            },
        )
        return tenant, record


def tenant_purge(*, tenant_id, actor: Actor = SYSTEM, now: datetime | None = None) -> dict[str, int] | None:
    """Purge one tenant pending deletion and due (or whose purge began); returns what this run
    removed, or None when there was nothing to do (or another purge of it is running)."""
    now = now or timezone.now()
    connection.set_schema_to_public()
    with _purge_lock(tenant_id) as held:
        if not held:
            return None
        begun = _purge_begin(tenant_id, actor, now)
        if begun is None:
            return None
        tenant, record = begun
        domains = list(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True))
        keys = {"tenant_id": tenant.pk, "schema_name": tenant.schema_name, "slug": tenant.slug, "domains": domains}
        removed: dict[str, int] = {}
        for step in (
            lambda: {"files": _files_remove(tenant.pk)},
            lambda: _schema_drop(tenant),
            lambda: {"redis_keys": _redis_remove(**keys)},
        ):
            done = step()
            _record_update(record, done)
            removed.update(done)
        for name, count in _rows_remove(tenant, record, actor).items():
            removed[name] = removed.get(name, 0) + count

        def again() -> None:
            late = _redis_remove(**keys)
            if late:
                _record_update(record, {"redis_keys": late})

        transaction.on_commit(again)  # autocommit here: runs now
    logger.info("tenant %s (%s) purged: %s", tenant.slug, tenant.pk, removed)
    return removed


def tenants_purge_due(*, now: datetime | None = None) -> dict:
    """The sweep: purge every tenant pending deletion whose due time passed (and finish any
    purge a killed run left). One failing does not stop the others; it is raised after them,
    and the next sweep tries it again."""
    now = now or timezone.now()
    started = AuditEvent.objects.filter(action=PURGE_ACTION, tenant__isnull=False).values_list("tenant_id", flat=True)
    due = Tenant.objects.filter(status=Tenant.Status.PENDING_DELETION, deletion_due_at__lte=now).values_list(
        "pk", flat=True
    )
    purged, failed = [], []
    for tenant_id in dict.fromkeys([*started, *due]):
        try:
            if tenant_purge(tenant_id=tenant_id, now=now) is not None:
                purged.append(str(tenant_id))
        except Exception:
            logger.exception("purge of tenant %s failed; the next sweep carries on", tenant_id)
            failed.append(str(tenant_id))
    if failed:
        raise RuntimeError(f"purge failed for tenants {', '.join(failed)} (purged: {len(purged)})")
    return {"purged": purged}
