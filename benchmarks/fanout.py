"""Real-time fan-out: N WebSocket clients of one tenant in one room, events
published by a service call from another process at a paced rate.

Prints connect time, deliveries per second, publish→receive latency p50/p99,
lost events, and the server's memory per idle connection. `--servers 2` puts
two uvicorn processes behind the same Redis (clients split between them).

    .venv/bin/python -m config.devstack exec --profile bench -- \
        .venv/bin/python benchmarks/fanout.py --clients 1000 --rate 100 --seconds 5 [--servers 2]
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

SERVER_ENV = {"REALTIME_MAX_CONNECTIONS_PER_USER": "100000", "THROTTLE_USER_RATE": "1000000/min",
              "LOG_LEVEL": "WARNING"}


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def setup_world():
    """A tenant, a user and a room (committed), through the real services."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from realtime.services import room_create
    from tenants.services import tenant_create

    call_command("migrate_schemas", "--noinput", verbosity=0)
    slug = f"fan-{uuid.uuid4().hex[:8]}"
    user = get_user_model().objects.create_user(email=f"{slug}@bench.test", password="bench-password-1")
    tenant = tenant_create(slug=slug, name="Fan-out", owner=user)
    tenant.settings = {"rate_limit_per_minute": 100_000}  # 1,000 ticket requests in a burst
    tenant.save()
    with tenant_context(tenant):
        room = room_create(name="bench", is_private=False, creator=user)
    return str(tenant.pk), slug, user.pk, room.pk


def start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, **SERVER_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--lifespan", "off", "--ws", "websockets-sansio", "--no-proxy-headers", "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
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
        token = client.post("/api/auth/token", json={"email": email, "password": "bench-password-1"},
                            headers={"Host": "localhost"}).json()["token"]
        headers = {"Host": host, "Authorization": f"Bearer {token}"}
        return [client.post("/api/realtime/ticket", headers=headers).json()["ticket"] for _ in range(count)]


async def client_worker(port, host, room, ticket_list, expected, sample, ready, go, out):
    from _wsclient import lean_connect

    latencies: list[float] = []
    t0 = time.perf_counter()

    async def one(ticket):
        sock = await lean_connect(port, host, f"/ws/?ticket={ticket}", sample, latencies)
        await asyncio.wait_for(sock.welcomed.wait(), 60)
        sock.send_text(json.dumps({"type": "subscribe", "channel": f"room:{room}"}))
        sock.send_text(json.dumps({"type": "ping"}))  # go live
        await asyncio.wait_for(sock.ponged.wait(), 60)
        return sock

    sockets = []
    for start in range(0, len(ticket_list), 100):  # connect in waves of 100
        sockets += await asyncio.gather(*(one(t) for t in ticket_list[start:start + 100]))
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
    out.put((sum(min(sock.events, expected) for sock in sockets), latencies,
             max(sock.last_event_at for sock in sockets), time.process_time() - cpu_start,
             sum(max(0, sock.events - expected) for sock in sockets)))
    for sock in sockets:
        sock.transport.close()


def client_process(*args):
    import uvloop

    sys.path.insert(0, str(Path(__file__).parent))
    uvloop.run(client_worker(*args))


class PythonClients:
    """One process of lean asyncio clients (benchmarks/_wsclient.py)."""

    def __init__(self, go, port, host, room, ticket_list, expected, sample):
        self.ready, self.out = mp.Queue(), mp.Queue()
        self.proc = mp.Process(target=client_process,
                               args=(port, host, room, ticket_list, expected, sample, self.ready, go, self.out))
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

    def __init__(self, go, port, host, room, ticket_list, expected, sample):
        self.proc = subprocess.Popen(["node", "fanout_client.mjs"], cwd=NODE_DIR, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.proc.stdin.write(json.dumps({"port": port, "host": host, "room": room, "tickets": ticket_list,
                                          "expected": expected, "sample": sample}) + "\n")
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


def publisher(tenant_id, room, rate, count, set_up, go):
    import django

    django.setup()
    from realtime.publish import broadcast_room
    from tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    set_up.set()
    go.wait()
    start = time.perf_counter()
    for seq in range(count):
        target = start + seq / rate
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        broadcast_room(room, "announcement", {"text": json.dumps({"s": seq, "t": time.time()})}, tenant=tenant)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100, help="events per second")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--client-procs", type=int, default=1)
    parser.add_argument("--sample", type=int, default=10, help="decode every n-th event for its latency")
    parser.add_argument("--client", choices=["python", "node"], default="python",
                        help="load client: lean asyncio (default) or Node's ws (npm ci in benchmarks/node first)")
    args = parser.parse_args()

    tenant_id, slug, user_id, room = setup_world()
    from django.contrib.auth import get_user_model

    email = get_user_model().objects.get(pk=user_id).email
    host = f"{slug}.localhost"
    ports = [18100 + i for i in range(args.servers)]
    servers = [start_server(port) for port in ports]
    try:
        idle_before = sum(rss(s.pid) for s in servers)
        per_proc = args.clients // args.client_procs
        expected = args.rate * args.seconds
        go = mp.Event()
        kind = NodeClients if args.client == "node" else PythonClients
        procs = []
        for i in range(args.client_procs):
            port = ports[i % len(ports)]
            procs.append(kind(go, port, host, room, tickets(port, host, email, per_proc), expected, args.sample))
        connect_times = [proc.connected() for proc in procs]
        time.sleep(1)
        idle_after = sum(rss(s.pid) for s in servers)
        set_up = mp.Event()
        pub = mp.Process(target=publisher, args=(tenant_id, room, args.rate, expected, set_up, go))
        pub.start()
        set_up.wait(120)
        server_cpu = [cpu_split(s.pid) for s in servers]
        print(f"{args.clients} clients connected; publishing", file=sys.stderr, flush=True)
        t0 = time.time()
        go.set()
        for proc in procs:
            proc.go()
        results = [proc.result() for proc in procs]
        elapsed = max(r[2] for r in results) - t0  # first publish -> last event received
        server_user = sum(cpu_split(s.pid)[0] - before[0] for s, before in zip(servers, server_cpu))
        server_sys = sum(cpu_split(s.pid)[1] - before[1] for s, before in zip(servers, server_cpu))
        server_cpu = server_user + server_sys
        pub.join()
        for proc in procs:
            proc.join()
    finally:
        for server in servers:
            server.terminate()
            server.wait()

    received = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[1])
    clients = per_proc * args.client_procs
    lost = clients * expected - received
    duplicated = sum(r[4] for r in results)
    print(f"fan-out: {clients} clients, 1 room, {args.rate} events/s for {args.seconds} s, "
          f"{args.servers} server process(es), {args.client_procs} {args.client} client process(es)")
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"connect: {max(connect_times):.2f} s for {clients} sockets (ticket, handshake, welcome, subscribe)")
    print(f"delivered: {received} of {clients * expected} in {elapsed:.2f} s "
          f"-> {received / elapsed:,.0f} deliveries/s; lost {lost}, duplicated {duplicated}")
    if latencies:
        print(f"latency publish->receive: p50 {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms")
    client_cpu = sum(r[3] for r in results)
    print(f"CPU during delivery: servers {server_cpu:.2f} s ({server_cpu / max(received, 1) * 1e6:.1f} µs per delivery; "
          f"{server_sys / max(server_cpu, 1e-9):.0%} in the kernel), "
          f"clients {client_cpu:.2f} s ({client_cpu / max(received, 1) * 1e6:.1f} µs per delivery)")
    print(f"server memory per idle connection: {(idle_after - idle_before) / clients / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
