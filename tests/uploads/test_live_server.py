"""Uploads through the real ASGI server (uvicorn, as `make run` serves): an oversized
body is refused before it is read, not after Django has spooled all of it; a multipart
body streams from the socket to the upload handler (written to disk once), a client
leaving mid-body leaves nothing behind, and waiting for a slow body holds no database
connection."""

import socket
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from tests.live import LiveServer

from .conftest import GLOBEX, PDF, file_rows, settings_set, stored_keys

MIB = 1024 * 1024


def raw_post(server, host: str, token: str, head_extra: str, first_bytes: bytes) -> tuple[bytes, float]:
    """Send the request line, headers and only `first_bytes` of the body; return what the
    server answers without the rest ever being sent, and how long it took."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(
            (
                f"POST /api/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary=b\r\n{head_extra}\r\n"
            ).encode()
            + first_bytes
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer, time.monotonic() - started


def test_a_declared_oversized_body_is_refused_before_it_is_sent(committed, asgi_server, people, globex):
    settings_set(globex, max_upload_mb=1)

    answer, seconds = raw_post(
        asgi_server,
        f"{GLOBEX}:{asgi_server.port}",
        people["globex"],
        f"Content-Length: {2 * 1024 * MIB}\r\n",
        b"--b\r\n",
    )

    assert answer.startswith(b"HTTP/1.1 413") and b'"code":"file_too_large"' in answer.replace(b" ", b"")
    assert seconds < 5  # 2 GiB were announced; 5 bytes were sent


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(committed, asgi_server, people, globex):
    settings_set(globex, max_upload_mb=1)
    part = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ) + PDF
    body = part + b"0" * (2 * MIB)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[i : i + 65536] for i in range(0, len(body), 65536)))

    answer, _ = raw_post(
        asgi_server, f"{GLOBEX}:{asgi_server.port}", people["globex"], "Transfer-Encoding: chunked\r\n", chunked
    )  # no terminating chunk: the body never ends

    assert answer.startswith(b"HTTP/1.1 413")
    assert stored_keys(globex) == []


def test_an_upload_within_the_limit_goes_through_the_server(committed, asgi_server, people, globex):
    response = httpx.post(
        f"{asgi_server.url}/api/upload",
        headers={"Host": GLOBEX, "Authorization": f"Bearer {people['globex']}"},
        files={"file": ("doc.pdf", PDF, "application/pdf")},
        timeout=10,
    )

    assert response.status_code == 201, response.text
    assert stored_keys(globex) == [response.json()["key"]]


# --- streaming: config.asgi's handler feeds a multipart body to the parser as it arrives ---


def text_body(size: int) -> bytes:
    line = b"the quick brown fox jumps over the lazy dog 0123456789\n"
    return (line * (size // len(line) + 1))[:size]


def upload_temp_files() -> set[Path]:
    """The upload handler's temporary files (Django's TemporaryUploadedFile: *.upload*)."""
    return set(Path(settings.FILE_UPLOAD_TEMP_DIR).glob("*.upload*"))


def wait_for(predicate, timeout: float = 10, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s")
        time.sleep(0.02)


def partial_upload(server, host: str, token: str, content: bytes, *, sent: int) -> tuple[socket.socket, int]:
    """Start a multipart upload of `content` as `file` (a .txt), Content-Length announcing all
    of it, and send only the first `sent` bytes of the body. Returns the open socket."""
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
    body = head + content + b"\r\n--b--\r\n"
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(
        (
            f"POST /api/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body[:sent]
    )
    return sock, len(body)


def test_a_refused_upload_is_answered_before_its_body_is_sent(committed, asgi_server, people, globex):
    """The view runs as the body starts: a bad token is answered with most of the body unsent
    (a spooled body would have to arrive whole first)."""
    sock, _ = partial_upload(asgi_server, GLOBEX, "not-a-token", text_body(4 * MIB), sent=64 * 1024)
    with sock:
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


def test_an_upload_is_written_to_disk_once(committed, asgi_server, people, globex):
    """Every byte the server process writes (write(2) calls, any file system: /proc/<pid>/io
    wchar) while receiving an 8 MiB upload: the upload file once, not Django's body spool
    first (which would make it 2x)."""
    settings_set(globex, max_upload_mb=16, allowed_file_types=["txt"])
    content = text_body(8 * MIB)
    headers = {"Host": GLOBEX, "Authorization": f"Bearer {people['globex']}"}
    httpx.post(
        f"{asgi_server.url}/api/upload",
        headers=headers,
        timeout=30,
        files={"file": ("warm.txt", b"warm up\n", "text/plain")},
    ).raise_for_status()

    before = asgi_server.written_chars()
    response = httpx.post(
        f"{asgi_server.url}/api/upload", headers=headers, timeout=30, files={"file": ("big.txt", content, "text/plain")}
    )
    written = asgi_server.written_chars() - before

    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(content)
    assert len(content) <= written < 1.25 * len(content), f"{written / MIB:.1f} MiB written for an 8 MiB upload"


def test_a_client_leaving_mid_upload_leaves_nothing(committed, asgi_server, people, globex):
    settings_set(globex, max_upload_mb=16, allowed_file_types=["txt"])
    before = upload_temp_files()
    sock, total = partial_upload(asgi_server, GLOBEX, people["globex"], text_body(8 * MIB), sent=2 * MIB)
    try:
        # The handler is writing the file while the body is still arriving (with a spooled body
        # it would not start before the last byte).
        temp = wait_for(lambda: upload_temp_files() - before, what="an upload temporary file mid-body")
        assert all(path.stat().st_size < total for path in temp)
    finally:
        sock.close()  # the client leaves with 6 MiB unsent

    wait_for(lambda: not (upload_temp_files() - before), what="the partial file removed")
    assert stored_keys(globex) == []
    assert file_rows(globex) == []
    response = httpx.post(
        f"{asgi_server.url}/api/upload",
        headers={"Host": GLOBEX, "Authorization": f"Bearer {people['globex']}"},
        files={"file": ("after.txt", b"still serving\n", "text/plain")},
        timeout=10,
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def small_pool_server(django_db_setup):
    """One server process (a pool is per process) whose pool holds at most 2 connections (timeout 10 s)."""
    server = LiveServer(extra_env={"DB_POOL_MAX_SIZE": "2", "DB_POOL_MIN_SIZE": "1", "WEB_CONCURRENCY": "1"}).start()
    yield server
    server.stop()


def test_a_slow_upload_body_holds_no_database_connection(committed, small_pool_server, people, globex):
    """Three uploads stalled mid-body (their views authenticated, then waiting for the socket)
    on a server with a pool of two connections: the views wait without a connection, so a
    fourth request is served at once."""
    settings_set(globex, max_upload_mb=16, allowed_file_types=["txt"])
    before = upload_temp_files()
    socks = []
    try:
        for _ in range(3):
            socks.append(partial_upload(small_pool_server, GLOBEX, people["globex"], text_body(4 * MIB), sent=MIB)[0])
        wait_for(lambda: len(upload_temp_files() - before) == 3, timeout=15, what="three uploads streaming")

        started = time.monotonic()
        response = httpx.get(
            f"{small_pool_server.url}/api/files",
            headers={"Host": GLOBEX, "Authorization": f"Bearer {people['globex']}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 5  # the pool's timeout is 10 s
    finally:
        for sock in socks:
            sock.close()
    wait_for(lambda: not (upload_temp_files() - before), what="the partial files removed")
    assert file_rows(globex) == []
