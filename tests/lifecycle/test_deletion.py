"""Tenant deletion (docs/lifecycle.md#deletion): the request and its refusals, what a tenant
pending deletion still answers (HTTP, SSE, WebSocket, jobs), restore, and the purge — which must
leave nothing of the tenant behind (schema, storage, Redis, public rows) and touch nothing of another."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import AuthToken
from common import counters
from common.actors import SYSTEM
from common.domain_events import captured
from common.redis_client import redis_client
from jobs.models import Job, QueueEntry, TenantSchedule
from jobs.schedules import tenant_schedule_set
from jobs.services import job_enqueue
from lifecycle import deletion
from lifecycle.deletion import storage_keys, tenant_purge, tenants_purge_due
from realtime.engine.eventlog import event_append
from realtime.engine.presence import connection_register, presence_join
from realtime.services import ticket_issue
from tenants.api_keys import api_key_create
from tenants.models import PURGE_ACTION, ApiKey, AuditEvent, Domain, Membership, Tenant
from tenants.services import tenant_deletion_cancel, tenant_deletion_request, tenant_suspend
from tests.factories import PASSWORD, member_make, token_make
from tests.helpers import error_code, job_wait, tenant_files_remove
from tests.realtime.client import Socket, connect_member, ticket_for
from tests.realtime.client import api as live_api
from tests.realtime.test_access_flags import closed_with, sse, stream_ended
from tests.tenants.admin_forms import operator_client
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


def delete(api, tenant, token, confirm="__slug__"):
    body = {} if confirm is None else {"confirm": tenant.slug if confirm == "__slug__" else confirm}
    return api.delete(f"/api/tenants/{tenant.pk}", token=token, json=body)


def restore(api, tenant, token):
    return api.post(f"/api/tenants/{tenant.pk}/restore", token=token)


def make_due(tenant) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(deletion_due_at=timezone.now() - timedelta(seconds=1))


# --- the request ----------------------------------------------------------------------------


def test_the_owner_schedules_the_deletion_with_the_slug_as_confirmation(api, acme, settings):
    settings.TENANT_DELETION_GRACE_DAYS = 3
    with captured() as events:
        response = delete(api, acme, acme.owner_token)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending_deletion"
    acme.refresh_from_db()
    assert acme.status == "pending_deletion"
    assert timedelta(days=3) - timedelta(minutes=1) < acme.deletion_due_at - timezone.now() <= timedelta(days=3)
    assert datetime.fromisoformat(body["deletion_due_at"]) == acme.deletion_due_at
    record = api.get(f"/api/tenants/{acme.pk}", token=acme.owner_token).json()  # the owner still reads it
    assert (record["status"], record["deletion_due_at"]) == ("pending_deletion", body["deletion_due_at"])
    requested = [e for e in events if e.name == "tenant.deletion_requested"]
    assert [(e.tenant_id, e.previous_status) for e in requested] == [(str(acme.pk), "active")]
    row = AuditEvent.objects.get(tenant=acme, action="tenant.deletion_request")
    assert (row.actor_email, row.before, row.after["status"]) == (
        acme.owner.email,
        {"status": "active"},
        "pending_deletion",
    )


@pytest.mark.parametrize("confirm", [None, "", "ACME", "globex", " acme"])
def test_a_missing_or_wrong_confirmation_is_400_and_changes_nothing(api, acme, confirm):
    response = delete(api, acme, acme.owner_token, confirm=confirm)
    assert (response.status_code, error_code(response)) == (400, "confirmation_mismatch")
    acme.refresh_from_db()
    assert acme.status == "active" and acme.deletion_due_at is None


@pytest.mark.parametrize("role", ["admin", "member"])
def test_only_an_owner_may_delete(api, acme, role):
    token = token_make(member_make(acme, role=role))
    response = delete(api, acme, token)
    assert (response.status_code, error_code(response)) == (403, "insufficient_role")
    acme.refresh_from_db()
    assert acme.status == "active"


def test_another_tenants_owner_cannot_delete_it(api, acme, globex):
    """The platform's rule for a tenant one is not in (as GET): 403 not_a_member; an unknown id is 404."""
    response = delete(api, acme, globex.owner_token)
    assert (response.status_code, error_code(response)) == (403, "not_a_member")
    unknown = api.delete(f"/api/tenants/{uuid.uuid4()}", token=globex.owner_token, json={"confirm": "acme"})
    assert (unknown.status_code, error_code(unknown)) == (404, "tenant_not_found")
    acme.refresh_from_db()
    assert acme.status == "active"


def test_a_suspended_tenant_is_not_deleted_by_its_owner(api, acme):
    tenant_suspend(tenant=acme, actor=SYSTEM)
    response = delete(api, acme, acme.owner_token)
    assert (response.status_code, error_code(response)) == (403, "tenant_suspended")


# --- pending deletion -----------------------------------------------------------------------


@pytest.fixture
def pending(api, acme):
    acme.member = member_make(acme, email="member@acme.test")
    acme.member_token = token_make(acme.member)
    acme.admin_token = token_make(member_make(acme, role="admin", email="admin@acme.test"))
    assert delete(api, acme, acme.owner_token).status_code == 202
    acme.refresh_from_db()
    return acme


def test_its_owner_reads_the_record_and_nothing_else(api, pending):
    detail = api.get(f"/api/tenants/{pending.pk}", token=pending.owner_token)
    assert (detail.status_code, detail.json()["status"]) == (200, "pending_deletion")
    for path in ["/settings", "/usage", "/members", "/audit", "/api-keys"]:
        response = api.get(f"/api/tenants/{pending.pk}{path}", token=pending.owner_token)
        assert (response.status_code, error_code(response)) == (403, "tenant_pending_deletion"), path
    for token in (pending.admin_token, pending.member_token):
        response = api.get(f"/api/tenants/{pending.pk}", token=token)
        assert (response.status_code, error_code(response)) == (403, "tenant_pending_deletion")
    again = delete(api, pending, pending.owner_token)
    assert (again.status_code, error_code(again)) == (403, "tenant_pending_deletion")


def test_nothing_is_served_inside_it_by_host_header_or_token(api, acme):
    bound_token = token_make(acme.owner, tenant=acme)  # issued before the request
    assert delete(api, acme, acme.owner_token).status_code == 202
    acme.refresh_from_db()
    pending = acme
    host = api.get("/api/tenant", host="acme.localhost", token=pending.owner_token)
    header = api.get("/api/tenant", token=pending.owner_token, headers={"X-Tenant-ID": "acme"})
    bound = api.get("/api/tenant", token=bound_token)
    anonymous = api.get("/api/tenant", host="acme.localhost")
    for response in (host, header, bound, anonymous):
        assert (response.status_code, error_code(response)) == (403, "tenant_pending_deletion")
    assert host.json()["error"]["details"]["deletion_due_at"] == pending.deletion_due_at.isoformat()
    issued = api.post("/api/auth/token", json={"email": pending.owner.email, "password": PASSWORD, "tenant": "acme"})
    assert (issued.status_code, error_code(issued)) == (403, "tenant_pending_deletion")


def test_its_jobs_are_held_and_run_again_after_the_restore(api, acme):
    before = job_enqueue(acme, "noop", {})
    assert delete(api, acme, acme.owner_token).status_code == 202
    during = job_enqueue(acme, "noop", {})  # queued while pending (a job already accepted, a schedule): held
    entries = QueueEntry.objects.filter(job__in=[before, during])
    assert [(e.held, e.vt) for e in entries] == [(True, None), (True, None)]
    assert restore(api, acme, acme.owner_token).status_code == 200
    assert not QueueEntry.objects.filter(job__in=[before, during], held=True).exists()


def test_the_owner_restores_it_and_everything_answers_again(api, pending):
    with captured() as events:
        response = restore(api, pending, pending.owner_token)
    assert (response.status_code, response.json()["status"]) == (200, "active")
    pending.refresh_from_db()
    assert (pending.status, pending.deletion_due_at, pending.deletion_requested_at) == ("active", None, None)
    assert [e.name for e in events if e.name.startswith("tenant.")] == ["tenant.deletion_cancelled"]
    assert api.get("/api/tenant", host="acme.localhost", token=pending.member_token).status_code == 200
    assert AuditEvent.objects.filter(tenant=pending, action="tenant.deletion_cancel").count() == 1
    again = restore(api, pending, pending.owner_token)
    assert (again.status_code, error_code(again)) == (409, "tenant_not_pending_deletion")


def test_only_an_owner_restores(api, pending, globex):
    for token in (pending.admin_token, pending.member_token):
        response = restore(api, pending, token)
        assert (response.status_code, error_code(response)) == (403, "tenant_pending_deletion")
    assert error_code(restore(api, pending, globex.owner_token)) == "not_a_member"
    pending.refresh_from_db()
    assert pending.status == "pending_deletion"


def test_a_tenant_suspended_before_its_deletion_is_restored_suspended(acme):
    tenant_suspend(tenant=acme, actor=SYSTEM)
    tenant_deletion_request(tenant=acme, actor=SYSTEM, confirm="acme")
    job = job_enqueue(acme, "noop", {})
    assert tenant_deletion_cancel(tenant=acme, actor=SYSTEM).status == "suspended"
    assert QueueEntry.objects.get(job=job).held  # still suspended: still waiting


def test_no_restore_once_the_purge_has_begun(api, pending):
    AuditEvent.objects.create(tenant=pending, tenant_slug="acme", action=PURGE_ACTION)  # as _purge_begin does
    response = restore(api, pending, pending.owner_token)
    assert (response.status_code, error_code(response)) == (409, "tenant_purge_started")


def test_operators_schedule_restore_and_delete_now_in_the_admin(acme, globex):
    client = operator_client()
    url = "/admin/tenants/tenant/"
    client.post(url, {"action": "schedule_deletion", "_selected_action": [acme.pk]})
    acme.refresh_from_db()
    assert acme.status == "pending_deletion"
    assert AuditEvent.objects.get(tenant=acme, action="tenant.deletion_request").actor_email == "ops@platform.test"
    client.post(url, {"action": "restore", "_selected_action": [acme.pk]})
    acme.refresh_from_db()
    assert acme.status == "active"
    client.post(url, {"action": "delete_now", "_selected_action": [acme.pk, globex.pk]})  # neither is pending
    assert not Job.objects.filter(task="tenant.purge_due").exists()
    client.post(url, {"action": "schedule_deletion", "_selected_action": [acme.pk]})
    client.post(url, {"action": "delete_now", "_selected_action": [acme.pk]})
    acme.refresh_from_db()
    assert acme.deletion_due_at <= timezone.now()
    assert Job.objects.filter(task="tenant.purge_due", tenant=None).count() == 1  # the sweep, queued at once
    client.post(url, {"action": "suspend", "_selected_action": [acme.pk]})  # refused: restore it first
    acme.refresh_from_db()
    assert acme.status == "pending_deletion"


# --- live connections (the real server) -----------------------------------------------------


@pytest.fixture
def live(committed, acme, globex):
    member = member_make(acme, email="member@acme.test")
    return {"acme": acme, "globex": globex, "member_token": token_make(member)}


async def test_the_request_closes_its_sockets_and_streams_and_refuses_new_ones(asgi_server, live):
    acme, token = live["acme"], live["member_token"]
    sock = await connect_member(asgi_server, "acme.localhost", token)
    globex_sock = await connect_member(asgi_server, "globex.localhost", live["globex"].owner_token)
    spare_ticket = await ticket_for(asgi_server, "acme.localhost", token)
    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        async with sse(client, "acme.localhost", token) as stream:
            assert stream.status_code == 200
            await asyncio.sleep(0.3)
            async with live_api(asgi_server, "localhost", acme.owner_token) as platform:
                response = await platform.request("DELETE", f"/api/tenants/{acme.pk}", json={"confirm": "acme"})
                assert response.status_code == 202, response.text
            assert await closed_with(sock, timeout=1) == (4403, "tenant_pending_deletion")
            assert await stream_ended(stream)
    refused = await Socket.open(asgi_server, "acme.localhost", ticket=spare_ticket)
    assert await closed_with(refused) == (4403, "tenant_pending_deletion")
    async with live_api(asgi_server, "acme.localhost", token) as tenant_api:
        for response in (await tenant_api.get("/api/events"), await tenant_api.post("/api/realtime/ticket")):
            assert (response.status_code, response.json()["error"]["code"]) == (403, "tenant_pending_deletion")
    await globex_sock.send(type="ping")
    assert (await globex_sock.recv_type("pong"))["type"] == "pong"
    await globex_sock.close()


# --- the purge ------------------------------------------------------------------------------


def _populate(api, tenant) -> dict:
    """A tenant with something of everything: files (uploads, reports, imports, exports), a job and
    a schedule, an API key, a webhook, an invitation, live events, presence, a ticket, caches,
    throttle windows and usage counters."""
    for folder in ("uploads", "reports", "imports", "exports/nested"):
        default_storage.save(f"tenants/{tenant.pk}/{folder}/{uuid.uuid4().hex}.txt", ContentFile(b"x"))
    job = job_enqueue(tenant, "noop", {})
    tenant_schedule_set(tenant=tenant, name="nightly", task="noop", cron="0 3 * * *")
    key, raw_key = api_key_create(tenant=tenant, name="ci", role="member", actor=SYSTEM)
    with tenant_context(tenant):
        Endpoint.objects.create(url="https://hooks.example.com/x", events=["member.added"], secret="whsec_x")
        cache.set("greeting", "hello")  # the default cache: keys under the tenant's schema
    Invitation = apps.get_model("tenants", "Invitation")
    Invitation.objects.create(
        tenant=tenant,
        email=f"invitee@{tenant.slug}.test",
        token_hash=uuid.uuid4().hex * 2,
        expires_at=timezone.now() + timedelta(days=1),
    )
    event_append(tenant.pk, "tenant", "announcement.created", {"text": "hi"})
    presence_join(tenant.pk, 1, tenant.owner.pk, "conn-1")
    connection_register(tenant.pk, tenant.owner.pk, "conn-1", 10)
    ticket_issue(tenant=tenant, user=tenant.owner)
    host = f"{tenant.slug}.localhost"
    assert api.get("/api/tenant", host=host, token=tenant.owner_token).status_code == 200
    assert api.get("/api/tenant", host=host, token=raw_key).status_code == 200
    assert api.get("/api/tenant", token=tenant.owner_token, headers={"X-Tenant-ID": tenant.slug}).status_code == 200
    assert api.get("/api/tenant", host=host).status_code in (401, 403)  # an anonymous window too
    assert api.get(f"/api/tenants/{tenant.pk}/usage", token=tenant.owner_token).status_code == 200
    counters.flush()
    return {"job": job.pk, "api_key": key.pk, "service_account": key.user_id}


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {name for (name,) in cursor.fetchall()}


def _redis_keys() -> set[str]:
    return {k.decode() if isinstance(k, bytes) else k for k in redis_client().scan_iter(count=1000)}


def _storage_keys() -> set[str]:
    return set(storage_keys(default_storage, "tenants/"))


def _of(tenant, keys: set[str]) -> set[str]:
    """The keys that name `tenant`: its id (either spelling), its schema, its slug or host."""
    tid = str(tenant.pk)
    return {
        k
        for k in keys
        if tid in k
        or tid.replace("-", "") in k
        or k.startswith(f"{tenant.schema_name}:")
        or k.endswith((f":ref:{tenant.slug}", f":host:{tenant.slug}.localhost"))
    }


@pytest.fixture
def two_tenants(committed, api, acme, globex):
    things = {acme.slug: _populate(api, acme), globex.slug: _populate(api, globex)}
    yield things
    tenant_files_remove(globex)
    tenant_files_remove(acme)


def test_the_purge_leaves_nothing_of_the_tenant_and_touches_nothing_of_another(api, acme, globex, two_tenants):
    schemas, files, keys = _schemas(), _storage_keys(), _redis_keys()
    assert {acme.schema_name, globex.schema_name} <= schemas
    acme_files = {f for f in files if f.startswith(f"tenants/{acme.pk}/")}
    assert len(acme_files) == 4
    acme_keys, globex_keys = _of(acme, keys), _of(globex, keys)
    assert {f"t:{acme.pk}:events", f"t:{acme.pk}:presence:room:1"} <= acme_keys, acme_keys
    assert any("throttle" in k for k in acme_keys) and any("role:" in k for k in acme_keys), acme_keys
    assert any(k.startswith(f"{acme.schema_name}:") for k in acme_keys)
    assert any(":host:acme.localhost" in k for k in acme_keys) and any(":ref:acme" in k for k in acme_keys)
    acme_things, globex_things = two_tenants["acme"], two_tenants["globex"]
    Invitation = apps.get_model("tenants", "Invitation")
    rows = {
        name: model.objects.filter(tenant=acme).count()
        for name, model in [
            ("schedules", TenantSchedule),  # the nightly one and the digest's
            ("memberships", Membership),  # the owner and the API key's service account
            ("domains", Domain),
            ("invitations", Invitation),
            ("api_keys", ApiKey),
        ]
    }
    assert rows == {"schedules": 2, "memberships": 2, "domains": 1, "invitations": 1, "api_keys": 1}

    assert delete(api, acme, acme.owner_token).status_code == 202
    make_due(acme)
    with captured() as events:
        assert tenants_purge_due() == {"purged": [str(acme.pk)]}

    # acme: gone, everywhere
    assert acme.schema_name not in _schemas()
    assert not default_storage.exists(f"tenants/{acme.pk}")
    assert not {f for f in _storage_keys() if f.startswith(f"tenants/{acme.pk}/")}
    assert _of(acme, _redis_keys()) == set()
    assert not Tenant.objects.filter(pk=acme.pk).exists()
    for model in (Domain, Membership, ApiKey, TenantSchedule, Job, AuthToken, Invitation):
        assert not model.objects.filter(tenant_id=acme.pk).exists(), model
    assert not QueueEntry.objects.filter(fair_key=acme.pk).exists()
    assert not get_user_model().objects.filter(pk=acme_things["service_account"]).exists()
    assert get_user_model().objects.filter(pk=acme.owner.pk).exists()  # people are global: they stay
    # one record of it stays in public
    record = AuditEvent.objects.get(tenant_slug="acme")
    assert (record.tenant_id, record.action, record.after["state"]) == (None, PURGE_ACTION, "purged")
    assert record.after["requested_by"] == acme.owner.email and record.after["requested_at"]
    removed = record.after["removed"]
    assert removed["files"] == 4 and removed["webhooks"] == 1 and removed["schema_tables"] > 10
    assert removed["jobs"] == 1 and removed["service_accounts"] == 1 and removed["redis_keys"] > 0
    assert {name: removed[name] for name in rows} == rows
    purged = [e for e in events if e.name == "tenant.purged"]
    assert [(e.tenant_id, e.slug) for e in purged] == [(str(acme.pk), "acme")]

    # globex: untouched
    assert globex.schema_name in _schemas()
    assert {f for f in files if f.startswith(f"tenants/{globex.pk}/")} <= _storage_keys()
    assert globex_keys <= _redis_keys()
    assert Job.objects.filter(pk=globex_things["job"]).exists()
    assert ApiKey.objects.filter(pk=globex_things["api_key"]).exists()
    with tenant_context(Tenant.objects.get(pk=globex.pk)):
        assert Endpoint.objects.count() == 1
    assert api.get("/api/tenant", host="globex.localhost", token=globex.owner_token).status_code == 200
    assert api.get("/api/tenant", host="acme.localhost", token=acme.owner_token).status_code == 404


def test_the_sweep_purges_only_tenants_past_their_due_time(committed, acme, globex):
    for tenant in (acme, globex):
        tenant_deletion_request(tenant=tenant, actor=SYSTEM, confirm=tenant.slug)
    make_due(acme)
    assert tenants_purge_due() == {"purged": [str(acme.pk)]}
    assert Tenant.objects.get(pk=globex.pk).status == "pending_deletion"
    assert tenant_purge(tenant_id=globex.pk) is None  # not due: nothing done
    assert globex.schema_name in _schemas()
    active = Tenant.objects.create(slug="initech", name="Initech", schema_name="t_initech")
    Tenant.objects.filter(pk=active.pk).update(deletion_due_at=timezone.now() - timedelta(days=1))
    assert tenant_purge(tenant_id=active.pk) is None  # due, but not pending deletion


def test_a_purge_killed_mid_way_is_finished_by_the_next_run(committed, api, acme, monkeypatch):
    _populate(api, acme)
    tenant_deletion_request(tenant=acme, actor=SYSTEM, confirm="acme")
    make_due(acme)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies after files, schema and Redis went

    monkeypatch.setattr(deletion, "_rows_remove", killed)
    with pytest.raises(KeyboardInterrupt):
        tenant_purge(tenant_id=acme.pk)
    monkeypatch.undo()
    assert acme.schema_name not in _schemas() and Tenant.objects.filter(pk=acme.pk).exists()
    assert error_code(restore(api, acme, acme.owner_token)) == "tenant_purge_started"
    Tenant.objects.filter(pk=acme.pk).update(deletion_due_at=timezone.now() + timedelta(days=1))  # begun: due or not
    assert tenants_purge_due() == {"purged": [str(acme.pk)]}
    assert tenants_purge_due() == {"purged": []}  # and a third run finds nothing
    assert tenant_purge(tenant_id=acme.pk) is None
    record = AuditEvent.objects.get(tenant_slug="acme")  # the one record, with what both runs removed
    assert (record.tenant_id, record.tenant_slug, record.after["state"]) == (None, "acme", "purged")
    assert record.after["removed"]["files"] == 4 and record.after["removed"]["jobs"] == 1
    assert _of(acme, _redis_keys()) == set() and not default_storage.exists(f"tenants/{acme.pk}")


def test_the_files_step_empties_the_tenants_prefix_on_s3_only(s3_storage, acme, globex):
    from django.core.files.storage import storages

    storage = storages["default"]
    for tenant in (acme, globex):
        for folder in ("uploads", "reports", "exports/deep"):
            storage.save(f"tenants/{tenant.pk}/{folder}/{uuid.uuid4().hex}.txt", ContentFile(b"x"))
    assert len(storage_keys(storage, f"tenants/{acme.pk}/")) == 3
    assert deletion._files_remove(acme.pk) == 3
    assert storage_keys(storage, f"tenants/{acme.pk}/") == []
    assert len(storage_keys(storage, f"tenants/{globex.pk}/")) == 3
    assert deletion._files_remove(acme.pk) == 0  # again: nothing left, no error


def test_delete_now_in_the_admin_purges_through_a_real_qcluster(committed, qcluster, api, acme):
    _populate(api, acme)
    client = operator_client()
    client.post("/admin/tenants/tenant/", {"action": "schedule_deletion", "_selected_action": [acme.pk]})
    client.post("/admin/tenants/tenant/", {"action": "delete_now", "_selected_action": [acme.pk]})
    sweep = job_wait(Job.objects.get(task="tenant.purge_due"), timeout=30)
    assert (sweep.state, sweep.result) == ("completed", {"purged": [str(acme.pk)]}), sweep.failed_reason
    assert not Tenant.objects.filter(pk=acme.pk).exists() and acme.schema_name not in _schemas()
    record = AuditEvent.objects.get(tenant_slug="acme")
    assert record.after["expedited_by"] == record.after["requested_by"] == "ops@platform.test"
