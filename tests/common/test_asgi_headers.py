"""Headers that name who and where (Host, X-Tenant-ID, Authorization, Origin) come once: a
request with two of one is refused, the same way over HTTP and a WebSocket upgrade, through
the real server (common/asgi_headers.py, in front of Django and the consumers)."""

import json
import socket

import pytest

ACME = "acme.localhost"
UPGRADE = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


def exchange(server, request: str) -> bytes:
    """Send a raw request; what the server answers (up to its first response)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request.encode())
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            if head.startswith(b"HTTP/1.1 101") or body.rstrip().endswith(b"}"):
                break
        return data


def refused(answer: bytes, header: str) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 400"):
        return False
    if b"transfer-encoding: chunked" in head.lower():
        body = body.split(b"\r\n", 1)[1]
    error = json.loads(body[: body.rindex(b"}") + 1])["error"]
    return error["code"] == "header_duplicated" and error["details"] == {"header": header}


def twice(acme, name: str) -> str:
    token = acme.owner_token
    return {
        "host": f"Host: {ACME}\r\nHost: globex.localhost\r\n",
        "x-tenant-id": f"Host: localhost\r\nX-Tenant-ID: {acme.pk}\r\nX-Tenant-ID: {acme.pk}\r\n",
        "authorization": f"Host: {ACME}\r\nAuthorization: Bearer {token}\r\nAuthorization: Bearer {token}\r\n",
        "origin": f"Host: {ACME}\r\nOrigin: http://{ACME}\r\nOrigin: http://evil.example\r\n",
    }[name]


HEADERS = ["host", "x-tenant-id", "authorization", "origin"]


@pytest.mark.parametrize("name", HEADERS)
def test_a_websocket_upgrade_with_a_header_twice_is_refused_with_a_400(committed, acme, asgi_server, name):
    answer = exchange(asgi_server, f"GET /ws/ HTTP/1.1\r\n{twice(acme, name)}{UPGRADE}\r\n")
    if name == "origin":  # uvicorn's websockets handshake refuses this one itself, before the app
        assert answer.startswith(b"HTTP/1.1 400 ") and b"multiple values" in answer, answer[:400]
    else:
        assert refused(answer, name), answer[:400]


@pytest.mark.parametrize("name", HEADERS)
def test_an_http_request_with_a_header_twice_is_refused_the_same_way(committed, acme, asgi_server, name):
    answer = exchange(asgi_server, f"GET /api/tenant HTTP/1.1\r\n{twice(acme, name)}Connection: close\r\n\r\n")
    assert refused(answer, name), answer[:400]


def test_the_same_headers_once_each_are_served(committed, acme, asgi_server):
    answer = exchange(
        asgi_server,
        f"GET /api/tenant HTTP/1.1\r\nHost: {ACME}\r\n"
        f"Authorization: Bearer {acme.owner_token}\r\nOrigin: http://{ACME}\r\n"
        "Connection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:400]
    answer = exchange(asgi_server, f"GET /ws/ HTTP/1.1\r\nHost: {ACME}\r\n{UPGRADE}\r\n")
    assert answer.startswith(b"HTTP/1.1 101"), answer[:400]
