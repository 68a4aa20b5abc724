import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import member_make, token_make, user_make
from tests.helpers import tenant_files_remove

ACME = "acme.localhost"


@pytest.fixture
def people(acme, globex):
    """Signed-up users who are not in acme yet, a member of acme and one of globex."""
    for email in ("ada@example.test", "grace@example.test", "boss@example.test", "ken@example.test"):
        user_make(email)
    member = member_make(acme, email="member@acme.test")
    member_make(globex, email="member@globex.test")
    yield {"member_token": token_make(member)}
    tenant_files_remove(acme)


def upload(api, token, content: bytes, *, name: str = "members.csv", host: str = ACME):
    """POST /api/imports with `content` as the multipart `file`."""
    return api.client.post(
        "/api/imports",
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
        format="multipart",
        HTTP_HOST=host,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
