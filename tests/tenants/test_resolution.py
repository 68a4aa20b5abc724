"""Which tenant a request is in: host → X-Tenant-ID → token; and who may enter.

Every rule is tried from the side of tenant B reaching for tenant A.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.redis_client import redis_client
from tenants.audit import SYSTEM
from tenants.models import Domain, Membership
from tenants.services import tenant_reactivate, tenant_suspend, tenant_token_issue
from tests.factories import PASSWORD, member_make
from tests.helpers import error_code

pytestmark = pytest.mark.django_db


def current(api, **kw):
    return api.get("/api/tenant", **kw)


# --- by host --------------------------------------------------------------------


def test_the_host_chooses_the_tenant(api, acme, globex):
    response = current(api, host="acme.localhost:8000", token=acme.owner_token)
    assert response.status_code == 200 and response.json()["slug"] == "acme"


def test_a_host_that_serves_no_tenant_is_404(api, acme):
    response = current(api, host="nobody.localhost", token=acme.owner_token)
    assert response.status_code == 404
    assert error_code(response) == "tenant_not_found"


def test_a_foreign_host_is_404_even_for_healthz_less_paths(api):
    assert error_code(api.get("/api/me", host="evil.example.com")) == "tenant_not_found"


def test_a_custom_domain_opens_its_tenant(api, acme):
    Domain.objects.create(domain="app.acme.com", tenant=acme, is_primary=False)
    assert current(api, host="app.acme.com", token=acme.owner_token).json()["slug"] == "acme"


def test_globex_owner_cannot_enter_acme_by_host(api, acme, globex):
    response = current(api, host="acme.localhost", token=globex.owner_token)
    assert response.status_code == 403
    assert error_code(response) == "not_a_member"


def test_globex_owner_cannot_enter_acme_by_host_with_a_session(api, acme, globex):
    api.client.force_login(globex.owner)
    assert error_code(current(api, host="acme.localhost")) == "not_a_member"


def test_anonymous_callers_on_a_tenant_host_must_authenticate(api, acme):
    response = current(api, host="acme.localhost")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


# --- by header ------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["acme", "ACME", "id"])
def test_the_x_tenant_id_header_chooses_the_tenant_by_slug_or_id(api, acme, ref):
    ref = str(acme.pk) if ref == "id" else ref
    response = current(api, token=acme.owner_token, headers={"X-Tenant-ID": ref})
    assert response.status_code == 200 and response.json()["slug"] == "acme"


def test_globex_owner_cannot_enter_acme_by_header(api, acme, globex):
    response = current(api, token=globex.owner_token, headers={"X-Tenant-ID": "acme"})
    assert response.status_code == 403
    assert error_code(response) == "not_a_member"


def test_an_unknown_header_tenant_is_404(api, acme):
    response = current(api, token=acme.owner_token, headers={"X-Tenant-ID": "nobody"})
    assert response.status_code == 404
    assert error_code(response) == "tenant_not_found"


def test_a_header_naming_another_tenant_than_the_host_is_a_mismatch(api, acme, globex):
    response = current(api, host="acme.localhost", token=acme.owner_token, headers={"X-Tenant-ID": "globex"})
    assert response.status_code == 400
    assert error_code(response) == "tenant_mismatch"


def test_a_header_naming_the_host_tenant_is_fine(api, acme):
    response = current(api, host="acme.localhost", token=acme.owner_token, headers={"X-Tenant-ID": "acme"})
    assert response.status_code == 200


# --- by token -------------------------------------------------------------------


def tenant_token(user, tenant):
    _, raw = tenant_token_issue(email=user.email, password=PASSWORD, tenant=tenant)
    return raw


def test_a_tenant_bound_token_chooses_its_tenant_on_the_platform_host(api, acme):
    response = current(api, token=tenant_token(acme.owner, acme))
    assert response.status_code == 200 and response.json()["slug"] == "acme"


def test_a_token_cannot_be_bound_to_a_tenant_the_user_is_not_in(api, acme, globex):
    response = api.post("/api/auth/token", json={"email": globex.owner.email, "password": PASSWORD, "tenant": "acme"})
    assert response.status_code == 403
    assert error_code(response) == "not_a_member"


def test_a_token_bound_to_globex_cannot_open_acme_by_host(api, acme, globex):
    user = member_make(globex)
    Membership.objects.create(tenant=acme, user=user, role="member")
    token = tenant_token(user, globex)
    assert error_code(current(api, host="acme.localhost", token=token)) == "tenant_mismatch"
    assert error_code(current(api, token=token, headers={"X-Tenant-ID": "acme"})) == "tenant_mismatch"


def test_a_token_whose_user_left_the_tenant_no_longer_opens_it(api, acme):
    member = member_make(acme)
    token = tenant_token(member, acme)
    Membership.objects.filter(user=member).delete()
    assert error_code(current(api, token=token)) == "not_a_member"


# --- no tenant, suspended ---------------------------------------------------------


def test_a_tenant_endpoint_without_any_tenant_is_400_tenant_not_specified(api, acme):
    response = current(api, token=acme.owner_token)
    assert response.status_code == 400
    assert error_code(response) == "tenant_not_specified"


def test_platform_endpoints_are_not_served_on_tenant_hosts(api, acme):
    response = api.get("/api/tenants", host="acme.localhost", token=acme.owner_token)
    assert response.status_code == 404


def test_a_suspended_tenant_answers_403_until_reactivated(api, acme):
    tenant_suspend(tenant=acme, actor=SYSTEM)
    response = current(api, host="acme.localhost", token=acme.owner_token)
    assert response.status_code == 403
    assert error_code(response) == "tenant_suspended"
    assert error_code(current(api, token=acme.owner_token, headers={"X-Tenant-ID": "acme"})) == "tenant_suspended"
    tenant_reactivate(tenant=acme, actor=SYSTEM)
    assert current(api, host="acme.localhost", token=acme.owner_token).status_code == 200


# --- the schema, the search_path and the cache -------------------------------------

# These run committed, as production does: inside pytest-django's wrapping
# transaction, Django "closes" the connection after each request, and that
# makes django-tenants forget which search_path is set.


def search_paths(queries):
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET search_path")]


def test_a_tenant_request_runs_in_its_own_schema_with_one_search_path_set(committed, api, acme, globex):
    with CaptureQueriesContext(connection) as queries:
        assert current(api, host="acme.localhost", token=acme.owner_token).status_code == 200
    assert search_paths(queries) == ['SET search_path = "t_acme","public"']
    with CaptureQueriesContext(connection) as queries:
        assert current(api, host="globex.localhost", token=globex.owner_token).status_code == 200
    assert search_paths(queries) == ['SET search_path = "t_globex","public"']


def test_consecutive_requests_to_one_tenant_set_no_search_path_again(committed, api, acme):
    api.get("/api/rooms", host="acme.localhost", token=acme.owner_token)
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/rooms", host="acme.localhost", token=acme.owner_token).status_code == 200
    assert len(queries) >= 1 and search_paths(queries) == []


def test_a_platform_request_after_a_tenant_request_is_back_in_public(committed, api, acme):
    current(api, host="acme.localhost", token=acme.owner_token)
    with CaptureQueriesContext(connection) as queries:
        api.get("/api/me", token=acme.owner_token)
    assert search_paths(queries) == ['SET search_path = "public"']


def test_resolving_the_tenant_costs_no_sql_once_cached(committed, api, acme):
    current(api, host="acme.localhost", token=acme.owner_token)  # warms the cache
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/me", host="acme.localhost", token=acme.owner_token)
    assert response.status_code == 200
    # The token, its user, the tenant and the role: this process's copies (common/localcache.py).
    assert [q["sql"] for q in queries.captured_queries] == []


def test_an_anonymous_healthz_on_a_tenant_host_runs_no_query_once_cached(api, acme):
    api.get("/healthz", host="acme.localhost")
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/healthz", host="acme.localhost").status_code == 200
    assert queries.captured_queries == []


def test_a_renamed_domain_stops_resolving_at_once(api, acme):
    assert current(api, host="acme.localhost", token=acme.owner_token).status_code == 200
    domain = Domain.objects.get(tenant=acme)
    domain.domain = "acme-corp.localhost"
    domain.save()
    assert error_code(current(api, host="acme.localhost", token=acme.owner_token)) == "tenant_not_found"
    assert current(api, host="acme-corp.localhost", token=acme.owner_token).json()["slug"] == "acme"


def test_a_removed_domain_stops_resolving_at_once(api, acme):
    Domain.objects.create(domain="app.acme.com", tenant=acme)
    assert current(api, host="app.acme.com", token=acme.owner_token).status_code == 200
    Domain.objects.filter(domain="app.acme.com").delete()
    assert error_code(current(api, host="app.acme.com", token=acme.owner_token)) == "tenant_not_found"


def test_a_newly_added_domain_resolves_even_after_a_miss_was_cached(api, acme):
    assert error_code(current(api, host="new.acme.com", token=acme.owner_token)) == "tenant_not_found"
    Domain.objects.create(domain="new.acme.com", tenant=acme)
    assert current(api, host="new.acme.com", token=acme.owner_token).status_code == 200


def test_a_renamed_slug_frees_the_old_header_reference(api, acme):
    current(api, token=acme.owner_token, headers={"X-Tenant-ID": "acme"})
    acme.slug = "acme-two"
    acme.save()
    assert error_code(current(api, token=acme.owner_token, headers={"X-Tenant-ID": "acme"})) == "tenant_not_found"
    assert current(api, token=acme.owner_token, headers={"X-Tenant-ID": "acme-two"}).status_code == 200


def test_cache_entries_of_different_tenants_never_meet(acme, globex):
    from django.core.cache import cache
    from django_tenants.utils import tenant_context

    with tenant_context(acme):
        cache.set("greeting", "hello from acme")
    with tenant_context(globex):
        assert cache.get("greeting") is None


def test_rate_limit_follows_the_tenant_setting_and_answers_retry_after(api, acme):
    acme.settings = {"rate_limit_per_minute": 3}
    acme.save()
    codes = [current(api, host="acme.localhost", token=acme.owner_token).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = current(api, host="acme.localhost", token=acme.owner_token)
    assert error_code(response) == "rate_limited"
    assert int(response["Retry-After"]) > 0


def test_one_tenants_rate_limit_does_not_throttle_another(api, acme, globex):
    acme.settings = {"rate_limit_per_minute": 1}
    acme.save()
    current(api, host="acme.localhost", token=acme.owner_token)
    assert current(api, host="acme.localhost", token=acme.owner_token).status_code == 429
    assert current(api, host="globex.localhost", token=globex.owner_token).status_code == 200


def test_the_user_rate_limit_answers_429(api, acme):
    # DRF reads the rates into the class when it is defined, so override the class for this test.
    from rest_framework.settings import api_settings

    from tenants.throttling import UserRateThrottle

    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "2/min"}
    try:
        codes = [api.get("/api/me", token=acme.owner_token).status_code for _ in range(3)]
    finally:
        UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes == [200, 200, 429]


# --- every spelling of a tenant id is one tenant, suspended or changed at once ----

# uuid.UUID() reads all of these; each must meet the same (fresh) tenant.
SPELLINGS = {
    "canonical": lambda t: str(t.pk),
    "upper case": lambda t: str(t.pk).upper(),
    "hex without dashes": lambda t: t.pk.hex,
    "in braces": lambda t: f"{{{t.pk}}}",
    "urn:uuid:": lambda t: f"urn:uuid:{t.pk}",
    "slug in upper case": lambda t: " ACME ",
}


def by_ref(api, tenant, spelling, path="/api/tenant", method="get", **kw):
    headers = {"X-Tenant-ID": SPELLINGS[spelling](tenant)}
    return getattr(api, method)(path, token=tenant.owner_token, headers=headers, **kw)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_spelling_cached_before_a_suspension_is_refused_after_it(api, acme, spelling):
    assert by_ref(api, acme, spelling).json()["status"] == "active"  # now cached under this spelling
    tenant_suspend(tenant=acme, actor=SYSTEM)
    response = by_ref(api, acme, spelling)
    assert response.status_code == 403
    assert error_code(response) == "tenant_suspended"


def test_a_suspended_tenant_named_in_another_spelling_opens_none_of_its_routes(api, acme):
    from jobs.models import Job

    by_ref(api, acme, "hex without dashes")
    tenant_suspend(tenant=acme, actor=SYSTEM)
    answers = {
        path: error_code(by_ref(api, acme, "hex without dashes", path, method, json=body))
        for method, path, body in [
            ("get", "/api/files", None),
            ("get", "/api/jobs", None),
            ("get", "/api/rooms", None),
            ("post", "/api/realtime/ticket", None),
            ("get", "/api/events", None),
            (
                "post",
                "/api/send-email",
                {"to": ["x@example.com"], "subject": "hi", "template": "generic", "context": {"body": "hi"}},
            ),
            ("post", "/api/jobs", {"task": "noop", "payload": {}}),
        ]
    }
    assert set(answers.values()) == {"tenant_suspended"}, answers
    assert not Job.objects.exists()


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_lowered_upload_limit_applies_through_every_spelling(api, acme, spelling):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.helpers import tenant_files_remove

    by_ref(api, acme, spelling)  # cached with the default limit, 5 MB
    response = api.put(f"/api/tenants/{acme.pk}/settings", token=acme.owner_token, json={"max_upload_mb": 1})
    assert response.status_code == 200
    assert by_ref(api, acme, spelling).json()["settings"]["max_upload_mb"] == 1
    pdf = b"%PDF-1.4\n%%EOF\n" + b"0" * (1024 * 1024 + 1)
    response = api.client.post(
        "/api/upload",
        {"file": SimpleUploadedFile("big.pdf", pdf, "application/pdf")},
        HTTP_HOST="localhost",
        HTTP_AUTHORIZATION=f"Bearer {acme.owner_token}",
        HTTP_X_TENANT_ID=SPELLINGS[spelling](acme),
    )
    tenant_files_remove(acme)
    assert (response.status_code, error_code(response)) == (413, "file_too_large")


def test_a_spelling_that_is_neither_an_id_nor_a_slug_touches_no_cache(api, acme):
    from django.core.cache import caches

    response = current(api, token=acme.owner_token, headers={"X-Tenant-ID": "acme/../globex"})
    assert error_code(response) == "tenant_not_found"
    assert caches["platform"].get("ref:acme/../globex") is None


@pytest.mark.parametrize("key", ["host:acme.localhost", "ref:acme"])
def test_cached_tenant_entries_expire(api, acme, key):
    from django.core.cache import caches

    from tenants.cache import TENANT_TTL

    current(api, host="acme.localhost", token=acme.owner_token)
    current(api, token=acme.owner_token, headers={"X-Tenant-ID": "acme"})
    platform = caches["platform"]
    ttl = redis_client().ttl(platform.make_key(key))
    assert 0 < ttl <= TENANT_TTL


def test_a_header_in_another_spelling_of_the_host_tenant_is_no_mismatch(api, acme):
    response = current(api, host="acme.localhost", token=acme.owner_token, headers={"X-Tenant-ID": acme.pk.hex})
    assert response.status_code == 200


@pytest.mark.parametrize("slug", ["0123456789abcdef0123456789abcdef", "01234567-89ab-cdef-0123-456789abcdef"])
def test_a_slug_that_reads_as_a_tenant_id_is_reserved(api, slug):
    from tests.factories import token_make, user_make

    response = api.post("/api/tenants", token=token_make(user_make()), json={"name": "X", "slug": slug})
    assert response.status_code == 400
    assert error_code(response) == "slug_reserved"
