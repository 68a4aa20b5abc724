"""A django-q2 broker on PostgreSQL with leases, priorities and tenant fairness.

Why not django-q2's Redis broker: it has no acknowledgement — a task popped by
a worker that is then killed is gone. Why not its ORM broker as is: it has no
priorities, no fairness between tenants, polls (200 ms start latency) and needs
a write per task to acknowledge it. This broker keeps what is good about the
ORM broker (the queue is a table, so a job is enqueued in the same transaction
as the write that caused it and exists exactly when that commits) and adds:

- **Leases, not pops.** `dequeue` leases entries (`leased_until` set, `deliveries`
  + 1: neither is indexed, so a lease is a HOT update that writes no index entry). A job's entry is deleted in the same transaction that
  records its outcome (jobs/runner.py), so a job is done exactly when its
  result is stored. A killed worker's lease is released by the reaper as soon
  as its pid is gone (same host) or runs out (any host): at-least-once.
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
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import Iterable

import psycopg
from django.db import connection
from django.utils import timezone
from django_q.brokers import Broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

logger = logging.getLogger(__name__)

NIL = uuid.UUID(int=0)
GRACE_SECONDS = 5  # beyond a job's timeout before its lease lapses
CHANNEL = "jobs_ready"
HOST = socket.gethostname()
RUNNER = "jobs.runner.job_run"
# An entry nobody holds: never leased, released, or its lease ran out.
LEASE_FREE = "(leased_until IS NULL OR leased_until <= now())"

_FAIR_VT = ("GREATEST(COALESCE((SELECT max(x.vt) FROM jobs_queueentry x WHERE x.fair_key = {key}), 0),"
            " (SELECT last_value FROM jobs_vclock))")

INSERT_RAW = f"""
WITH ins AS (
  INSERT INTO jobs_queueentry (payload, fair_key, priority, vt, ready_at, lease_seconds, deliveries, created_at)
  VALUES (%(payload)s, %(key)s, 1, {_FAIR_VT.format(key="%(key)s")} + 1, now(), %(lease)s, 0, now())
  RETURNING id)
SELECT id, pg_notify('{CHANNEL}', '') FROM ins
"""

# Many jobs in one statement; the n-th of a tenant gets base + n, so a bulk
# enqueue is still interleaved fairly with other tenants' work.
INSERT_JOBS = f"""
WITH rows AS (
  SELECT * FROM unnest(%(job_ids)s::bigint[], %(keys)s::uuid[], %(priorities)s::smallint[],
                       %(ready)s::timestamptz[], %(leases)s::integer[]) WITH ORDINALITY
         AS r(job_id, fair_key, priority, ready_at, lease_seconds, n)
), numbered AS (
  SELECT rows.*, row_number() OVER (PARTITION BY fair_key ORDER BY n) AS k FROM rows
), bases AS MATERIALIZED (
  SELECT d.fair_key, {_FAIR_VT.format(key="d.fair_key")} AS base,
         EXISTS (SELECT 1 FROM tenants_tenant t WHERE t.id = d.fair_key AND t.status = 'suspended') AS held
    FROM (SELECT DISTINCT fair_key FROM rows) d
)
INSERT INTO jobs_queueentry (job_id, fair_key, priority, vt, ready_at, lease_seconds, deliveries, held, created_at)
SELECT job_id, numbered.fair_key, priority,
       CASE WHEN NOT held AND (ready_at IS NULL OR ready_at <= now()) THEN base + k END, COALESCE(ready_at, now()),
       lease_seconds, 0, held, now()
FROM numbered JOIN bases USING (fair_key)
"""
# A suspended tenant's entries wait, held (see QueueEntry.held): no vt, so
# DEQUEUE, PROMOTE and the runner never take them. A job queued while its tenant
# is suspended is held from the start (INSERT_JOBS). Races with an enqueue are
# closed by the tenant row: the suspension locks it FOR UPDATE, and the Job
# insert's foreign-key check takes FOR KEY SHARE on it, so the enqueue either
# commits before the hold (which then sees its entry) or reads the new status.
HOLD = "UPDATE jobs_queueentry SET held = true, vt = NULL WHERE fair_key = %s AND job_id IS NOT NULL AND NOT held"
# Released entries get a fresh vt on the next tick (PROMOTE), like delayed ones.
RELEASE = "UPDATE jobs_queueentry SET held = false WHERE fair_key = %s AND held"

# The pick-and-lease order, written once: the pusher's DEQUEUE and the runner's
# COMPLETE_CLAIM (jobs/runner.py) take ready entries the same way. `{where}` narrows
# the pick, `{limit}` caps it; `clock` moves the global virtual time up to the
# newest vt leased (reference it, e.g. `(SELECT count(*) FROM clock)`, or it is skipped).
PICK_LEASE = """
picked AS (
  SELECT id FROM public.jobs_queueentry
   WHERE vt IS NOT NULL AND ready_at <= now() AND """ + LEASE_FREE + """ {where}
  ORDER BY priority, vt, id LIMIT {limit} FOR UPDATE SKIP LOCKED
), leased AS (
  UPDATE public.jobs_queueentry e
     SET leased_until = now() + make_interval(secs => e.lease_seconds), deliveries = e.deliveries + 1
    FROM picked WHERE e.id = picked.id
  RETURNING e.id, e.job_id, e.payload, e.deliveries, e.lease_seconds, e.priority, e.vt
), clock AS (
  SELECT setval('public.jobs_vclock', top.vt) FROM (SELECT max(vt) AS vt FROM leased) top
   WHERE top.vt > (SELECT last_value FROM public.jobs_vclock)
)"""

DEQUEUE = f"""
WITH {PICK_LEASE.format(where="", limit="%(bulk)s")}
SELECT l.id, l.job_id, l.payload, l.deliveries, l.lease_seconds, (SELECT count(*) FROM clock)
  FROM leased l ORDER BY l.priority, l.vt, l.id
"""

# Delayed entries (run_at, retry backoff) come due: give them their fair vt.
PROMOTE = f"""
WITH due AS (
  SELECT id, fair_key, ready_at FROM jobs_queueentry WHERE vt IS NULL AND NOT held AND ready_at <= now()
     AND {LEASE_FREE}
  ORDER BY ready_at LIMIT 1000 FOR UPDATE SKIP LOCKED
), numbered AS (
  SELECT id, fair_key, row_number() OVER (PARTITION BY fair_key ORDER BY ready_at, id) AS k FROM due
), bases AS MATERIALIZED (
  SELECT d.fair_key, {_FAIR_VT.format(key="d.fair_key")} AS base FROM (SELECT DISTINCT fair_key FROM due) d
), upd AS (
  UPDATE jobs_queueentry e SET vt = bases.base + numbered.k
    FROM numbered JOIN bases USING (fair_key) WHERE e.id = numbered.id RETURNING e.job_id
), states AS (
  UPDATE jobs_job j SET state = 'queued' FROM upd
   WHERE j.id = upd.job_id AND j.state IN ('scheduled', 'retrying') RETURNING j.id
)
SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM states)
"""


def notify_ready(cursor) -> None:
    cursor.execute(f"SELECT pg_notify('{CHANNEL}', '')")


def entries_create(jobs: Iterable, *, now=None) -> None:
    """Queue entries for `jobs` (saved Job rows), in the caller's transaction."""
    jobs = list(jobs)
    if not jobs:
        return
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(INSERT_JOBS, {
            "job_ids": [j.pk for j in jobs],
            "keys": [j.tenant_id or NIL for j in jobs],
            "priorities": [j.priority for j in jobs],
            "ready": [j.run_at if j.run_at and j.run_at > now else None for j in jobs],  # None: now
            "leases": [j.timeout + GRACE_SECONDS for j in jobs],
        })
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


class PostgresBroker(Broker):
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
            cursor.execute(INSERT_RAW, {"payload": task, "key": NIL, "lease": Conf.RETRY})
            return cursor.fetchone()[0]

    def dequeue(self):
        try:
            self._tick()
            with connection.cursor() as cursor:
                cursor.execute(DEQUEUE, {"bulk": Conf.BULK})
                rows = cursor.fetchall()
        except Exception:
            connection.close()  # a broken connection is replaced on the next call
            raise
        if rows:
            return [self._package(*row[:5]) for row in rows]
        self._wait(Conf.POLL)
        return None

    def acknowledge(self, task_id) -> None:
        self.delete(task_id)

    def fail(self, task_id) -> None:
        self.delete(task_id)

    def delete(self, task_id) -> None:
        if task_id:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM jobs_queueentry WHERE id = %s", [task_id])

    def queue_size(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM jobs_queueentry WHERE ready_at <= now() AND NOT held AND {LEASE_FREE}")
            return cursor.fetchone()[0]

    def lock_size(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM jobs_queueentry WHERE leased_until > now()")
            return cursor.fetchone()[0]

    def purge_queue(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM jobs_queueentry WHERE job_id IS NULL")

    def delete_queue(self) -> None:
        self.purge_queue()

    def ping(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True

    def info(self) -> str:
        return "PostgreSQL (jobs.broker.PostgresBroker)"

    # --- internals --------------------------------------------------------
    def _package(self, entry_id, job_id, payload, deliveries, lease_seconds):
        if job_id is None:
            return entry_id, payload
        task = {
            "id": uuid.uuid4().hex, "name": f"job-{job_id}", "func": RUNNER,
            "args": (job_id, entry_id, deliveries), "kwargs": {},
            "timeout": max(lease_seconds - GRACE_SECONDS, 1), "started": timezone.now(),
            "save": False, "ack_failure": True,
        }
        # ack_id 0: the runner deletes the entry itself, with the job's outcome.
        return 0, SignedPackage.dumps(task)

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self._last_tick < self.tick_seconds:
            return
        self._last_tick = now
        with connection.cursor() as cursor:
            cursor.execute(PROMOTE)
            self._reap(cursor)
        try:
            from django_q.scheduler import scheduler

            scheduler(broker=self)
        except Exception:  # the scheduler logs its own failures; never stop delivering
            logger.exception("scheduler tick failed")

    def _reap(self, cursor) -> None:
        """Release at once the leases of jobs whose worker process on this host died."""
        cursor.execute("SELECT id, worker FROM jobs_job WHERE state = 'active' AND worker LIKE %s", [HOST + ":%"])
        dead = [job_id for job_id, worker in cursor.fetchall() if not _pid_alive(int(worker.rsplit(":", 1)[1]))]
        if dead:
            cursor.execute("UPDATE jobs_queueentry SET leased_until = NULL WHERE job_id = ANY(%s) AND leased_until > now()",
                           [dead])
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
                dbname=params["NAME"], user=params["USER"] or None, password=params["PASSWORD"] or None,
                host=params["HOST"] or None, port=params["PORT"] or None, autocommit=True)
            self._listener.execute(f"LISTEN {CHANNEL}")
        return self._listener
