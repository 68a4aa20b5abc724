"""POST /api/send-email has a daily recipient budget per tenant (no open relay)."""

import pytest

from jobs.models import Job
from tests.helpers import error_code

from .conftest import ACME, GLOBEX

pytestmark = pytest.mark.django_db


def send(api, token, to, host=ACME):
    return api.post(
        "/api/send-email",
        host=host,
        token=token,
        json={"to": to, "subject": "Hi", "template": "generic", "context": {"body": "Hello"}},
    )


def test_a_tenant_past_its_daily_recipients_gets_429_and_nothing_is_queued(api, settings, people, globex):
    settings.EMAILS = {**settings.EMAILS, "RECIPIENTS_PER_TENANT_PER_DAY": 3}
    token = people["admin_token"]

    assert send(api, token, ["a@example.test", "b@example.test"]).status_code == 202
    over = send(api, token, ["c@example.test", "d@example.test"])  # 4 > 3: refused whole
    assert over.status_code == 429
    assert error_code(over) == "email_quota_exceeded"
    details = over.json()["error"]["details"]
    assert (details["limit"], details["used"]) == (3, 2)
    retry_after = int(over.headers["Retry-After"])  # until the next UTC midnight
    assert 0 < retry_after <= 24 * 3600 and details["retry_after"] == retry_after
    assert send(api, token, "c@example.test").status_code == 202  # the one left
    assert send(api, token, "e@example.test").status_code == 429
    assert Job.objects.filter(tenant__slug="acme", task="email.send").count() == 2

    assert send(api, globex.owner_token, "z@example.test", host=GLOBEX).status_code == 202  # its own budget


def test_a_refused_request_spends_no_budget(api, settings, people):
    settings.EMAILS = {**settings.EMAILS, "RECIPIENTS_PER_TENANT_PER_DAY": 1}
    bad = api.post(
        "/api/send-email",
        host=ACME,
        token=people["admin_token"],
        json={"to": "a@example.test", "subject": "Hi", "template": "invoice"},
    )
    assert bad.status_code == 400
    assert send(api, people["admin_token"], "a@example.test").status_code == 202
