"""A django-q2 broker on PostgreSQL with leases, priorities and tenant fairness.

Why not django-q2's Redis broker: it has no acknowledgement — a task popped by
a worker that is then killed is gone. Why not its ORM broker as is: it has no
priorities, no fairness between tenants, polls (200 ms start latency) and needs
a write per task to acknowledge it. This broker keeps what is good about the
ORM broker (the queue is a table, so a job is enqueued in the same transaction
as the write that caused it and exists exactly when that commits) and adds:

- **Leases, not pops.** `dequeue` leases entries (`leased_until` set, `deliveries`
  + 1: neither is indexed, so a lease is a HOT update that writes no index
  entry). A job's entry is deleted in the same transaction that records its
  outcome (jobs/runner.py), so a job is done exactly when its result is stored.
  A killed worker's lease is released by the reaper as soon as its pid is gone
  (same host) or runs out (any host): at-least-once.
- **Priorities** (`high` < `default` < `low`) and **fairness**: ready entries
  are taken in (priority, vt) order, where `vt` is a per-tenant virtual time
  (start-time fair queuing): a tenant's entry gets max(its last vt, the global
  clock) + 1, so a tenant that floods the queue only queues behind itself.
- **Wake-ups by LISTEN/NOTIFY**: an enqueue notifies `jobs_ready` in its
  transaction; an idle pusher waits on that instead of sleeping.
- **Suspended tenants wait**: their entries are `held` (no vt) until the
  tenant is reactivated; a job leased just before the suspension goes back
  to waiting when its worker tries to claim it, without using an attempt.
- **A 1-second tick** in the pusher: due delayed entries get their vt, dead
  workers' leases are released, and django-q2's scheduler runs, so schedules
  fire within a second rather than within 30.

The SQL (the pick-and-lease order the runner shares) is in jobs/queue_sql.py;
the django-q2 internals a broker needs are behind jobs/q2.py.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable

import psycopg
from django.db import connection
from django.utils import timezone

from . import q2
from .queue_sql import (
    ACTIVE_WORKERS,
    CHANNEL,
    DEQUEUE,
    ENTRY_DELETE,
    INSERT_JOBS,
    INSERT_RAW,
    LEASES_RELEASE,
    LOCK_SIZE,
    NOTIFY,
    PROMOTE,
    PURGE,
    QUEUE_SIZE,
)

logger = logging.getLogger(__name__)

NIL = uuid.UUID(int=0)
GRACE_SECONDS = 5  # beyond a job's timeout before its lease lapses
HOST = socket.gethostname()
RUNNER = "jobs.runner.job_run"


def notify_ready(cursor) -> None:
    cursor.execute(NOTIFY)


def entries_create(jobs: Iterable, *, now=None) -> None:
    """Queue entries for `jobs` (saved Job rows), in the caller's transaction."""
    jobs = list(jobs)
    if not jobs:
        return
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT_JOBS,
            {
                "job_ids": [j.pk for j in jobs],
                "keys": [j.tenant_id or NIL for j in jobs],
                "priorities": [j.priority for j in jobs],
                "ready": [j.run_at if j.run_at and j.run_at > now else None for j in jobs],  # None: now
                "leases": [j.timeout + GRACE_SECONDS for j in jobs],
            },
        )
        if any((j.run_at or now) <= now for j in jobs):
            notify_ready(cursor)


def worker_name() -> str:
    return f"{HOST}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PostgresBroker(q2.Broker):
    tick_seconds = 1.0

    def __init__(self, list_key: str | None = None):
        super().__init__(list_key)
        self._listener: psycopg.Connection | None = None
        self._last_tick = 0.0

    def __setstate__(self, state):
        super().__setstate__(state)
        self._listener, self._last_tick = None, 0.0

    @staticmethod
    def get_connection(list_key: str | None = None):
        return connection  # Django's connection of the current process

    # --- django-q2's broker interface ------------------------------------
    def enqueue(self, task: str) -> int:
        """A plain django-q2 task (async_task, schedules): platform work."""
        with connection.cursor() as cursor:
            cursor.execute(INSERT_RAW, {"payload": task, "key": NIL, "lease": q2.cluster_conf().retry})
            return cursor.fetchone()[0]

    def dequeue(self):
        conf = q2.cluster_conf()
        try:
            self._tick()
            rows = self.lease(conf.bulk)
        except Exception:
            connection.close()  # a broken connection is replaced on the next call
            raise
        if rows:
            return [self._package(*row[:5]) for row in rows]
        self._wait(conf.poll)
        return None

    def acknowledge(self, task_id) -> None:
        self.delete(task_id)

    def fail(self, task_id) -> None:
        self.delete(task_id)

    def delete(self, task_id) -> None:
        if task_id:
            with connection.cursor() as cursor:
                cursor.execute(ENTRY_DELETE, [task_id])

    def queue_size(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(QUEUE_SIZE)
            return cursor.fetchone()[0]

    def lock_size(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SIZE)
            return cursor.fetchone()[0]

    def purge_queue(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(PURGE)

    def delete_queue(self) -> None:
        self.purge_queue()

    def ping(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True

    def info(self) -> str:
        return "PostgreSQL (jobs.broker.PostgresBroker)"

    # --- internals --------------------------------------------------------
    @staticmethod
    def lease(bulk: int) -> list[tuple]:
        """Lease up to `bulk` ready entries in the queue's order (jobs/queue_sql.py: DEQUEUE):
        (entry id, job id, payload, deliveries, lease seconds, clock moved) each, best first."""
        with connection.cursor() as cursor:
            cursor.execute(DEQUEUE, {"bulk": bulk})
            return cursor.fetchall()

    def _package(self, entry_id, job_id, payload, deliveries, lease_seconds):
        if job_id is None:
            return entry_id, payload
        # ack_id 0: the runner deletes the entry itself, with the job's outcome.
        return 0, q2.task_package(
            name=f"job-{job_id}",
            func=RUNNER,
            args=(job_id, entry_id, deliveries),
            timeout=max(lease_seconds - GRACE_SECONDS, 1),
        )

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self._last_tick < self.tick_seconds:
            return
        self._last_tick = now
        with connection.cursor() as cursor:
            cursor.execute(PROMOTE)
            self._reap(cursor)
        try:
            q2.scheduler_run(self)
        except Exception:  # the scheduler logs its own failures; never stop delivering
            logger.exception("scheduler tick failed")

    def _reap(self, cursor) -> None:
        """Release at once the leases of jobs whose worker process on this host died."""
        cursor.execute(ACTIVE_WORKERS, [HOST + ":%"])
        dead = [job_id for job_id, worker in cursor.fetchall() if not _pid_alive(int(worker.rsplit(":", 1)[1]))]
        if dead:
            cursor.execute(LEASES_RELEASE, [dead])
            logger.warning("released %d job(s) of dead workers: %s", cursor.rowcount, dead)

    def _wait(self, seconds: float) -> None:
        """Block until an enqueue notifies us or `seconds` pass."""
        try:
            listener = self._listen()
            for _ in listener.notifies(timeout=seconds, stop_after=1):
                pass
            for _ in listener.notifies(timeout=0.0):  # drain the rest: one dequeue serves them all
                pass
        except psycopg.Error:
            if self._listener is not None:
                self._listener.close()
            self._listener = None
            time.sleep(seconds)

    def _listen(self) -> psycopg.Connection:
        if self._listener is None or self._listener.closed:
            params = connection.settings_dict
            self._listener = psycopg.connect(
                dbname=params["NAME"],
                user=params["USER"] or None,
                password=params["PASSWORD"] or None,
                host=params["HOST"] or None,
                port=params["PORT"] or None,
                autocommit=True,
            )
            self._listener.execute(f"LISTEN {CHANNEL}")
        return self._listener
