"""The answers to a signup arrive by email, in the platform's name (a real qcluster and SMTP server)."""

from django.conf import settings

from jobs.models import Job
from tests.factories import PASSWORD, user_make
from tests.helpers import job_wait


def test_a_new_account_gets_a_welcome_and_a_taken_address_a_warning(committed, qcluster, mailbox, api):
    user_make("taken@example.test")

    for email in ["new@example.test", "taken@example.test"]:
        response = api.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert response.status_code == 202

    welcome = mailbox.wait_to("new@example.test")
    warning = mailbox.wait_to("taken@example.test")
    assert welcome.subject == f"Your {settings.PLATFORM_NAME} account is ready"
    assert "An account was created for new@example.test" in welcome.text
    assert "/api/auth/token" in welcome.text and "/api/auth/token" in welcome.html
    assert warning.subject == f"Someone tried to sign up to {settings.PLATFORM_NAME} with your address"
    assert "this address already has one, so nothing was changed" in warning.text
    assert welcome.message["From"] == f"{settings.PLATFORM_NAME} <{settings.DEFAULT_FROM_EMAIL}>"
    for job in Job.objects.filter(task="email.platform_send"):
        assert job_wait(job).state == "completed" and job.tenant_id is None
