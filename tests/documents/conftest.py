import pytest
from django_tenants.utils import tenant_context

from documents.models import DocumentMember
from documents.services import document_create, document_member_add
from tests.factories import member_make, token_make


def _people(acme, globex):
    member = member_make(acme, email="member@acme.test")
    other = member_make(acme, email="other@acme.test")
    with tenant_context(acme):
        notes = document_create(title="notes", is_private=False, creator=acme.owner)
        secret = document_create(title="secret", is_private=True, creator=acme.owner)
        for user, role in ((member, DocumentMember.Role.EDITOR), (other, DocumentMember.Role.VIEWER)):
            document_member_add(
                document=secret, tenant=acme, user=acme.owner, tenant_role="owner", user_id=user.pk, role=role
            )
    with tenant_context(globex):
        globex_doc = document_create(title="globex notes", is_private=False, creator=globex.owner)
    return {
        "acme": acme,
        "globex": globex,
        "member": member,
        "member_token": token_make(member),
        "other": other,
        "other_token": token_make(other),
        "notes": notes,
        "secret": secret,
        "globex_doc": globex_doc,
    }


@pytest.fixture
def people(acme, globex):
    """acme (owner, member, other) with a public doc `notes` and a private `secret` (owner and member
    edit it, other only reads it); globex with its own public doc."""
    return _people(acme, globex)


@pytest.fixture
def live_people(committed, acme, globex):
    """The same, committed, for the live server."""
    return _people(acme, globex)
