"""The operator admin on the platform host."""

import pytest
from django.test import Client

from jobs.models import Job
from tenants.models import AuditEvent, Domain, Tenant
from tenants.provisioning import schema_is_present
from tests.factories import member_make, user_make

from .admin_forms import change_form, member_rows
from .admin_forms import operator_client as operator_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client():
    return operator_login()


def test_the_tenant_list_shows_status_domains_members_and_schema_size(operator_client, acme, globex):
    member_make(acme)
    response = operator_client.get("/admin/tenants/tenant/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "acme.localhost" in page and "globex.localhost" in page
    rows = {t.slug: t for t in response.context["cl"].result_list}
    assert rows["acme"].member_count == 2 and rows["globex"].member_count == 1
    assert rows["acme"].schema_bytes > 0


def test_the_tenant_list_can_be_searched_and_filtered(operator_client, acme, globex):
    response = operator_client.get("/admin/tenants/tenant/?q=acme.localhost")
    assert [t.slug for t in response.context["cl"].result_list] == ["acme"]
    response = operator_client.get("/admin/tenants/tenant/?status__exact=suspended")
    assert list(response.context["cl"].result_list) == []


def test_the_change_page_shows_domains_and_members_inline(operator_client, acme):
    response = operator_client.get(f"/admin/tenants/tenant/{acme.pk}/change/")
    assert response.status_code == 200
    assert b"acme.localhost" in response.content and acme.owner.email.encode() in response.content


def test_an_operator_creates_a_tenant_and_its_schema_from_the_admin(operator_client):
    owner = user_make("boss@initech.test")
    response = operator_client.post(
        "/admin/tenants/tenant/add/", {"slug": "initech", "name": "Initech", "owner_email": owner.email}
    )
    assert response.status_code == 302, response.content[:2000]
    tenant = Tenant.objects.get(slug="initech")
    assert schema_is_present("t_initech")
    assert Domain.objects.get(tenant=tenant).domain == "initech.localhost"
    assert tenant.memberships.get().user == owner
    assert AuditEvent.objects.get(action="tenant.create").actor.email == "ops@platform.test"


def test_the_admin_refuses_a_reserved_slug(operator_client):
    response = operator_client.post("/admin/tenants/tenant/add/", {"slug": "admin", "name": "Nope"})
    assert response.status_code == 200  # the form again, with the error
    assert not Tenant.objects.exists()


def test_suspend_and_reactivate_actions_change_status_and_are_audited(operator_client, acme, globex):
    url = "/admin/tenants/tenant/"
    operator_client.post(url, {"action": "suspend", "_selected_action": [acme.pk]})
    acme.refresh_from_db()
    globex.refresh_from_db()
    assert acme.status == "suspended" and globex.status == "active"
    operator_client.post(url, {"action": "reactivate", "_selected_action": [acme.pk]})
    acme.refresh_from_db()
    assert acme.status == "active"
    actions = list(AuditEvent.objects.filter(tenant=acme).values_list("action", flat=True))
    assert actions[:2] == ["tenant.reactivate", "tenant.suspend"]


def test_adding_a_domain_inline_is_audited(operator_client, acme):
    domain = Domain.objects.get(tenant=acme)
    form = change_form(
        acme, domains=[{"id": domain.pk, "domain": domain.domain, "is_primary": "on"}, {"domain": "app.acme.com"}]
    )
    response = operator_client.post(f"/admin/tenants/tenant/{acme.pk}/change/", form)
    assert response.status_code == 302, response.content[:3000]
    assert Domain.objects.filter(domain="app.acme.com", tenant=acme).exists()
    assert AuditEvent.objects.get(action="domain.add").after == {"domain": "app.acme.com"}


def test_a_member_added_inline_is_audited_and_welcomed_and_a_removal_is_audited(operator_client, acme):
    owner = acme.memberships.get()
    newcomer = user_make("newcomer@example.com")
    rows = [{"id": owner.pk, "user": owner.user_id, "role": "owner"}, {"user": newcomer.pk, "role": "member"}]
    response = operator_client.post(f"/admin/tenants/tenant/{acme.pk}/change/", change_form(acme, memberships=rows))
    assert response.status_code == 302, response.content[:3000]
    added = acme.memberships.get(user=newcomer)
    assert AuditEvent.objects.get(action="member.add").after == {"email": "newcomer@example.com", "role": "member"}
    assert Job.objects.filter(tenant=acme, task="email.send", idempotency_key=f"welcome:{added.pk}").exists()

    rows = [
        {"id": owner.pk, "user": owner.user_id, "role": "owner"},
        {"id": added.pk, "user": newcomer.pk, "role": "member", "DELETE": "on"},
    ]
    response = operator_client.post(f"/admin/tenants/tenant/{acme.pk}/change/", change_form(acme, memberships=rows))
    assert response.status_code == 302, response.content[:3000]
    assert not acme.memberships.filter(user=newcomer).exists()
    assert AuditEvent.objects.get(action="member.remove").before == {"email": "newcomer@example.com", "role": "member"}


def test_roles_changed_inline_go_through_the_service_owner_handed_over_in_one_save(operator_client, acme):
    member = member_make(acme, email="member@acme.test")
    rows = member_rows(acme, **{acme.owner.email: {"role": "admin"}, member.email: {"role": "owner"}})
    response = operator_client.post(f"/admin/tenants/tenant/{acme.pk}/change/", change_form(acme, memberships=rows))
    assert response.status_code == 302, response.content[:3000]
    assert dict(acme.memberships.values_list("user__email", "role")) == {
        acme.owner.email: "admin",
        member.email: "owner",
    }
    changes = AuditEvent.objects.filter(action="member.role_change").order_by("id")
    assert [(e.target, e.before, e.after, e.actor_email) for e in changes] == [
        (f"user:{member.pk}", {"role": "member"}, {"role": "owner"}, "ops@platform.test"),  # the promotion first
        (f"user:{acme.owner.pk}", {"role": "owner"}, {"role": "admin"}, "ops@platform.test"),
    ]


@pytest.mark.parametrize("change", [{"DELETE": "on"}, {"role": "member"}])
def test_the_last_owner_cannot_go_inline_the_page_says_why_and_nothing_is_saved(operator_client, acme, change):
    form = change_form(acme, memberships=member_rows(acme, **{acme.owner.email: change}))
    form["name"] = "Renamed"
    response = operator_client.post(f"/admin/tenants/tenant/{acme.pk}/change/", form, follow=True)
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Nothing was saved: A tenant must keep at least one owner."
    ]
    acme.refresh_from_db()
    assert acme.name == "Acme" and acme.memberships.get().role == "owner"
    assert not AuditEvent.objects.filter(action__startswith="member.").exists()


def test_a_user_changed_on_an_inline_row_is_the_old_member_removed_and_the_new_one_added(operator_client, acme):
    member = member_make(acme, email="member@acme.test")
    newcomer = user_make("newcomer@example.com")
    rows = member_rows(acme, **{member.email: {"user": newcomer.pk}})
    response = operator_client.post(f"/admin/tenants/tenant/{acme.pk}/change/", change_form(acme, memberships=rows))
    assert response.status_code == 302, response.content[:3000]
    assert set(acme.memberships.values_list("user__email", flat=True)) == {acme.owner.email, newcomer.email}
    assert sorted(AuditEvent.objects.filter(action__startswith="member.").values_list("action", "target")) == [
        ("member.add", f"user:{newcomer.pk}"),
        ("member.remove", f"user:{member.pk}"),
    ]


def test_the_audit_log_is_read_only(operator_client, acme):
    assert operator_client.get("/admin/tenants/auditevent/").status_code == 200
    event = AuditEvent.objects.first()
    assert operator_client.get("/admin/tenants/auditevent/add/").status_code == 403
    response = operator_client.post(f"/admin/tenants/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_every_admin_index_page_loads(operator_client, acme):
    for url in [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/authtoken/",
        "/admin/tenants/pooledschema/",
        "/admin/tenants/tenant/add/",
        "/admin/django_q/schedule/",
    ]:
        assert operator_client.get(url).status_code == 200, url


def test_non_operators_are_sent_to_the_login_page(acme):
    client = Client(HTTP_HOST="localhost")
    client.force_login(acme.owner)
    response = client.get("/admin/tenants/tenant/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_admin_is_not_served_on_tenant_hosts(acme):
    client = Client(HTTP_HOST="acme.localhost")
    assert client.get("/admin/").status_code == 404
