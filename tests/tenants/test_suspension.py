"""What a suspended tenant may still do (tenants.access): its owners read its
record on the platform API; nobody writes, sends or starts work, anywhere."""

import pytest

from jobs.models import Job
from tenants.audit import SYSTEM
from tenants.models import Membership
from tenants.services import tenant_reactivate, tenant_suspend
from tests.factories import PASSWORD, member_make, token_make, user_make
from tests.helpers import error_code

pytestmark = pytest.mark.django_db

READS = ["", "/settings", "/usage", "/members", "/audit"]


@pytest.fixture
def suspended(acme):
    acme.admin_token = token_make(member_make(acme, role="admin", email="admin@acme.test"))
    acme.member = member_make(acme, email="member@acme.test")
    acme.member_token = token_make(acme.member)
    tenant_suspend(tenant=acme, actor=SYSTEM)
    return acme


@pytest.mark.parametrize("path", READS)
def test_an_owner_still_reads_the_suspended_tenants_record(api, suspended, path):
    response = api.get(f"/api/tenants/{suspended.pk}{path}", token=suspended.owner_token)
    assert response.status_code == 200
    if path == "":
        assert response.json()["status"] == "suspended"


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("who", ["admin_token", "member_token"])
def test_other_roles_read_nothing_of_a_suspended_tenant(api, suspended, path, who):
    response = api.get(f"/api/tenants/{suspended.pk}{path}", token=getattr(suspended, who))
    assert response.status_code == 403
    # the audit is for managers whatever the status: a member is refused for their role first
    expected = "insufficient_role" if (who, path) == ("member_token", "/audit") else "tenant_suspended"
    assert error_code(response) == expected


def test_a_suspended_tenant_still_shows_in_its_members_list_of_tenants(api, suspended):
    body = api.get("/api/tenants", token=suspended.member_token).json()
    assert [(t["slug"], t["status"]) for t in body["results"]] == [("acme", "suspended")]


def test_nobody_changes_the_settings_of_a_suspended_tenant(api, suspended):
    response = api.put(f"/api/tenants/{suspended.pk}/settings", token=suspended.owner_token, json={"max_upload_mb": 50})
    assert response.status_code == 403
    assert error_code(response) == "tenant_suspended"
    suspended.refresh_from_db()
    assert suspended.settings == {}


def test_nobody_adds_a_member_to_a_suspended_tenant_and_no_welcome_email_goes(api, suspended):
    newcomer = user_make("new@example.com")
    response = api.post(
        f"/api/tenants/{suspended.pk}/members",
        token=suspended.owner_token,
        json={"email": newcomer.email, "role": "member"},
    )
    assert response.status_code == 403
    assert error_code(response) == "tenant_suspended"
    assert not Membership.objects.filter(user=newcomer).exists()
    assert not Job.objects.filter(task="email.send").exists()


def test_nobody_changes_or_removes_members_of_a_suspended_tenant(api, suspended):
    url = f"/api/tenants/{suspended.pk}/members/{suspended.member.pk}"
    changed = api.patch(url, token=suspended.owner_token, json={"role": "admin"})
    removed = api.delete(url, token=suspended.owner_token)
    left = api.delete(url, token=suspended.member_token)
    assert [error_code(r) for r in (changed, removed, left)] == ["tenant_suspended"] * 3
    assert Membership.objects.get(user=suspended.member).role == "member"


def test_no_job_is_enqueued_in_a_suspended_tenant(api, suspended):
    response = api.post(
        "/api/jobs", host="acme.localhost", token=suspended.owner_token, json={"task": "noop", "payload": {}}
    )
    assert response.status_code == 403
    assert error_code(response) == "tenant_suspended"
    assert not Job.objects.exists()


def test_after_reactivation_owners_write_again(api, suspended):
    tenant_reactivate(tenant=suspended, actor=SYSTEM)
    response = api.put(f"/api/tenants/{suspended.pk}/settings", token=suspended.owner_token, json={"max_upload_mb": 50})
    assert response.status_code == 200
    assert api.get(f"/api/tenants/{suspended.pk}", token=suspended.member_token).status_code == 200


def test_no_token_bound_to_a_suspended_tenant_is_issued(api, suspended):
    response = api.post(
        "/api/auth/token", json={"email": suspended.owner.email, "password": PASSWORD, "tenant": suspended.slug}
    )
    assert (response.status_code, error_code(response)) == (403, "tenant_suspended")
    assert api.post("/api/auth/token", json={"email": suspended.owner.email, "password": PASSWORD}).status_code == 200
