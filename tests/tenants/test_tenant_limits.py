"""A user may own a bounded number of tenants (settings.TENANTS_PER_USER)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tenants.models import Membership, Tenant
from tests.conftest import Api
from tests.factories import member_make, tenant_make, token_make, user_make
from tests.helpers import error_code


def create(api, token, slug):
    return api.post("/api/tenants", token=token, json={"name": slug.title(), "slug": slug})


@pytest.mark.django_db
def test_a_user_who_owns_the_limit_cannot_create_another_tenant(api, settings):
    settings.TENANTS_PER_USER = 2
    user = user_make()
    token = token_make(user)
    tenant_make("first", owner=user)
    member_make(tenant_make("joined"))  # someone else's tenant the user merely belongs to does not count
    Membership.objects.create(tenant=Tenant.objects.get(slug="joined"), user=user, role="member")

    assert create(api, token, "second").status_code == 201
    refused = create(api, token, "third")

    assert refused.status_code == 403
    assert error_code(refused) == "tenant_limit_reached"
    assert refused.json()["error"]["details"] == {"limit": 2, "owned": 2}
    assert not Tenant.objects.filter(slug="third").exists()
    assert create(api, token_make(user_make()), "third").status_code == 201  # another user still may


def test_parallel_creates_do_not_pass_the_limit_together(committed, settings):
    settings.TENANTS_PER_USER = 2
    user = user_make()
    token = token_make(user)

    def attempt(i):
        try:
            return create(Api(), token, f"parallel-{i}").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(5) as pool:
        statuses = sorted(pool.map(attempt, range(5)))

    assert statuses == [201, 201, 403, 403, 403]
    assert Membership.objects.filter(user=user, role="owner").count() == 2
