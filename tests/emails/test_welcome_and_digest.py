"""The welcome email when a member joins, and the daily digest to members who opted in."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_tenants.utils import tenant_context

from emails.services import digest_schedules_ensure
from jobs.models import Job, TenantSchedule
from realtime.models import Message, Notification, Room, RoomMember
from tenants.audit import Actor
from tenants.models import Membership
from tenants.services import membership_add, tenant_settings_update
from tests.factories import member_make, token_make, user_make
from tests.helpers import error_code, job_wait

from .conftest import ACME, job_where


def test_a_member_added_to_a_tenant_gets_a_welcome_email(committed, qcluster, mailbox, api, acme):
    user_make("newbie@example.test")

    response = api.post(
        f"/api/tenants/{acme.pk}/members",
        token=acme.owner_token,
        json={"email": "newbie@example.test", "role": "admin"},
    )
    assert response.status_code == 201, response.content
    received = mailbox.wait_to("newbie@example.test")

    assert received.subject == "Welcome to Acme"
    assert "You have joined Acme as an admin." in received.text
    assert 'href="http://acme.localhost:' in received.html
    job = job_wait(Job.objects.get(tenant=acme, task="email.send"))
    assert (job.state, job.created_by_id) == ("completed", acme.owner.pk)


def test_the_welcome_email_is_queued_only_if_the_membership_is_committed(db, acme):
    user_make("newbie@example.test")

    with pytest.raises(RuntimeError), transaction.atomic():
        membership_add(tenant=acme, email="newbie@example.test", role="member", actor=Actor(user=acme.owner))
        assert Job.objects.filter(task="email.send").count() == 1
        raise RuntimeError("the surrounding work failed")

    assert not Membership.objects.filter(user__email="newbie@example.test").exists()
    assert not Job.objects.exists()


def test_members_opt_in_to_the_digest_and_out_again(api, acme):
    member = member_make(acme, email="member@acme.test")
    token = token_make(member)

    before = api.get("/api/me/digest", host=ACME, token=token)
    opted_in = api.put("/api/me/digest", host=ACME, token=token, json={"opt_in": True})
    stored = Membership.objects.get(user=member).digest_opt_in
    opted_out = api.put("/api/me/digest", host=ACME, token=token, json={"opt_in": False})
    bad = api.put("/api/me/digest", host=ACME, token=token, json={"opt_in": "maybe"})

    assert before.json() == {"opt_in": False}
    assert (opted_in.status_code, opted_in.json(), stored) == (200, {"opt_in": True}, True)
    assert opted_out.json() == {"opt_in": False}
    assert (bad.status_code, error_code(bad)) == (400, "validation_error")
    assert Membership.objects.get(user=member).digest_opt_in is False


def test_every_tenant_has_a_digest_schedule_at_nine_in_its_time_zone(db, acme, globex):
    created = TenantSchedule.objects.get(tenant=acme, name="digest")
    assert (created.task, created.cron, created.enabled) == ("email.digest", "0 9 * * *", True)
    assert created.next_run.astimezone(ZoneInfo("UTC")).hour == 9

    TenantSchedule.objects.filter(name="digest").delete()  # tenants from before the digest existed
    tenant_settings_update(tenant=acme, data={"timezone": "Asia/Tokyo"}, actor=Actor())
    assert digest_schedules_ensure() == 2
    assert digest_schedules_ensure() == 0

    tokyo = TenantSchedule.objects.get(tenant=acme, name="digest").next_run.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (tokyo.hour, tokyo.minute) == (9, 0)
    assert 0 < (tokyo - timezone.now()).total_seconds() <= 24 * 3600


def test_the_daily_digest_goes_to_opted_in_members_with_what_they_missed(committed, qcluster, mailbox, acme):
    ada = member_make(acme, email="ada@acme.test")  # opted in, has news
    bob = member_make(acme, email="bob@acme.test")  # has news, not opted in
    cy = member_make(acme, email="cy@acme.test")  # opted in, nothing new for her
    Membership.objects.filter(user__in=[ada, cy]).update(digest_opt_in=True)
    with tenant_context(acme):
        launch = Room.objects.create(name="launch", is_private=True, created_by=acme.owner)
        RoomMember.objects.bulk_create([RoomMember(room=launch, user=u) for u in (acme.owner, ada, bob)])
        Message.objects.create(room=launch, author=acme.owner, body="Ship it on <Friday>")
        Message.objects.create(room=launch, author=ada, body="her own message is not news to her")
        old = Message.objects.create(room=launch, author=acme.owner, body="from last week")
        Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=7))
        Notification.objects.create(user=ada, event="job.failed", data={})
        Notification.objects.create(user=ada, event="report.ready", data={}, read_at=timezone.now())
        Notification.objects.create(user=bob, event="job.failed", data={})
    TenantSchedule.objects.filter(tenant=acme, name="digest").update(next_run=timezone.now() - timedelta(seconds=1))
    Schedule.objects.filter(name="tenant-schedules").update(next_run=timezone.now())  # the per-minute cron, now

    digest = job_wait(job_where(tenant=acme, task="email.digest"))
    received = mailbox.wait_to("ada@acme.test")
    sent = job_wait(job_where(tenant=acme, task="email.send"))

    assert digest.result == {"members": 2, "queued": 1, "nothing_new": 1}
    assert sent.state == "completed" and sent.payload["to"] == ["ada@acme.test"]
    assert received.subject == "Your daily digest from Acme"
    assert "1 unread notification" in received.text and "job.failed" in received.text
    assert "report.ready" not in received.text
    assert "#launch (1)" in received.text and "owner@acme.test" in received.text
    assert "Ship it on <Friday>" in received.text and "Ship it on &lt;Friday&gt;" in received.html
    assert "her own message" not in received.text and "from last week" not in received.text
    assert [m.rcpt_tos for m in mailbox.messages] == [["ada@acme.test"]]  # nothing for bob or cy
    assert TenantSchedule.objects.get(tenant=acme, name="digest").next_run > timezone.now()
