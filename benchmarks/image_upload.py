"""Image upload end to end: ours as `make run` serves it vs the seed's Express + Multer + sharp (issue 11, goal 4).

One run, both servers up side by side, requests interleaved (ours, anchor, anchor, ours, ...):

- **ours**: uvicorn config.asgi:application exactly as `python -m config.devstack run`
  starts it (config/server.py: its workers, access log on, default throttles), local
  file storage (make run's default: no AWS_STORAGE_BUCKET_NAME) in a fresh directory,
  the built-in scanner (CLAMAV_URL unset). `POST /api/upload/image` on a tenant's host
  with a bearer token: the upload streamed to disk and hashed, sniffed, checked
  (pixel and decoded-byte bounds, full decode, which makes the JPEG and starts while
  the body still arrives: uploads/pipeline/image_streaming.py), scanned, quota-checked, both
  files stored and recorded, the 800×800 q80 JPEG made in the request (a 12 Mpx image is not
  over IMAGE_INLINE_MAX_PIXELS, so no job and no qcluster: the answer is a 201).
  The tenant has the default settings (5 MB uploads, jpeg/jpg/png/pdf) except
  `uploads_per_minute`, raised so the run is not throttled (the check runs either way).
- **anchor**: benchmarks/node/image_upload_server.mjs, the reference's endpoint as it
  writes it: Express 5 + Multer diskStorage (5 MB, type by extension and MIME type) +
  sharp `.resize(800, 800, {fit: 'inside'}).jpeg({quality: 80}).toFile(...)`, JSON answer.

The image: benchmarks/images.py's photo-like 4000×3000 JPEG saved at quality 94
(~5.1 MB, under both 5 MiB limits). Each request sends the same prebuilt multipart body
over a kept-alive connection; the time is from the first byte sent to the whole answer.
Both answers are checked (ours: 201, 800×600; the anchor's processed file: 800×600).
Printed: median, p90, mean and min per side, the server's CPU per request, and the ratio
ours/anchor (goal: median ≤ 1.0×).

    cd benchmarks/node && npm ci   # once: express, multer, sharp
    .venv/bin/python -m config.devstack exec --profile bench -- .venv/bin/python benchmarks/image_upload.py
    # options: --rounds 20 (requests per side, after --warmup 3), --keep (keep the tenant and files)

A run takes about 30 s (most of it generating the image and migrating).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from _bench import (
    ROOT,
    django_setup,
    free_port,
    load,
    machine,
    manage,
    percentile,
    require_services,
    server_command,
    wait_ready,
)

NODE_DIR = ROOT / "benchmarks" / "node"
QUALITY_SOURCE = 94  # ~5.1 MB for the 4000×3000 photo-like image
UPLOADS_PER_MINUTE = 10_000


def source_image() -> bytes:
    from images import photo_like
    from PIL import Image

    im = Image.open(io.BytesIO(photo_like()))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=QUALITY_SOURCE)
    return out.getvalue()


def multipart(data: bytes, field: str, filename: str) -> tuple[str, bytes]:
    boundary = "bench" + secrets.token_hex(12)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


def tenant_with_token(slug: str):
    """A tenant with default settings (uploads_per_minute aside), its owner and a bearer token."""
    from accounts.services import user_create
    from tenants.audit import SYSTEM
    from tenants.services import tenant_create, tenant_settings_update, tenant_token_issue

    email, password = f"owner@{slug}.bench", "image-bench-" + secrets.token_hex(8)
    owner = user_create(email=email, password=password)
    tenant = tenant_create(slug=slug, name=f"Image {slug}", owner=owner)
    tenant_settings_update(tenant=tenant, actor=SYSTEM, data={"uploads_per_minute": UPLOADS_PER_MINUTE})
    _, token = tenant_token_issue(email=email, password=password, tenant=tenant)
    return tenant, token


@contextmanager
def process(cmd: list[str], env: dict, log: Path, url: str, ready: str, host: str):
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(proc, url, ready, host)  # see the log if it raises
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()  # the main process only (uvicorn stops its workers)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn's workers)."""
    import psutil

    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


class Side:
    def __init__(self, name: str, client, url: str, headers: dict, body: bytes, pid: int, check):
        self.name, self.client, self.url, self.headers, self.body, self.pid = name, client, url, headers, body, pid
        self.check = check
        self.samples: list[float] = []
        self.cpu = 0.0

    def once(self, record: bool) -> None:
        cpu = cpu_seconds(self.pid)
        start = time.perf_counter()
        response = self.client.post(self.url, content=self.body, headers=self.headers)
        elapsed = time.perf_counter() - start
        self.check(response)
        if record:
            self.samples.append(elapsed * 1000)
            self.cpu += cpu_seconds(self.pid) - cpu

    def row(self) -> str:
        s = self.samples
        return (
            f"  {self.name:<44} {statistics.median(s):8.1f} {percentile(s, 90):8.1f} {statistics.fmean(s):8.1f} "
            f"{min(s):8.1f} {self.cpu * 1000 / len(s):8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="measured requests per side")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests per side first")
    parser.add_argument("--keep", action="store_true", help="keep the tenant and the files")
    args = parser.parse_args()
    require_services()
    if not (NODE_DIR / "node_modules" / "sharp").is_dir():
        raise SystemExit(f"sharp is not installed: cd {NODE_DIR.relative_to(ROOT)} && npm ci")
    import httpx
    from PIL import Image

    print("migrate_schemas --noinput ...", flush=True)
    manage("migrate_schemas", "--noinput", "-v", "0")
    profile_dir = Path(os.environ.get("PLATFORM_DATA_DIR") or ROOT / ".data" / "bench")
    profile_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="image-upload-", dir=profile_dir))
    (data_dir / "tmp").mkdir()
    django_setup(LOG_LEVEL="WARNING")
    print("generating the image ...", flush=True)
    image = source_image()
    slug = f"img{secrets.token_hex(3)}"
    tenant, token = tenant_with_token(slug)
    host = f"{slug}.localhost"
    node_dir = data_dir / "node-uploads"

    def ours_ok(response) -> None:
        if response.status_code != 201:
            raise RuntimeError(f"ours: {response.status_code} {response.text[:500]}")
        body = response.json()
        assert (body["width"], body["height"]) == (800, 600), body

    def anchor_ok(response) -> None:
        if response.status_code != 200:
            raise RuntimeError(f"anchor: {response.status_code} {response.text[:500]}")
        with Image.open(node_dir / response.json()["processed"]) as out:
            assert out.size == (800, 600) and out.format == "JPEG", (out.size, out.format)

    ours_env = {**os.environ, "PLATFORM_DATA_DIR": str(data_dir), "TMPDIR": str(data_dir / "tmp")}
    ours_env.pop("THROTTLE_USER_RATE", None)  # make run's default throttles
    ours_port, node_port = free_port(), free_port()
    ours_cmd = server_command(host="127.0.0.1", port=ours_port, access_log=ours_env.get("ACCESS_LOG") != "0")
    node_cmd = ["node", str(NODE_DIR / "image_upload_server.mjs"), str(node_port), str(node_dir)]
    try:
        with (
            process(
                ours_cmd, ours_env, data_dir / "ours.log", f"http://127.0.0.1:{ours_port}", "/healthz", "localhost"
            ) as ours_proc,
            process(
                node_cmd,
                dict(os.environ),
                data_dir / "node.log",
                f"http://127.0.0.1:{node_port}",
                "/healthz",
                "localhost",
            ) as node_proc,
            httpx.Client(timeout=60) as ours_client,
            httpx.Client(timeout=60) as node_client,
        ):
            ctype, ours_body = multipart(image, "image", "photo.jpg")
            ours = Side(
                "ours (uvicorn, make run)",
                ours_client,
                f"http://127.0.0.1:{ours_port}/api/upload/image",
                {"Host": host, "Authorization": f"Bearer {token}", "Content-Type": ctype},
                ours_body,
                ours_proc.pid,
                ours_ok,
            )
            ctype, node_body = multipart(image, "image", "photo.jpg")
            anchor = Side(
                "anchor (Express + Multer + sharp)",
                node_client,
                f"http://127.0.0.1:{node_port}/api/upload/image",
                {"Content-Type": ctype},
                node_body,
                node_proc.pid,
                anchor_ok,
            )
            for _ in range(args.warmup):
                ours.once(False)
                anchor.once(False)
            for i in range(args.rounds):
                for side in (ours, anchor) if i % 2 == 0 else (anchor, ours):
                    side.once(True)
        node_versions = json.loads(
            subprocess.run(
                [
                    "node",
                    "-e",
                    "const s=require('sharp');console.log(JSON.stringify({node:process.version,"
                    "sharp:s.versions.sharp,vips:s.versions.vips,express:require('express/package.json').version,"
                    "multer:require('multer/package.json').version}))",
                ],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    finally:
        if not args.keep:
            tenant.delete()
            shutil.rmtree(data_dir, ignore_errors=True)

    workers = ours_cmd[ours_cmd.index("--workers") + 1]
    print()
    print("POST /api/upload/image: a 4000x3000 JPEG -> fit 800x800, JPEG q80, stored, JSON answer")
    print(f"machine: {machine()}")
    print(
        f"image: {len(image):,} bytes, photo-like, q{QUALITY_SOURCE}; {args.rounds} requests per side "
        f"after {args.warmup} warm-up, interleaved, one at a time, kept-alive connection"
    )
    print(
        f"ours: config.serve, {workers} workers (as make run), local storage, built-in scanner; anchor: Node {node_versions['node']}, "
        f"express {node_versions['express']}, multer {node_versions['multer']}, sharp {node_versions['sharp']} "
        f"(libvips {node_versions['vips']})"
    )
    print()
    print(f"  {'':<44} {'p50 ms':>8} {'p90 ms':>8} {'mean ms':>8} {'min ms':>8} {'CPU ms':>8}")
    print(ours.row())
    print(anchor.row())
    ratio = statistics.median(ours.samples) / statistics.median(anchor.samples)
    ratio90 = percentile(ours.samples, 90) / percentile(anchor.samples, 90)
    print(
        f"\n  ratio ours/anchor: p50 {ratio:.2f}x, p90 {ratio90:.2f}x "
        f"(goal p50 <= 1.0x: {'met' if ratio <= 1.0 else 'not met'})"
    )
    print(f"  CPU ms = the server's user+system CPU per request (ours: all uvicorn processes); load {load()}")


if __name__ == "__main__":
    main()
