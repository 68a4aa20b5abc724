"""DELETE /api/me {password}: the account and its memberships go; refused while the last owner of a tenant."""

from django_tenants.utils import tenant_context

from accounts.models import AuthToken, User
from realtime.models import Message, Room
from tenants.models import Membership
from tests.factories import PASSWORD, member_make, token_make
from tests.helpers import error_code


def test_the_last_owner_of_a_tenant_cannot_delete_their_account(api, acme, globex):
    Membership.objects.create(tenant=globex, user=acme.owner, role="owner")  # globex has two owners now
    response = api.delete("/api/me", token=acme.owner_token, json={"password": PASSWORD})
    assert response.status_code == 409 and error_code(response) == "last_owner"
    assert response.json()["error"]["details"]["tenants"] == [{"id": str(acme.pk), "slug": "acme", "name": "Acme"}]
    assert User.objects.filter(pk=acme.owner.pk).exists()


def test_a_suspended_tenant_still_needs_another_owner(api, acme):
    acme.status = "suspended"
    acme.save(update_fields=["status"])
    response = api.delete("/api/me", token=acme.owner_token, json={"password": PASSWORD})
    assert response.status_code == 409 and error_code(response) == "last_owner"


def test_a_member_deletes_their_account_with_their_password(api, acme, globex):
    member = member_make(acme, email="member@acme.test")
    Membership.objects.create(tenant=globex, user=member, role="owner")  # a co-owner: globex keeps its owner
    raw = token_make(member)
    response = api.delete("/api/me", token=raw, json={"password": "not-the-password"})
    assert response.status_code == 400 and error_code(response) == "wrong_password"
    response = api.delete("/api/me", token=raw, json={"password": PASSWORD})
    assert response.status_code == 204, response.content
    assert not User.objects.filter(pk=member.pk).exists()
    assert not Membership.objects.filter(user_id=member.pk).exists()
    assert not AuthToken.objects.filter(user_id=member.pk).exists()
    assert api.get("/api/me", token=raw).status_code == 401
    assert Membership.objects.filter(tenant=acme, user=acme.owner).exists()  # the tenant lives on


def test_what_a_deleted_user_wrote_stays_readable_with_their_id_unresolved(api, acme):
    member = member_make(acme, email="member@acme.test")
    with tenant_context(acme):
        room = Room.objects.create(name="general", created_by=member)
        Message.objects.create(room=room, author=member, body="hello")
    assert api.delete("/api/me", token=token_make(member), json={"password": PASSWORD}).status_code == 204

    response = api.get(f"/api/rooms/{room.pk}/messages", host="acme.localhost", token=acme.owner_token)
    assert response.status_code == 200, response.content
    body = response.json()
    messages = body["results"] if isinstance(body, dict) else body
    assert [(m["author"], m["body"]) for m in messages] == [(member.pk, "hello")]
    assert not User.objects.filter(pk=member.pk).exists()  # the id names nobody: clients show "deleted user"
