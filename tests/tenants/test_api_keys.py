"""Tenant API keys: a key is a tenant-bound service principal (tenants/api_keys.py)."""

from __future__ import annotations

import io
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.models import AuthToken, User
from accounts.tokens import token_digest
from common.actors import SYSTEM
from tenants.api_keys import api_key_revoke
from tenants.models import ApiKey, AuditEvent, Membership
from tenants.services import tenant_suspend
from tests.factories import member_make, token_make
from tests.helpers import error_code
from tests.realtime.client import Socket, ticket_for
from tests.realtime.client import api as live_api
from uploads.pipeline.scanning import EICAR

ACME, GLOBEX = "acme.localhost", "globex.localhost"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    return out.getvalue()


def keys_url(tenant, kid=None) -> str:
    return f"/api/tenants/{tenant.pk}/api-keys" + (f"/{kid}" if kid else "")


def key_make(api, tenant, *, role="member", token=None, **extra) -> dict:
    response = api.post(keys_url(tenant), token=token or tenant.owner_token, json={"name": "ci", "role": role, **extra})
    assert response.status_code == 201, response.content
    return response.json()


def test_a_key_opens_its_tenant_with_its_role_and_no_other(api, acme, globex):
    created = key_make(api, acme, role="admin")
    key = created["key"]
    assert key.startswith("sk_") and created["prefix"] == key[:10] and created["role"] == "admin"

    tenant = api.get("/api/tenant", host=ACME, token=key)
    assert (tenant.status_code, tenant.json()["role"]) == (200, "admin")
    assert api.get("/api/tenant", token=key).json()["slug"] == "acme"  # platform host: the key's tenant
    other_host = api.get("/api/tenant", host=GLOBEX, token=key)
    assert (other_host.status_code, error_code(other_host)) == (400, "tenant_mismatch")
    other_header = api.get("/api/tenant", token=key, headers={"X-Tenant-ID": "globex"})
    assert (other_header.status_code, error_code(other_header)) == (400, "tenant_mismatch")

    listed = api.get(keys_url(acme), token=acme.owner_token).json()["results"]
    assert [(k["id"], k["name"], k["prefix"], k["role"]) for k in listed] == [
        (created["id"], "ci", created["prefix"], "admin")
    ]
    assert "key" not in listed[0] and listed[0]["last_used_at"] is not None and listed[0]["expires_at"] is None


def test_a_service_account_is_no_person(api, acme):
    key = key_make(api, acme)["key"]
    service = ApiKey.objects.get().user
    assert not service.has_usable_password()
    signin = api.post("/api/auth/token", json={"email": service.email, "password": ""})
    assert signin.status_code in (400, 401)
    members = api.get(f"/api/tenants/{acme.pk}/members", token=acme.owner_token).json()["results"]
    assert [m["email"] for m in members] == [acme.owner.email]
    assert api.get(f"/api/tenants/{acme.pk}/usage", token=acme.owner_token).json()["members"] == 1
    for method, body in (("patch", {"role": "owner"}), ("delete", None)):
        touched = getattr(api, method)(
            f"/api/tenants/{acme.pk}/members/{service.pk}", token=acme.owner_token, json=body
        )
        assert (touched.status_code, error_code(touched)) == (404, "member_not_found")
    assert Membership.objects.get(user=service).role == "member"
    # The platform API is not the key's: a tenant-bound token is always inside its tenant.
    create = api.post("/api/tenants", token=key, json={"slug": "evil", "name": "Evil"})
    assert create.status_code == 404 and not Membership.objects.filter(user=service, role="owner").exists()


def test_a_service_account_is_in_no_members_report_and_gets_no_failure_notice(api, acme):
    from django_tenants.utils import tenant_context

    from jobs.services import job_failure_notify
    from realtime.models import Notification
    from reports.kinds import KINDS

    key_make(api, acme, role="admin")
    service = ApiKey.objects.get().user
    report = KINDS["members"](tenant=acme, params={})
    emails = [row[0] for chunk in report.chunks() for row in chunk]
    job_failure_notify(job_id=1, task="noop", tenant_id=acme.pk, user_id=None, attempts=3, reason="x", critical=False)

    assert emails == [acme.owner.email] and report.total() == 1 and service.email not in emails
    with tenant_context(acme):
        notified = set(Notification.objects.values_list("user_id", flat=True))
    assert notified == {acme.owner.pk} and service.pk not in notified


def test_the_key_is_stored_hashed_only(api, acme):
    key = key_make(api, acme)["key"]
    token = AuthToken.objects.get(user__api_key__isnull=False)
    assert token.digest == token_digest(key) and token.tenant_id == acme.pk
    rows = [*AuthToken.objects.values_list(), *ApiKey.objects.values_list(), *User.objects.values_list()]
    assert not any(key in str(value) for row in rows for value in row)


def test_roles_who_may_mint_and_what_a_member_key_may_not_do(api, acme):
    admin = member_make(acme, role="admin")
    member = member_make(acme)
    admin_token, member_token = token_make(admin), token_make(member)
    assert key_make(api, acme, role="admin", token=admin_token)["role"] == "admin"  # admins mint admin keys
    owner_key = api.post(keys_url(acme), token=admin_token, json={"name": "root", "role": "owner"})
    assert (owner_key.status_code, error_code(owner_key)) == (400, "validation_error")  # never an owner key
    by_member = api.post(keys_url(acme), token=member_token, json={"name": "x"})
    assert (by_member.status_code, error_code(by_member)) == (403, "insufficient_role")
    assert error_code(api.get(keys_url(acme), token=member_token)) == "insufficient_role"

    member_key = key_make(api, acme, role="member")["key"]
    manager_only = api.post("/api/jobs", host=ACME, token=member_key, json={"task": "noop"})
    assert (manager_only.status_code, error_code(manager_only)) == (403, "insufficient_role")


def test_tenant_b_cannot_list_or_delete_a_keys(api, acme, globex):
    created = key_make(api, acme)
    listed = api.get(keys_url(acme), token=globex.owner_token)
    assert (listed.status_code, error_code(listed)) == (403, "not_a_member")
    through_a = api.delete(keys_url(acme, created["id"]), token=globex.owner_token)
    assert (through_a.status_code, error_code(through_a)) == (403, "not_a_member")
    through_b = api.delete(keys_url(globex, created["id"]), token=globex.owner_token)
    assert (through_b.status_code, error_code(through_b)) == (404, "api_key_not_found")
    assert api.get("/api/tenant", host=ACME, token=created["key"]).status_code == 200


def test_expiry_and_the_limit(api, acme, settings):
    past = api.post(keys_url(acme), token=acme.owner_token, json={"name": "x", "expires_at": "2000-01-01T00:00:00Z"})
    assert (past.status_code, error_code(past)) == (400, "validation_error") and "expires_at" in past.json()["error"][
        "details"
    ]
    soon = (timezone.now() + timedelta(hours=1)).isoformat()
    created = key_make(api, acme, expires_at=soon)
    assert api.get("/api/tenant", host=ACME, token=created["key"]).status_code == 200
    token = AuthToken.objects.get(api_key__pk=created["id"])
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save()  # as if the hour had passed (the save drops every cached copy)
    expired = api.get("/api/tenant", host=ACME, token=created["key"])
    assert (expired.status_code, error_code(expired)) == (401, "token_expired")

    settings.TENANT_API_KEYS_MAX = 1
    full = api.post(keys_url(acme), token=acme.owner_token, json={"name": "two"})
    assert (full.status_code, error_code(full)) == (409, "api_key_limit_reached")


def test_a_suspended_tenant_refuses_its_keys(api, acme):
    key = key_make(api, acme)["key"]
    tenant_suspend(tenant=acme, actor=SYSTEM)
    refused = api.get("/api/tenant", host=ACME, token=key)
    assert (refused.status_code, error_code(refused)) == (403, "tenant_suspended")


def test_the_audit_log_names_the_key(api, acme):
    created = key_make(api, acme)
    infected = api.client.post(
        "/api/upload",
        {"file": SimpleUploadedFile("a.png", png() + EICAR, content_type="image/png")},
        HTTP_HOST=ACME,
        HTTP_AUTHORIZATION=f"Bearer {created['key']}",
    )
    assert (infected.status_code, error_code(infected)) == (422, "malware_detected")
    assert api.delete(keys_url(acme, created["id"]), token=acme.owner_token).status_code == 204

    rows = {e.action: e for e in AuditEvent.objects.filter(tenant=acme)}
    assert rows["upload.malware_detected"].actor_email == "api-key:ci"
    assert (rows["api_key.create"].actor_email, rows["api_key.create"].after["role"]) == (acme.owner.email, "member")
    assert rows["api_key.revoke"].target == f"api_key:{created['id']}"


async def test_revoking_a_key_refuses_it_at_once_and_closes_its_sockets(committed, asgi_server, acme):
    async with live_api(asgi_server, "localhost", acme.owner_token) as platform:
        created = (await platform.post(keys_url(acme), json={"name": "bot"})).json()
        key = created["key"]
        sock = await Socket.open(asgi_server, ACME, ticket=await ticket_for(asgi_server, ACME, key))
        await sock.recv_type("welcome")
        async with live_api(asgi_server, ACME, key) as as_key:
            assert (await as_key.get("/api/tenant")).status_code == 200  # the server process caches the token

            # Revoked from this process: the server's cached copy must go over Redis.
            await sync_to_async(api_key_revoke)(tenant=acme, key_id=created["id"], actor=SYSTEM)
            refused = await as_key.get("/api/tenant")
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "token_revoked")
        assert await sock.closed_with(timeout=2) == 4403
        assert (await platform.get(keys_url(acme))).json()["results"] == []
    service = await sync_to_async(lambda: ApiKey.objects.get(pk=created["id"]).user_id)()
    assert not await sync_to_async(Membership.objects.filter(user_id=service).exists)()
