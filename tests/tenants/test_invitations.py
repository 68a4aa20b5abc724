"""Invitations (tenants/invitations.py): a manager invites an address, whoever holds the emailed
link joins — signed in as that address, or by making the account the link proves."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from common.actors import SYSTEM
from common.domain_events import captured
from jobs.models import Job
from tenants.models import AuditEvent, Invitation, Membership
from tenants.services import tenant_deletion_request, tenant_suspend
from tests.conftest import Api
from tests.factories import PASSWORD, member_make, token_make, user_make
from tests.helpers import error_code
from tests.tenants.test_members_concurrency import at_once, statuses
from webhooks.catalogue import tenant_events

NEW_PASSWORD = "a-brand-new-passphrase-42"
LINK_RE = re.compile(r"/api/invitations/([A-Za-z0-9_-]{40,})")


@pytest.fixture
def mailbox(smtp_server):
    smtp_server.start()
    smtp_server.mailbox.clear()
    yield smtp_server.mailbox


def invitations_url(tenant, iid=None, action=None) -> str:
    return f"/api/tenants/{tenant.pk}/invitations" + (f"/{iid}" if iid else "") + (f"/{action}" if action else "")


def invite(api, tenant, email="new@example.test", role="member", token=None) -> dict:
    response = api.post(invitations_url(tenant), token=token or tenant.owner_token, json={"email": email, "role": role})
    assert response.status_code == 201, response.content
    return response.json()


def emailed_token(invitation_id) -> str:
    """The token the latest email of this invitation carries (its queued email.send job's payload)."""
    job = Job.objects.filter(task="email.send", idempotency_key__startswith=f"invitation:{invitation_id}:").latest("id")
    return job.payload["context"]["token"]


def link_of(message) -> str:
    found = LINK_RE.search(message.text)
    assert found and found.group(1) in message.html, message.text
    return found.group(1)


def accept(api, raw, **kw):
    return api.post(f"/api/invitations/{raw}/accept", **kw)


def test_a_new_person_accepts_the_emailed_link_and_gets_a_verified_account(committed, qcluster, mailbox, api, acme):
    with captured() as events:
        created = invite(api, acme, "New@Example.test", role="admin")
    assert set(created) >= {"id", "email", "role", "status", "expires_at"}
    assert (created["email"], created["role"], created["status"]) == ("new@example.test", "admin", "pending")

    message = mailbox.wait_to("new@example.test")
    assert message.subject == "You are invited to Acme" and "owner@acme.test invites" in message.text
    raw = link_of(message)
    assert Invitation.objects.get().token_hash == hashlib.sha256(raw.encode()).hexdigest()  # only the hash is kept
    assert raw not in json.dumps(events[0].model_dump(mode="json"))
    assert not [a for a in AuditEvent.objects.all() if raw in json.dumps([a.before, a.after])]

    shown = api.get(f"/api/invitations/{raw}")
    assert shown.status_code == 200
    assert shown.json()["tenant"] == {"id": str(acme.pk), "name": "Acme", "slug": "acme"}
    assert (shown.json()["email"], shown.json()["role"]) == ("new@example.test", "admin")
    assert set(shown.json()) == {"tenant", "email", "role", "expires_at"}  # nothing about an account

    missing = accept(api, raw, json={})
    weak = accept(api, raw, json={"password": "123"})
    assert [(r.status_code, error_code(r)) for r in (missing, weak)] == [(400, "validation_error")] * 2
    assert weak.json()["error"]["details"]["password"]

    accepted = accept(api, raw, json={"password": NEW_PASSWORD})
    assert accepted.status_code == 200, accepted.content
    body = accepted.json()
    assert (body["tenant"]["slug"], body["role"]) == ("acme", "admin") and body["token"]
    user = User.objects.get(email="new@example.test")
    assert user.email_verified and Membership.objects.get(tenant=acme, user=user).role == "admin"
    me = api.get("/api/me", token=body["token"]).json()
    assert [t["slug"] for t in me["tenants"]] == ["acme"]
    assert api.post("/api/auth/token", json={"email": user.email, "password": NEW_PASSWORD}).status_code == 200
    assert mailbox.wait(lambda m: m.subject == "Welcome to Acme")[0].rcpt_tos == ["new@example.test"]

    actions = set(AuditEvent.objects.filter(tenant=acme).values_list("action", flat=True))
    assert {"invitation.create", "invitation.accept", "member.add"} <= actions
    used = [accept(api, raw, json={"password": NEW_PASSWORD}), api.get(f"/api/invitations/{raw}")]
    assert [(r.status_code, error_code(r)) for r in used] == [(410, "invitation_used")] * 2


def test_adding_an_address_without_an_account_invites_it_and_a_resend_replaces_the_link(
    committed, qcluster, mailbox, api, acme
):
    added = api.post(f"/api/tenants/{acme.pk}/members", token=acme.owner_token, json={"email": "ghost@example.test"})
    assert added.status_code == 202 and added.json()["status"] == "pending"
    first = link_of(mailbox.wait_to("ghost@example.test"))

    resent = api.post(invitations_url(acme, added.json()["id"], "resend"), token=acme.owner_token)
    assert resent.status_code == 202 and resent.json()["send_count"] == 2
    second = link_of(mailbox.wait(lambda m: "ghost@example.test" in m.rcpt_tos, count=2)[1])
    assert second != first

    old = api.get(f"/api/invitations/{first}")
    assert (old.status_code, error_code(old)) == (404, "invitation_not_found")
    assert accept(api, second, json={"password": NEW_PASSWORD}).status_code == 200
    assert AuditEvent.objects.filter(tenant=acme, action="invitation.resend").count() == 1


def test_a_signed_in_user_with_the_address_joins_and_another_is_refused(api, acme):
    invited = user_make("ada@example.test")
    created = invite(api, acme, "ada@example.test")
    raw = emailed_token(created["id"])

    other = accept(api, raw, token=token_make(user_make("eve@example.test")), json={})
    assert (other.status_code, error_code(other)) == (403, "invitation_email_mismatch")
    signed_out = accept(api, raw, json={"password": NEW_PASSWORD})  # the account exists: its owner signs in
    assert (signed_out.status_code, error_code(signed_out)) == (401, "sign_in_required")
    assert invited.check_password(PASSWORD) and not Membership.objects.filter(user=invited).exists()

    joined = accept(api, raw, token=token_make(invited), json={})
    assert joined.status_code == 200 and joined.json()["token"] is None and joined.json()["role"] == "member"
    assert Membership.objects.filter(tenant=acme, user=invited).exists()
    assert Invitation.objects.get().accepted_by == invited


def test_an_unverified_account_accepting_by_the_link_is_verified_unless_the_setting_forbids(api, acme, settings):
    user = user_make("late@example.test", email_verified=False)
    added = api.post(f"/api/tenants/{acme.pk}/members", token=acme.owner_token, json={"email": user.email})
    assert added.status_code == 202  # invited, not added: only the address's owner can accept
    raw, token = emailed_token(added.json()["id"]), token_make(user)

    settings.UNVERIFIED_USERS_MAY = {"sign_in"}
    refused = accept(api, raw, token=token, json={})
    assert (refused.status_code, error_code(refused)) == (403, "email_unverified")

    settings.UNVERIFIED_USERS_MAY = {"sign_in", "accept_invitations"}
    assert accept(api, raw, token=token, json={}).status_code == 200
    user.refresh_from_db()
    assert user.email_verified and Membership.objects.filter(tenant=acme, user=user).exists()


def test_expired_revoked_and_unknown_links_are_refused_with_their_codes(api, acme):
    expired = invite(api, acme, "old@example.test")
    Invitation.objects.filter(pk=expired["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked = invite(api, acme, "gone@example.test")
    revoked_raw = emailed_token(revoked["id"])
    assert api.get(f"/api/invitations/{revoked_raw}").status_code == 200

    assert api.delete(invitations_url(acme, revoked["id"]), token=acme.owner_token).status_code == 204

    cases = {
        emailed_token(expired["id"]): (410, "invitation_expired"),
        revoked_raw: (410, "invitation_revoked"),
        "x" * 43: (404, "invitation_not_found"),
    }
    for raw, expected in cases.items():
        for response in (api.get(f"/api/invitations/{raw}"), accept(api, raw, json={"password": NEW_PASSWORD})):
            assert (response.status_code, error_code(response)) == expected
    again = api.delete(invitations_url(acme, revoked["id"]), token=acme.owner_token)
    resend = api.post(invitations_url(acme, revoked["id"], "resend"), token=acme.owner_token)
    assert [error_code(r) for r in (again, resend)] == ["invitation_not_pending"] * 2
    assert not User.objects.filter(email__in=["old@example.test", "gone@example.test"]).exists()
    # An expired one can be resent: a new link, a fresh week.
    renewed = api.post(invitations_url(acme, expired["id"], "resend"), token=acme.owner_token)
    assert renewed.status_code == 202 and renewed.json()["status"] == "pending"


def test_the_list_filters_by_status(api, acme):
    ids = {email: invite(api, acme, email)["id"] for email in ("a@x.test", "b@x.test", "c@x.test")}
    api.delete(invitations_url(acme, ids["b@x.test"]), token=acme.owner_token)
    Invitation.objects.filter(pk=ids["c@x.test"]).update(expires_at=timezone.now())

    def listed(status=""):
        response = api.get(invitations_url(acme) + (f"?status={status}" if status else ""), token=acme.owner_token)
        return sorted((i["email"], i["status"]) for i in response.json()["results"])

    assert listed() == [("a@x.test", "pending"), ("b@x.test", "revoked"), ("c@x.test", "expired")]
    assert listed("pending") == [("a@x.test", "pending")]
    assert listed("revoked") == [("b@x.test", "revoked")]
    assert listed("expired") == [("c@x.test", "expired")]
    assert listed("accepted") == []
    bad = api.get(invitations_url(acme) + "?status=lost", token=acme.owner_token)
    assert (bad.status_code, error_code(bad)) == (400, "validation_error")


def test_conflicts_roles_and_addresses_that_cannot_be_invited(api, acme):
    member = member_make(acme, email="in@acme.test")
    invite(api, acme, "wait@example.test")
    admin = token_make(member_make(acme, role="admin"))
    cases = [
        ({"email": member.email}, acme.owner_token, 409, "already_member"),
        ({"email": "WAIT@example.test"}, acme.owner_token, 409, "invitation_pending"),
        ({"email": "key-1@service.invalid"}, acme.owner_token, 400, "validation_error"),
        ({"email": "x@example.test", "role": "emperor"}, acme.owner_token, 400, "validation_error"),
        ({"email": "x@example.test", "role": "owner"}, admin, 403, "insufficient_role"),
    ]
    for body, token, status, code in cases:
        response = api.post(invitations_url(acme), token=token, json=body)
        assert (response.status_code, error_code(response)) == (status, code), body
    assert invite(api, acme, "co-owner@example.test", role="owner")["role"] == "owner"  # an owner may


def test_the_pending_and_daily_limits_answer_429(api, acme, settings):
    settings.INVITATIONS_PENDING_MAX = 2
    first = invite(api, acme, "1@example.test")
    invite(api, acme, "2@example.test")
    full = api.post(invitations_url(acme), token=acme.owner_token, json={"email": "3@example.test"})
    assert (full.status_code, error_code(full)) == (429, "invitation_limit_reached")
    assert full.json()["error"]["details"] == {"limit": 2, "per": "pending", "pending": 2}

    settings.INVITATIONS_PER_TENANT_PER_DAY = 3  # two sent, the resend is the third
    assert api.post(invitations_url(acme, first["id"], "resend"), token=acme.owner_token).status_code == 202
    over = api.post(invitations_url(acme, first["id"], "resend"), token=acme.owner_token)
    assert (over.status_code, error_code(over)) == (429, "invitation_limit_reached")
    assert over.json()["error"]["details"]["per"] == "day" and int(over["Retry-After"]) > 0
    assert Invitation.objects.get(pk=first["id"]).send_count == 2


def test_another_tenant_and_a_plain_member_cannot_see_or_touch_the_invitations(api, acme, globex):
    created = invite(api, acme)
    for method, path in (
        ("get", invitations_url(acme)),
        ("post", invitations_url(acme)),
        ("delete", invitations_url(acme, created["id"])),
        ("post", invitations_url(acme, created["id"], "resend")),
    ):
        body = {"email": "z@example.test"} if method == "post" else None
        response = getattr(api, method)(path, token=globex.owner_token, json=body)
        assert (response.status_code, error_code(response)) == (403, "not_a_member"), path
    for method, action in (("delete", None), ("post", "resend")):  # through its own tenant: no such invitation
        response = getattr(api, method)(invitations_url(globex, created["id"], action), token=globex.owner_token)
        assert (response.status_code, error_code(response)) == (404, "invitation_not_found")
    plain = token_make(member_make(acme))
    for method, path in (("get", invitations_url(acme)), ("delete", invitations_url(acme, created["id"]))):
        response = getattr(api, method)(path, token=plain)
        assert (response.status_code, error_code(response)) == (403, "insufficient_role")
    assert Invitation.objects.get().status == "pending"


def test_a_suspended_tenant_neither_invites_nor_lets_anyone_accept(api, acme):
    raw = emailed_token(invite(api, acme)["id"])
    tenant_suspend(tenant=acme, actor=SYSTEM)

    refused = [
        api.post(invitations_url(acme), token=acme.owner_token, json={"email": "other@example.test"}),
        api.get(f"/api/invitations/{raw}"),
        accept(api, raw, json={"password": NEW_PASSWORD}),
    ]
    assert [(r.status_code, error_code(r)) for r in refused] == [(403, "tenant_suspended")] * 3
    assert not User.objects.filter(email="new@example.test").exists()


def test_an_api_keys_service_account_cannot_accept(api, acme, globex):
    raw = emailed_token(invite(api, globex, "someone@example.test")["id"])
    key = api.post(f"/api/tenants/{acme.pk}/api-keys", token=acme.owner_token, json={"name": "ci"}).json()["key"]
    response = accept(api, raw, token=key, json={})
    # A key's token is always inside its tenant: the platform's invitation doors are not there for it.
    assert (response.status_code, error_code(response)) == (404, "not_found")
    for method, body in (("get", None), ("post", {"email": "k@example.test", "role": "admin"})):
        response = getattr(api, method)(invitations_url(acme), token=key, json=body)
        assert (response.status_code, error_code(response)) == (404, "not_found")
    assert Invitation.objects.get().accepted_at is None


def test_the_link_doors_are_rate_limited_per_client(api, acme, settings):
    settings.AUTH_LIMITS = {**settings.AUTH_LIMITS, "PER_IP": 3}
    codes = [api.get(f"/api/invitations/{'x' * 43}").status_code for _ in range(3)]
    limited = accept(api, "x" * 43, json={})
    assert codes == [404] * 3 and (limited.status_code, error_code(limited)) == (429, "rate_limited")
    assert limited["Retry-After"]


def test_the_events_carry_no_token_and_webhooks_offer_them(api, acme):
    with captured() as events:
        created = invite(api, acme)
        raw = emailed_token(created["id"])
        resent = api.post(invitations_url(acme, created["id"], "resend"), token=acme.owner_token)
        listed = api.get(invitations_url(acme), token=acme.owner_token)
        api.delete(invitations_url(acme, created["id"]), token=acme.owner_token)
    names = [e.name for e in events if e.name.startswith("invitation.")]
    assert names == ["invitation.created", "invitation.resent", "invitation.revoked"]
    dumped = json.dumps([e.model_dump(mode="json") for e in events])
    assert raw not in dumped and emailed_token(created["id"]) not in dumped and "link_token" not in dumped
    answers = json.dumps(created) + resent.content.decode() + listed.content.decode()  # only the email has it
    assert raw not in answers and emailed_token(created["id"]) not in answers and "token" not in answers
    offered = tenant_events()
    assert {"invitation.created", "invitation.resent", "invitation.revoked", "invitation.accepted"} <= set(offered)
    assert "link_token" not in json.dumps(offered["invitation.created"].model_json_schema())


def test_operators_see_invitations_in_the_admin_and_revoke_them(api, acme):
    created = invite(api, acme, "ops-see@example.test")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user_make("ops@platform.test", is_staff=True, is_superuser=True))
    listed = client.get("/admin/tenants/invitation/")
    assert listed.status_code == 200 and b"ops-see@example.test" in listed.content
    page = client.get(f"/admin/tenants/invitation/{created['id']}/change/")
    assert page.status_code == 200 and Invitation.objects.get().token_hash.encode() not in page.content
    client.post("/admin/tenants/invitation/", {"action": "revoke", "_selected_action": [created["id"]]})
    assert Invitation.objects.get().status == "revoked"
    assert AuditEvent.objects.get(action="invitation.revoke").actor.email == "ops@platform.test"


def test_odd_input_is_a_4xx_in_the_error_shape_never_a_500(api, acme):
    long_email = "a" * 250 + "@example.test"  # validate_email allows 320 characters, the column 254
    members, invitations = f"/api/tenants/{acme.pk}/members", invitations_url(acme)
    cases = [
        ("post", invitations, {"json": {"email": long_email}}, 400, "validation_error"),
        ("post", members, {"json": {"email": long_email}}, 400, "validation_error"),
        ("post", invitations, {"json": {"email": "x@example.test", "role": ["owner"]}}, 400, "validation_error"),
        ("post", invitations, {"json": {"email": "x@example.test", "role": None}}, 400, "validation_error"),
        ("post", invitations, {"json": {"email": 5}}, 400, "validation_error"),
        ("post", invitations, {"raw": "{bad"}, 400, "malformed_request"),
        ("post", invitations, {"raw": "[1, 2]"}, 400, "validation_error"),
        ("delete", invitations_url(acme, "not-a-uuid"), {}, 404, "not_found"),
        ("get", f"/api/invitations/{'a' * 5000}", {}, 404, "invitation_not_found"),
        ("get", "/api/invitations/%00", {}, 404, "invitation_not_found"),
        ("post", "/api/invitations/a/accept", {"raw": "[1]"}, 400, "validation_error"),
        ("post", "/api/invitations/a/accept", {"json": {"password": ["x"]}}, 400, "validation_error"),
    ]
    for method, path, kw, status, code in cases:
        response = getattr(api, method)(path, token=acme.owner_token, **kw)
        assert (response.status_code, error_code(response)) == (status, code), (path[:80], kw)
        assert set(response.json()["error"]) == {"code", "message", "details"}
    assert not Invitation.objects.exists()


def test_an_invitation_dies_with_its_inviters_right_to_make_it(api, acme):
    """A manager removed or demoted leaves no invitation behind to come back through (their own
    other address, as admin); a manager's resend vouches for it again."""
    admin = member_make(acme, email="admin@acme.test", role="admin")
    admin_token = token_make(admin)
    removed = invite(api, acme, "alt@example.test", role="admin", token=admin_token)
    demoted = invite(api, acme, "alt2@example.test", role="member", token=admin_token)
    owners = member_make(acme, email="owner2@acme.test", role="owner")
    by_owner = invite(api, acme, "big@example.test", role="owner", token=token_make(owners))
    api.patch(f"/api/tenants/{acme.pk}/members/{owners.pk}", token=acme.owner_token, json={"role": "admin"})
    api.patch(f"/api/tenants/{acme.pk}/members/{admin.pk}", token=acme.owner_token, json={"role": "member"})
    for created in (demoted, by_owner):
        raw = emailed_token(created["id"])
        for response in (api.get(f"/api/invitations/{raw}"), accept(api, raw, json={"password": NEW_PASSWORD})):
            assert (response.status_code, error_code(response)) == (410, "invitation_revoked"), created["email"]
    api.delete(f"/api/tenants/{acme.pk}/members/{admin.pk}", token=acme.owner_token)
    refused = accept(api, emailed_token(removed["id"]), json={"password": NEW_PASSWORD})
    assert (refused.status_code, error_code(refused)) == (410, "invitation_revoked")
    assert not User.objects.filter(email__in=["alt@example.test", "alt2@example.test", "big@example.test"]).exists()

    resent = api.post(invitations_url(acme, removed["id"], "resend"), token=acme.owner_token)
    assert resent.status_code == 202 and resent.json()["invited_by"] == acme.owner.email
    assert accept(api, emailed_token(removed["id"]), json={"password": NEW_PASSWORD}).status_code == 200


def test_the_link_token_is_kept_out_of_the_logs(api, acme, caplog):
    """The token is in the link's path: Django's 4xx warnings and the server's access log redact it."""
    raw = emailed_token(invite(api, acme)["id"])
    caplog.set_level(logging.INFO)
    assert accept(api, raw, json={"password": "123"}).status_code == 400  # logs "Bad Request: <path>"
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "203.0.113.9:5000", "GET", f"/api/invitations/{raw}", "1.1", 200
    )
    assert raw not in caplog.text
    assert caplog.text.count("/api/invitations/[redacted]") == 2, caplog.text


def test_two_accepts_of_one_link_at_once_make_one_member(committed, acme):
    raw = emailed_token(invite(Api(), acme, "race@example.test")["id"])
    results = at_once(*[lambda: accept(Api(), raw, json={"password": NEW_PASSWORD})] * 2)
    assert sorted(statuses(results), key=str) == [200, 410], results
    assert [error_code(r) for r in results if r.status_code == 410] == ["invitation_used"]
    assert Membership.objects.filter(tenant=acme, user__email="race@example.test").count() == 1
    assert User.objects.filter(email="race@example.test").count() == 1


def test_a_tenant_pending_deletion_lets_nobody_look_up_or_accept(api, acme):
    raw = emailed_token(invite(api, acme)["id"])
    tenant_deletion_request(tenant=acme, actor=SYSTEM, confirm=acme.slug)
    refused = [api.get(f"/api/invitations/{raw}"), accept(api, raw, json={"password": NEW_PASSWORD})]
    assert [(r.status_code, error_code(r)) for r in refused] == [(403, "tenant_pending_deletion")] * 2
    assert not User.objects.filter(email="new@example.test").exists()


def test_deleting_the_inviters_account_revokes_their_pending_invitations(api, acme):
    """Else invited_by is nulled and the invitation reads as the platform's own: it would still open."""
    admin = member_make(acme, email="leaving@acme.test", role="admin")
    created = invite(api, acme, "alt@example.test", role="admin", token=token_make(admin))
    kept = invite(api, acme, "kept@example.test")
    admin.delete()  # an operator deletes the account (DELETE /api/me does the same)
    refused = accept(api, emailed_token(created["id"]), json={"password": NEW_PASSWORD})
    assert (refused.status_code, error_code(refused)) == (410, "invitation_revoked")
    assert Invitation.objects.get(pk=kept["id"]).status == "pending"
    assert AuditEvent.objects.filter(action="invitation.revoke", target=f"invitation:{created['id']}").exists()


def test_a_resend_keeps_one_pending_invitation_per_address_and_none_for_a_member(api, acme):
    old = invite(api, acme, "twice@example.test")
    Invitation.objects.filter(pk=old["id"]).update(expires_at=timezone.now())
    fresh = invite(api, acme, "twice@example.test")  # the first expired: a new one may be made
    revived = api.post(invitations_url(acme, old["id"], "resend"), token=acme.owner_token)
    assert (revived.status_code, error_code(revived)) == (409, "invitation_pending")
    assert revived.json()["error"]["details"]["invitation_id"] == fresh["id"]
    assert Invitation.objects.get(pk=old["id"]).status == "expired"

    member_make(acme, email="twice@example.test")  # joined meanwhile (added once verified)
    useless = api.post(invitations_url(acme, fresh["id"], "resend"), token=acme.owner_token)
    assert (useless.status_code, error_code(useless)) == (409, "already_member")
    assert api.post(invitations_url(acme, invite(api, acme)["id"], "resend"), token=acme.owner_token).status_code == 202
