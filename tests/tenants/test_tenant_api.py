"""The tenant management API on the platform host."""

import pytest

from tenants.models import AuditEvent, Domain, Membership, Tenant
from tenants.provisioning import schema_is_present
from tests.factories import member_make, token_make, user_make
from tests.helpers import error_code

pytestmark = pytest.mark.django_db


# --- create -----------------------------------------------------------------


def test_creating_a_tenant_provisions_its_schema_and_domain_and_makes_the_caller_owner(api):
    user = user_make()
    response = api.post("/api/tenants", token=token_make(user), json={"name": "Initech", "slug": "initech"})
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "initech" and body["name"] == "Initech" and body["status"] == "active"
    assert body["domains"] == ["initech.localhost"]
    assert body["settings"]["max_upload_mb"] == 5
    tenant = Tenant.objects.get(pk=body["id"])
    assert tenant.schema_name == "t_initech" and schema_is_present("t_initech")
    assert Membership.objects.get(tenant=tenant).user == user
    assert Membership.objects.get(tenant=tenant).role == "owner"


def test_creating_a_tenant_is_audited(api):
    user = user_make()
    api.post(
        "/api/tenants",
        token=token_make(user),
        json={"name": "Initech", "slug": "initech"},
        headers={"X-Forwarded-For": "ignored"},
    )
    event = AuditEvent.objects.get(action="tenant.create")
    assert event.actor == user and event.tenant_slug == "initech"
    assert event.after["owner"] == user.email and event.ip == "127.0.0.1"


def test_a_duplicate_slug_is_a_conflict_and_creates_nothing(api, acme):
    user = user_make()
    response = api.post("/api/tenants", token=token_make(user), json={"name": "Other", "slug": "acme"})
    assert response.status_code == 409
    assert error_code(response) == "slug_taken"
    assert Tenant.objects.count() == 1 and Domain.objects.count() == 1
    assert not Membership.objects.filter(user=user).exists()


@pytest.mark.parametrize("slug", ["public", "www", "api", "admin", "tenant-template", "pool-x"])
def test_a_reserved_slug_is_refused(api, slug):
    response = api.post("/api/tenants", token=token_make(user_make()), json={"name": "X", "slug": slug})
    assert response.status_code == 400
    assert error_code(response) == "slug_reserved"
    assert Tenant.objects.count() == 0


@pytest.mark.parametrize("slug", ["Upper", "-lead", "trail-", "under_score", "a" * 51, "dot.ted", ""])
def test_a_slug_that_is_not_dns_safe_is_refused_naming_the_field(api, slug):
    response = api.post("/api/tenants", token=token_make(user_make()), json={"name": "X", "slug": slug})
    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert "slug" in response.json()["error"]["details"]
    assert Tenant.objects.count() == 0


def test_creating_needs_authentication(api):
    response = api.post("/api/tenants", json={"name": "X", "slug": "x"})
    assert response.status_code == 401
    assert Tenant.objects.count() == 0


# --- list and detail ----------------------------------------------------------


def test_the_list_holds_only_the_callers_tenants_with_their_role(api, acme, globex):
    member = member_make(acme)
    response = api.get("/api/tenants", token=token_make(member))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [(t["slug"], t["role"]) for t in body["results"]] == [("acme", "member")]


def test_the_list_is_paginated(api):
    user = user_make()
    token = token_make(user)
    for i in range(3):
        api.post("/api/tenants", token=token, json={"name": f"T{i}", "slug": f"t{i}"})
    body = api.get("/api/tenants?page_size=2", token=token).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


def test_a_member_reads_the_tenant(api, acme):
    response = api.get(f"/api/tenants/{acme.pk}", token=acme.owner_token)
    assert response.status_code == 200
    assert set(response.json()) == {
        "id",
        "slug",
        "name",
        "status",
        "domains",
        "settings",
        "created_at",
        "deletion_due_at",
    }


def test_a_member_of_globex_cannot_read_acme(api, acme, globex):
    response = api.get(f"/api/tenants/{acme.pk}", token=globex.owner_token)
    assert response.status_code == 403
    assert error_code(response) == "not_a_member"


def test_an_unknown_tenant_id_is_404(api, acme):
    response = api.get("/api/tenants/00000000-0000-0000-0000-000000000000", token=acme.owner_token)
    assert response.status_code == 404
    assert error_code(response) == "tenant_not_found"


# --- settings -----------------------------------------------------------------


def test_an_owner_updates_settings_and_keys_not_sent_keep_their_value(api, acme):
    url = f"/api/tenants/{acme.pk}/settings"
    api.put(url, token=acme.owner_token, json={"max_upload_mb": 20})
    response = api.put(
        url,
        token=acme.owner_token,
        json={"display_name": "ACME", "features": {"jobs": False}, "frontend_origins": ["https://App.acme.com"]},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["max_upload_mb"] == 20 and body["display_name"] == "ACME"
    assert body["features"] == {"realtime": True, "uploads": True, "jobs": False, "webhooks": True}
    assert body["frontend_origins"] == ["https://app.acme.com"]
    assert api.get(url, token=acme.owner_token).json() == body


def test_settings_changes_are_audited_with_before_and_after(api, acme):
    api.put(f"/api/tenants/{acme.pk}/settings", token=acme.owner_token, json={"max_upload_mb": 20})
    event = AuditEvent.objects.get(action="tenant.settings_update")
    assert event.before == {"max_upload_mb": 5} and event.after == {"max_upload_mb": 20}
    assert event.actor == acme.owner


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"colour": "red"}, "colour"),
        ({"max_upload_mb": 0}, "max_upload_mb"),
        ({"max_upload_mb": "lots"}, "max_upload_mb"),
        ({"rate_limit_per_minute": -1}, "rate_limit_per_minute"),
        ({"allowed_file_types": ["exe"]}, "allowed_file_types"),
        ({"frontend_origins": ["javascript:alert(1)"]}, "frontend_origins"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"features": {"teleport": True}}, "features"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field_and_nothing_changes(api, acme, payload, field):
    response = api.put(f"/api/tenants/{acme.pk}/settings", token=acme.owner_token, json=payload)
    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert field in response.json()["error"]["details"]
    acme.refresh_from_db()
    assert acme.settings == {}
    assert not AuditEvent.objects.filter(action="tenant.settings_update").exists()


def test_settings_that_are_not_an_object_are_refused(api, acme):
    response = api.put(f"/api/tenants/{acme.pk}/settings", token=acme.owner_token, raw='["a"]')
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_a_plain_member_cannot_change_settings(api, acme):
    member = member_make(acme)
    response = api.put(f"/api/tenants/{acme.pk}/settings", token=token_make(member), json={"max_upload_mb": 9})
    assert response.status_code == 403
    assert error_code(response) == "insufficient_role"
    acme.refresh_from_db()
    assert acme.settings == {}


def test_globex_cannot_change_acmes_settings(api, acme, globex):
    response = api.put(f"/api/tenants/{acme.pk}/settings", token=globex.owner_token, json={"max_upload_mb": 9})
    assert error_code(response) == "not_a_member"


# --- usage --------------------------------------------------------------------


def test_usage_counts_members_schema_bytes_todays_api_requests_and_jobs(api, acme, globex):
    from jobs.services import job_enqueue

    member_make(acme)
    job_enqueue(acme, "noop")
    job_enqueue(acme, "noop")
    job_enqueue(globex, "noop")
    for _ in range(3):
        api.get("/api/tenant", host="acme.localhost", token=acme.owner_token)
    response = api.get(f"/api/tenants/{acme.pk}/usage", token=acme.owner_token)
    assert response.status_code == 200
    usage = response.json()
    assert usage["members"] == 2
    assert usage["api_requests_today"] == 3
    assert usage["schema_bytes"] > 0
    assert usage["jobs"] == 2
    assert (usage["storage_bytes"], usage["files"]) == (0, 0)


def test_api_requests_of_one_tenant_do_not_count_for_another(api, acme, globex):
    api.get("/api/tenant", host="acme.localhost", token=acme.owner_token)
    usage = api.get(f"/api/tenants/{globex.pk}/usage", token=globex.owner_token).json()
    assert usage["api_requests_today"] == 0


# --- audit --------------------------------------------------------------------


def test_the_audit_log_is_newest_first_for_owners(api, acme):
    api.put(f"/api/tenants/{acme.pk}/settings", token=acme.owner_token, json={"max_upload_mb": 7})
    response = api.get(f"/api/tenants/{acme.pk}/audit", token=acme.owner_token)
    assert response.status_code == 200
    actions = [e["action"] for e in response.json()["results"]]
    assert actions == ["tenant.settings_update", "tenant.create"]


def test_members_cannot_read_the_audit_log(api, acme):
    response = api.get(f"/api/tenants/{acme.pk}/audit", token=token_make(member_make(acme)))
    assert error_code(response) == "insufficient_role"


def test_globex_cannot_read_acmes_audit_log(api, acme, globex):
    assert error_code(api.get(f"/api/tenants/{acme.pk}/audit", token=globex.owner_token)) == "not_a_member"


# --- me -----------------------------------------------------------------------


def test_me_on_the_platform_host_lists_the_users_tenants(api, acme, globex):
    user = member_make(acme, role="admin")
    Membership.objects.create(tenant=globex, user=user, role="member")
    body = api.get("/api/me", token=token_make(user)).json()
    assert [(t["slug"], t["role"]) for t in body["tenants"]] == [("acme", "admin"), ("globex", "member")]


def test_me_on_a_tenant_host_names_the_tenant_and_role(api, acme):
    body = api.get("/api/me", host="acme.localhost", token=acme.owner_token).json()
    assert body["tenant"]["slug"] == "acme" and body["role"] == "owner"
    assert body["user"]["email"] == acme.owner.email
