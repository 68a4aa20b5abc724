"""Helpers shared by the benchmark scripts (not a benchmark itself).

Named with a leading underscore so it cannot shadow the project's `common` app:
a script's own folder comes first on sys.path.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.server import server_command, web_concurrency  # noqa: E402  (as make run serves)


def require_services() -> None:
    """Exit with a hint unless run under `python -m config.devstack exec`."""
    if not os.environ.get("DATABASE_URL"):
        sys.exit(
            "DATABASE_URL is not set: run me through\n"
            "  .venv/bin/python -m config.devstack exec --profile bench -- "
            f".venv/bin/python {Path(sys.argv[0]).relative_to(ROOT)}"
        )


def django_setup(**env: str) -> None:
    """Set up Django in this process with `env` over the environment (e.g. TENANT_POOL_SIZE);
    the environment is restored afterwards, so subprocesses do not inherit `env`."""
    import django

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        django.setup()  # reads the settings, hence the environment, now
    finally:
        os.environ.clear()
        os.environ.update(saved)


def manage(*args: str, env: dict[str, str] | None = None, quiet: bool = True) -> None:
    """Run `manage.py <args>` in a subprocess with this environment plus `env`."""
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def machine() -> str:
    """One line: cores, Python and PostgreSQL versions (needs Django set up)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg = cursor.fetchone()[0].split(" on ")[0]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores (nproc), Python {platform.python_version()}, {pg}, "
        f"{platform.platform()}; load average {load}"
    )


def percentile(samples: list[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default), e.g. pct=99."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(samples_ms: list[float]) -> tuple[float, float, float]:
    """(p50, p99, mean) of samples in ms."""
    return percentile(samples_ms, 50), percentile(samples_ms, 99), statistics.fmean(samples_ms)


def redis_version() -> str:
    """The version of the Redis server at REDIS_URL."""
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")["redis_version"]


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


class QCluster:
    """A real `manage.py qcluster` in a process group of its own, its output in `log`.

    Stopped with SIGTERM to the main process only (django-q2's sentinel then stops
    its pusher, workers and monitor; SIGTERM to the whole group makes it hang), and
    SIGKILL to the group if it has not exited after `grace` seconds."""

    def __init__(self, log: Path, env: dict[str, str] | None = None):
        self.log = log
        self.env = {**os.environ, "JOBS_QCLUSTER_PROCESS": "1", **(env or {})}  # config/settings/jobs.py
        self.proc: subprocess.Popen | None = None

    def start(self) -> QCluster:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [PYTHON, "manage.py", "qcluster"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def member(self, pid: int) -> bool:
        """Whether `pid` is a process of this cluster (other than its main process)."""
        try:
            return pid != self.pid and os.getpgid(pid) == self.pid
        except ProcessLookupError:
            return False

    def stop(self, grace: float = 15) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                print(
                    f"qcluster {self.proc.pid} still running {grace:.0f} s after SIGTERM: SIGKILL to its group",
                    file=sys.stderr,
                )
        try:  # anything of the group left over (or the main process itself if it hung)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def uvicorn_server(env: dict[str, str], *, ready_path: str = "/healthz", host: str = "localhost"):
    """uvicorn serving config.asgi as `make run` does (one process), unthrottled, with
    `env` over this environment; yields (process, base URL) once `ready_path` answers 200."""
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        server_command(
            host="127.0.0.1",
            port=port,
            access_log=False,
            log_level="warning",
            workers=web_concurrency({**os.environ, **env}),
        ),
        cwd=ROOT,
        env={
            **os.environ,
            "THROTTLE_USER_RATE": "1000000/min",
            "LOG_LEVEL": "WARNING",
            "AUTH_LIMIT_PER_IP": "1000000",
            "TENANTS_PER_USER": "1000000",
            **env,
        },
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + ready_path, headers={"Host": host}, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the uvicorn server did not become ready")
            time.sleep(0.1)
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(proc: subprocess.Popen, url: str, path: str, host: str, ok=(200,), timeout: float = 60) -> None:
    """Until `path` on `host` answers one of `ok`; fails if the server exits or `timeout` passes."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + path, headers={"Host": host}, timeout=2).status_code in ok:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server {proc.args[:4]} did not become ready")
        time.sleep(0.2)
