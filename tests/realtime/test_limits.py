"""One user cannot take what others need: connection slots, database connections."""

import asyncio
import time

import httpx
import psycopg
import pytest

from common.redis_client import redis_client
from realtime.engine.presence import room_key
from tests.live import LiveServer, database_url_for_tests
from tests.realtime.client import Socket, connect_member, ticket_for

ACME = "acme.localhost"


def bearer(token: str, host: str = ACME) -> dict:
    return {"Host": host, "Authorization": f"Bearer {token}"}


class Streams:
    """SSE streams held open (their response headers read, their bodies not)."""

    def __init__(self, server):
        self.client = httpx.AsyncClient(base_url=server.url, timeout=10)
        self.open: list = []

    async def start(self, token: str, host: str = ACME) -> httpx.Response:
        request = self.client.build_request("GET", "/api/events", headers=bearer(token, host))
        response = await self.client.send(request, stream=True)
        if response.status_code == 200:
            self.open.append(response)
        else:
            await response.aread()
        return response

    async def close_one(self) -> None:
        await self.open.pop(0).aclose()  # the oldest

    async def aclose(self) -> None:
        for response in self.open:
            await response.aclose()
        await self.client.aclose()


async def eventually(check, seconds: float = 5):
    deadline = time.monotonic() + seconds
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


@pytest.fixture
def capped_server(world):
    server = LiveServer({"REALTIME_MAX_CONNECTIONS_PER_USER": "3"}).start()
    yield server
    server.stop()


@pytest.fixture
def small_pool_server(world):
    """One process (a pool is per process): at most 2 pooled database connections, and a 1 s wait for one."""
    server = LiveServer(
        {"DB_POOL_MAX_SIZE": "2", "DB_POOL_MIN_SIZE": "1", "DB_POOL_TIMEOUT": "1", "WEB_CONCURRENCY": "1"}
    ).start()
    yield server
    server.stop()


@pytest.fixture
def one_connection_server(world):
    """One process (a pool is per process) with one pooled connection."""
    server = LiveServer(
        {"DB_POOL_MAX_SIZE": "1", "DB_POOL_MIN_SIZE": "1", "DB_POOL_TIMEOUT": "1", "WEB_CONCURRENCY": "1"}
    ).start()
    yield server
    server.stop()


async def test_sse_streams_and_sockets_share_one_per_user_limit(capped_server, world):
    member_token = world["member_token"]
    streams = Streams(capped_server)
    try:
        assert [(await streams.start(member_token)).status_code for _ in range(2)] == [200, 200]
        sock = await connect_member(capped_server, ACME, member_token, live=False)

        refused = await streams.start(member_token)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_connections"
        extra = await Socket.open(capped_server, ACME, ticket=await ticket_for(capped_server, ACME, member_token))
        assert await extra.closed_with() == 4429
        assert (await streams.start(world["acme"].owner_token)).status_code == 200  # another user is not affected

        await streams.close_one()  # a stream that ends gives its slot back

        async def reopened():
            response = await streams.start(member_token)
            return response.status_code == 200

        assert await eventually(reopened)
        await sock.close()
    finally:
        await streams.aclose()


async def test_waiting_sse_streams_hold_no_database_connection(small_pool_server, world):
    streams = Streams(small_pool_server)
    try:
        for _ in range(6):  # three times the pool
            response = await streams.start(world["member_token"])
            assert response.status_code == 200, response.text
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=small_pool_server.url, timeout=10) as client:
            answer = await client.get("/api/tenant", headers=bearer(world["globex"].owner_token, "globex.localhost"))
        assert answer.status_code == 200, answer.text
        assert time.monotonic() - started < 1
    finally:
        await streams.aclose()


def test_an_exhausted_database_pool_answers_503_in_the_error_shape(one_connection_server, world):
    """The only pooled connection waits on a locked table; the next request's wait
    for a connection times out: 503 service_unavailable, not a 500."""
    url = one_connection_server.url
    with psycopg.connect(database_url_for_tests()) as locker:
        locker.execute("LOCK TABLE accounts_authtoken IN ACCESS EXCLUSIVE MODE")
        # Two clients: one httpx.Client used from two threads can send both requests down one
        # connection, and the second then waits behind the first on the server.
        with httpx.Client(base_url=url, timeout=15) as client, httpx.Client(base_url=url, timeout=15) as other:
            import threading

            first: dict = {}
            holder = threading.Thread(
                target=lambda: first.update(response=other.get("/api/tenant", headers=bearer(world["member_token"])))
            )
            holder.start()
            deadline = (
                time.monotonic() + 10
            )  # until the first request holds the pool's connection, waiting for the lock
            while not locker.execute(
                "SELECT pg_stat_clear_snapshot(), count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[1]:  # a fresh view each time: it is cached per transaction
                assert time.monotonic() < deadline, "the first request never reached the locked table"
                time.sleep(0.05)
            second = client.get("/api/tenant", headers=bearer(world["acme"].owner_token))
            locker.rollback()
            holder.join(15)
    assert second.status_code == 503, second.text
    assert second.json()["error"]["code"] == "service_unavailable"
    assert second.headers.get("Retry-After")
    assert first["response"].status_code == 200


async def test_a_socket_that_crashes_gives_its_slot_back(capped_server, world):
    """Subscribing to a room whose presence key holds garbage makes the consumer
    fail: the client gets 1011, and the slot comes back at once."""
    room = world["acme_room"].pk
    redis_client().set(room_key(world["acme"].pk, room), "not a sorted set")
    for _ in range(4):  # more crashes than the limit (3)
        sock = await connect_member(capped_server, ACME, world["member_token"], live=False)
        await sock.send(type="subscribe", channel=f"room:{room}")
        assert await sock.closed_with() == 1011
    redis_client().delete(room_key(world["acme"].pk, room))

    again = [await connect_member(capped_server, ACME, world["member_token"]) for _ in range(3)]
    for sock in again:
        await sock.send(type="ping")
        assert (await sock.recv_type("pong"))["type"] == "pong"
        await sock.close()


async def test_streams_left_right_after_their_headers_give_their_slots_back(capped_server, world):
    streams = Streams(capped_server)
    try:
        for _ in range(6):  # twice the limit

            async def opened():
                return (await streams.start(world["member_token"])).status_code == 200

            assert await eventually(opened)
            await streams.close_one()
    finally:
        await streams.aclose()


async def test_streams_opened_at_the_same_moment_cannot_pass_the_limit_together(capped_server, world):
    streams = Streams(capped_server)
    try:
        answers = await asyncio.gather(*[streams.start(world["member_token"]) for _ in range(12)])
        assert sorted(r.status_code for r in answers) == [200] * 3 + [429] * 9
    finally:
        await streams.aclose()


async def test_streams_whose_client_leaves_before_the_response_give_their_slots_back(capped_server, world):
    """A client that resets the connection right after sending its request: Django cancels the
    request while the view is still making the response, so the response is never sent and
    never closed (EventStreamResponse.close never runs); its slot must come back anyway."""
    import socket
    import struct

    request = (
        f"GET /api/events HTTP/1.1\r\nHost: {ACME}\r\nAuthorization: Bearer {world['member_token']}\r\n\r\n"
    ).encode()
    for _ in range(4 * 3):  # four times the limit
        sock = socket.create_connection(("127.0.0.1", capped_server.port))
        sock.sendall(request)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST
    await asyncio.sleep(0.5)

    streams = Streams(capped_server)
    try:

        async def opened():
            return (await streams.start(world["member_token"])).status_code == 200

        for _ in range(3):
            assert await eventually(opened)  # within 5 s, not PRESENCE_TTL_SECONDS (45 s)
    finally:
        await streams.aclose()
