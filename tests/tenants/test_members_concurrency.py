"""Owners changing each other at the same moment, in two real concurrent
transactions (one thread and one database connection each): every answer is a
clean 2xx/403/409, never a deadlock's 500, and the tenant always keeps an owner."""

import threading

from django.db import connection

from tenants.models import Membership
from tests.conftest import Api
from tests.factories import member_make, token_make

ROUNDS = 15


def url(tenant, user_id):
    return f"/api/tenants/{tenant.pk}/members/{user_id}"


def at_once(*calls) -> list:
    """Run each call in its own thread (its own connection), released together."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # a 500 surfaces here (the test client re-raises)
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def statuses(results) -> list:
    return [r if isinstance(r, Exception) else r.status_code for r in results]


def two_owners(acme):
    second = member_make(acme, email="second@acme.test", role=Membership.Role.OWNER)
    return (acme.owner, acme.owner_token), (second, token_make(second))


def owners_of(acme) -> list:
    return list(Membership.objects.filter(tenant=acme, role="owner").values_list("user_id", flat=True))


def test_two_owners_demoting_each_other_at_once_leave_one_owner_and_no_500(committed, acme):
    (a, a_token), (b, b_token) = two_owners(acme)
    for _ in range(ROUNDS):
        Membership.objects.filter(tenant=acme, user__in=[a, b]).update(role="owner")

        results = at_once(
            lambda: Api().patch(url(acme, b.pk), token=a_token, json={"role": "admin"}),
            lambda: Api().patch(url(acme, a.pk), token=b_token, json={"role": "admin"}),
        )

        codes = statuses(results)
        assert sorted(codes, key=str) == [200, 403], codes  # the second is no longer an owner when it is its turn
        assert len(owners_of(acme)) == 1


def test_two_owners_leaving_at_once_cannot_leave_the_tenant_without_an_owner(committed, acme):
    (a, a_token), (b, b_token) = two_owners(acme)
    for _ in range(ROUNDS):
        for user in (a, b):
            Membership.objects.update_or_create(tenant=acme, user=user, defaults={"role": "owner"})

        results = at_once(
            lambda: Api().delete(url(acme, a.pk), token=a_token), lambda: Api().delete(url(acme, b.pk), token=b_token)
        )

        codes = statuses(results)
        assert sorted(codes, key=str) == [204, 409], codes  # 409 last_owner
        assert len(owners_of(acme)) == 1


def test_an_owner_demoting_the_other_while_being_removed_by_them_keeps_an_owner(committed, acme):
    (a, a_token), (b, b_token) = two_owners(acme)
    for _ in range(ROUNDS):
        for user in (a, b):
            Membership.objects.update_or_create(tenant=acme, user=user, defaults={"role": "owner"})

        results = at_once(
            lambda: Api().patch(url(acme, b.pk), token=a_token, json={"role": "member"}),
            lambda: Api().delete(url(acme, a.pk), token=b_token),
        )

        codes = statuses(results)
        assert all(isinstance(c, int) and c < 500 for c in codes), codes
        assert sum(c in (200, 204) for c in codes) == 1, codes  # the loser: 403 (demoted) or 404 (removed)
        assert len(owners_of(acme)) == 1


def test_adding_the_same_user_twice_at_once_is_one_201_and_one_409(committed, acme):
    from tests.factories import user_make

    for i in range(ROUNDS):
        user = user_make(f"new{i}@example.com")

        def add(user=user):
            return Api().post(
                f"/api/tenants/{acme.pk}/members", token=acme.owner_token, json={"email": user.email, "role": "member"}
            )

        codes = statuses(at_once(add, add))

        assert sorted(codes, key=str) == [201, 409], codes  # 409 already_member
