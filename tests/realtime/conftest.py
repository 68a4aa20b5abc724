import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from realtime.models import Room, RoomMember
from tests.factories import member_make, token_make
from tests.live import LiveServer


@pytest.fixture
def world(committed, acme, globex):
    """Committed data the server process can see: acme with an owner and a
    member, globex with its owner, a public room in each (both have id 1)."""
    member = member_make(acme, email="member@acme.test")
    with tenant_context(acme):
        acme_room = Room.objects.create(name="general", created_by=acme.owner)
        private = Room.objects.create(name="owners", is_private=True, created_by=acme.owner)
        RoomMember.objects.create(room=private, user=acme.owner)
    with tenant_context(globex):
        globex_room = Room.objects.create(name="general", created_by=globex.owner)
    assert acme_room.pk == globex_room.pk == 1
    return {
        "acme": acme,
        "globex": globex,
        "member": member,
        "member_token": token_make(member),
        "acme_room": acme_room,
        "private_room": private,
        "globex_room": globex_room,
    }


def session_cookie(user, host: str) -> str:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture(scope="session")
def wsproto_server(django_db_setup):
    """uvicorn with `--ws wsproto`: events take the plain ASGI path there, not
    the shared-frame write to the transport (realtime/transport.py)."""
    server = LiveServer(ws="wsproto").start()
    yield server
    server.stop()


@pytest.fixture(params=["websockets-sansio", "wsproto"])
def either_server(request):
    """Run the test on both delivery paths: make run's server, and wsproto's."""
    return request.getfixturevalue("asgi_server" if request.param == "websockets-sansio" else "wsproto_server")
