"""POST /api/rooms/{id}/members (realtime.services.room_member_add): members of the tenant only, once."""

import pytest
from django_tenants.utils import schema_context

from realtime.models import RoomMember
from tests.factories import member_make, user_make
from tests.helpers import error_code

pytestmark = pytest.mark.django_db

HOST = "acme.localhost"


def add(api, acme, room_id, user_id):
    return api.post(f"/api/rooms/{room_id}/members", host=HOST, token=acme.owner_token, json={"user_id": user_id})


def test_a_member_of_the_tenant_is_added_to_a_private_room_once(api, acme):
    member = member_make(acme)
    room = api.post("/api/rooms", host=HOST, token=acme.owner_token, json={"name": "r", "is_private": True}).json()

    first, again = add(api, acme, room["id"], member.pk), add(api, acme, room["id"], member.pk)

    assert (first.status_code, again.status_code) == (201, 201)
    with schema_context(acme.schema_name):
        assert RoomMember.objects.filter(room_id=room["id"], user=member).count() == 1


def test_someone_outside_the_tenant_is_not_found_and_nothing_is_written(api, acme, globex):
    room = api.post("/api/rooms", host=HOST, token=acme.owner_token, json={"name": "r", "is_private": True}).json()

    for user_id in (globex.owner.pk, user_make().pk, 10**9):
        response = add(api, acme, room["id"], user_id)
        assert (response.status_code, error_code(response)) == (404, "member_not_found")
    with schema_context(acme.schema_name):
        assert list(RoomMember.objects.filter(room_id=room["id"]).values_list("user_id", flat=True)) == [acme.owner.pk]
