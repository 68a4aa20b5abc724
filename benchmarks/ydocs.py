"""Collaborative documents: `--editors` stock Yjs editors in one document, each making `--rate`
small updates a second for `--seconds` (open loop), against

- ours: `/ws/docs/<id>` on the tenant host, served as `make run` serves it (config/server.py: one
  uvicorn worker process per core, and a qcluster for the documents' jobs), each editor a member
  of the tenant with its own API token and a real one-time ticket, every update stored in
  PostgreSQL before it is sent on, updates crossing between the worker processes through Redis;
- theirs: the reference Node server `@y/websocket-server` (benchmarks/node, in memory, one
  process: it has no way to share a document between processes), started by this script.

The same load client for both: benchmarks/node/ydoc_load.mjs, `--client-procs` Node processes of
yjs + y-websocket `WebsocketProvider`s (one Y.Doc each). Each update is one transaction: a short
insert at the end of the Y.Text `content` and a Y.Map `sent` entry holding its send time; every
other editor records when the update is applied to its replica (update -> remote-apply latency).
Then: every update seen by every other editor (lost = expected - seen), every replica's text equal,
equal to a fresh client's after the run (what the server holds) and, for ours, to
`GET /api/docs/{id}/content`. Server CPU (psutil, from the first update to the last one seen; a
process tree's exited children included): the web server's processes; for ours PostgreSQL
(postmaster and every backend), Redis and the qcluster apart. RSS: the web server's processes.

    cd benchmarks/node && npm ci && cd -     # once
    .venv/bin/python -m config.devstack exec --profile ybench -- \
        .venv/bin/python benchmarks/ydocs.py [--editors 50 --rate 10 --seconds 30 --client-procs 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import QCluster, free_port, percentile, require_services, wait_ready  # noqa: E402

from config.server import server_command, web_concurrency  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "benchmarks" / "node"
SERVER_ENV = {"LOG_LEVEL": "WARNING", "THROTTLE_USER_RATE": "1000000/min"}  # 50 tickets in a burst
TENANT_RATE = 100_000  # the tenant's rate_limit_per_minute (default 600): the tickets come in a burst


# --- processes: CPU and memory -------------------------------------------------------------


def tree(pid: int | None) -> list:
    import psutil

    if pid is None:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process, its descendants, and its children that have exited."""
    import psutil

    total = 0.0
    for i, proc in enumerate(tree(pid)):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
        if i == 0:
            total += times.children_user + times.children_system
    return total


def rss(pid: int | None) -> int:
    import psutil

    total = 0
    for proc in tree(pid):
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def service_pids() -> dict[str, int | None]:
    """The profile's PostgreSQL postmaster and Redis server (config/devstack/services.py's files)."""
    data = Path(os.environ["PLATFORM_DATA_DIR"])
    return {"postgres": pid_file(data / "postgres" / "postmaster.pid"), "redis": pid_file(data / "redis" / "redis.pid")}


# --- the tenant, its editors and the document ------------------------------------------------


def setup_world(editors: int):
    """A tenant whose owner and `editors - 1` more members each have an API token (raw secret)."""
    import django

    django.setup()
    import logging
    from datetime import timedelta

    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per ticket request

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import AuthToken
    from accounts.tokens import token_digest, token_generate
    from tenants.audit import SYSTEM
    from tenants.services import membership_add, tenant_create

    call_command("migrate_schemas", "--noinput", verbosity=0)
    slug = f"yd-{uuid.uuid4().hex[:8]}"
    users = [
        # No password (a hash each would cost ~0.5 s): the token is made as token_issue makes it.
        get_user_model().objects.create_user(email=f"{slug}-{i}@bench.test", password=None)
        for i in range(editors)
    ]
    tenant = tenant_create(slug=slug, name="Documents", owner=users[0])
    tenant.settings = {"rate_limit_per_minute": TENANT_RATE}
    tenant.save()
    tokens = []
    for i, user in enumerate(users):
        if i:
            membership_add(tenant=tenant, email=user.email, role="member", actor=SYSTEM)
        raw = token_generate()
        AuthToken.objects.create(
            user=user,
            tenant=None,
            digest=token_digest(raw),
            prefix=raw[:10],
            expires_at=timezone.now() + timedelta(seconds=settings.AUTH_TOKEN_TTL_SECONDS),
        )
        tokens.append(raw)
    return str(tenant.pk), slug, tokens


def last_seq(tenant_id: str, document_id: str) -> int:
    from django_tenants.utils import tenant_context

    from documents.models import Document
    from tenants.models import Tenant

    with tenant_context(Tenant.objects.get(pk=tenant_id)):
        return Document.objects.get(pk=document_id).last_seq


def settle(tenant_id: str, document_id: str) -> float:
    """Seconds after the clients left until the document's last_seq stopped moving (2 s unchanged):
    messages the server had queued are still being stored; compare replicas after that."""
    start = time.monotonic()
    seq, since = last_seq(tenant_id, document_id), time.monotonic()
    while time.monotonic() - since < 2 and time.monotonic() - start < 120:
        time.sleep(0.2)
        now = last_seq(tenant_id, document_id)
        if now != seq:
            seq, since = now, time.monotonic()
    return since - start


# --- the load client (benchmarks/node/ydoc_load.mjs) -----------------------------------------


class Clients:
    def __init__(self, args, url: str, room: str, host: str, tickets: list[str] | None, samples_dir: Path):
        per = [
            args.editors // args.client_procs + (i < args.editors % args.client_procs) for i in range(args.client_procs)
        ]
        self.procs, self.samples, first = [], [], 0
        for i, count in enumerate(per):
            samples = samples_dir / f"samples-{i}.f64"
            config = {
                "url": url,
                "room": room,
                "host": host,
                "tickets": tickets[first : first + count] if tickets else None,
                "editors": count,
                "first": first,
                "total": args.editors,
                "rate": args.rate,
                "seconds": args.seconds,
                "samples": str(samples),
                "quiet": args.quiet,
                "insert": args.insert,
            }
            proc = subprocess.Popen(
                ["node", "--max-semi-space-size=32", "ydoc_load.mjs"],
                cwd=NODE_DIR,
                text=True,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            proc.stdin.write(json.dumps(config) + "\n")
            proc.stdin.flush()
            self.procs.append(proc)
            self.samples.append(samples)
            first += count

    def ready(self) -> float:
        return max(float(proc.stdout.readline().split()[1]) for proc in self.procs)

    def say(self, word: str) -> None:
        for proc in self.procs:
            proc.stdin.write(word + "\n")
            proc.stdin.flush()

    def results(self) -> list[dict]:
        return [json.loads(proc.stdout.readline()) for proc in self.procs]

    def latencies(self) -> list[float]:
        values = array("d")
        for path in self.samples:
            values.frombytes(path.read_bytes())
        return sorted(values)

    def stop(self) -> None:
        self.say("quit")
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def verify(url: str, room: str, host: str, ticket: str | None) -> dict:
    """A fresh client after the run: syncs, and gives {sha, length, keys} of what the server holds."""
    config = {"url": url, "room": room, "host": host, "tickets": [ticket] if ticket else None, "verify": True}
    out = subprocess.run(
        ["node", "ydoc_load.mjs"],
        cwd=NODE_DIR,
        input=json.dumps(config) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def measure(args, *, url, room, host, tickets, server_pid, others: dict[str, int | None], samples_dir: Path) -> dict:
    """One side under the load; everything the table needs."""
    idle = rss(server_pid)
    clients = Clients(args, url, room, host, tickets, samples_dir)
    try:
        connect_s = clients.ready()
        time.sleep(1)
        connected = rss(server_pid)
        pids = {"server": server_pid, **others}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        clients.say("go")
        results = clients.results()
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        loaded = rss(server_pid)
        latencies = clients.latencies()
    finally:
        clients.stop()
    digests = [d for r in results for d in r["digests"]]
    return {
        "connect_s": connect_s,
        "idle": idle,
        "connected": connected,
        "loaded": loaded,
        "cpu": cpu,
        "results": results,
        "digests": digests,
        "latencies": latencies,
        "window_s": max(r["last_seen_s"] for r in results),
    }


# --- the two servers -------------------------------------------------------------------------


def ours(args, samples_dir: Path) -> dict:
    import httpx

    tenant_id, slug, tokens = setup_world(args.editors)
    host = f"{slug}.localhost"
    port = free_port()
    env = {**os.environ, **SERVER_ENV}
    server = subprocess.Popen(
        server_command(host="127.0.0.1", port=port, access_log=False, log_level="warning"),  # as make run
        cwd=ROOT,
        env=env,
    )
    qcluster = QCluster(samples_dir / "qcluster.log", SERVER_ENV).start()  # as make run: the documents' jobs
    try:
        wait_ready(server, f"http://127.0.0.1:{port}", "/healthz", "localhost")
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as http:
            auth = [{"Host": host, "Authorization": f"Bearer {token}"} for token in tokens]
            created = http.post("/api/docs", json={"title": "bench", "is_private": False}, headers=auth[0])
            created.raise_for_status()
            document_id = created.json()["id"]

            def ticket(i: int) -> str:
                response = http.post("/api/realtime/ticket", headers=auth[i])
                response.raise_for_status()
                return response.json()["ticket"]

            tickets = [ticket(i) for i in range(args.editors)]  # 30 s each: bought right before connecting
            url = f"ws://127.0.0.1:{port}/ws/docs"
            side = measure(
                args,
                url=url,
                room=document_id,
                host=host,
                tickets=tickets,
                server_pid=server.pid,
                others={**service_pids(), "qcluster": qcluster.pid},
                samples_dir=samples_dir,
            )
            side["settle_s"] = settle(tenant_id, document_id)
            side["fresh"] = verify(url, document_id, host, ticket(0))
            content = http.get(f"/api/docs/{document_id}/content", headers=auth[0])
            content.raise_for_status()
            text = content.json()["text"]
            side["api"] = {"sha": hashlib.sha256(text.encode()).hexdigest(), "length": len(text)}
            side["stored"] = last_seq(tenant_id, document_id)
        side["processes"] = f"{web_concurrency()} uvicorn worker processes + qcluster"
        return side
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        qcluster.stop()


def theirs(args, samples_dir: Path) -> dict:
    port = free_port()
    server = subprocess.Popen(
        ["node", "node_modules/@y/websocket-server/src/server.js"],
        cwd=NODE_DIR,
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_ready(server, f"http://127.0.0.1:{port}", "/", "127.0.0.1")
        url = f"ws://127.0.0.1:{port}"
        side = measure(
            args,
            url=url,
            room="bench",
            host=f"127.0.0.1:{port}",
            tickets=None,
            server_pid=server.pid,
            others={},
            samples_dir=samples_dir,
        )
        side["fresh"] = verify(url, "bench", f"127.0.0.1:{port}", None)
        side["processes"] = "1 Node process"
        return side
    finally:
        server.terminate()
        server.wait(15)


# --- the table -------------------------------------------------------------------------------


def closes(results: list[dict]) -> str:
    """Socket closes seen by the editors, by close code (a reconnect's refusal counts too)."""
    by_code: dict[str, int] = {}
    for r in results:
        for code, n in r["closes"].items():
            by_code[code] = by_code.get(code, 0) + n
    return ", ".join(f"{n} x {code}" for code, n in sorted(by_code.items())) or "0"


def figures(args, side: dict) -> dict:
    per_editor = args.rate * args.seconds
    expected = sum(r["expected"] for r in side["results"])
    seen = sum(r["seen"] for r in side["results"])
    shas = {d["sha"] for d in side["digests"]}
    keys = {d["keys"] for d in side["digests"]}
    lat = side["latencies"]
    window = side["window_s"]
    client_cpu = sum(r["cpu_s"] for r in side["results"])
    return {
        "connect_s": side["connect_s"],
        "sent": args.editors * per_editor,
        "seen": seen,
        "expected": expected,
        "lost": expected - seen,
        "closes": closes(side["results"]),
        "converged": len(shas) == 1 and keys == {args.editors * per_editor},
        "server_equal": shas == {side["fresh"]["sha"]},
        "length": side["fresh"]["length"],
        "api_equal": side["api"]["sha"] == side["fresh"]["sha"] if "api" in side else None,
        "p50": percentile(lat, 50) if lat else float("nan"),
        "p99": percentile(lat, 99) if lat else float("nan"),
        "p999": percentile(lat, 99.9) if lat else float("nan"),
        "max": lat[-1] if lat else float("nan"),
        "late": max(r["late_ms"] for r in side["results"]),
        "window": window,
        "cpu": side["cpu"],
        "client_cpu": client_cpu,
        "rss_connect": (side["connected"] - side["idle"]) / args.editors,
        "rss_loaded": side["loaded"] / args.editors,
        "rss_total": side["loaded"],
        "stored": side.get("stored"),
        "settle": side.get("settle_s"),
    }


def table(args, ours_f: dict | None, theirs_f: dict | None) -> None:
    def cell(f, key, fmt):
        if f is None:
            return "-"
        value = key(f) if callable(key) else f[key]
        return "-" if value is None else fmt(value)

    def ratio(key):
        if ours_f is None or theirs_f is None:
            return ""
        a = key(ours_f) if callable(key) else ours_f[key]
        b = key(theirs_f) if callable(key) else theirs_f[key]
        return f"{a / b:.2f}x" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else ""

    ms = lambda v: f"{v:.1f} ms"  # noqa: E731
    sec = lambda v: f"{v:.2f} s"  # noqa: E731
    kib = lambda v: f"{v / 1024:.0f} KiB"  # noqa: E731
    mib = lambda v: f"{v / 1048576:.0f} MiB"  # noqa: E731
    num = lambda v: f"{v:,}"  # noqa: E731
    yes = lambda v: "yes" if v else "NO"  # noqa: E731

    def core(key):
        return lambda f: f"{f['cpu'][key]:.2f} s ({f['cpu'][key] / f['window'] * 100:.0f}% of a core)"

    def per_editor(f):
        return f"{f['cpu']['server'] / args.editors * 1000:.0f} ms"

    rows = [
        ("connect (all synced)", "connect_s", sec, True),
        ("updates sent", "sent", num, False),
        ("remote applies seen / expected", lambda f: f"{f['seen']:,} / {f['expected']:,}", str, False),
        ("lost", "lost", num, False),
        ("socket closes (by code)", "closes", str, False),
        ("replicas converged (text, keys)", "converged", yes, False),
        ("replicas = the server's (a fresh client after)", "server_equal", yes, False),
        ("fresh client = GET /api/docs/{id}/content", "api_equal", yes, False),
        ("latency update -> remote apply p50", "p50", ms, True),
        ("p99", "p99", ms, True),
        ("p99.9", "p999", ms, True),
        ("max", "max", ms, True),
        ("sender behind schedule (max)", "late", ms, True),
        ("first update -> last seen", "window", sec, True),
        ("server CPU (web server processes)", core("server"), str, lambda f: f["cpu"]["server"]),
        ("server CPU per editor", per_editor, str, lambda f: f["cpu"]["server"]),
        ("PostgreSQL CPU", lambda f: core("postgres")(f) if "postgres" in f["cpu"] else None, str, False),
        ("Redis CPU", lambda f: core("redis")(f) if "redis" in f["cpu"] else None, str, False),
        (
            "qcluster CPU (compaction, doc.updated)",
            lambda f: core("qcluster")(f) if "qcluster" in f["cpu"] else None,
            str,
            False,
        ),
        ("server-side CPU, all of it", lambda f: sum(f["cpu"].values()), sec, True),
        ("server RSS growth per connected editor", "rss_connect", kib, True),
        ("server RSS at the end / editors", "rss_loaded", kib, True),
        ("server RSS at the end", "rss_total", mib, True),
        (
            "client CPU (all client processes)",
            lambda f: (
                f"{f['client_cpu']:.2f} s ({f['client_cpu'] / f['window'] / os.cpu_count() * 100:.0f}% of the machine)"
            ),
            str,
            lambda f: f["client_cpu"],
        ),
        ("stored (the document's last_seq)", "stored", num, False),
        ("still storing after the clients left", "settle", sec, False),
    ]
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'':<{width}}{'ours':>34}{'@y/websocket-server':>34}{'ours/theirs':>13}")
    for label, key, fmt, with_ratio in rows:
        r = ""
        if with_ratio:
            r = ratio(with_ratio if callable(with_ratio) and not isinstance(with_ratio, bool) else key)
        print(f"{label:<{width}}{cell(ours_f, key, fmt):>34}{cell(theirs_f, key, fmt):>34}{r:>13}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--editors", type=int, default=50)
    parser.add_argument("--rate", type=int, default=10, help="updates per second per editor")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--client-procs", type=int, default=2, help="Node processes of the load client")
    parser.add_argument("--quiet", type=float, default=5, help="stop waiting when nothing arrived for this long (s)")
    parser.add_argument(
        "--insert", choices=["end", "random"], default="end", help="where each update inserts into the text"
    )
    parser.add_argument("--only", choices=["ours", "theirs"], help="one side only")
    args = parser.parse_args()
    require_services()
    if not (NODE_DIR / "node_modules" / "@y" / "websocket-server").exists():
        sys.exit("benchmarks/node/node_modules lacks @y/websocket-server: cd benchmarks/node && npm ci")

    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="ydocs-") as tmp:
        ours_side = theirs_side = None
        if args.only != "theirs":
            print("ours: setting up and running", file=sys.stderr, flush=True)
            ours_side = ours(args, Path(tmp))
        if args.only != "ours":
            print("theirs: @y/websocket-server", file=sys.stderr, flush=True)
            theirs_side = theirs(args, Path(tmp))
    print(
        f"documents: {args.editors} editors in one document, {args.rate} updates/s each for {args.seconds} s "
        f"({args.editors * args.rate} updates/s, {args.editors * args.rate * (args.editors - 1):,} remote applies/s); "
        f"load client: {args.client_procs} Node processes of yjs + y-websocket WebsocketProviders; "
        f"inserts: {args.insert} of the text"
        if args.insert == "end"
        else "inserts: random places in the text"
    )
    print(
        f"ours: {ours_side['processes'] if ours_side else '-'}, PostgreSQL + Redis of the profile; "
        f"theirs: {theirs_side['processes'] if theirs_side else '-'}, in memory"
    )
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average before {load_before}, "
        f"after {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    ours_f = figures(args, ours_side) if ours_side else None
    theirs_f = figures(args, theirs_side) if theirs_side else None
    table(args, ours_f, theirs_f)
    if ours_f and theirs_f:
        ok = ours_f["p99"] <= theirs_f["p99"] and ours_f["lost"] == 0 and ours_f["converged"] and ours_f["server_equal"]
        ok = ok and ours_f["api_equal"]
        print(
            f"goal (p99 <= @y/websocket-server's, 0 lost, converged): {'met' if ok else 'MISSED'} "
            f"(p99 {ours_f['p99']:.1f} vs {theirs_f['p99']:.1f} ms)"
        )


if __name__ == "__main__":
    main()
