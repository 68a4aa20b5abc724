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
         "--lifespan", "off", "--ws", "websockets-sansio", "--no-access-log", "--log-level", "warning"],
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


async def client_worker(port, host, room, ticket_list, expected, ready, go, out):
    import websockets

    latencies: list[float] = []
    received = 0
    t0 = time.perf_counter()

    async def one(ticket):
        nonlocal received
        ws = await websockets.connect(f"ws://{host}:{port}/ws/?ticket={ticket}", host="127.0.0.1", port=port,
                                      open_timeout=60, max_queue=None, compression=None)
        await ws.recv()  # welcome
        await ws.send(json.dumps({"type": "subscribe", "channel": f"room:{room}"}))
        await ws.send(json.dumps({"type": "ping"}))
        return ws

    sockets = []
    for start in range(0, len(ticket_list), 100):  # connect in waves of 100
        sockets += await asyncio.gather(*(one(t) for t in ticket_list[start:start + 100]))
    connect_s = time.perf_counter() - t0
    ready.put(connect_s)
    await asyncio.get_running_loop().run_in_executor(None, go.wait)

    async def reader(ws):
        nonlocal received
        got = 0
        try:
            while got < expected:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame.get("type") == "event" and frame["event"] == "announcement":
                    sent_at = json.loads(frame["data"]["text"])["t"]
                    latencies.append(time.time() - sent_at)
                    got += 1
                    received += 1
        except (asyncio.TimeoutError, Exception):
            pass

    await asyncio.gather(*(reader(ws) for ws in sockets))
    out.put((received, latencies[::max(1, len(latencies) // 20000)]))
    for ws in sockets:
        await ws.close()


def client_process(*args):
    asyncio.run(client_worker(*args))


def publisher(tenant_id, room, rate, count, go):
    import django

    django.setup()
    from realtime.publish import broadcast_room
    from tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
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
        ready, out, go = mp.Queue(), mp.Queue(), mp.Event()
        procs = []
        for i in range(args.client_procs):
            port = ports[i % len(ports)]
            ticket_list = tickets(port, host, email, per_proc)
            proc = mp.Process(target=client_process, args=(port, host, room, ticket_list, expected, ready, go, out))
            proc.start()
            procs.append(proc)
        connect_times = [ready.get(timeout=600) for _ in procs]
        time.sleep(1)
        idle_after = sum(rss(s.pid) for s in servers)
        pub = mp.Process(target=publisher, args=(tenant_id, room, args.rate, expected, go))
        pub.start()
        t0 = time.perf_counter()
        go.set()
        results = [out.get(timeout=1800) for _ in procs]
        elapsed = time.perf_counter() - t0
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
    print(f"fan-out: {clients} clients, 1 room, {args.rate} events/s for {args.seconds} s, "
          f"{args.servers} server process(es), {args.client_procs} client process(es)")
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"connect: {max(connect_times):.2f} s for {clients} sockets (ticket, handshake, welcome, subscribe)")
    print(f"delivered: {received} of {clients * expected} in {elapsed:.2f} s "
          f"-> {received / elapsed:,.0f} deliveries/s; lost {lost}")
    if latencies:
        print(f"latency publish->receive: p50 {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms")
    print(f"server memory per idle connection: {(idle_after - idle_before) / clients / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
