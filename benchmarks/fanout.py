"""Real-time fan-out: N WebSocket clients of one tenant in one room, events
published from another process at a paced rate (open loop: a slow reply does
not slow the rate down), in one of three ways (`--publish`):

- `service` (default): a `broadcast_room` service call, an `announcement` event;
- `api`: chat messages sent through the platform's own API,
  `POST /api/rooms/{id}/messages`, by `--senders` members of the tenant (token
  auth, round robin, the default per-user throttle left as it is);
- `ws`: chat messages sent as WebSocket `message` frames by `--senders` other
  connected clients (members of the room, one socket each, within the per-socket
  frame rate), each acknowledged by an `ack`.

In the api and ws modes every message must be stored (the Message rows of the
room are counted at the end) and reach each of the N sockets once as a
`message.created` event; its publish time is when the sender sent the
request/frame. Prints connect time, deliveries per second, publish→receive
latency p50/p99, lost and duplicated events, the CPU spent, and the server's
memory per idle connection. Each server is uvicorn as `make run` starts it (one worker
process per core, config/server.py); `--servers 2` puts two of them behind the same Redis
(clients and senders split between them). Then, in the same run, Socket.IO 4.8
(benchmarks/node/socketio_fanout.mjs, as many server processes as ours, events through
its Redis adapter) under the same clients and rate, and the p99 ratio (`--no-anchor`
skips it; `cd benchmarks/node && npm ci` first). About a minute a run.

    .venv/bin/python -m config.devstack exec --profile fan -- \
        .venv/bin/python benchmarks/fanout.py --clients 1000 --rate 100 --seconds 10 \
        [--publish service|api|ws] [--senders 20] [--servers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.server import server_command, web_concurrency  # noqa: E402

SERVER_ENV = {
    "REALTIME_MAX_CONNECTIONS_PER_USER": "100000",
    "THROTTLE_USER_RATE": "1000000/min",
    "LOG_LEVEL": "WARNING",
}
# Chat through the API: the default per-user throttle (1200/min) stays; the
# receiving user's 1,000 sockets still need the connection cap lifted.
CHAT_SERVER_ENV = {"REALTIME_MAX_CONNECTIONS_PER_USER": "100000", "LOG_LEVEL": "WARNING"}
TENANT_RATE = 100_000  # rate_limit_per_minute of the benchmark's tenant (the default is 600)


def _tree(pid: int) -> list[int]:
    """The server process and its workers (uvicorn runs one per core)."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [pid, *[child.pid for child in root.children(recursive=True)]]
    except psutil.NoSuchProcess:
        return []


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a server (all its processes) so far."""
    user = system = 0.0
    for each in _tree(pid):
        try:
            with open(f"/proc/{each}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        user += int(fields[11]) / os.sysconf("SC_CLK_TCK")
        system += int(fields[12]) / os.sysconf("SC_CLK_TCK")
    return user, system


def rss(pid: int) -> int:
    """Resident memory of a server: all its processes."""
    total = 0
    for each in _tree(pid):
        try:
            with open(f"/proc/{each}/status") as status:
                total += next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
        except FileNotFoundError:
            continue
    return total


def setup_world(senders: int = 0):
    """A tenant, a user and a room (committed), through the real services; and
    `senders` more members of the tenant, each with an API token (raw secret)."""
    import django

    django.setup()
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from accounts.models import AuthToken
    from accounts.tokens import token_digest, token_generate
    from realtime.services import room_create
    from tenants.audit import SYSTEM
    from tenants.services import membership_add, tenant_create

    call_command("migrate_schemas", "--noinput", verbosity=0)
    slug = f"fan-{uuid.uuid4().hex[:8]}"
    user = get_user_model().objects.create_user(email=f"{slug}@bench.test", password="bench-password-1")
    tenant = tenant_create(slug=slug, name="Fan-out", owner=user)
    tenant.settings = {"rate_limit_per_minute": TENANT_RATE}  # 1,000 ticket requests in a burst
    tenant.save()
    with tenant_context(tenant):
        room = room_create(name="bench", is_private=False, creator=user)
    tokens = []
    for i in range(senders):
        # No password (a hash each would cost ~0.5 s): the token is made as token_issue makes it.
        sender = get_user_model().objects.create_user(email=f"{slug}-sender{i}@bench.test", password=None)
        membership_add(tenant=tenant, email=sender.email, role="member", actor=SYSTEM)
        raw = token_generate()
        AuthToken.objects.create(
            user=sender,
            tenant=None,
            digest=token_digest(raw),
            prefix=raw[:10],
            expires_at=timezone.now() + timedelta(seconds=settings.AUTH_TOKEN_TTL_SECONDS),
        )
        tokens.append(raw)
    return str(tenant.pk), slug, user.pk, room.pk, tokens


def room_message_count(tenant_id: str, room: int) -> int:
    from django_tenants.utils import tenant_context

    from realtime.models import Message
    from tenants.models import Tenant

    with tenant_context(Tenant.objects.get(pk=tenant_id)):
        return Message.objects.filter(room_id=room).count()


def start_server(port: int, server_env: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, **server_env}
    proc = subprocess.Popen(
        server_command(host="127.0.0.1", port=port, access_log=False, log_level="warning"),  # as make run
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def tickets(port: int, host: str, email: str, count: int) -> list[str]:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        token = client.post(
            "/api/auth/token", json={"email": email, "password": "bench-password-1"}, headers={"Host": "localhost"}
        ).json()["token"]
        headers = {"Host": host, "Authorization": f"Bearer {token}"}
        return [client.post("/api/realtime/ticket", headers=headers).json()["ticket"] for _ in range(count)]


def token_ticket(port: int, host: str, token: str) -> str:
    import httpx

    response = httpx.post(
        f"http://127.0.0.1:{port}/api/realtime/ticket", headers={"Host": host, "Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    return response.json()["ticket"]


# (event name, the field of its data with {"t": publish time}) per --publish mode
COUNTED_EVENT = {
    "service": ("announcement", "text"),
    "api": ("message.created", "body"),
    "ws": ("message.created", "body"),
}


async def client_worker(port, host, room, ticket_list, expected, sample, ready, go, out, counted):
    from _wsclient import lean_connect

    latencies: list[float] = []
    t0 = time.perf_counter()

    async def one(ticket):
        sock = await lean_connect(port, host, f"/ws/?ticket={ticket}", sample, latencies, *counted)
        await asyncio.wait_for(sock.welcomed.wait(), 60)
        sock.send_text(json.dumps({"type": "subscribe", "channel": f"room:{room}"}))
        sock.send_text(json.dumps({"type": "ping"}))  # go live
        await asyncio.wait_for(sock.ponged.wait(), 60)
        return sock

    sockets = []
    for start in range(0, len(ticket_list), 100):  # connect in waves of 100
        sockets += await asyncio.gather(*(one(t) for t in ticket_list[start : start + 100]))
    connect_s = time.perf_counter() - t0
    ready.put(connect_s)
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    cpu_start = time.process_time()

    deadline = time.monotonic() + 60 + expected / 10
    last_change, before = time.monotonic(), 0
    while time.monotonic() < deadline and any(sock.events < expected for sock in sockets):
        await asyncio.sleep(0.1)
        now_total = sum(sock.events for sock in sockets)
        if now_total != before:
            last_change, before = time.monotonic(), now_total
        elif now_total and time.monotonic() - last_change > 3:
            break  # nothing arrived for 3 s: whatever is missing is lost
    out.put(
        (
            sum(min(sock.events, expected) for sock in sockets),
            latencies,
            max(sock.last_event_at for sock in sockets),
            time.process_time() - cpu_start,
            sum(max(0, sock.events - expected) for sock in sockets),
        )
    )
    for sock in sockets:
        sock.transport.close()


def client_process(*args):
    import uvloop

    sys.path.insert(0, str(Path(__file__).parent))
    uvloop.run(client_worker(*args))


class PythonClients:
    """One process of lean asyncio clients (benchmarks/_wsclient.py)."""

    def __init__(self, go, port, host, room, ticket_list, expected, sample, counted):
        self.ready, self.out = mp.Queue(), mp.Queue()
        self.proc = mp.Process(
            target=client_process,
            args=(port, host, room, ticket_list, expected, sample, self.ready, go, self.out, counted),
        )
        self.proc.start()

    def connected(self) -> float:
        return self.ready.get(timeout=600)

    def go(self) -> None:
        pass  # the shared mp.Event

    def result(self) -> tuple:
        return self.out.get(timeout=1800)

    def join(self) -> None:
        self.proc.join()


NODE_DIR = Path(__file__).parent / "node"


class NodeClients:
    """One Node process of `ws` clients (benchmarks/node/fanout_client.mjs)."""

    def __init__(self, go, port, host, room, ticket_list, expected, sample, counted):
        self.proc = subprocess.Popen(
            ["node", "fanout_client.mjs"], cwd=NODE_DIR, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.proc.stdin.write(
            json.dumps(
                {
                    "port": port,
                    "host": host,
                    "room": room,
                    "tickets": ticket_list,
                    "expected": expected,
                    "sample": sample,
                    "event": counted[0],
                    "field": counted[1],
                }
            )
            + "\n"
        )
        self.proc.stdin.flush()

    def connected(self) -> float:
        return float(self.proc.stdout.readline().split()[1])

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self) -> tuple:
        r = json.loads(self.proc.stdout.readline())
        return r["received"], r["latencies"], r["last_event_at"], r["cpu"], r["duplicated"]

    def join(self) -> None:
        self.proc.wait()


def publisher(tenant_id, room, rate, count, set_up, go, out):
    import django

    django.setup()
    from realtime.engine.publish import broadcast_room
    from tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    set_up.set()
    go.wait()
    start = time.perf_counter()
    late = 0.0
    for seq in range(count):
        target = start + seq / rate
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        late = max(late, -delay)
        broadcast_room(room, "announcement", {"text": json.dumps({"s": seq, "t": time.time()})}, tenant=tenant)
    out.put({"late": late})


def body(seq: int) -> str:
    return json.dumps({"s": seq, "t": time.time()})  # t: the publish time, read back by the receivers


async def api_senders(ports, host, room, tokens, rate, count, set_up, go):
    """POST /api/rooms/{room}/messages, one HTTP/1.1 client (keep-alive) per
    sender, round robin, paced open loop: each request goes at its time whether
    or not the previous ones have been answered."""
    import logging

    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request
    clients = [
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ports[i % len(ports)]}",
            timeout=60,
            headers={"Host": host, "Authorization": f"Bearer {token}"},
        )
        for i, token in enumerate(tokens)
    ]
    statuses: dict[int | str, int] = {}
    reply: list[float] = []
    bad: list[str] = []

    async def post(client, seq):
        sent = time.perf_counter()
        try:
            response = await client.post(f"/api/rooms/{room}/messages", json={"body": body(seq)})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code != 201 and len(bad) < 5:
                bad.append(f"{response.status_code} {response.text[:200]}")
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
        reply.append(time.perf_counter() - sent)

    for client in clients:  # open each keep-alive connection before the clock starts
        await client.get("/healthz")
    set_up.set()
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    start, late, tasks = time.perf_counter(), 0.0, []
    for seq in range(count):
        delay = start + seq / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        late = max(late, -delay)
        tasks.append(asyncio.create_task(post(clients[seq % len(clients)], seq)))
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    for client in clients:
        await client.aclose()
    reply.sort()
    return {
        "late": late,
        "statuses": statuses,
        "bad": bad,
        "reply_p50": statistics.median(reply),
        "reply_p99": reply[int(len(reply) * 0.99) - 1],
    }


async def ws_senders(ports, host, room, ticket_list, rate, count, set_up, go):
    """`message` frames from connected clients: one socket per sender (each a
    member, subscribed to the room and live, like a chat client), round robin,
    paced open loop; every frame must be answered by an `ack`."""
    from _wsclient import lean_connect

    ignored: list[float] = []
    senders = []
    for i, ticket in enumerate(ticket_list):
        sock = await lean_connect(
            ports[i % len(ports)], host, f"/ws/?ticket={ticket}", 1_000_000, ignored, "message.created", "body"
        )
        await asyncio.wait_for(sock.welcomed.wait(), 60)
        sock.send_text(json.dumps({"type": "subscribe", "channel": f"room:{room}"}))
        sock.send_text(json.dumps({"type": "ping"}))  # go live
        await asyncio.wait_for(sock.ponged.wait(), 60)
        senders.append(sock)
    set_up.set()
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    start, late = time.perf_counter(), 0.0
    for seq in range(count):
        delay = start + seq / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        late = max(late, -delay)
        senders[seq % len(senders)].send_text(
            json.dumps({"type": "message", "room": room, "body": body(seq), "ref": str(seq)})
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sum(s.acks + len(s.errors) for s in senders) < count:
        await asyncio.sleep(0.05)
    result = {
        "late": late,
        "acks": sum(s.acks for s in senders),
        "errors": [e for s in senders for e in s.errors][:5],
        "error_count": sum(len(s.errors) for s in senders),
        "closed": sum(s.closed.done() for s in senders),
    }
    for sock in senders:
        sock.transport.close()
    return result


def chat_publisher(mode, ports, host, room, credentials, rate, count, set_up, go, out):
    import uvloop

    sys.path.insert(0, str(Path(__file__).parent))
    run = api_senders if mode == "api" else ws_senders
    out.put(uvloop.run(run(ports, host, room, credentials, rate, count, set_up, go)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100, help="events per second")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--client-procs", type=int, default=1)
    parser.add_argument("--sample", type=int, default=10, help="decode every n-th event for its latency")
    parser.add_argument(
        "--client",
        choices=["python", "node"],
        default="python",
        help="load client: lean asyncio (default) or Node's ws (npm ci in benchmarks/node first)",
    )
    parser.add_argument(
        "--publish",
        choices=["service", "api", "ws"],
        default="service",
        help="service: broadcast_room from another process (default); api: POST "
        "/api/rooms/{id}/messages; ws: WebSocket `message` frames from connected clients",
    )
    parser.add_argument(
        "--senders",
        type=int,
        default=20,
        help="api/ws: members sending the messages (round robin), each with its own token/socket",
    )
    parser.add_argument(
        "--no-anchor",
        action="store_true",
        help="skip Socket.IO (benchmarks/node/socketio_fanout.mjs), run after ours by default",
    )
    args = parser.parse_args()

    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per ticket request
    chat = args.publish != "service"
    expected = args.rate * args.seconds
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    tenant_id, slug, user_id, room, tokens = setup_world(args.senders if chat else 0)
    from django.contrib.auth import get_user_model

    email = get_user_model().objects.get(pk=user_id).email
    host = f"{slug}.localhost"
    if chat:
        per_sender = args.rate / args.senders
        print(
            f"tenant {slug}: rate_limit_per_minute raised from the default 600 to {TENANT_RATE:,} "
            f"(1,000 tickets in a burst; {args.rate}/s through the API = {args.rate * 60:,}/min); "
            f"per-user throttle left at its default; {args.senders} senders at {per_sender:g} messages/s each "
            f"({per_sender * 60:g}/min, {per_sender * 10:g} frames per 10 s)",
            file=sys.stderr,
            flush=True,
        )
    ports = [18100 + i for i in range(args.servers)]
    servers = [start_server(port, CHAT_SERVER_ENV if chat else SERVER_ENV) for port in ports]
    pub = None
    try:
        idle_before = sum(rss(s.pid) for s in servers)
        per_proc = args.clients // args.client_procs
        go = mp.Event()
        kind = NodeClients if args.client == "node" else PythonClients
        procs = []
        for i in range(args.client_procs):
            port = ports[i % len(ports)]
            procs.append(
                kind(
                    go,
                    port,
                    host,
                    room,
                    tickets(port, host, email, per_proc),
                    expected,
                    args.sample,
                    COUNTED_EVENT[args.publish],
                )
            )
        connect_times = [proc.connected() for proc in procs]
        time.sleep(1)
        idle_after = sum(rss(s.pid) for s in servers)
        set_up, pub_out = mp.Event(), mp.Queue()
        if chat:
            credentials = (
                tokens
                if args.publish == "api"
                else [token_ticket(ports[i % len(ports)], host, token) for i, token in enumerate(tokens)]
            )
            pub = mp.Process(
                target=chat_publisher,
                args=(args.publish, ports, host, room, credentials, args.rate, expected, set_up, go, pub_out),
            )
        else:
            pub = mp.Process(target=publisher, args=(tenant_id, room, args.rate, expected, set_up, go, pub_out))
        pub.start()
        if not set_up.wait(120):
            raise RuntimeError("the publisher did not get ready")
        server_cpu = [cpu_split(s.pid) for s in servers]
        print(f"{args.clients} clients connected; publishing", file=sys.stderr, flush=True)
        t0 = time.time()
        go.set()
        for proc in procs:
            proc.go()
        results = [proc.result() for proc in procs]
        elapsed = max(r[2] for r in results) - t0  # first publish -> last event received
        server_user = sum(cpu_split(s.pid)[0] - before[0] for s, before in zip(servers, server_cpu, strict=True))
        server_sys = sum(cpu_split(s.pid)[1] - before[1] for s, before in zip(servers, server_cpu, strict=True))
        server_cpu = server_user + server_sys
        pub_result = pub_out.get(timeout=300)
        pub.join()
        for proc in procs:
            proc.join()
        stored = room_message_count(tenant_id, room) if chat else None
    finally:
        if pub is not None and pub.is_alive():
            pub.terminate()
        for server in servers:
            server.terminate()
            server.wait()

    received = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[1])
    clients = per_proc * args.client_procs
    lost = clients * expected - received
    duplicated = sum(r[4] for r in results)
    how = {
        "service": "events/s by a service call (broadcast_room)",
        "api": f"chat messages/s through POST /api/rooms/{{id}}/messages by {args.senders} members",
        "ws": f"chat messages/s as WebSocket `message` frames from {args.senders} other connected clients",
    }
    print(
        f"fan-out: {clients} clients, 1 room, {args.rate} {how[args.publish]} for {args.seconds} s, "
        f"{args.servers} server(s) x {web_concurrency()} worker processes (as make run), "
        f"{args.client_procs} {args.client} client process(es)"
    )
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average before "
        f"{load_before}, after {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"connect: {max(connect_times):.2f} s for {clients} sockets (ticket, handshake, welcome, subscribe)")
    if args.publish == "api":
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(pub_result["statuses"].items(), key=str))
        print(
            f"sent: {expected} POSTs (sender at most {pub_result['late'] * 1000:.1f} ms behind its schedule); "
            f"replies {statuses}; reply time p50 {pub_result['reply_p50'] * 1000:.1f} ms, "
            f"p99 {pub_result['reply_p99'] * 1000:.1f} ms"
        )
        for line in pub_result["bad"]:
            print(f"  not 201: {line}")
    elif args.publish == "ws":
        print(
            f"sent: {expected} message frames (sender at most {pub_result['late'] * 1000:.1f} ms behind its "
            f"schedule); acks {pub_result['acks']}, errors {pub_result['error_count']}, "
            f"sender sockets closed {pub_result['closed']}"
        )
        for line in pub_result["errors"]:
            print(f"  error: {line}")
    print(
        f"delivered: {received} of {clients * expected} in {elapsed:.2f} s "
        f"-> {received / elapsed:,.0f} deliveries/s; lost {lost}, duplicated {duplicated}"
    )
    if chat:
        print(f"persisted: {stored} of {expected} messages (Message rows in the room)")
    if latencies:
        print(
            f"latency publish->receive: p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms"
        )
    client_cpu = sum(r[3] for r in results)
    print(
        f"CPU during delivery: servers {server_cpu:.2f} s ({server_cpu / max(received, 1) * 1e6:.1f} µs per delivery; "
        f"{server_sys / max(server_cpu, 1e-9):.0%} in the kernel), "
        f"clients {client_cpu:.2f} s ({client_cpu / max(received, 1) * 1e6:.1f} µs per delivery)"
    )
    print(f"server memory per idle connection: {(idle_after - idle_before) / clients / 1024:.1f} KiB")
    if not args.no_anchor and latencies:
        ours_p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        anchor_p99 = socketio_anchor(args, processes=args.servers * web_concurrency())
        if anchor_p99 is not None:
            verdict = "met" if ours_p99 <= anchor_p99 else "MISSED"
            print(
                f"ratio p99 ours/Socket.IO: {ours_p99 / anchor_p99:.2f}x "
                f"({ours_p99:.1f} vs {anchor_p99:.1f} ms) -> goal (p99 <= Socket.IO's, 0 lost): "
                f"{verdict if lost == 0 else 'MISSED'}"
            )


def socketio_anchor(args, processes: int) -> float | None:
    """Socket.IO 4.8 under the same load, on as many server processes as ours, right after
    ours (the same run): its output, and its publish->receive p99 in ms."""
    import re
    import shutil

    node_dir = ROOT / "benchmarks" / "node"
    if not shutil.which("node") or not (node_dir / "node_modules" / "socket.io").exists():
        print("anchor: Socket.IO skipped (node or benchmarks/node/node_modules missing: cd benchmarks/node && npm ci)")
        return None
    cmd = [
        "node",
        "socketio_fanout.mjs",
        "--clients",
        str(args.clients),
        "--rate",
        str(args.rate),
        "--seconds",
        str(args.seconds),
        "--servers",
        str(processes),
    ]
    print(f"anchor: {' '.join(cmd)} (in benchmarks/node)", flush=True)
    try:
        out = subprocess.run(
            cmd, cwd=node_dir, capture_output=True, text=True, timeout=args.seconds + 180, env=os.environ
        ).stdout
    except subprocess.TimeoutExpired:
        print("anchor: Socket.IO did not finish in time (a client that never connected); no ratio")
        return None
    for line in out.splitlines():
        print(f"  socket.io | {line}")
    found = re.search(r"p99 ([0-9.]+) ms", out.split("latency", 1)[-1]) if "latency" in out else None
    return float(found.group(1)) if found else None


if __name__ == "__main__":
    main()
