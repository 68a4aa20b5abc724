"""Every endpoint has a body limit known before the body is read (common/asgi_limits.py, in
front of Django): JSON and other endpoints 1 MiB (REQUEST_MAX_BYTES), /api/imports its file
limit, uploads the tenant's. Over it the real server (uvicorn, as `make run` serves) answers
413 at once, whatever the content type or transfer encoding; Django (test client, runserver)
agrees."""

import json
import socket
import threading
import time

import pytest
from django.conf import settings

from tests.helpers import error_code

MIB = 1024 * 1024
ACME = "acme.localhost"


def answer_of(sock: socket.socket) -> bytes:
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}}"):
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        answer += chunk
    return answer


def head(path: str, host: str, headers: dict) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post_announced(server, path: str, host: str, headers: dict, length: int) -> tuple[bytes, float]:
    """Announce a body of `length` bytes, send 100 of them: what the server answers, and when."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(head(path, host, {**headers, "Content-Length": length}) + b"x" * 100)
        return answer_of(sock), time.monotonic() - started


def post_chunked(server, path: str, host: str, headers: dict, total: int) -> tuple[bytes, int]:
    """Stream a chunked body of up to `total` bytes (never terminated) from a thread while
    reading the answer: what the server answered, and how many bytes had been sent then."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sent = 0
    stop = threading.Event()

    def sender():
        nonlocal sent
        chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
        try:
            sock.sendall(head(path, host, {**headers, "Transfer-Encoding": "chunked"}))
            while sent < total and not stop.is_set():
                sock.sendall(chunk)
                sent += 65536
        except OSError:
            pass  # the server closed the connection after its answer

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    with sock:
        answer = answer_of(sock)
        stop.set()
        thread.join(10)
    return answer, sent


def written_by(server) -> int:
    """Bytes the server's processes have written so far (write(2) on any file: /proc/<pid>/io wchar)."""
    return server.written_chars()


def is_413(answer: bytes, code: str) -> bool:
    return answer.startswith(b"HTTP/1.1 413") and f'"code":"{code}"'.encode() in answer.replace(b" ", b"")


@pytest.fixture
def owner(committed, acme):
    return {"Authorization": f"Bearer {acme.owner_token}"}


CONTENT_TYPES = ["multipart/form-data; boundary=b", "application/json", "application/octet-stream"]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_an_anonymous_signup_announcing_400_mib_is_refused_before_it_is_sent(committed, asgi_server, content_type):
    answer, seconds = post_announced(
        asgi_server, "/api/auth/signup", "localhost", {"Content-Type": content_type}, 400 * MIB
    )

    assert is_413(answer, "request_too_large"), answer[:300]
    assert b'"max_bytes":1048576' in answer.replace(b" ", b"")
    assert seconds < 2


@pytest.mark.parametrize("path, code", [("/api/rooms", "request_too_large"), ("/api/imports", "file_too_large")])
def test_a_tenant_endpoint_announcing_200_mib_is_refused_before_it_is_sent(asgi_server, owner, path, code):
    answer, seconds = post_announced(
        asgi_server, path, ACME, {**owner, "Content-Type": "multipart/form-data; boundary=b"}, 200 * MIB
    )

    assert is_413(answer, code), answer[:300]
    assert seconds < 2


def test_imports_take_a_file_of_their_limit(asgi_server, owner):
    """The imports door is the file limit (IMPORT_MAX_BYTES) plus room for the multipart
    framing: a file of nearly that size reaches the view (which refuses its type)."""
    import httpx

    response = httpx.post(
        f"{asgi_server.url}/api/imports",
        headers={**owner, "Host": ACME},
        timeout=10,
        files={"file": ("members.txt", b"x" * (settings.IMPORTS["MAX_BYTES"] - 10), "text/plain")},
    )
    assert response.status_code == 415, response.text


@pytest.mark.parametrize(
    "path, host, code",
    [
        ("/api/auth/signup", "localhost", "request_too_large"),
        ("/api/rooms", ACME, "request_too_large"),
        ("/api/imports", ACME, "file_too_large"),
    ],
)
def test_a_chunked_body_is_cut_off_at_the_limit_and_nothing_is_written_to_disk(asgi_server, owner, path, host, code):
    before = written_by(asgi_server)

    answer, sent = post_chunked(asgi_server, path, host, {**owner, "Content-Type": "application/json"}, 200 * MIB)

    assert is_413(answer, code), answer[:300]
    assert sent < 50 * MIB  # answered while the body was arriving, not after 200 MiB
    assert written_by(asgi_server) - before < 256 * 1024  # no body spooled to a temporary file


def test_a_body_within_the_limit_goes_through(asgi_server, owner):
    import httpx

    response = httpx.post(
        f"{asgi_server.url}/api/rooms",
        headers={**owner, "Host": ACME},
        json={"name": "r" * 50, "padding": "x" * (MIB // 2)},
        timeout=10,
    )
    assert response.status_code == 201, response.text


# --- Django agrees (test client, runserver: no ASGI door in front) ---------------------------


def test_django_refuses_an_oversized_json_body_the_same_way(api, acme):
    response = api.post(
        "/api/rooms", host=ACME, token=acme.owner_token, raw=json.dumps({"name": "big", "padding": "x" * (2 * MIB)})
    )
    assert response.status_code == 413
    assert error_code(response) == "request_too_large"
    assert response.json()["error"]["details"] == {"max_bytes": settings.REQUEST_MAX_BYTES}


def test_django_refuses_an_oversized_anonymous_form_the_same_way(api, db):
    response = api.client.post(
        "/api/auth/signup",
        data="a=" + "x" * (2 * MIB),
        content_type="application/x-www-form-urlencoded",
        HTTP_HOST="localhost",
    )
    assert response.status_code == 413
    assert error_code(response) == "request_too_large"


def test_a_non_file_field_of_an_upload_has_the_request_limit(api, acme):
    """Django's own check (DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES) on the form fields of
    a multipart body: the files have the tenant's limit, the rest of the body the small one."""
    from tests.uploads.conftest import PDF, multipart

    body, content_type = multipart([("file", "a.pdf", PDF, "application/pdf")], fields={"note": "x" * (2 * MIB)})
    response = api.client.generic(
        "POST",
        "/api/upload",
        body,
        content_type=content_type,
        HTTP_HOST=ACME,
        HTTP_AUTHORIZATION=f"Bearer {acme.owner_token}",
    )
    assert response.status_code == 413
    assert error_code(response) == "request_too_large"


# --- WebSocket frames: refused by size before they are read whole ------------------------------


async def test_a_websocket_frame_far_over_the_limit_is_refused_before_it_is_buffered(asgi_server, owner, acme):
    from tests.realtime.client import connect_member

    sock = await connect_member(asgi_server, ACME, acme.owner_token)
    await sock.ws.send("x" * (4 * MIB))
    assert await sock.closed_with() == 1009  # uvicorn: message too big (read the frame header only)


async def test_a_websocket_frame_just_over_the_limit_gets_our_close_code(asgi_server, owner, acme):
    from tests.realtime.client import connect_member

    sock = await connect_member(asgi_server, ACME, acme.owner_token)
    await sock.ws.send("x" * (settings.REALTIME["MAX_FRAME_BYTES"] + 1))
    assert await sock.closed_with() == 4400


# --- Upload paths: only a streamed multipart body has the upload limit ---------------------------


@pytest.mark.parametrize("path", ["/api/upload", "/api/upload/multiple", "/api/upload/direct/x"])
def test_a_body_an_upload_path_cannot_stream_has_the_request_limit(committed, asgi_server, path):
    """A body that is not a multipart with a Content-Length is read whole by Django (to a
    temporary file) before any view runs; on the platform host the upload limit is the most any
    tenant may set (1 GiB, × 10 for multiple), so anyone could make the server spool gigabytes
    to disk before its 400. Such a body has the request limit."""
    answer, seconds = post_announced(
        asgi_server, path, "localhost", {"Content-Type": "application/octet-stream"}, 200 * MIB
    )

    assert is_413(answer, "request_too_large"), answer[:300]
    assert seconds < 2


def test_a_chunked_body_to_an_upload_path_is_cut_off_at_the_request_limit(committed, asgi_server):
    before = written_by(asgi_server)

    answer, sent = post_chunked(
        asgi_server, "/api/upload", "localhost", {"Content-Type": "multipart/form-data; boundary=b"}, 200 * MIB
    )

    assert is_413(answer, "request_too_large"), answer[:300]
    assert sent < 50 * MIB
    assert written_by(asgi_server) - before < 256 * 1024
