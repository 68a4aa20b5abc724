"""Uploads through the real ASGI server (uvicorn, as `make run` serves): an oversized
body is refused before it is read, not after Django has spooled all of it."""
import socket
import time

import httpx

from .conftest import GLOBEX, PDF, settings_set, stored_keys

MIB = 1024 * 1024


def raw_post(server, host: str, token: str, head_extra: str, first_bytes: bytes) -> tuple[bytes, float]:
    """Send the request line, headers and only `first_bytes` of the body; return what the
    server answers without the rest ever being sent, and how long it took."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall((f"POST /api/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                      f"Content-Type: multipart/form-data; boundary=b\r\n{head_extra}\r\n").encode() + first_bytes)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer, time.monotonic() - started


def test_a_declared_oversized_body_is_refused_before_it_is_sent(committed, asgi_server, people, globex):
    settings_set(globex, max_upload_mb=1)

    answer, seconds = raw_post(asgi_server, f"{GLOBEX}:{asgi_server.port}", people["globex"],
                               f"Content-Length: {2 * 1024 * MIB}\r\n", b"--b\r\n")

    assert answer.startswith(b"HTTP/1.1 413") and b'"code":"file_too_large"' in answer.replace(b" ", b"")
    assert seconds < 5  # 2 GiB were announced; 5 bytes were sent


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(committed, asgi_server, people, globex):
    settings_set(globex, max_upload_mb=1)
    part = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n") + PDF
    body = part + b"0" * (2 * MIB)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[i:i + 65536] for i in range(0, len(body), 65536)))

    answer, _ = raw_post(asgi_server, f"{GLOBEX}:{asgi_server.port}", people["globex"],
                         "Transfer-Encoding: chunked\r\n", chunked)  # no terminating chunk: the body never ends

    assert answer.startswith(b"HTTP/1.1 413")
    assert stored_keys(globex) == []


def test_an_upload_within_the_limit_goes_through_the_server(committed, asgi_server, people, globex):
    response = httpx.post(f"{asgi_server.url}/api/upload", headers={"Host": GLOBEX,
                          "Authorization": f"Bearer {people['globex']}"},
                          files={"file": ("doc.pdf", PDF, "application/pdf")}, timeout=10)

    assert response.status_code == 201, response.text
    assert stored_keys(globex) == [response.json()["key"]]
