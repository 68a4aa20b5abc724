"""A real ASGI server (uvicorn, as `make run` serves) for tests over the network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
from django.conf import settings

from config.server import server_command, web_concurrency

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_tests() -> str:
    """DATABASE_URL pointing at the test database pytest-django created."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + settings.DATABASES["default"]["NAME"]))


class LiveServer:
    def __init__(self, extra_env: dict[str, str] | None = None, *, ws: str = "websockets-sansio"):
        self.port = free_port()
        self.ws = ws  # uvicorn's WebSocket implementation (make run serves websockets-sansio)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url_for_tests(),
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "PORT": str(self.port),
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.proc = subprocess.Popen(
            # as `make run` serves (config/server.py): one process per core unless WEB_CONCURRENCY
            server_command(
                host="127.0.0.1",
                port=self.port,
                ws=self.ws,
                access_log=False,
                log_level="warning",
                workers=web_concurrency(self.env),
            ),  # the server's own WEB_CONCURRENCY
            cwd=ROOT,
            env=self.env,
            start_new_session=True,  # kill() takes the workers with it
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not become healthy in 30 s")

    def processes(self) -> list[psutil.Process]:
        """The processes serving requests: the workers config/serve.py started."""
        main = psutil.Process(self.proc.pid)
        workers = [child for child in main.children() if "--worker" in child.cmdline()]
        return workers or [main]

    def written_chars(self) -> int:
        """Bytes the serving processes have written so far (write(2) on any file)."""
        return sum(p.io_counters().write_chars for p in self.processes())

    def rss_bytes(self) -> int:
        return sum(p.memory_info().rss for p in self.processes())

    def kill(self) -> None:
        """SIGKILL to every process of the server at once: nothing says goodbye."""
        os.killpg(self.proc.pid, 9)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # uvicorn stops its workers
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc:
            try:
                os.killpg(self.proc.pid, 9)  # whatever is left of the group
            except ProcessLookupError:
                pass


class QCluster:
    """A real `manage.py qcluster` against the test database (JOBS_QCLUSTER_PROCESS: config/settings/jobs.py)."""

    def __init__(self, extra_env: dict[str, str] | None = None):
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url_for_tests(),
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "JOBS_QCLUSTER_PROCESS": "1",
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> QCluster:
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=self.env, start_new_session=True
        )
        return self

    def stop(self) -> None:
        """SIGTERM to the main process only (it stops its sentinel, which stops the
        workers): signalling the whole group makes django-q2's shutdown hang."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, 15)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        if self.proc:
            try:
                os.killpg(self.proc.pid, 9)  # whatever is left of the group
            except ProcessLookupError:
                pass
