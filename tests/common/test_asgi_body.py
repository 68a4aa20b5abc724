"""common.asgi.StreamedBody: a request body read from ASGI `receive` as sync code asks for it
(the whole handler runs through uvicorn in tests/uploads/test_live_server.py)."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from common.asgi import RequestBodyIncomplete, StreamedBody, body_streams


def messages_receive(*bodies: bytes, disconnect: bool = False):
    """A `receive` giving one http.request per body (the last without more_body, unless
    `disconnect`: then an http.disconnect follows); records what was taken."""
    messages = [
        {"type": "http.request", "body": body, "more_body": disconnect or i < len(bodies) - 1}
        for i, body in enumerate(bodies)
    ]
    if disconnect:
        messages.append({"type": "http.disconnect"})
    taken = []

    async def receive():
        await asyncio.sleep(0)
        taken.append(messages.pop(0))
        return taken[-1]

    return receive, taken


async def test_read_takes_only_the_messages_it_needs_from_a_view_thread():
    receive, taken = messages_receive(b"abc", b"defgh\nij", b"kl")
    body = StreamedBody(receive)
    body.read_ahead = 0
    read, readline = sync_to_async(body.read), sync_to_async(body.readline)

    assert await read(2) == b"ab"
    assert len(taken) == 1
    assert await readline() == b"cdefgh\n"
    assert len(taken) == 2 and not body.received.is_set()
    assert await read(3) == b"ijk"  # n bytes, fewer only at the end
    assert body.received.is_set()
    assert await read(10) == b"l"
    assert await read() == b""


async def test_read_ahead_is_bounded():
    receive, taken = messages_receive(*[b"x" * 100] * 50)
    body = StreamedBody(receive)
    body.read_ahead = 1000

    assert await sync_to_async(body.read)(10) == b"x" * 10
    assert len(taken) == 10  # 1,000 bytes received, not the 5,000
    assert await sync_to_async(body.read)(990) == b"x" * 990
    assert len(taken) == 10
    assert len(await sync_to_async(body.read)()) == 4000


async def test_read_all_and_readline_limits():
    receive, _ = messages_receive(b"one\ntw", b"o\nthree")
    body = StreamedBody(receive)

    assert await sync_to_async(body.readline)(2) == b"on"
    assert await sync_to_async(body.readline)() == b"e\n"
    assert await sync_to_async(body.read)() == b"two\nthree"


async def test_a_plain_thread_reads_through_the_loop_too():
    receive, _ = messages_receive(b"x" * 10, b"y" * 10)
    body = StreamedBody(receive)

    assert await asyncio.to_thread(body.read, 15) == b"x" * 10 + b"y" * 5


async def test_a_disconnect_mid_body_raises_in_the_reader():
    receive, _ = messages_receive(b"part", disconnect=True)
    body = StreamedBody(receive)

    with pytest.raises(RequestBodyIncomplete):
        await sync_to_async(body.read)(100)
    assert body.disconnected and body.received.is_set()
    with pytest.raises(RequestBodyIncomplete):
        await sync_to_async(body.readline)()


async def test_reading_on_the_event_loop_is_refused():
    receive, taken = messages_receive(b"abc")
    body = StreamedBody(receive)

    with pytest.raises(RuntimeError, match="not on the event loop"):
        body.read(1)
    assert taken == []


async def test_a_closed_body_cannot_be_read():
    receive, _ = messages_receive(b"abc")
    body = StreamedBody(receive)
    body.close()

    with pytest.raises(ValueError):
        await sync_to_async(body.read)(1)


@pytest.mark.parametrize(
    "headers, streams",
    [
        ([(b"content-type", b"multipart/form-data; boundary=x"), (b"content-length", b"10")], True),
        ([(b"content-type", b"Multipart/Form-Data; boundary=x"), (b"content-length", b"10")], True),
        ([(b"content-type", b"multipart/form-data; boundary=x")], False),  # chunked: Django's path
        (
            [
                (b"content-type", b"multipart/form-data; boundary=x"),
                (b"content-length", b"10"),
                (b"transfer-encoding", b"chunked"),
            ],
            False,
        ),
        ([(b"content-type", b"multipart/form-data; boundary=x"), (b"content-length", b"0")], False),
        ([(b"content-type", b"multipart/form-data; boundary=x"), (b"content-length", b"ten")], False),
        ([(b"content-type", b"application/json"), (b"content-length", b"10")], False),
        ([(b"content-length", b"10")], False),
    ],
)
def test_which_bodies_stream(headers, streams):
    assert body_streams({"type": "http", "method": "POST", "headers": headers}) is streams
