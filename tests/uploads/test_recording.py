"""Recording uploaded files (uploads.services.files_record): the quota read under the tenant's lock
in one round trip, the rows in one INSERT, and only the `ready` commit waited on to disk."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from common.domain_events import captured
from uploads.errors import StorageQuotaExceeded
from uploads.models import File
from uploads.pipeline.sniffing import KINDS
from uploads.pipeline.storage import object_delete
from uploads.services import Incoming, _storage_used_locked, files_record

from .conftest import settings_set


def incoming(size: int, name: str = "a.pdf") -> Incoming:
    data = b"%PDF" + b"0" * (size - 4)
    return Incoming(ContentFile(data), name, KINDS["pdf"], "pdf", size, hashlib.sha256(data).hexdigest())


def test_two_files_are_recorded_in_three_statements(acme):
    from webhooks.services import subscribed_events, subscriptions_cached

    # file.stored's webhooks look-up is cached per process (not kept while invalidations of the
    # tenant's creation are still arriving): warmed, so that what is counted is the recording.
    deadline = time.monotonic() + 5
    while not subscriptions_cached(acme) and time.monotonic() < deadline:
        subscribed_events(acme)
        time.sleep(0.02)
    with tenant_context(acme), CaptureQueriesContext(connection) as queries:
        files = files_record(tenant=acme, user=acme.owner, incoming=[incoming(1000), incoming(100, "b.pdf")])
    try:
        statements = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].split()[0] not in ("SET", "BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
        ]
        assert [sql.split()[0] for sql in statements] == ["SELECT", "INSERT", "UPDATE"], statements
        assert "pg_advisory_xact_lock" in statements[0] and "SUM" in statements[0]
        assert [f.status for f in files] == ["ready", "ready"]
    finally:
        for file in files:
            object_delete(file.key)


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def durable_session() -> None:
    """This connection waits for the disk at commit (whatever the server's default: the test
    profile's PostgreSQL runs with synchronous_commit off)."""
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO on")


def test_the_reservation_alone_skips_waiting_for_the_disk(committed, acme):
    durable_session()
    with tenant_context(acme), CaptureQueriesContext(connection) as queries:
        (file,) = files_record(tenant=acme, user=acme.owner, incoming=[incoming(1000)])
        after = synchronous_commit()  # the same connection, once recorded
    object_delete(file.key)

    (locking,) = [q["sql"] for q in queries.captured_queries if "pg_advisory_xact_lock" in q["sql"]]
    assert "set_config('synchronous_commit', 'off', true)" in locking
    assert after == "on"


def test_inside_a_callers_transaction_its_commit_is_left_as_it_is(acme):
    durable_session()
    with tenant_context(acme), transaction.atomic():
        (file,) = files_record(tenant=acme, user=acme.owner, incoming=[incoming(1000)])
        assert synchronous_commit() == "on"
    object_delete(file.key)


def test_the_quota_sum_is_read_after_the_lock_so_a_waiting_upload_sees_the_one_before(committed, acme):
    """The lock and the sum go in one round trip; the sum is a statement of its own, so its
    snapshot is taken once the lock is held and includes what the holder committed."""
    settings_set(acme, storage_quota_mb=1)
    outcome = {}

    def second_upload():
        try:
            with tenant_context(acme):
                files_record(tenant=acme, user=acme.owner, incoming=[incoming(400_000, "second.pdf")])
            outcome["error"] = None
        except StorageQuotaExceeded as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    with tenant_context(acme):
        with transaction.atomic():
            assert _storage_used_locked(acme) == 0
            File.objects.create(
                key=f"tenants/{acme.pk}/uploads/{'0' * 32}.pdf",
                original_name="first.pdf",
                size=700_000,
                mime_type="application/pdf",
                sha256="0" * 64,
                uploaded_by=acme.owner,
            )
            second = threading.Thread(target=second_upload)
            second.start()
            deadline = time.monotonic() + 10
            with connection.cursor() as cursor:
                while True:  # until the second upload waits on the tenant's lock
                    cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                    if cursor.fetchone()[0] or time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
        second.join(timeout=10)

    assert isinstance(outcome.get("error"), StorageQuotaExceeded), outcome
    assert outcome["error"].details["used_bytes"] == 700_000
    with tenant_context(acme):
        assert list(File.objects.values_list("original_name", flat=True)) == ["first.pdf"]


def test_recorded_files_are_announced_once_ready_and_a_refused_one_is_not(acme):
    settings_set(acme, storage_quota_mb=1)
    with tenant_context(acme), captured() as events:
        (file,) = files_record(tenant=acme, user=acme.owner, incoming=[incoming(1000)])
        with pytest.raises(StorageQuotaExceeded):
            files_record(tenant=acme, user=acme.owner, incoming=[incoming(2 * 1024 * 1024, "big.pdf")])
    object_delete(file.key)
    assert [(e.name, e.file_id, e.size, e.uploaded_by_id, e.tenant_id) for e in events] == [
        ("file.stored", str(file.pk), 1000, acme.owner.pk, str(acme.pk))
    ]
