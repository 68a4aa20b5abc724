import pytest

from tests.factories import member_make, token_make
from tests.helpers import tenant_files_remove


@pytest.fixture
def people(acme, globex):
    """acme: its owner, an admin and a member; globex: its owner and a member."""
    admin = member_make(acme, role="admin", email="admin@acme.test")
    member = member_make(acme, email="member@acme.test")
    member_make(globex, email="member@globex.test")
    yield {"admin_token": token_make(admin), "member_token": token_make(member)}
    tenant_files_remove(acme)
    tenant_files_remove(globex)
