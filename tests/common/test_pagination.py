"""Pages of a list: {count, next, previous, results}; the first page of a short list costs
no COUNT query (common/pagination.py)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from realtime.models import Room

HOST = "acme.localhost"


def rooms_make(tenant, count: int) -> None:
    with tenant_context(tenant):
        Room.objects.bulk_create([Room(name=f"room {i}") for i in range(count)])


def counts(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_a_first_page_that_is_not_full_is_counted_without_a_count_query(api, acme):
    rooms_make(acme, 7)
    with CaptureQueriesContext(connection) as queries:
        page = api.get("/api/rooms?page_size=10", host=HOST, token=acme.owner_token).json()
    assert page["count"] == 7 and len(page["results"]) == 7 and page["next"] is None
    assert counts(queries) == []


def test_a_list_of_exactly_one_page_is_counted_without_a_count_query(api, acme):
    rooms_make(acme, 10)
    with CaptureQueriesContext(connection) as queries:
        page = api.get("/api/rooms?page_size=10", host=HOST, token=acme.owner_token).json()
    assert page["count"] == 10 and len(page["results"]) == 10 and page["next"] is None
    assert counts(queries) == []


def test_a_longer_list_is_counted_and_paged_through_to_its_end(api, acme):
    rooms_make(acme, 23)
    first = api.get("/api/rooms?page_size=10", host=HOST, token=acme.owner_token).json()
    assert first["count"] == 23 and len(first["results"]) == 10 and first["next"] is not None
    third = api.get("/api/rooms?page_size=10&page=3", host=HOST, token=acme.owner_token).json()
    assert third["count"] == 23 and len(third["results"]) == 3 and third["next"] is None
    names = [room["name"] for room in first["results"]]
    assert names == [f"room {i}" for i in range(10)]


def test_an_empty_list_is_one_empty_page(api, acme):
    page = api.get("/api/rooms", host=HOST, token=acme.owner_token).json()
    assert page == {"count": 0, "next": None, "previous": None, "results": []}
