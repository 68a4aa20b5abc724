"""Outgoing webhooks: endpoints, signed deliveries to a real receiver, retries, SSRF, isolation."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from standardwebhooks import Webhook, WebhookVerificationError

from common.domain_events import subscribers_of
from jobs.models import Job, QueueEntry
from realtime.models import Notification
from tenants.audit import Actor
from tenants.services import membership_add, tenant_suspend
from tests.factories import user_make
from tests.helpers import error_code
from webhooks.catalogue import tenant_events
from webhooks.models import Delivery, Endpoint

from .conftest import ACME, GLOBEX, JobFailure, deliver


def create(api, tenant, url, events=("member.added",), host=ACME):
    response = api.post("/api/webhooks", host=host, token=tenant.owner_token, json={"url": url, "events": list(events)})
    assert response.status_code == 201, response.content
    return response.json()


def in_schema(tenant, func):
    connection.set_tenant(tenant)
    try:
        return func()
    finally:
        connection.set_schema_to_public()


def deliveries(tenant, **filters) -> list[Delivery]:
    return in_schema(tenant, lambda: list(Delivery.objects.filter(**filters).order_by("created_at")))


def ping(api, tenant, hook) -> Job:
    response = api.post(f"/api/webhooks/{hook['id']}/test", host=ACME, token=tenant.owner_token)
    assert response.status_code == 202, response.content
    return Job.objects.get(pk=response.json()["job_id"])


def test_every_tenant_event_is_offered_and_subscribed():
    events = tenant_events()
    assert {"member.added", "member.removed", "file.stored", "tenant.suspended"} <= set(events)
    assert "tenant.created" not in events
    for event_class in events.values():
        assert ("webhooks.subscribers._deliver", True) in subscribers_of(event_class), event_class.name


def test_a_member_added_through_the_api_is_delivered_signed_to_subscribed_endpoints_only(
    api, acme, receiver, loopback_allowed
):
    hook = create(api, acme, receiver.url, ["member.added"])
    other = create(api, acme, receiver.url + "-other", ["member.removed"])
    assert hook["secret"].startswith("whsec_")
    user_make("newbie@example.test")

    added = api.post(
        f"/api/tenants/{acme.pk}/members",
        token=acme.owner_token,
        json={"email": "newbie@example.test", "role": "admin"},
    )
    assert added.status_code == 201, added.content

    (delivery,) = deliveries(acme)
    assert (str(delivery.endpoint_id), delivery.event, delivery.state) == (hook["id"], "member.added", "pending")
    assert not deliveries(acme, endpoint_id=other["id"])
    assert deliver(Job.objects.get(pk=delivery.job_id))["state"] == "delivered"

    (received,) = receiver.requests
    payload = Webhook(hook["secret"]).verify(received.body, received.headers)
    assert payload["type"] == "member.added"
    assert payload["data"]["email"] == "newbie@example.test"
    assert payload["data"]["tenant_id"] == str(acme.pk)
    assert received.headers["webhook-id"] == f"msg_{delivery.pk.hex}"
    with pytest.raises(WebhookVerificationError):
        Webhook(other["secret"]).verify(received.body, received.headers)

    listed = api.get(f"/api/webhooks/{hook['id']}/deliveries", host=ACME, token=acme.owner_token).json()["results"]
    assert [(d["event"], d["state"], d["status_code"], d["attempts"]) for d in listed] == [
        ("member.added", "delivered", 200, 1)
    ]
    assert listed[0]["duration_ms"] >= 0 and listed[0]["next_retry_at"] is None


def test_deliveries_commit_with_the_change_or_not_at_all(api, acme, receiver, loopback_allowed):
    create(api, acme, receiver.url, ["member.added"])
    user_make("newbie@example.test")

    with pytest.raises(RuntimeError), transaction.atomic():
        membership_add(tenant=acme, email="newbie@example.test", role="member", actor=Actor(user=acme.owner))
        assert len(deliveries(acme)) == 1
        raise RuntimeError("the surrounding work failed")

    assert not deliveries(acme)
    assert not Job.objects.filter(task="webhook.deliver").exists()


def test_the_secret_is_shown_once_and_events_are_checked(api, acme, receiver, loopback_allowed):
    hook = create(api, acme, receiver.url, ["member.added"])
    shown = api.get(f"/api/webhooks/{hook['id']}", host=ACME, token=acme.owner_token).json()
    assert "secret" not in shown and shown["events"] == ["member.added"]
    listed = api.get("/api/webhooks", host=ACME, token=acme.owner_token).json()
    assert [h["id"] for h in listed["results"]] == [hook["id"]] and "secret" not in listed["results"][0]

    unknown = api.post(
        "/api/webhooks",
        host=ACME,
        token=acme.owner_token,
        json={"url": receiver.url, "events": ["member.added", "nope"]},
    )
    assert (unknown.status_code, error_code(unknown), unknown.json()["error"]["details"]) == (
        400,
        "webhook_events_unknown",
        {"events": ["nope"]},
    )
    patched = api.patch(
        f"/api/webhooks/{hook['id']}", host=ACME, token=acme.owner_token, json={"events": ["file.stored"]}
    )
    assert patched.status_code == 200 and patched.json()["events"] == ["file.stored"]
    assert api.delete(f"/api/webhooks/{hook['id']}", host=ACME, token=acme.owner_token).status_code == 204
    assert api.get(f"/api/webhooks/{hook['id']}", host=ACME, token=acme.owner_token).status_code == 404


def test_another_tenant_cannot_see_change_or_redeliver_them(api, acme, globex, receiver, loopback_allowed):
    hook = create(api, acme, receiver.url)
    job = ping(api, acme, hook)
    deliver(job)
    delivery = deliveries(acme)[0]
    as_b = {"host": GLOBEX, "token": globex.owner_token}
    base = f"/api/webhooks/{hook['id']}"

    assert api.get("/api/webhooks", **as_b).json()["results"] == []
    for method, path in [
        ("get", base),
        ("patch", base),
        ("delete", base),
        ("get", f"{base}/deliveries"),
        ("post", f"{base}/deliveries/{delivery.pk}/redeliver"),
        ("post", f"{base}/test"),
    ]:
        response = api.request(method, path, json={"description": "mine"} if method == "patch" else None, **as_b)
        assert (response.status_code, error_code(response)) == (404, "webhook_not_found"), (method, path)
    assert in_schema(acme, lambda: Endpoint.objects.get(pk=hook["id"]).description) == ""


def test_a_member_who_is_not_a_manager_is_refused(api, acme, people):
    for method, path in [("get", "/api/webhooks"), ("post", "/api/webhooks")]:
        body = {"url": "https://example.com/hook", "events": ["member.added"]} if method == "post" else None
        response = api.request(method, path, host=ACME, token=people["member_token"], json=body)
        assert (response.status_code, error_code(response)) == (403, "insufficient_role")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest"])
def test_private_addresses_are_refused_unless_the_setting_allows(api, acme, url):
    response = api.post(
        "/api/webhooks", host=ACME, token=acme.owner_token, json={"url": url, "events": ["member.added"]}
    )
    assert (response.status_code, error_code(response)) == (400, "webhook_url_refused")
    assert not in_schema(acme, lambda: Endpoint.objects.exists())


def test_only_http_urls(api, acme, loopback_allowed):
    response = api.post(
        "/api/webhooks",
        host=ACME,
        token=acme.owner_token,
        json={"url": "ftp://127.0.0.1/x", "events": ["member.added"]},
    )
    assert response.status_code == 400


def test_the_address_is_checked_again_at_delivery(api, acme, receiver, loopback_allowed, settings):
    hook = create(api, acme, receiver.url)
    job = ping(api, acme, hook)
    settings.WEBHOOKS = {**settings.WEBHOOKS, "ALLOW_PRIVATE_NETWORKS": False}  # as if the name now resolved here

    assert deliver(job)["state"] == "failed"  # not retried: the job completes
    assert receiver.requests == []
    (delivery,) = deliveries(acme)
    assert delivery.state == "failed" and "not public" in delivery.error


def test_a_redirect_is_not_followed(api, acme, receiver, loopback_allowed):
    receiver.answers = [302]
    job = ping(api, acme, create(api, acme, receiver.url))

    with pytest.raises(JobFailure):
        deliver(job)
    assert [r.path for r in receiver.requests] == ["/hook"]
    assert deliveries(acme)[0].status_code == 302


def test_a_500_is_retried_with_backoff_then_delivered_with_the_same_id(api, acme, receiver, loopback_allowed):
    receiver.answers = [500]
    hook = create(api, acme, receiver.url)
    job = ping(api, acme, hook)

    with pytest.raises(JobFailure) as failure:
        deliver(job, attempt=1)
    assert failure.value.retry
    (delivery,) = deliveries(acme)
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("retrying", 1, 500)
    assert delivery.next_retry_at is not None

    assert deliver(job, attempt=2)["state"] == "delivered"
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert Webhook(hook["secret"]).verify(second.body, second.headers)["type"] == "webhook.ping"
    assert (deliveries(acme)[0].state, deliveries(acme)[0].attempts) == ("delivered", 2)


@pytest.mark.parametrize("code, retried", [(400, False), (410, False), (408, True), (429, True), (503, True)])
def test_4xx_other_than_408_and_429_is_not_retried(api, acme, receiver, loopback_allowed, code, retried):
    receiver.answers = [code]
    job = ping(api, acme, create(api, acme, receiver.url))

    if retried:
        with pytest.raises(JobFailure):
            deliver(job)
    else:
        assert deliver(job)["state"] == "failed"
    assert deliveries(acme)[0].state == ("retrying" if retried else "failed")


def test_the_last_attempt_fails_for_good(api, acme, receiver, loopback_allowed):
    receiver.answers = [500]
    job = ping(api, acme, create(api, acme, receiver.url))
    assert deliver(job, attempt=job.max_attempts)["state"] == "failed"
    assert job.max_attempts == 14


def test_redelivery_sends_a_finished_delivery_again(api, acme, receiver, loopback_allowed):
    hook = create(api, acme, receiver.url)
    deliver(ping(api, acme, hook))
    delivery = deliveries(acme)[0]
    path = f"/api/webhooks/{hook['id']}/deliveries/{delivery.pk}/redeliver"

    response = api.post(path, host=ACME, token=acme.owner_token)
    assert response.status_code == 202
    again = api.post(path, host=ACME, token=acme.owner_token)
    assert (again.status_code, error_code(again)) == (409, "webhook_delivery_in_progress")
    deliver(Job.objects.get(pk=response.json()["job_id"]))
    assert [r.headers["webhook-id"] for r in receiver.requests] == [f"msg_{delivery.pk.hex}"] * 2
    assert deliveries(acme)[0].attempts == 2


def test_an_endpoint_is_disabled_after_n_failed_deliveries_and_its_admins_told(
    api, acme, people, receiver, loopback_allowed, settings
):
    settings.WEBHOOKS = {**settings.WEBHOOKS, "DISABLE_AFTER_FAILURES": 2}
    receiver.answers = [400, 400]
    hook = create(api, acme, receiver.url)

    deliver(ping(api, acme, hook))
    assert api.get(f"/api/webhooks/{hook['id']}", host=ACME, token=acme.owner_token).json()["enabled"] is True
    deliver(ping(api, acme, hook))

    shown = api.get(f"/api/webhooks/{hook['id']}", host=ACME, token=acme.owner_token).json()
    assert (shown["enabled"], shown["consecutive_failures"]) == (False, 2)
    told = in_schema(
        acme, lambda: sorted(Notification.objects.filter(event="webhook.disabled").values_list("user_id", flat=True))
    )
    assert told == sorted([acme.owner.pk, people["admin"].pk])
    refused = api.post(f"/api/webhooks/{hook['id']}/test", host=ACME, token=acme.owner_token)
    assert (refused.status_code, error_code(refused)) == (409, "webhook_disabled")

    enabled = api.patch(f"/api/webhooks/{hook['id']}", host=ACME, token=acme.owner_token, json={"enabled": True})
    assert (enabled.json()["enabled"], enabled.json()["consecutive_failures"]) == (True, 0)


def test_a_suspended_tenants_deliveries_are_held(api, acme, receiver, loopback_allowed):
    create(api, acme, receiver.url, ["member.added"])
    user_make("newbie@example.test")
    tenant_suspend(tenant=acme, actor=Actor(user=None))

    membership_add(tenant=acme, email="newbie@example.test", role="member", actor=Actor(user=acme.owner))

    (delivery,) = deliveries(acme)
    assert QueueEntry.objects.get(job_id=delivery.job_id).held is True
    assert receiver.requests == []


def test_the_delivery_log_is_pruned_after_its_retention(api, acme, receiver, loopback_allowed):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.maintenance import webhook_deliveries_prune

    hook = create(api, acme, receiver.url)
    deliver(ping(api, acme, hook))
    ping(api, acme, hook)  # pending: kept whatever its age
    later = timezone.now() + timedelta(days=31)

    removed = in_schema(acme, lambda: webhook_deliveries_prune(now=later, tenant=acme))
    assert removed == 1
    assert [d.state for d in deliveries(acme)] == ["pending"]
    assert in_schema(acme, lambda: Endpoint.objects.count()) == 1


def test_the_catalogue_lists_each_event_with_its_payload_schema(api, acme):
    response = api.get("/api/webhooks/events", host=ACME, token=acme.owner_token)
    events = {e["name"]: e["schema"] for e in response.json()["events"]}
    assert {"email", "role", "tenant_id"} <= set(events["member.added"]["properties"])
    assert "tenant.created" not in events


def test_a_webhook_created_after_unwanted_events_gets_the_next_ones(api, acme, receiver, loopback_allowed):
    actor = Actor(user=acme.owner)
    for email in ("one@example.test", "two@example.test"):
        user_make(email)
    membership_add(tenant=acme, email="one@example.test", role="member", actor=actor)  # nobody wants it
    hook = create(api, acme, receiver.url, ["member.added"])

    membership_add(tenant=acme, email="two@example.test", role="member", actor=actor)

    assert [(str(d.endpoint_id), d.payload["data"]["email"]) for d in deliveries(acme)] == [
        (hook["id"], "two@example.test")
    ]


def test_a_tenant_that_switched_webhooks_off_is_refused_and_sends_nothing(api, acme, receiver, loopback_allowed):
    create(api, acme, receiver.url, ["member.added"])
    switched = api.patch(
        f"/api/tenants/{acme.pk}/settings", token=acme.owner_token, json={"features": {"webhooks": False}}
    )
    assert switched.status_code == 200, switched.content
    user_make("newbie@example.test")

    listed = api.get("/api/webhooks", host=ACME, token=acme.owner_token)
    membership_add(tenant=acme, email="newbie@example.test", role="member", actor=Actor(user=acme.owner))

    assert (listed.status_code, error_code(listed)) == (403, "feature_disabled")
    assert deliveries(acme) == [] and receiver.requests == []


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "http://100.100.100.200/hook"])
def test_metadata_and_shared_addresses_are_refused_even_when_private_networks_are_allowed(
    api, acme, loopback_allowed, url
):
    response = api.post(
        "/api/webhooks", host=ACME, token=acme.owner_token, json={"url": url, "events": ["member.added"]}
    )

    assert (response.status_code, error_code(response)) == (400, "webhook_url_refused")
