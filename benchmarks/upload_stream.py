"""A 1 GiB upload through the real server: memory growth and throughput.

Starts uvicorn serving config.asgi (one process, as `make run` does) against the
launcher's PostgreSQL and Redis, makes a tenant whose upload limit is raised to
1 GiB (`max_upload_mb` 1024, the most a tenant may set) with an owner and a
bearer token, then POSTs one multipart `file` of 1 GiB of text to
`/api/upload` on the tenant's host, streamed from a generator (never in the
client's memory either). While it runs, the server process's RSS is sampled
every 50 ms with psutil; printed: the peak RSS growth over the RSS just before
the upload (after a 1 MiB warm-up upload), the MB/s from the first byte sent
to the 201, what the server process wrote to disk and its CPU time, and, for
scale, how fast this machine writes and hashes 1 GiB.
The File's size and SHA-256 are checked against what was sent.

  .venv/bin/python -m config.devstack exec --profile stream -- .venv/bin/python benchmarks/upload_stream.py
  options: --mib 1024 (upload size), --runs 1, --keep (keep the tenant and its files)

The server's files (and its temporary files) go to a fresh directory under
.data/<profile>/, removed at the end; the tenant is deleted unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from _bench import ROOT, django_setup, machine, manage, require_services, uvicorn_server

MIB = 1024 * 1024
TARGET_GROWTH_MIB = 32
PASSWORD = "stream-bench-" + secrets.token_hex(8)
CHUNK = MIB  # what the client sends per write


def text_chunk() -> bytes:
    """1 MiB of printable lines (a .txt: the sniffer sees text, the scanner has work)."""
    line = b"".join(
        b"%08d the quick brown fox jumps over the lazy dog %s\n" % (i, secrets.token_hex(8).encode()) for i in range(64)
    )
    return (line * (CHUNK // len(line) + 1))[:CHUNK]


def multipart(chunk: bytes, count: int, filename: str) -> tuple[str, int, Callable[[], Iterator[bytes]]]:
    """(content type, length, body generator) of one `file` part of `count` chunks."""
    boundary = "bench" + secrets.token_hex(12)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        for _ in range(count):
            yield chunk
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head) + len(chunk) * count + len(tail), body


# --- the server --------------------------------------------------------------------


@contextmanager
def server(data_dir: Path):
    """uvicorn as `make run` serves it, its files in `data_dir`; yields (process, base URL)."""
    (data_dir / "spool").mkdir(parents=True, exist_ok=True)
    with uvicorn_server({"PLATFORM_DATA_DIR": str(data_dir), "TMPDIR": str(data_dir / "spool")}) as served:
        yield served


class RssSampler:
    """The RSS of one process every `interval` s, in a thread; peak kept."""

    def __init__(self, pid: int, interval: float = 0.05):
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.process.memory_info().rss)


# --- the tenant ----------------------------------------------------------------------


def tenant_with_token(slug: str):
    """A tenant allowing 1 GiB .txt uploads, its owner and a bearer token bound to it."""
    from accounts.services import user_create
    from tenants.audit import SYSTEM
    from tenants.services import tenant_create, tenant_settings_update, tenant_token_issue

    email = f"owner@{slug}.bench"
    owner = user_create(email=email, password=PASSWORD)
    tenant = tenant_create(slug=slug, name=f"Stream {slug}", owner=owner)
    tenant_settings_update(
        tenant=tenant,
        actor=SYSTEM,
        data={
            "max_upload_mb": 1024,
            "storage_quota_mb": 100_000,
            "allowed_file_types": ["txt"],
            "uploads_per_minute": 10_000,
        },
    )
    _, token = tenant_token_issue(email=email, password=PASSWORD, tenant=tenant)
    return tenant, owner, token


def upload(url: str, host: str, token: str, chunk: bytes, count: int, name: str) -> tuple[dict, float]:
    import httpx

    content_type, length, body = multipart(chunk, count, name)
    headers = {
        "Host": host,
        "Authorization": f"Bearer {token}",
        "Content-Type": content_type,
        "Content-Length": str(length),
    }
    start = time.perf_counter()
    response = httpx.post(url + "/api/upload", content=body(), headers=headers, timeout=600)
    elapsed = time.perf_counter() - start
    if response.status_code != 201:
        raise RuntimeError(f"POST /api/upload: {response.status_code} {response.text[:500]}")
    return response.json(), elapsed


# --- for scale: this machine's disk and SHA-256 ---------------------------------------


def disk_and_hash_rates(directory: Path, chunk: bytes, count: int) -> tuple[float, float]:
    """MB/s writing `count` chunks to a file in `directory` (then fsync), and SHA-256 MB/s."""
    path = directory / "disk-rate.tmp"
    start = time.perf_counter()
    with open(path, "wb") as out:
        for _ in range(count):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    write = time.perf_counter() - start
    path.unlink()
    hasher = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(count):
        hasher.update(chunk)
    digest = time.perf_counter() - start
    size_mb = len(chunk) * count / 1e6
    return size_mb / write, size_mb / digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=1024, help="upload size in MiB (default 1024 = 1 GiB)")
    parser.add_argument("--runs", type=int, default=1, help="uploads of that size, one after the other")
    parser.add_argument("--keep", action="store_true", help="keep the tenant and its files")
    args = parser.parse_args()
    require_services()

    print("migrate_schemas --noinput ...", flush=True)
    manage("migrate_schemas", "--noinput", "-v", "0")
    profile_dir = Path(os.environ.get("PLATFORM_DATA_DIR") or ROOT / ".data" / "stream")
    profile_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="upload-stream-", dir=profile_dir))
    django_setup(LOG_LEVEL="WARNING", PLATFORM_DATA_DIR=str(data_dir))

    slug = f"stream{secrets.token_hex(3)}"
    chunk = text_chunk()
    expected = hashlib.sha256()
    for _ in range(args.mib):
        expected.update(chunk)
    tenant, _owner, token = tenant_with_token(slug)
    host = f"{slug}.localhost"
    results = []
    try:
        with server(data_dir) as (proc, url):
            upload(url, host, token, chunk, 1, "warm-up.txt")  # loads every code path once
            for run in range(args.runs):
                time.sleep(1)  # let the RSS settle
                with RssSampler(proc.pid) as rss:
                    baseline = rss.process.memory_info().rss
                    io_before, cpu_before = rss.process.io_counters(), rss.process.cpu_times()
                    body, elapsed = upload(url, host, token, chunk, args.mib, f"big-{run}.txt")
                    io_after, cpu_after = rss.process.io_counters(), rss.process.cpu_times()
                written = io_after.write_bytes - io_before.write_bytes
                cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
                assert body["size"] == args.mib * MIB, body
                assert body.get("sha256") in (None, expected.hexdigest()), (body.get("sha256"), expected.hexdigest())
                results.append((baseline, max(rss.samples), len(rss.samples), elapsed, body, written, cpu))
        disk_mbs, hash_mbs = disk_and_hash_rates(data_dir, chunk, args.mib)
    finally:
        if not args.keep:
            tenant.delete()
            shutil.rmtree(data_dir, ignore_errors=True)

    size_mb = args.mib * MIB / 1e6
    print(
        f"\nUpload of {args.mib} MiB ({size_mb:,.0f} MB) as one multipart `file` to POST /api/upload "
        "(uvicorn, one process)"
    )
    print(f"machine: {machine()}")
    for baseline, peak, samples, elapsed, body, written, cpu in results:
        growth = (peak - baseline) / MIB
        verdict = "met" if growth < TARGET_GROWTH_MIB else "NOT met"
        print(
            f"  server RSS before {baseline / MIB:7.1f} MiB, peak {peak / MIB:7.1f} MiB -> growth "
            f"{growth:6.1f} MiB ({samples} samples, 50 ms apart); target < {TARGET_GROWTH_MIB} MiB: {verdict}"
        )
        print(
            f"  {elapsed:6.2f} s from first byte to 201 -> {size_mb / elapsed:7.1f} MB/s; "
            f"stored {body['size']:,} bytes, sha256 {'checked' if body.get('sha256') else 'not returned'}"
        )
        print(
            f"  server process: {written / MIB:,.0f} MiB written to disk ({written / (args.mib * MIB):.1f}x the "
            f"upload), {cpu:.2f} s CPU ({cpu / elapsed:.0%} of one core)"
        )
    print(
        f"  for scale, here: writing {args.mib} MiB to the same disk (+ fsync) {disk_mbs:7.1f} MB/s; "
        f"SHA-256 {hash_mbs:7.1f} MB/s (one core)"
    )


if __name__ == "__main__":
    main()
