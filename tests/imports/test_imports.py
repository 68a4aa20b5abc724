"""A members CSV is imported by a real qcluster: valid rows added, the others listed."""

from django.core.files.storage import default_storage

from jobs.models import Job
from tenants.models import AuditEvent, Invitation, Membership
from tests.helpers import error_code, job_wait

from .conftest import upload

FILE = b"""email,role
ada@example.test,member
Grace@Example.test, Admin
not-an-email,member
boss@example.test,owner
ken@example.test,superuser
ghost@example.test,member

member@acme.test,member
ada@example.test,admin,extra
"""
ERRORS = [
    {"row": 4, "code": "email_invalid"},
    {"row": 5, "code": "role_not_importable"},
    {"row": 6, "code": "role_invalid"},
    {"row": 10, "code": "row_malformed"},
]


def import_run(api, token, content=FILE) -> Job:
    response = upload(api, token, content)
    assert response.status_code == 202, response.content
    return job_wait(response.json()["job_id"])


def roles(tenant) -> dict[str, str]:
    return dict(Membership.objects.filter(tenant=tenant).values_list("user__email", "role"))


def test_valid_rows_are_imported_and_invalid_ones_listed_with_their_row_number(
    committed, qcluster, api, people, acme, globex
):
    job = import_run(api, acme.owner_token)

    assert (job.state, job.progress, job.task) == ("completed", 100, "import.members")
    assert (job.attempts, job.max_attempts) == (1, 1)
    assert (job.result["imported"], job.result["invited"], job.result["skipped"]) == (2, 1, 1)
    assert [{"row": e["row"], "code": e["code"]} for e in job.result["errors"]] == ERRORS
    assert all(e["error"] for e in job.result["errors"])
    assert roles(acme) == {
        "owner@acme.test": "owner",
        "member@acme.test": "member",
        "ada@example.test": "member",
        "grace@example.test": "admin",
    }
    assert roles(globex) == {"owner@globex.test": "owner", "member@globex.test": "member"}
    invited = Invitation.objects.get()  # ghost@ has no account: invited, by the owner who imported
    assert (invited.tenant, invited.email, invited.role, invited.invited_by) == (
        acme,
        "ghost@example.test",
        "member",
        acme.owner,
    )
    assert AuditEvent.objects.filter(tenant=acme, action="member.add", actor=acme.owner).count() == 2
    key = job.payload["file_key"]
    assert key.startswith(f"tenants/{acme.pk}/imports/") and key.endswith(".csv")
    assert not default_storage.exists(key)  # an imported file is not kept


def test_running_the_same_file_again_imports_nothing_twice(committed, qcluster, api, people, acme):
    assert import_run(api, acme.owner_token).result["imported"] == 2

    again = import_run(api, acme.owner_token)

    assert (again.result["imported"], again.result["invited"], again.result["skipped"]) == (0, 0, 4)
    assert [{"row": e["row"], "code": e["code"]} for e in again.result["errors"]] == ERRORS
    assert Membership.objects.filter(tenant=acme).count() == 4
    assert Invitation.objects.get().send_count == 1  # not emailed twice


def test_bad_files_are_refused_before_anything_is_stored_or_queued(api, people, acme):
    cases = [
        (b"email,role\nada@example.test,member\n", "members.xlsx", 415, "file_type_unsupported"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "members.csv", 415, "file_type_unsupported"),
        (b"email,role\n\xff\xfeada,member\n", "members.csv", 415, "file_type_unsupported"),
        (b"name,email\nAda,ada@example.test\n", "members.csv", 400, "csv_header_invalid"),
        (b"", "members.csv", 400, "csv_header_invalid"),
        (b"email,role\n\n", "members.csv", 400, "csv_empty"),
        (b"email,role\n" + b"someone@example.test,member\n" * 40_000, "members.csv", 413, "file_too_large"),
        (b"email,role\n" + b"a@b.co,member\n" * 5_001, "members.csv", 413, "csv_too_many_rows"),
    ]
    for content, name, status, code in cases:
        response = upload(api, acme.owner_token, content, name=name)
        assert (response.status_code, error_code(response)) == (status, code), (name, content[:20])
    no_file = api.client.post(
        "/api/imports",
        {},
        format="multipart",
        HTTP_HOST="acme.localhost",
        HTTP_AUTHORIZATION=f"Bearer {acme.owner_token}",
    )
    assert no_file.status_code == 400 and error_code(no_file) == "file_missing"
    as_member = upload(api, people["member_token"], FILE)
    assert as_member.status_code == 403 and error_code(as_member) == "insufficient_role"
    assert Job.objects.count() == 0
    assert not default_storage.exists(f"tenants/{acme.pk}/imports")
