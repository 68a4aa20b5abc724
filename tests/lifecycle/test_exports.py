"""Tenant exports: who may ask (owners), isolation, one at a time; the archive a real qcluster
builds (manifest counts and hashes); and a restore of 10,000 rows and 100 files into a new tenant
that gives back the same rows and the same bytes (local storage, and S3 on moto)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
from types import SimpleNamespace

import httpx
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from accounts.services import token_create
from common.actors import SYSTEM, Actor
from common.domain_events import captured, subscribers_of
from jobs.models import Job
from jobs.runner import JobFailure
from jobs.services import job_enqueue
from lifecycle import archive as archive_module
from lifecycle.archive import Archive, tenant_file_keys, tenant_models, tenant_tables_unlisted
from lifecycle.domain_events import ExportCompleted, ExportFailed, ExportRequested
from lifecycle.errors import RestoreArchiveInvalid, RestoreIncompatible, RestoreTargetNotEmpty
from lifecycle.exports import export_fail, export_run
from lifecycle.models import Export
from lifecycle.restore import restore_archive
from realtime.models import Message, Notification, Room, RoomMember
from reports.models import Report
from tenants.api_keys import api_key_create
from tenants.cache import forget_role
from tenants.models import AuditEvent, Membership, Tenant
from tenants.services import tenant_create, tenant_deletion_request, tenant_suspend
from tests.factories import member_make, token_make
from tests.helpers import error_code, job_wait, tenant_files_remove
from uploads.models import File
from webhooks.catalogue import tenant_events
from webhooks.models import Endpoint

SECRET = "whsec_" + "c2VjcmV0LW5vdC1leHBvcnRlZA=="


def exports_path(tenant, *rest) -> str:
    return "/".join([f"/api/tenants/{tenant.pk}/exports", *map(str, rest)])


def export_ask(api, tenant, token=None):
    response = api.post(exports_path(tenant), token=token or tenant.owner_token)
    assert response.status_code == 202, response.content
    return response.json()


@pytest.fixture
def staff(acme, globex):
    admin = member_make(acme, role="admin", email="admin@acme.test")
    member = member_make(acme, email="member@acme.test")
    yield {"admin": token_make(admin), "member": token_make(member)}
    tenant_files_remove(acme)
    tenant_files_remove(globex)


def test_only_the_owner_may_ask_for_list_or_read_exports(api, acme, staff):
    with captured() as events:
        asked = export_ask(api, acme)
    assert [(e.name, e.export_id, e.actor_id) for e in events] == [("export.requested", asked["id"], acme.owner.pk)]
    assert asked["status"] == "pending" and Job.objects.get(pk=asked["job_id"]).task == "tenant.export"

    for token in (staff["admin"], staff["member"]):
        for method, path in (
            ("post", exports_path(acme)),
            ("get", exports_path(acme)),
            ("get", exports_path(acme, asked["id"])),
            ("get", exports_path(acme, asked["id"], "download")),
        ):
            response = getattr(api, method)(path, token=token)
            assert response.status_code == 403 and error_code(response) == "insufficient_role", (method, path)
    with schema_context(acme.schema_name):
        assert Export.objects.count() == 1
    listed = api.get(exports_path(acme), token=acme.owner_token).json()
    assert [e["id"] for e in listed["results"]] == [asked["id"]]
    detail = api.get(exports_path(acme, asked["id"]), token=acme.owner_token).json()
    assert (detail["status"], detail["download_url"], detail["size"], detail["sha256"]) == ("pending", None, None, "")
    download = api.get(exports_path(acme, asked["id"], "download"), token=acme.owner_token)
    assert download.status_code == 409 and error_code(download) == "export_not_ready"
    audit = AuditEvent.objects.get(tenant=acme, action="export.request")
    assert (audit.target, audit.actor_id) == (f"export:{asked['id']}", acme.owner.pk)


def test_another_tenants_owner_cannot_see_or_download_an_export(api, acme, globex, staff):
    asked = export_ask(api, acme)

    for path in (exports_path(globex, asked["id"]), exports_path(globex, asked["id"], "download")):
        response = api.get(path, token=globex.owner_token)
        assert response.status_code == 404 and error_code(response) == "export_not_found"
    assert api.get(exports_path(globex), token=globex.owner_token).json()["count"] == 0
    for method in ("get", "post"):
        response = getattr(api, method)(exports_path(acme), token=globex.owner_token)
        assert response.status_code == 403 and error_code(response) == "not_a_member"


def test_a_done_export_whose_archive_left_the_disk_is_a_404_not_a_500(api, acme, staff):
    from django.utils import timezone

    with schema_context(acme.schema_name):
        export = Export.objects.create(
            status=Export.Status.DONE,
            file_key=f"tenants/{acme.pk}/exports/{uuid.uuid4()}.zip",
            finished_at=timezone.now(),
        )
    response = api.get(exports_path(acme, export.pk, "download"), token=acme.owner_token)
    assert (response.status_code, error_code(response)) == (404, "export_archive_gone")


def test_a_suspended_tenant_cannot_export(api, acme, staff):
    tenant_suspend(tenant=acme, actor=SYSTEM)

    response = api.post(exports_path(acme), token=acme.owner_token)
    assert response.status_code == 403 and error_code(response) == "tenant_suspended"
    response = api.get(exports_path(acme), token=staff["admin"])
    assert response.status_code == 403 and error_code(response) == "tenant_suspended"
    with schema_context(acme.schema_name):
        assert Export.objects.count() == 0
    assert not Job.objects.filter(tenant=acme).exists()


def test_one_export_at_a_time_and_a_dead_one_does_not_block(api, acme, staff):
    first = export_ask(api, acme)

    again = api.post(exports_path(acme), token=acme.owner_token)
    assert again.status_code == 409 and error_code(again) == "export_in_progress"
    assert again.json()["error"]["details"]["export"] == first["id"]

    Job.objects.filter(pk=first["job_id"]).update(state=Job.State.FAILED, failed_reason="timed out after 3600 s")
    assert api.get(exports_path(acme, first["id"]), token=acme.owner_token).json()["status"] == "failed"
    with captured() as events:
        second = export_ask(api, acme)
    assert second["id"] != first["id"]
    assert [(e.name, e.export_id) for e in events] == [
        ("export.failed", first["id"]),
        ("export.requested", second["id"]),
    ]
    with schema_context(acme.schema_name):
        dead = Export.objects.get(pk=first["id"])
        assert (dead.status, dead.failed_reason) == ("failed", "timed out after 3600 s")


# --- the archive and the round trip ---------------------------------------------------------


def tenant_data(tenant, *, messages: int, files: int) -> dict[str, bytes]:
    """Rows in every kind of table, and `files` objects stored through the real storage: {key: bytes}."""
    stored = {}
    with tenant_context(tenant):
        room = Room.objects.create(name="general", created_by=tenant.owner)
        RoomMember.objects.create(room=room, user=tenant.owner)
        Message.objects.bulk_create(
            [Message(room=room, author=tenant.owner, body=f'message {n} ✓ "quoted"\n') for n in range(messages)],
            batch_size=5000,
        )
        Notification.objects.create(user=tenant.owner, event="note", data={"nested": [1, 2.5, None, "x"]})
        rows = []
        for n in range(files):
            content = f"file {n} of {tenant.slug}\n".encode() * (n + 1)
            key = default_storage.save(f"tenants/{tenant.pk}/uploads/{n:032x}.txt", ContentFile(content))
            stored[key] = content
            rows.append(
                File(
                    key=key,
                    original_name=f"notes-{n}.txt",
                    size=len(content),
                    mime_type="text/plain",
                    sha256=hashlib.sha256(content).hexdigest(),
                    uploaded_by=tenant.owner,
                    status=File.Status.READY,
                )
            )
        File.objects.bulk_create(rows)
        csv = b"email,role\r\nowner@acme.test,owner\r\n"
        report = Report.objects.create(kind="members", state="completed", rows=1, created_by=tenant.owner)
        report.file_key = default_storage.save(f"tenants/{tenant.pk}/reports/{report.pk}.csv", ContentFile(csv))
        report.save()
        stored[report.file_key] = csv
        Endpoint.objects.create(url="https://hooks.example.com/in", events=["file.stored"], secret=SECRET)
        if apps.is_installed("documents"):  # bytes (bytea) go out and back too
            document = apps.get_model("documents", "Document").objects.create(title="notes", created_by=tenant.owner)
            update = apps.get_model("documents", "DocumentUpdate")
            update.objects.create(document=document, seq=1, data=b"\x00\xff\x01binary\n")
    return stored


def table_rows(schema: str, table: str, pk: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT to_jsonb(t)::text FROM "{schema}"."{table}" t ORDER BY "{pk}"')
        return [json.loads(line) for (line,) in cursor.fetchall()]


def assert_restored(source: Tenant, restored: Tenant, stored: dict[str, bytes]) -> None:
    """Every table's rows equal (storage keys moved to the new prefix; endpoints' secrets new);
    every file's bytes equal under the new prefix; the owner is the owner again."""
    old, new = f"tenants/{source.pk}/", f"tenants/{restored.pk}/"
    for model in tenant_models():
        table, pk = model._meta.db_table, model._meta.pk.column
        before = [
            {k: (new + v[len(old) :] if isinstance(v, str) and v.startswith(old) else v) for k, v in row.items()}
            for row in table_rows(source.schema_name, table, pk)
        ]
        after = table_rows(restored.schema_name, table, pk)
        if table == Endpoint._meta.db_table:
            assert [r["secret"] for r in after] != [r["secret"] for r in before] and all(
                r["secret"].startswith("whsec_") and not r["enabled"] for r in after
            )
            for row in before + after:
                row.pop("secret"), row.pop("enabled"), row.pop("disabled_reason")
        assert after == before, table
    restored_keys = tenant_file_keys(restored)
    assert sorted(restored_keys) == sorted(new + key[len(old) :] for key in stored)
    for key, content in stored.items():
        with default_storage.open(new + key[len(old) :], "rb") as handle:
            assert handle.read() == content
    assert Membership.objects.get(tenant=restored, user=source.owner).role == "owner"
    with tenant_context(restored):  # the sequences went past the restored ids
        room = Room.objects.get()
        assert Message.objects.create(room=room, body="after").pk > max(
            r["id"] for r in table_rows(source.schema_name, Message._meta.db_table, "id")
        )
        assert File.objects.filter(key__startswith=new).count() == File.objects.count()


def download(api, tenant, export_id) -> bytes:
    response = api.get(exports_path(tenant, export_id, "download"), token=tenant.owner_token)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{tenant.slug}-export-')
    return b"".join(response.streaming_content)


def test_an_export_restores_10000_rows_and_100_files_into_a_new_tenant(
    committed, qcluster, api, acme, globex, staff, tmp_path
):
    stored = tenant_data(acme, messages=10_000, files=100)
    tenant_data(globex, messages=3, files=2)  # not in acme's archive
    assert tenant_tables_unlisted(acme.schema_name) == []  # every table is exported or excluded on purpose

    asked = export_ask(api, acme)
    job = job_wait(asked["job_id"], timeout=60)
    assert (job.state, job.progress, job.result["export"]) == ("completed", 100, asked["id"]), job.failed_reason
    detail = api.get(exports_path(acme, asked["id"]), token=acme.owner_token).json()
    assert detail["status"] == "done" and detail["files"] == 101 and detail["finished_at"]
    assert detail["download_url"] == f"http://localhost{exports_path(acme, asked['id'], 'download')}"
    body = download(api, acme, asked["id"])
    assert (len(body), hashlib.sha256(body).hexdigest()) == (detail["size"], detail["sha256"])

    archive_path = tmp_path / "acme.zip"
    archive_path.write_bytes(body)
    archive = Archive.open(archive_path)
    manifest = archive.manifest
    archive.verify()
    assert manifest["tenant"]["id"] == str(acme.pk) and manifest["tenant"]["slug"] == "acme"
    assert {m["email"]: m["role"] for m in manifest["public"]["memberships"]} == {
        "owner@acme.test": "owner",
        "admin@acme.test": "admin",
        "member@acme.test": "member",
    }
    assert manifest["public"]["domains"] == [{"domain": "acme.localhost", "is_primary": True}]
    counts = {t["table"]: t["rows"] for t in manifest["tables"]}
    with tenant_context(acme):
        for model in tenant_models():
            assert counts[model._meta.db_table] == model.objects.count(), model
    assert counts["realtime_message"] == 10_000 and "lifecycle_export" not in counts
    assert detail["rows"] == sum(counts.values())
    assert {f["key"]: (f["size"], f["sha256"]) for f in manifest["files"]} == {
        key: (len(content), hashlib.sha256(content).hexdigest()) for key, content in stored.items()
    }
    names = set(archive.zip.namelist())
    assert not any(name.startswith("files/exports/") for name in names)
    assert [name for name in names if SECRET.encode() in archive.zip.read(name)] == []  # secrets stay out
    archive.close()

    call_command("tenant_restore", str(archive_path), slug="acme-restored", stdout=io.StringIO())

    restored = Tenant.objects.get(slug="acme-restored")
    assert restored.name == "Acme" and AuditEvent.objects.filter(tenant=restored, action="tenant.restore").exists()
    assert_restored(acme, restored, stored)
    tenant_files_remove(restored)


def test_a_damaged_archive_restores_nothing_and_a_tenant_with_data_is_refused(committed, acme, tmp_path, staff):
    tenant_data(acme, messages=5, files=3)
    with tenant_context(acme):
        export = Export.objects.create()
        export_run(tenant=acme, export_id=export.pk, job=SimpleNamespace(progress=lambda pct, message="": None))
        key = Export.objects.get(pk=export.pk).file_key
    good = tmp_path / "good.zip"
    with default_storage.open(key, "rb") as handle:
        good.write_bytes(handle.read())
    original = zipfile.ZipFile(good)
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w") as out:
        for info in original.infolist():
            data = original.read(info)
            out.writestr(info, data.replace(b"file 1 of", b"file X of") if info.filename.startswith("files/") else data)
    target = tenant_create(slug="acme-damaged", name="Damaged")

    with pytest.raises(RestoreArchiveInvalid, match="does not match the manifest"):
        restore_archive(damaged, target)
    assert tenant_file_keys(target) == []
    with tenant_context(target):
        assert Message.objects.count() == 0 and File.objects.count() == 0
    with pytest.raises(CommandError, match="archive_invalid"):
        call_command("tenant_restore", str(damaged), slug="acme-cmd", stdout=io.StringIO())
    assert not Tenant.objects.filter(slug="acme-cmd").exists()  # a refused restore leaves no tenant

    assert restore_archive(good, target)["rows"] > 5
    with pytest.raises(RestoreTargetNotEmpty):
        restore_archive(good, target)
    with tenant_context(target):
        assert Message.objects.count() == 5
    tenant_files_remove(target)


def test_an_export_to_s3_downloads_through_a_signed_url_and_restores(committed, s3_storage, api, acme, staff):
    stored = tenant_data(acme, messages=50, files=3)
    with tenant_context(acme):  # in-process (the session's qcluster stores locally)
        export = Export.objects.create(requested_by=acme.owner)
        progress = []
        with captured() as events:
            export_run(
                tenant=acme, export_id=export.pk, job=SimpleNamespace(progress=lambda p, m="": progress.append(p))
            )
        export = Export.objects.get(pk=export.pk)
    assert export.status == "done" and progress[-1] == 100
    assert [(e.name, e.sha256, e.size, e.files) for e in events] == [
        ("export.completed", export.sha256, export.size, 4)
    ]

    response = api.get(exports_path(acme, export.pk, "download"), token=acme.owner_token)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{s3_storage}/uploads-test/{export.file_key}?")
    body = httpx.get(response["Location"], timeout=10).content
    assert hashlib.sha256(body).hexdigest() == export.sha256

    restored = tenant_create(slug="acme-s3", name="Acme S3")
    result = restore_archive(io.BytesIO(body), restored)
    assert (result["files"], result["members_missing"]) == (4, [])
    assert_restored(acme, restored, stored)
    tenant_files_remove(restored)


def test_every_tenant_column_that_holds_a_credential_is_redacted():
    """A new secret-like column in a tenant app fails here until archive.REDACTED blanks it: exports
    must never carry what signs, authenticates or unlocks anything."""
    credential = re.compile(r"secret|token|passw|digest|ticket|signature|api_?key|private_?key|hash|otp|salt", re.I)
    found = {
        (model._meta.db_table, field.column)
        for model in tenant_models()
        for field in model._meta.concrete_fields
        if credential.search(field.column)
    }
    redacted = {(table, column) for table, columns in archive_module.REDACTED.items() for column in columns}
    assert found <= redacted, found - redacted
    assert ("webhooks_endpoint", "secret") in redacted


def test_webhooks_offer_the_export_events():
    for event in (ExportRequested, ExportCompleted, ExportFailed):
        assert tenant_events()[event.name] is event
        assert ("webhooks.subscribers._deliver", True) in subscribers_of(event)


def test_only_the_newest_finished_exports_are_kept(committed, acme, staff, settings):
    settings.LIFECYCLE_EXPORTS_KEPT = 1
    tenant_data(acme, messages=2, files=1)
    job = SimpleNamespace(progress=lambda pct, message="": None)
    with tenant_context(acme):
        first = Export.objects.create()
        export_run(tenant=acme, export_id=first.pk, job=job)
        first_key = Export.objects.get(pk=first.pk).file_key
        second = Export.objects.create()
        export_run(tenant=acme, export_id=second.pk, job=job)

        assert list(Export.objects.values_list("pk", flat=True)) == [second.pk]
        assert not default_storage.exists(first_key) and default_storage.exists(Export.objects.get().file_key)
        again = export_run(tenant=acme, export_id=second.pk, job=job)  # a re-delivered job: the same archive
        assert again["sha256"] == Export.objects.get().sha256


# --- what an attacker can try: an API key, a retried job, a tampered archive ----------------

NO_JOB = SimpleNamespace(progress=lambda pct, message="": None)


def test_an_api_key_cannot_export_even_with_the_owner_role(api, acme, staff):
    key, raw = api_key_create(tenant=acme, name="ci", role="admin", actor=Actor(user=acme.owner))
    for method in ("post", "get"):  # a tenant-bound token is always inside its tenant: no platform route
        response = getattr(api, method)(exports_path(acme), token=raw)
        assert response.status_code == 404 and error_code(response), method
    Membership.objects.filter(user=key.user).update(role="owner")  # never through the API (tenants.api_keys)
    forget_role(acme.pk, key.user.pk)
    _, platform_token = token_create(user=key.user)  # should its service account ever hold a platform token
    for method in ("post", "get"):
        response = getattr(api, method)(exports_path(acme), token=platform_token)
        assert response.status_code == 403 and error_code(response) == "insufficient_role", method
    with schema_context(acme.schema_name):
        assert Export.objects.count() == 0


def test_a_tenant_pending_deletion_cannot_export(api, acme, staff):
    tenant_deletion_request(tenant=acme, actor=Actor(user=acme.owner), confirm="acme")

    for method in ("post", "get"):
        response = getattr(api, method)(exports_path(acme), token=acme.owner_token)
        assert response.status_code == 403 and error_code(response) == "tenant_pending_deletion"


def test_an_export_shows_its_own_tenants_job_only(api, acme, globex, staff):
    theirs = job_enqueue(globex, "tenant.export", {"export_id": str(uuid.uuid4())}, user=globex.owner)
    Job.objects.filter(pk=theirs.pk).update(state=Job.State.FAILED, progress=42, failed_reason="globex: disk full")
    with schema_context(acme.schema_name):  # a row naming another tenant's job (restores never write this table)
        export = Export.objects.create(job_id=theirs.pk)

    detail = api.get(exports_path(acme, export.pk), token=acme.owner_token).json()
    assert (detail["status"], detail["progress"], detail["failed_reason"]) == ("failed", 0, "")


def test_a_failed_export_stays_failed_and_keeps_no_archive(api, acme, staff, django_capture_on_commit_callbacks):
    asked = export_ask(api, acme)
    key = f"tenants/{acme.pk}/exports/{asked['id']}.zip"
    default_storage.save(key, ContentFile(b"PK\x03\x04 the part an attempt stored before it died"))

    with tenant_context(acme), django_capture_on_commit_callbacks(execute=True):
        export_fail(tenant=acme, export_id=asked["id"], reason="worker killed")
    assert not default_storage.exists(key)

    job = SimpleNamespace(id=asked["job_id"], progress=lambda pct, message="": None)
    with tenant_context(acme):  # its job retried (POST /api/jobs/<id>/retry, an admin may): nothing is built
        with pytest.raises(JobFailure, match="export_not_runnable"):
            export_run(tenant=acme, export_id=asked["id"], job=job)
        assert Export.objects.get(pk=asked["id"]).status == "failed"
    assert not default_storage.exists(key)

    second = export_ask(api, acme)  # a job that is not the export's own neither builds it nor fails it
    with tenant_context(acme):
        with pytest.raises(JobFailure, match="export_not_runnable"):
            export_run(tenant=acme, export_id=second["id"], job=job)
        export_fail(tenant=acme, export_id=second["id"], reason="not mine", job_id=asked["job_id"])
        assert Export.objects.get(pk=second["id"]).status == "pending"


def archive_build(tenant, tmp_path):
    """The tenant's archive, built in-process, as a local file."""
    with tenant_context(tenant):
        export = Export.objects.create()
        export_run(tenant=tenant, export_id=export.pk, job=NO_JOB)
        key = Export.objects.get(pk=export.pk).file_key
    path = tmp_path / f"{tenant.slug}.zip"
    with default_storage.open(key, "rb") as handle:
        path.write_bytes(handle.read())
    return path


def archive_tamper(source, target, *, tables=None, manifest=None, extra=None):
    """A copy of `source` whose table rows `tables[name](rows)` and manifest `manifest(m)` changed, with
    the manifest's counts and hashes made to match (an owner may edit the archive they downloaded)."""
    with zipfile.ZipFile(source) as original:
        entries = {info.filename: original.read(info) for info in original.infolist()}
    m = json.loads(entries.pop("manifest.json"))
    for table in m["tables"]:
        if table["table"] in (tables or {}):
            rows = tables[table["table"]]([json.loads(line) for line in entries[table["path"]].decode().splitlines()])
            entries[table["path"]] = "".join(json.dumps(row) + "\n" for row in rows).encode()
            table["rows"], table["sha256"] = len(rows), hashlib.sha256(entries[table["path"]]).hexdigest()
    entries.update(extra or {})
    if manifest:
        manifest(m)
    with zipfile.ZipFile(target, "w") as out:
        for name, data in entries.items():
            out.writestr(name, data)
        out.writestr("manifest.json", json.dumps(m))
    return target


def assert_nothing_restored(target) -> None:
    assert tenant_file_keys(target) == []
    with tenant_context(target):
        assert File.objects.count() == 0 and Report.objects.count() == 0 and Message.objects.count() == 0


def test_a_restore_refuses_rows_that_point_at_another_tenants_files(committed, acme, globex, staff, tmp_path):
    tenant_data(acme, messages=2, files=2)
    victim = next(key for key in tenant_data(globex, messages=1, files=1) if "/uploads/" in key)
    good = archive_build(acme, tmp_path)
    target = tenant_create(slug="acme-evil", name="Evil")
    below_victim = victim.removeprefix(f"tenants/{globex.pk}/")

    for table, column, value in (
        ("uploads_file", "key", victim),  # uploads' download would serve globex's file
        ("uploads_file", "key", f"tenants/{acme.pk}/../{globex.pk}/{below_victim}"),  # rewritten, still out
        ("reports_report", "file_key", f"tenants/{globex.pk}/reports/x.csv"),
        ("realtime_message", "body", victim),  # any other text naming another tenant's prefix
    ):

        def point(rows, column=column, value=value):
            rows[0][column] = value
            return rows

        evil = archive_tamper(good, tmp_path / "evil.zip", tables={table: point})
        with pytest.raises(RestoreArchiveInvalid) as refused:
            restore_archive(evil, target)
        assert (refused.value.details["table"], refused.value.details["column"]) == (table, column)
        assert_nothing_restored(target)
    assert restore_archive(good, target)["files"] == 3  # the archive as exported restores
    tenant_files_remove(target)


def test_a_restore_refuses_tables_it_does_not_export(committed, acme, staff, tmp_path):
    tenant_data(acme, messages=1, files=0)
    good = archive_build(acme, tmp_path)
    target = tenant_create(slug="acme-tables", name="Tables")
    forged = table_rows(acme.schema_name, "lifecycle_export", "id")[:1]  # a done export, in the new tenant
    data = "".join(json.dumps(row) + "\n" for row in forged).encode()

    for name, columns in (("lifecycle_export", sorted(forged[0])), ("no_such_table", [])):

        def add(m, name=name, columns=columns):
            path = f"tables/{name}.jsonl"
            m["tables"].append(
                {"table": name, "path": path, "rows": 1, "sha256": hashlib.sha256(data).hexdigest(), "columns": columns}
            )

        evil = archive_tamper(good, tmp_path / "evil.zip", manifest=add, extra={f"tables/{name}.jsonl": data})
        with pytest.raises(RestoreIncompatible) as refused:
            restore_archive(evil, target)
        assert refused.value.details["table"] == name
        with tenant_context(target):
            assert Export.objects.count() == 0 and Message.objects.count() == 0


def test_a_restore_refuses_paths_out_of_files_and_a_manifest_of_another_shape(committed, acme, globex, staff, tmp_path):
    tenant_data(acme, messages=1, files=1)
    good = archive_build(acme, tmp_path)
    target = tenant_create(slug="acme-paths", name="Paths")
    content = b"planted"
    for path in (
        f"files/../../{globex.pk}/uploads/planted.txt",  # zip-slip into another tenant's prefix
        "files/uploads/../../../planted.txt",
        "files/uploads//planted.txt",
        "files/exports/planted.zip",  # exports are never in an archive
        "files/uploads\\..\\planted.txt",
        "tables/realtime_message.jsonl",
    ):

        def add(m, path=path):
            m["files"].append({"path": path, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()})

        evil = archive_tamper(good, tmp_path / "evil.zip", manifest=add, extra={path: content})
        with pytest.raises(RestoreArchiveInvalid, match="no safe path"):
            restore_archive(evil, target)
        assert_nothing_restored(target)
    assert not default_storage.exists(f"tenants/{globex.pk}/uploads/planted.txt")

    for change in (
        lambda m: m.pop("files"),
        lambda m: m["tenant"].update(id="../other"),
        lambda m: m["tables"].append(m["tables"][0]),
        lambda m: m["files"][0].update(size=m["files"][0]["size"] + 1),
        lambda m: m["public"]["memberships"].append({"email": "owner@globex.test", "role": "superuser"}),
    ):
        with pytest.raises(RestoreArchiveInvalid):
            restore_archive(archive_tamper(good, tmp_path / "evil.zip", manifest=change), target)
        assert_nothing_restored(target)


def test_rows_the_database_refuses_are_an_invalid_archive_and_leave_no_files(committed, acme, staff, tmp_path):
    tenant_data(acme, messages=2, files=2)
    good = archive_build(acme, tmp_path)
    stored_before = set(archive_module.storage_walk("tenants/"))

    def orphan(rows):  # a message of a room that is not in the archive: the foreign key, at the end
        rows[0]["room_id"] = 999_999
        return rows

    for change in (orphan, lambda rows: [*rows, ["not", "an", "object"]]):
        evil = archive_tamper(good, tmp_path / "evil.zip", tables={"realtime_message": change})
        with pytest.raises(CommandError, match="archive_invalid"):  # the command's transaction holds the tenant
            call_command("tenant_restore", str(evil), slug="acme-orphan", stdout=io.StringIO())
        assert not Tenant.objects.filter(slug="acme-orphan").exists()
        assert set(archive_module.storage_walk("tenants/")) == stored_before  # no files of a tenant that is not


def test_a_restore_reads_nothing_beyond_its_limits(committed, acme, staff, tmp_path, settings, monkeypatch):
    tenant_data(acme, messages=3, files=1)
    good = archive_build(acme, tmp_path)
    target = tenant_create(slug="acme-bomb", name="Bomb")
    size = sum(info.file_size for info in zipfile.ZipFile(good).infolist())

    settings.LIFECYCLE_RESTORE_MAX_BYTES = size - 1  # what the entries declare, before any is read
    with pytest.raises(RestoreArchiveInvalid, match="once decompressed"):
        restore_archive(good, target)
    settings.LIFECYCLE_RESTORE_MAX_BYTES = size
    monkeypatch.setattr(archive_module, "MAX_LINE_BYTES", 20)  # one row's JSON, never whole in memory
    with pytest.raises(RestoreArchiveInvalid, match="a row of more than 20 bytes"):
        restore_archive(good, target)
    monkeypatch.setattr(archive_module, "MAX_MANIFEST_BYTES", 100)
    with pytest.raises(RestoreArchiveInvalid, match="manifest.json is"):
        restore_archive(good, target)
    assert_nothing_restored(target)


def test_a_restore_takes_only_settings_and_members_the_platform_accepts(committed, acme, globex, staff, tmp_path):
    tenant_data(acme, messages=1, files=0)
    good = archive_build(acme, tmp_path)
    target = tenant_create(slug="acme-settings", name="Settings")

    limits = {"max_upload_mb": 100_000, "rate_limit_per_minute": 10**9}  # beyond what a settings update accepts
    evil = archive_tamper(good, tmp_path / "evil.zip", manifest=lambda m: m["tenant"]["settings"].update(limits))
    with pytest.raises(RestoreArchiveInvalid) as refused:
        restore_archive(evil, target)
    assert set(refused.value.details["settings"]) == set(limits)
    assert_nothing_restored(target)

    key, _ = api_key_create(tenant=globex, name="ci", role="admin", actor=Actor(user=globex.owner))
    service = {"email": key.user.email, "role": "admin"}  # another tenant's API key: nobody's member here
    evil = archive_tamper(good, tmp_path / "evil.zip", manifest=lambda m: m["public"]["memberships"].append(service))
    result = restore_archive(evil, target)
    assert result["members_missing"] == [key.user.email]
    assert not Membership.objects.filter(tenant=target, user=key.user).exists()
    tenant_files_remove(target)


def test_uploads_kept_outside_the_default_storage_fail_the_system_checks(settings):
    from django.core import checks

    assert not [m for m in checks.run_checks() if m.id == "lifecycle.E001"]
    settings.UPLOADS = {**settings.UPLOADS, "STORAGE": "uploads"}
    assert [m.id for m in checks.run_checks() if m.id == "lifecycle.E001"] == ["lifecycle.E001"]
