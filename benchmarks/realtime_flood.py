"""One user floods live connections; another tenant must not notice (issue #10, item 5).

A user of tenant A opens 50 SSE streams and 50 WebSockets and holds them; they
share one per-user limit (REALTIME_MAX_CONNECTIONS_PER_USER, 10 by default), so
most are refused (429 / close 4429). Meanwhile a user of tenant B makes
authenticated `GET /api/tenant` requests, one after another, for ~10 s.
The server is uvicorn serving config.asgi as `make run` does (one process,
websockets-sansio, the database pool on: max 20 connections).

Prints A's opened/refused counts and B's request count, p50/p99 latency and
non-2xx answers. Target: B's p99 < 100 ms and no non-2xx.

`--users 5` spreads A's streams and sockets over five members of A: then all 50
SSE streams are admitted and held open at once, more than the database pool
(20) has connections, which shows a waiting stream holds none.

    .venv/bin/python -m config.devstack exec --profile bench -- \\
        .venv/bin/python benchmarks/realtime_flood.py [--streams 50] [--sockets 50] [--seconds 10] [--users 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

from _bench import django_setup, load, require_services, summary, uvicorn_server

PASSWORD = "bench-password-1"


def setup_tenants(users_a: int = 1) -> dict:
    """Tenants A and B with one owner each (committed, through the real services)."""
    django_setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from tenants.services import tenant_create

    call_command("migrate_schemas", "--noinput", verbosity=0)
    world = {}
    for name in ("a", "b"):
        slug = f"flood-{name}-{uuid.uuid4().hex[:6]}"
        user = get_user_model().objects.create_user(email=f"{slug}@bench.test", password=PASSWORD)
        tenant = tenant_create(slug=slug, name=slug, owner=user)
        tenant.settings = {"rate_limit_per_minute": 100_000}  # B's ~10 s of requests, A's 50 tickets
        tenant.save()
        world[name] = {"slug": slug, "emails": [user.email], "host": f"{slug}.localhost"}
        if name == "a":
            from tenants.models import Membership

            for i in range(1, users_a):
                member = get_user_model().objects.create_user(email=f"m{i}-{slug}@bench.test", password=PASSWORD)
                Membership.objects.create(user=member, tenant=tenant, role=Membership.Role.MEMBER)
                world[name]["emails"].append(member.email)
    return world


async def token_for(client, email: str) -> str:
    response = await client.post(
        "/api/auth/token", headers={"Host": "localhost"}, json={"email": email, "password": PASSWORD}
    )
    response.raise_for_status()
    return response.json()["token"]


class Flood:
    """Tenant A's user: opens streams and sockets, and holds the ones admitted."""

    def __init__(self, url: str, port: int, host: str, tokens: list[str]):
        import httpx

        self.url, self.port, self.host, self.tokens = url, port, host, tokens
        self.client = httpx.AsyncClient(
            base_url=url, timeout=30, limits=httpx.Limits(max_connections=None, max_keepalive_connections=None)
        )
        self.held: list = []
        self.counts = {
            "sse_opened": 0,
            "sse_refused": 0,
            "sse_other": 0,
            "ws_opened": 0,
            "ws_refused": 0,
            "ws_other": 0,
        }

    async def open_stream(self, token: str) -> None:
        request = self.client.build_request(
            "GET", "/api/events", headers={"Host": self.host, "Authorization": f"Bearer {token}"}
        )
        response = await self.client.send(request, stream=True)
        if response.status_code == 200:
            self.counts["sse_opened"] += 1
            self.held.append(response)
        else:
            await response.aread()
            self.counts["sse_refused" if response.status_code == 429 else "sse_other"] += 1

    async def open_socket(self, token: str) -> None:
        import websockets

        response = await self.client.post(
            "/api/realtime/ticket", headers={"Host": self.host, "Authorization": f"Bearer {token}"}
        )
        if response.status_code != 200:
            self.counts["ws_other"] += 1
            return
        ws = await websockets.connect(
            f"ws://{self.host}:{self.port}/ws/?ticket={response.json()['ticket']}",
            host="127.0.0.1",
            port=self.port,
            open_timeout=30,
        )
        try:
            await asyncio.wait_for(ws.recv(), 10)  # the welcome, or the refusal's close
            self.counts["ws_opened"] += 1
            self.held.append(ws)
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            self.counts["ws_refused" if code == 4429 else "ws_other"] += 1

    async def run(self, streams: int, sockets: int) -> None:
        tokens = self.tokens
        await asyncio.gather(
            *[self.open_stream(tokens[i % len(tokens)]) for i in range(streams)],
            *[self.open_socket(tokens[i % len(tokens)]) for i in range(sockets)],
            return_exceptions=False,
        )

    async def close(self) -> None:
        for item in self.held:
            await (item.aclose() if hasattr(item, "aclose") else item.close())
        await self.client.aclose()


async def measure(url: str, host: str, token: str, seconds: float) -> tuple[list[float], int]:
    """B's requests, one after another, for `seconds`: latencies (ms) and non-2xx count."""
    import httpx

    samples, failures = [], 0
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        headers = {"Host": host, "Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await client.get("/api/tenant", headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
            failures += not 200 <= response.status_code < 300
    return samples, failures


async def bench(url: str, port: int, world: dict, args) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        tokens_a = [await token_for(client, email) for email in world["a"]["emails"]]
        token_b = await token_for(client, world["b"]["emails"][0])
    flood = Flood(url, port, world["a"]["host"], tokens_a)
    baseline, _ = await measure(url, world["b"]["host"], token_b, 2)  # warm-up and a quiet baseline
    measuring = asyncio.create_task(measure(url, world["b"]["host"], token_b, args.seconds))
    await asyncio.sleep(0.5)  # B is under way when the flood starts
    flood_started = time.monotonic()
    await flood.run(args.streams, args.sockets)
    flood_seconds = time.monotonic() - flood_started
    samples, failures = await measuring
    await flood.close()

    p50, p99, mean = summary(samples)
    q50, q99, _ = summary(baseline)
    c = flood.counts
    who = "one user" if args.users == 1 else f"{args.users} users"
    print(
        f"tenant A, {who}: {args.streams} SSE streams -> {c['sse_opened']} opened, {c['sse_refused']} refused "
        f"(429), {c['sse_other']} other; {args.sockets} WebSockets -> {c['ws_opened']} opened, "
        f"{c['ws_refused']} refused (4429), {c['ws_other']} other; all attempts in {flood_seconds:.2f} s"
    )
    print(
        f"tenant B, GET /api/tenant for {args.seconds:.0f} s during the flood: {len(samples)} requests, "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {mean:.1f} ms, non-2xx {failures}"
    )
    print(f"  streams held open at once: {c['sse_opened']} (database pool max: 20)")
    print(f"  (quiet baseline before the flood: p50 {q50:.1f} ms, p99 {q99:.1f} ms over {len(baseline)} requests)")
    verdict = "OK" if p99 < 100 and failures == 0 else "MISSED"
    print(f"target: p99 < 100 ms and no non-2xx -> {verdict}")
    print(f"machine: {os.cpu_count()} cores; load average {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--sockets", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--users", type=int, default=1, help="members of A sharing the flood")
    args = parser.parse_args()
    require_services()
    world = setup_tenants(args.users)
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    # As `make run` serves (config/devstack): one uvicorn process, the database pool on (config/asgi.py).
    with uvicorn_server({"DB_POOL": "1"}) as (_, url):
        asyncio.run(bench(url, int(url.rsplit(":", 1)[1]), world, args))


if __name__ == "__main__":
    main()
