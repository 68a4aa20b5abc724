"""POST /api/send-email: admins queue an email; a real qcluster sends it to a real SMTP server."""

import time

from django.conf import settings

from jobs.models import Job
from jobs.services import job_enqueue
from tests.helpers import error_code, job_wait

from .conftest import ACME, GLOBEX

MESSAGE = {
    "to": ["ada@example.test", "grace@example.test"],
    "subject": "Quarterly numbers",
    "template": "generic",
    "context": {"heading": "Q3 is in", "body": "Revenue <up> 12%.\nSee you Monday."},
}


def send(api, token, body=MESSAGE, host=ACME):
    return api.post("/api/send-email", host=host, token=token, json=body)


def test_an_admins_email_reaches_the_smtp_server_as_text_and_html(committed, qcluster, mailbox, api, people):
    response = send(api, people["admin_token"])
    assert response.status_code == 202, response.content
    job_id = response.json()["job_id"]

    received = mailbox.wait_to("ada@example.test")
    job = job_wait(job_id)

    assert (job.state, job.task, job.attempts, job.max_attempts) == ("completed", "email.send", 1, 5)
    assert job.result["to"] == MESSAGE["to"] and job.result["message_id"] == received.message["Message-ID"]
    assert sorted(received.rcpt_tos) == ["ada@example.test", "grace@example.test"]
    assert received.subject == "Quarterly numbers"
    assert received.message["From"] == f"Acme <{settings.DEFAULT_FROM_EMAIL}>"
    assert "Q3 is in" in received.text and "Revenue <up> 12%.\nSee you Monday." in received.text
    assert "Revenue &lt;up&gt; 12%.<br>See you Monday." in received.html  # user text is escaped in HTML
    assert "http://acme.localhost:" in received.html
    assert len(mailbox.messages) == 1  # one message to both recipients


def test_one_address_may_be_given_as_a_string(api, people):
    response = send(api, people["admin_token"], {**MESSAGE, "to": " Ada@Example.test "})

    assert response.status_code == 202
    assert Job.objects.get(pk=response.json()["job_id"]).payload["to"] == ["Ada@Example.test"]


def test_bad_emails_are_refused_with_their_code_and_nothing_is_queued(api, people):
    cases = [
        ({"to": "not-an-email"}, 400, "validation_error", "to"),
        ({"to": ["ada@example.test", "bob@"]}, 400, "validation_error", "to"),
        ({"to": []}, 400, "validation_error", "to"),
        ({"to": [f"user{i}@example.test" for i in range(51)]}, 400, "validation_error", "to"),
        ({"subject": "Hi\r\nBcc: everyone@example.test"}, 400, "validation_error", "subject"),
        ({"subject": ""}, 400, "validation_error", "subject"),
        ({"template": "invoice"}, 400, "template_unknown", "template"),
        ({"template": "digest"}, 400, "template_unknown", "template"),  # declared, but built by the digest job only
        ({"context": {"heading": "no body"}}, 400, "validation_error", "context.body"),
        ({"context": {"body": "x", "script": "<script>"}}, 400, "validation_error", "context.script"),
    ]
    for change, status, code, field in cases:
        response = send(api, people["admin_token"], {**MESSAGE, **change})
        assert (response.status_code, error_code(response)) == (status, code), change
        assert field in response.json()["error"]["details"], (change, response.json())

    as_member = send(api, people["member_token"])
    anonymous = send(api, None)

    assert (as_member.status_code, error_code(as_member)) == (403, "insufficient_role")
    assert (anonymous.status_code, error_code(anonymous)) == (401, "not_authenticated")
    assert Job.objects.count() == 0


def test_an_smtp_outage_makes_the_email_retry_until_the_server_is_back(committed, qcluster, smtp_server, mailbox, acme):
    smtp_server.stop()
    job = job_enqueue(
        acme,
        "email.send",
        {
            "to": ["ada@example.test"],
            "subject": "Outage",
            "template": "generic",
            "context": {"body": "Sent after all."},
        },
    )

    deadline = time.monotonic() + 15
    while not (job.state == "retrying" and job.attempts >= 2):
        assert time.monotonic() < deadline, f"job still {job.state} after {job.attempts} attempt(s)"
        time.sleep(0.05)
        job.refresh_from_db()
    assert "Connection refused" in job.failed_reason
    smtp_server.start()

    job = job_wait(job)
    received = mailbox.wait_to("ada@example.test")

    assert job.state == "completed" and job.attempts > 2
    assert received.subject == "Outage" and "Sent after all." in received.text


def test_another_tenant_cannot_read_an_email_job(api, people, globex):
    job_id = send(api, people["admin_token"]).json()["job_id"]

    own = api.get(f"/api/jobs/{job_id}", host=ACME, token=people["admin_token"])
    other = api.get(f"/api/jobs/{job_id}", host=GLOBEX, token=globex.owner_token)

    assert own.status_code == 200 and own.json()["task"] == "email.send"
    assert (other.status_code, error_code(other)) == (404, "job_not_found")
