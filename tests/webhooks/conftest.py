"""A real HTTP receiver on the loopback, and running a delivery's job as the runner does."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from jobs.models import Job
from jobs.registry import task_get
from jobs.runner import JobContext, JobFailure, task_execute
from tests.factories import member_make, token_make

ACME, GLOBEX = "acme.localhost", "globex.localhost"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each request with the next of `answers` (then 200); `redirect` answers a 302."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver():
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            rec: Receiver = state["receiver"]
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            rec.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            code = rec.answers.pop(0) if rec.answers else 200
            self.send_response(code)
            if code == 302:
                self.send_header("location", f"http://127.0.0.1:{self.server.server_address[1]}/landed")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = rec = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_allowed(settings):
    settings.WEBHOOKS = {**settings.WEBHOOKS, "ALLOW_PRIVATE_NETWORKS": True}
    return settings


@pytest.fixture
def people(acme):
    admin = member_make(acme, role="admin", email="admin@acme.test")
    member = member_make(acme, email="member@acme.test")
    return {"admin": admin, "member": member, "member_token": token_make(member)}


def deliver(job: Job, attempt: int = 1):
    """Run one attempt of a `webhook.deliver` job the way the qcluster's runner does (jobs.runner)."""
    job.refresh_from_db()
    ctx = JobContext(job.pk, job.task, job.tenant, job.created_by_id, attempt, job.max_attempts)
    try:
        return task_execute(task_get(job.task), ctx, job.payload)
    finally:
        connection.set_schema_to_public()


__all__ = ["ACME", "GLOBEX", "JobFailure", "deliver"]
