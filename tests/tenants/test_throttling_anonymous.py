"""A tenant's request budget (`rate_limit_per_minute`) is its members' to spend: callers
who are not signed in, whom anyone can be, are limited per network (THROTTLE_ANON_RATE),
and cannot spend it for them."""

from tests.factories import member_make, token_make

ACME = "acme.localhost"


def test_anonymous_requests_cannot_use_up_a_tenants_budget(api, acme):
    acme.settings = {"rate_limit_per_minute": 10}
    acme.save()
    member = token_make(member_make(acme, email="member@acme.test"))
    for _ in range(10):  # wrong logins on the tenant's host: anyone on the internet can send them
        answer = api.post("/api/auth/token", host=ACME, json={"email": "nobody@example.test", "password": "x" * 12})
        assert answer.status_code == 401, answer.content
    assert api.get("/api/tenant", host=ACME, token=member).status_code == 200


def test_naming_the_tenant_in_a_header_cannot_use_it_up_either(api, acme):
    acme.settings = {"rate_limit_per_minute": 10}
    acme.save()
    for _ in range(10):
        api.post(
            "/api/auth/token",
            json={"email": "nobody@example.test", "password": "x" * 12},
            headers={"X-Tenant-ID": "acme"},
        )
    assert api.get("/api/tenant", host=ACME, token=acme.owner_token).status_code == 200


def test_members_still_share_the_tenants_budget(api, acme):
    acme.settings = {"rate_limit_per_minute": 3}
    acme.save()
    member = token_make(member_make(acme, email="member@acme.test"))
    codes = [
        api.get("/api/tenant", host=ACME, token=token).status_code
        for token in (acme.owner_token, member, acme.owner_token, member)
    ]
    assert codes == [200, 200, 200, 429]
