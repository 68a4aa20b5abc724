"""HTTP API under load: ours as `make run` serves it vs stock Django + DRF under gunicorn (issue 11, goal 1).

One run, both servers up side by side, endpoints interleaved ours/stock, each measured by
`wrk` (32 connections, one thread, ~10 s after a 2 s warm-up) with a Lua script that
rotates the `Authorization` header over 100 users of one tenant (each its own token):

- **ours**: exactly as `python -m config.devstack run` starts it (config/server.py:
  `python -m config.serve`, one uvicorn worker per core each binding the port with
  SO_REUSEPORT, websockets-sansio, access log on, DB_POOL on via config/asgi.py), default throttles
  (THROTTLE_USER_RATE unset: 1,200/min per user). The tenant's own budget
  (`rate_limit_per_minute`, default 600/min = 10 req/s for the whole tenant) would cap
  the run, so the bench tenant alone gets 100,000/min (the setting's maximum); the
  script prints the limits that apply. Throttle histories (a list per key in Redis,
  pickled whole on every request) are cleared before each measured run, so each run is
  the first 10 s of a minute window.
  Endpoints: `GET /api/tenant`, `GET /api/rooms` (50 public rooms: one full page of 50),
  `POST /api/rooms/{id}/messages` (JSON body, all users into one public room).
- **stock** (the anchor): Django 5.2 + DRF, startproject's apps and middleware,
  `TokenAuthentication` + `IsAuthenticated`, no throttles, gunicorn 2 sync workers,
  its own database `stock_bench` on the same PostgreSQL server, persistent connections
  (CONN_MAX_AGE 60; --stock-conn-max-age 0 for Django's default). Its app is
  benchmarks/stock_django/ (migrations run by this script, data reseeded each run).
  Equivalents: token + one row lookup; a ListAPIView of 50 rooms, 50 a page; a
  CreateAPIView that looks the room up and inserts the message.

Prints req/s, p50, p99, non-2xx and wrk's own CPU for each, the ratio ours/stock per
endpoint, the goal (≥ 1.5×, p99 ≤ 100 ms, zero non-2xx), and machine/load.
Needs wrk (`apt-get install -y wrk`) and gunicorn (the dev extras).

    .venv/bin/python -m config.devstack exec --profile bench -- .venv/bin/python benchmarks/http_api.py
    # options: --seconds 10 --warmup 2 --connections 32 --users 100 --only tenant,rooms,post
    #          --stock-conn-max-age 60 --no-migrate (skip migrate_schemas: a repeated run)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _bench import PYTHON, ROOT, django_setup, free_port, load, machine, require_services, server_command, wait_ready

from config.server import web_concurrency

TENANT_BUDGET = 100_000  # the largest rate_limit_per_minute the settings schema accepts
STOCK_DB = "stock_bench"

ENDPOINTS = {  # key: (label, method, ours path (room id filled in), body)
    "tenant": ("GET /api/tenant", "GET", "/api/tenant", ""),
    "rooms": ("GET /api/rooms (page of 50)", "GET", "/api/rooms", ""),
    "post": ("POST /api/rooms/{id}/messages", "POST", "/api/rooms/{room}/messages", '{"body": "hello from wrk"}'),
}

LUA = r"""
-- args: tokens file, auth scheme, Host, method, path, body ("" for none)
local tokens, idx, host, method, path, body, ctype = {}, 0, nil, nil, nil, nil, nil
non2xx = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = args[2] .. " " .. line end
  host, method, path = args[3], args[4], args[5]
  if args[6] ~= nil and args[6] ~= "" then body = args[6]; ctype = "application/json" end
  math.randomseed(os.time() + #tostring({}))
  idx = math.random(#tokens)
end
function request()
  idx = idx % #tokens + 1
  local headers = {Host = host, Authorization = tokens[idx]}
  if ctype then headers["Content-Type"] = ctype end
  return wrk.format(method, path, headers, body)
end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "non2xx": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration, bad, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout))
end
"""


# --- data ----------------------------------------------------------------------


def ours_setup(users: int, migrate: bool) -> dict:
    """A tenant with `users` members (the owner among them), a token each, 50 public rooms."""
    django_setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from accounts.models import AuthToken
    from accounts.tokens import token_digest, token_generate
    from realtime.services import room_create
    from tenants.models import Membership
    from tenants.services import tenant_create

    if migrate:
        call_command("migrate_schemas", "--noinput", verbosity=0)
    User = get_user_model()
    slug = f"http-{uuid.uuid4().hex[:6]}"
    owner = User.objects.create_user(email=f"{slug}-0@bench.test")  # no password: no hashing
    tenant = tenant_create(slug=slug, name=slug, owner=owner)
    tenant.settings = {**(tenant.settings or {}), "rate_limit_per_minute": TENANT_BUDGET}
    tenant.save()
    people = [owner] + [User.objects.create_user(email=f"{slug}-{i}@bench.test") for i in range(1, users)]
    Membership.objects.bulk_create([Membership(user=u, tenant=tenant, role=Membership.Role.MEMBER) for u in people[1:]])
    tokens = []
    expires = timezone.now() + timedelta(days=1)
    for user in people:
        raw = token_generate()
        AuthToken.objects.create(user=user, digest=token_digest(raw), prefix=raw[:10], expires_at=expires)
        tokens.append(raw)
    with tenant_context(tenant):  # publishing (room.created) needs the tenant
        rooms = [room_create(name=f"room {i}", is_private=False, creator=owner) for i in range(50)]
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    return {
        "slug": slug,
        "host": f"{slug}.localhost",
        "tokens": tokens,
        "room": rooms[0].pk,
        "schema": tenant.schema_name,
        "tenant_pk": tenant.pk,
        "user_pks": [u.pk for u in people],
        "user_rate": rates["user"],
    }


def throttle_keys(world: dict) -> list[str]:
    return [f"throttle:tenant:{world['tenant_pk']}"] + [
        f"throttle:user:{world['tenant_pk']}:{pk}" for pk in world["user_pks"]
    ]


def throttle_reset(world: dict) -> None:
    from django.core.cache import cache
    from django_tenants.utils import schema_context

    with schema_context(world["schema"]):  # the throttles' keys carry the schema (django_tenants make_key)
        cache.delete_many(throttle_keys(world))


def throttle_history(world: dict) -> int:
    """How many timestamps the tenant throttle's list holds (read and rewritten per request)."""
    from django.core.cache import cache
    from django_tenants.utils import schema_context

    with schema_context(world["schema"]):
        return len(cache.get(throttle_keys(world)[0], []))


def stock_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + STOCK_DB))


def stock_setup(users: int, env: dict) -> dict:
    """Its own database on the same server (created once), migrated, reseeded."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [STOCK_DB])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{STOCK_DB}"')  # not in a transaction: autocommit
    subprocess.run([PYTHON, "-m", "django", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [PYTHON, "-m", "django", "stock_seed", "--users", str(users)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return {"host": "localhost", "tokens": data["tokens"], "room": data["room"]}


# --- servers -------------------------------------------------------------------


@contextmanager
def server(cmd: list[str], env: dict, log: Path, ready: tuple):
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = (
            f"http://127.0.0.1:{cmd[cmd.index('--port') + 1]}"
            if "--port" in cmd
            else f"http://{cmd[cmd.index('--bind') + 1]}"
        )
        wait_ready(proc, url, *ready)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()  # the main process only (uvicorn / gunicorn's arbiter stop their own)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        try:
            os.killpg(proc.pid, 9)  # anything of its group left over
        except ProcessLookupError:
            pass


def ours_server(log: Path):
    """As config/devstack/__main__.py's `run` (HOST 127.0.0.1, the port a free one)."""
    env = dict(os.environ)
    env.pop("THROTTLE_USER_RATE", None)  # the default throttles
    cmd = server_command(host="127.0.0.1", port=free_port(), access_log=env.get("ACCESS_LOG") != "0")
    return server(cmd, env, log, ("/healthz", "localhost"))


def stock_server(env: dict, log: Path):
    cmd = [
        PYTHON,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{free_port()}",
        "benchmarks.stock_django.wsgi:application",
    ]
    return server(cmd, env, log, ("/api/tenant", "localhost", (401,)))


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, wall time) so far."""
    import psutil

    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0), time.monotonic()


def postgres_pid() -> int | None:
    """The postmaster of this profile's embedded PostgreSQL (its data dir under PLATFORM_DATA_DIR)."""
    import psutil

    data_dir = os.environ.get("PLATFORM_DATA_DIR", "")
    for p in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(p.info["cmdline"] or [])
        if data_dir and p.info["name"] == "postgres" and f"{data_dir}/postgres" in cmdline and "-D" in cmdline:
            return p.pid
    return None


def wait_quiet(limit: float, busy_max: float = 0.25) -> str:
    """Wait (at most `limit` s) until the machine is mostly idle; what was seen."""
    deadline = time.monotonic() + limit
    while True:
        busy0, wall0 = machine_busy()
        time.sleep(2)
        busy1, wall1 = machine_busy()
        share = (busy1 - busy0) / (wall1 - wall0) / os.cpu_count()
        if share <= busy_max:
            return f"machine {share * 100:.0f}% busy before the run"
        if time.monotonic() > deadline:
            return f"machine still {share * 100:.0f}% busy before the run after waiting {limit:.0f} s (NOT quiet)"


def cpu_seconds(pid: int | None) -> float:
    """User+system CPU of a process and its descendants so far, the exited ones included (what
    each living process has reaped of its children: PostgreSQL backends, gunicorn workers)."""
    import psutil

    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


# --- load ----------------------------------------------------------------------


def wrk(
    url: str,
    lua: Path,
    tokens_file: Path,
    scheme: str,
    host: str,
    method: str,
    path: str,
    body: str,
    seconds: float,
    connections: int,
    server_pid: int,
    pg_pid: int | None = None,
) -> dict:
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        url,
        "--",
        str(tokens_file),
        scheme,
        host,
        method,
        path,
        body,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before, pg_before, (busy_before, wall) = cpu_seconds(server_pid), cpu_seconds(pg_pid), machine_busy()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    wall = time.monotonic() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((row for row in out.stdout.splitlines() if row.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk said: {out.stdout}\n{out.stderr}")
    data = json.loads(line[len("WRKJSON ") :])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["wrk_cpu"] = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / wall
    data["server_cpu"] = (cpu_seconds(server_pid) - server_before) / wall
    data["pg_cpu"] = (cpu_seconds(pg_pid) - pg_before) / wall
    data["other_cpu"] = max(
        0.0, (machine_busy()[0] - busy_before) / wall - data["server_cpu"] - data["pg_cpu"] - data["wrk_cpu"]
    )
    data["socket_errors"] = data["connect"] + data["read"] + data["write"] + data["timeout"]
    return data


def row(name: str, r: dict) -> str:
    return (
        f"  {name:<6} {r['rps']:9.1f} {r['p50_us'] / 1000:9.1f} {r['p99_us'] / 1000:9.1f} "
        f"{r['non2xx']:8d} {r['socket_errors']:7d} {r['requests']:9d}   "
        f"CPU: server {r['server_cpu'] * 100:3.0f}%  pg {r['pg_cpu'] * 100:3.0f}%  "
        f"wrk {r['wrk_cpu'] * 100:2.0f}%  rest of machine {r['other_cpu'] * 100:3.0f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--only", default="tenant,rooms,post")
    parser.add_argument("--stock-conn-max-age", default="60")
    parser.add_argument("--no-migrate", action="store_true")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="wait at most this long for the machine to be idle before measuring",
    )
    args = parser.parse_args()
    require_services()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install -y wrk")
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)

    started = time.monotonic()
    world = ours_setup(args.users, migrate=not args.no_migrate)
    stock_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.stock_django.settings",
        "STOCK_DATABASE_URL": stock_database_url(),
        "STOCK_CONN_MAX_AGE": args.stock_conn_max_age,
    }
    stock = stock_setup(args.users, stock_env)
    print(
        f"setup {time.monotonic() - started:.1f} s: tenant {world['slug']}, {args.users} users with a token each, "
        f"50 rooms; stock database {STOCK_DB}, same data",
        flush=True,
    )

    data_dir = Path(os.environ.get("PLATFORM_DATA_DIR", ROOT / ".data" / "bench"))
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="http_api-"))
    lua = tmp / "rotate.lua"
    lua.write_text(LUA)
    (tmp / "ours.tokens").write_text("\n".join(world["tokens"]) + "\n")
    (tmp / "stock.tokens").write_text("\n".join(stock["tokens"]) + "\n")
    keys = [k for k in args.only.split(",") if k]
    results: dict[str, dict[str, dict]] = {}
    history: dict[str, int] = {}
    quiet = "not checked"
    try:
        with (
            ours_server(data_dir / "http_api-ours.log") as (ours_proc, ours_url),
            stock_server(stock_env, data_dir / "http_api-stock.log") as (stock_proc, stock_url),
        ):
            pg_pid = postgres_pid()
            quiet = wait_quiet(args.quiet_wait)
            print(f"  {quiet}", flush=True)
            sides = {
                "ours": (ours_url, ours_proc.pid, tmp / "ours.tokens", "Bearer", world),
                "stock": (stock_url, stock_proc.pid, tmp / "stock.tokens", "Token", stock),
            }
            for key in keys:
                label, method, path, body = ENDPOINTS[key]
                results[key] = {}
                for side, (url, pid, tokens, scheme, w) in sides.items():  # interleaved: ours, then stock
                    target = path.format(room=w["room"])
                    if side == "ours":
                        throttle_reset(world)
                    if args.warmup > 0:
                        wrk(
                            url,
                            lua,
                            tokens,
                            scheme,
                            w["host"],
                            method,
                            target,
                            body,
                            args.warmup,
                            args.connections,
                            pid,
                        )
                    if side == "ours":
                        throttle_reset(world)  # the measured run starts a fresh window
                    results[key][side] = wrk(
                        url,
                        lua,
                        tokens,
                        scheme,
                        w["host"],
                        method,
                        target,
                        body,
                        args.seconds,
                        args.connections,
                        pid,
                        pg_pid,
                    )
                    if side == "ours":
                        history[key] = throttle_history(world)
                    r = results[key][side]
                    print(f"  measured {label} / {side}: {r['rps']:.1f} req/s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(
        f"HTTP API, {args.connections} connections (wrk, 1 thread), {args.users} users of one tenant rotating "
        f"their tokens, {args.seconds:.0f} s per endpoint per server after {args.warmup:.0f} s warm-up, "
        "interleaved ours/stock"
    )
    print(
        f"ours : config.serve (uvicorn workers, {web_concurrency()} processes) as `make run` (websockets-sansio, "
        f"--no-proxy-headers, access log {'off' if os.environ.get('ACCESS_LOG') == '0' else 'on'}, DB pool on)"
    )
    print(
        f"       throttles: user {world['user_rate']} (default) x {args.users} users; tenant "
        f"rate_limit_per_minute raised from the default 600/min (10 req/s for the whole tenant: that would "
        f"cap the run) to {TENANT_BUDGET:,}/min for the bench tenant only; histories cleared before each run"
    )
    print(
        f"stock: Django + DRF TokenAuthentication, gunicorn 2 sync workers, database {STOCK_DB} on the same "
        f"server, CONN_MAX_AGE {args.stock_conn_max_age}, no throttles"
    )
    print()
    print(f"  {'':<6} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>8} {'sockerr':>7} {'requests':>9}")
    verdicts = []
    for key in keys:
        label = ENDPOINTS[key][0]
        ours, stk = results[key]["ours"], results[key]["stock"]
        print(label)
        print(row("ours", ours))
        print(row("stock", stk))
        ratio = ours["rps"] / stk["rps"] if stk["rps"] else float("nan")
        met = ratio >= 1.5 and ours["p99_us"] <= 100_000 and ours["non2xx"] == 0 and ours["socket_errors"] == 0
        verdicts.append(met)
        print(
            f"  ratio ours/stock: {ratio:.2f}x req/s, p99 {ours['p99_us'] / max(stk['p99_us'], 1):.1f}x; "
            f"tenant throttle history at the end: {history.get(key, 0):,} timestamps "
            f"-> goal (>= 1.5x, p99 <= 100 ms, 0 non-2xx): {'MET' if met else 'MISSED'}"
        )
    print()
    print(f"goal 1: {'MET' if all(verdicts) else 'MISSED'} on {sum(verdicts)}/{len(verdicts)} endpoints")
    print(f"machine: {machine()}")
    print(
        f"before measuring: {quiet}; CPU shares are of one core (200% = both), 'rest of machine' is "
        "everything but the server, this profile's PostgreSQL and wrk (other work on the machine shows there)"
    )
    print(f"load average after the run: {load()}")


if __name__ == "__main__":
    main()
