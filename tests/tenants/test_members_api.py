"""Members: add, change role, remove, leave — and the owner rules."""

import pytest

from tenants.models import AuditEvent, Invitation, Membership
from tests.factories import member_make, token_make, user_make
from tests.helpers import error_code

pytestmark = pytest.mark.django_db


def url(tenant, user_id=None):
    base = f"/api/tenants/{tenant.pk}/members"
    return base if user_id is None else f"{base}/{user_id}"


def test_members_are_listed_with_their_roles(api, acme):
    member = member_make(acme, email="m@acme.test")
    body = api.get(url(acme), token=token_make(member)).json()
    assert [(m["email"], m["role"]) for m in body["results"]] == [
        ("owner@acme.test", "owner"),
        ("m@acme.test", "member"),
    ]


def test_an_owner_adds_an_existing_user_by_email(api, acme):
    user = user_make("new@example.com")
    response = api.post(url(acme), token=acme.owner_token, json={"email": "NEW@example.com", "role": "admin"})
    assert response.status_code == 201
    assert response.json()["user_id"] == user.pk and response.json()["role"] == "admin"
    assert Membership.objects.get(tenant=acme, user=user).role == "admin"
    event = AuditEvent.objects.get(action="member.add")
    assert event.after == {"email": "new@example.com", "role": "admin"} and event.actor == acme.owner


def test_adding_an_email_without_an_account_invites_it(api, acme):
    response = api.post(url(acme), token=acme.owner_token, json={"email": "Ghost@example.com", "role": "admin"})
    assert response.status_code == 202
    body = response.json()
    assert (body["email"], body["role"], body["status"]) == ("ghost@example.com", "admin", "pending")
    assert Invitation.objects.get(pk=body["id"]).tenant == acme
    assert Membership.objects.filter(tenant=acme).count() == 1
    again = api.post(url(acme), token=acme.owner_token, json={"email": "ghost@example.com"})
    assert (again.status_code, error_code(again)) == (409, "invitation_pending")


def test_an_account_that_has_not_confirmed_its_address_is_invited_not_added(api, acme):
    """Whoever signed up first with someone's address (unverified) must not join in their place:
    the address is invited, and only whoever reads its mail can accept."""
    user = user_make("squatter@example.com")
    user.email_verified = False
    user.save(update_fields=["email_verified"])

    response = api.post(
        f"/api/tenants/{acme.pk}/members", token=acme.owner_token, json={"email": user.email, "role": "member"}
    )

    assert (response.status_code, response.json()["email"]) == (202, user.email)
    assert not Membership.objects.filter(user=user).exists()
    assert Invitation.objects.filter(tenant=acme, email=user.email).exists()


def test_an_api_keys_service_account_cannot_be_added_anywhere(api, acme, globex):
    key = api.post(f"/api/tenants/{acme.pk}/api-keys", token=acme.owner_token, json={"name": "ci", "role": "member"})
    service_email = Membership.objects.get(tenant=acme, user__email__endswith="@service.invalid").user.email

    response = api.post(
        f"/api/tenants/{globex.pk}/members", token=globex.owner_token, json={"email": service_email, "role": "owner"}
    )

    assert key.status_code == 201
    assert (response.status_code, error_code(response)) == (404, "user_not_found")


def test_adding_an_existing_member_is_a_conflict(api, acme):
    member = member_make(acme)
    response = api.post(url(acme), token=acme.owner_token, json={"email": member.email, "role": "admin"})
    assert response.status_code == 409
    assert error_code(response) == "already_member"
    assert Membership.objects.get(tenant=acme, user=member).role == "member"


def test_an_unknown_role_is_refused(api, acme):
    user_make("new@example.com")
    response = api.post(url(acme), token=acme.owner_token, json={"email": "new@example.com", "role": "emperor"})
    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert "role" in response.json()["error"]["details"]
    assert Membership.objects.filter(tenant=acme).count() == 1


def test_a_plain_member_cannot_add_members(api, acme):
    user_make("new@example.com")
    response = api.post(url(acme), token=token_make(member_make(acme)), json={"email": "new@example.com"})
    assert error_code(response) == "insufficient_role"


def test_an_admin_cannot_make_an_owner(api, acme):
    admin = member_make(acme, role="admin")
    user_make("new@example.com")
    response = api.post(url(acme), token=token_make(admin), json={"email": "new@example.com", "role": "owner"})
    assert response.status_code == 403
    assert error_code(response) == "insufficient_role"


def test_an_admin_cannot_remove_an_owner(api, acme):
    admin = member_make(acme, role="admin")
    response = api.delete(url(acme, acme.owner.pk), token=token_make(admin))
    assert error_code(response) == "insufficient_role"
    assert Membership.objects.filter(tenant=acme, user=acme.owner).exists()


def test_an_owner_changes_a_role_and_it_is_audited(api, acme):
    member = member_make(acme)
    response = api.patch(url(acme, member.pk), token=acme.owner_token, json={"role": "admin"})
    assert response.status_code == 200 and response.json()["role"] == "admin"
    event = AuditEvent.objects.get(action="member.role_change")
    assert (event.before, event.after) == ({"role": "member"}, {"role": "admin"})


def test_the_last_owner_cannot_be_demoted(api, acme):
    response = api.patch(url(acme, acme.owner.pk), token=acme.owner_token, json={"role": "member"})
    assert response.status_code == 409
    assert error_code(response) == "last_owner"
    assert Membership.objects.get(tenant=acme, user=acme.owner).role == "owner"


def test_the_last_owner_cannot_be_removed_or_leave(api, acme):
    response = api.delete(url(acme, acme.owner.pk), token=acme.owner_token)
    assert response.status_code == 409
    assert error_code(response) == "last_owner"
    assert Membership.objects.filter(tenant=acme, user=acme.owner).exists()


def test_an_owner_can_leave_when_another_owner_remains(api, acme):
    member_make(acme, role="owner")
    assert api.delete(url(acme, acme.owner.pk), token=acme.owner_token).status_code == 204
    assert AuditEvent.objects.filter(action="member.leave").exists()


def test_an_owner_removes_a_member_and_it_is_audited(api, acme):
    member = member_make(acme)
    assert api.delete(url(acme, member.pk), token=acme.owner_token).status_code == 204
    assert not Membership.objects.filter(tenant=acme, user=member).exists()
    assert AuditEvent.objects.get(action="member.remove").before["email"] == member.email


def test_a_member_may_leave_but_not_remove_others(api, acme):
    member, other = member_make(acme), member_make(acme)
    token = token_make(member)
    assert error_code(api.delete(url(acme, other.pk), token=token)) == "insufficient_role"
    assert api.delete(url(acme, member.pk), token=token).status_code == 204


def test_a_removed_member_loses_access_at_once(api, acme):
    member = member_make(acme)
    token = token_make(member)
    assert api.get("/api/tenant", host="acme.localhost", token=token).status_code == 200
    api.delete(url(acme, member.pk), token=acme.owner_token)
    response = api.get("/api/tenant", host="acme.localhost", token=token)
    assert error_code(response) == "not_a_member"


def test_removing_someone_who_is_not_a_member_is_404(api, acme):
    response = api.delete(url(acme, 999999), token=acme.owner_token)
    assert response.status_code == 404
    assert error_code(response) == "member_not_found"


def test_globex_cannot_touch_acmes_members(api, acme, globex):
    member = member_make(acme)
    assert error_code(api.get(url(acme), token=globex.owner_token)) == "not_a_member"
    assert error_code(api.delete(url(acme, member.pk), token=globex.owner_token)) == "not_a_member"
    assert Membership.objects.filter(tenant=acme, user=member).exists()
