"""What a qcluster worker runs for a job: claim it, run its task in its
tenant's schema, record the outcome and drop its queue entry in one transaction.

The broker hands each worker `job_run(job_id, entry_id, delivery)`. The claim
only succeeds for the current delivery of a live entry, so a delivery that
lost its lease (and was handed to someone else) or a cancelled job never runs.

A busy worker then takes the next ready jobs itself, for up to LOOP_SECONDS:
the statement that records a job's outcome also leases and claims the next
entry in (priority, vt) order, so under load a job costs one round trip and no
trip through django-q2's pusher, task queue and monitor. Each job is still
claimed only when it starts, under its own lease, timeout and process title.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import time
import traceback
from dataclasses import dataclass, field

import psycopg
from django.db import connection, transaction
from django_q.exceptions import TimeoutException
from django_q.timeout import TimeoutHandler

from tenants.context import schema_activate
from tenants.models import Tenant

from .broker import RUNNER, worker_name
from .registry import TaskSpec, task_get

try:
    import setproctitle
except ModuleNotFoundError:  # django-q2 treats it as optional too
    setproctitle = None

logger = logging.getLogger("jobs")

CLAIM = """
WITH lease AS (
  UPDATE public.jobs_queueentry SET ready_at = now() + make_interval(secs => lease_seconds)
   WHERE id = %(entry)s AND deliveries = %(delivery)s AND NOT held RETURNING id)
UPDATE public.jobs_job j SET state = 'active', attempts = j.attempts + 1, started_at = now(), worker = %(worker)s,
       message = ''
  FROM lease WHERE j.id = %(job)s AND j.state IN ('queued', 'scheduled', 'retrying', 'active')
RETURNING j.task, j.payload, j.tenant_id, j.attempts, j.max_attempts, j.created_by_id, j.timeout
"""
# CLAIM refused a delivery because the tenant was suspended after it was leased:
# the entry goes back to waiting now (not when the lease runs out), and the job
# has used no attempt. It runs once the tenant is reactivated.
UNLEASE_HELD = """
UPDATE public.jobs_queueentry SET ready_at = now() WHERE id = %(entry)s AND deliveries = %(delivery)s AND held
"""
COMPLETE = """
WITH upd AS (
  UPDATE public.jobs_job SET state = 'completed', progress = 100, result = %(result)s, finished_on = now(),
         worker = '', failed_reason = ''
   WHERE id = %(job)s AND attempts = %(attempt)s AND state = 'active' RETURNING id)
DELETE FROM public.jobs_queueentry WHERE id = %(entry)s AND EXISTS (SELECT 1 FROM upd)
"""
# COMPLETE, then lease and claim the next ready job in (priority, vt) order, as
# the broker's DEQUEUE and CLAIM would: one round trip and one commit per job
# while a worker has work (see job_run).
COMPLETE_NEXT = """
WITH upd AS (
  UPDATE public.jobs_job SET state = 'completed', progress = 100, result = %(result)s, finished_on = now(),
         worker = '', failed_reason = ''
   WHERE id = %(job)s AND attempts = %(attempt)s AND state = 'active' RETURNING id
), done AS (
  DELETE FROM public.jobs_queueentry WHERE id = %(entry)s AND EXISTS (SELECT 1 FROM upd)
), best AS (
  -- the best priority waiting anywhere, leased entries included: a worker must not
  -- go on with default jobs while a high one sits in django-q2's task queue
  SELECT min(priority) AS priority FROM public.jobs_queueentry WHERE vt IS NOT NULL AND id <> %(entry)s
), picked AS (
  SELECT id FROM public.jobs_queueentry WHERE vt IS NOT NULL AND ready_at <= now() AND job_id IS NOT NULL
     AND priority <= (SELECT priority FROM best)
  ORDER BY priority, vt, id LIMIT 1 FOR UPDATE SKIP LOCKED
), leased AS (
  UPDATE public.jobs_queueentry e
     SET ready_at = now() + make_interval(secs => e.lease_seconds), deliveries = e.deliveries + 1
    FROM picked WHERE e.id = picked.id
  RETURNING e.id, e.job_id, e.deliveries, e.vt
), clock AS (
  SELECT setval('public.jobs_vclock', l.vt) FROM leased l WHERE l.vt > (SELECT last_value FROM public.jobs_vclock)
), claimed AS (
  UPDATE public.jobs_job j SET state = 'active', attempts = j.attempts + 1, started_at = now(), worker = %(worker)s,
         message = ''
    FROM leased WHERE j.id = leased.job_id AND j.state IN ('queued', 'scheduled', 'retrying', 'active')
  RETURNING j.id, leased.id AS entry, j.task, j.payload, j.tenant_id, j.attempts, j.max_attempts, j.created_by_id,
            j.timeout
)
SELECT claimed.*, (SELECT count(*) FROM clock) FROM claimed
"""
RETRY = """
WITH upd AS (
  UPDATE public.jobs_job SET state = 'retrying', failed_reason = %(reason)s, worker = ''
   WHERE id = %(job)s AND attempts = %(attempt)s AND state = 'active' RETURNING id)
UPDATE public.jobs_queueentry SET vt = NULL, ready_at = now() + make_interval(secs => %(delay)s)
 WHERE id = %(entry)s AND EXISTS (SELECT 1 FROM upd)
"""
FAIL = """
WITH upd AS (
  UPDATE public.jobs_job SET state = 'failed', failed_reason = %(reason)s, finished_on = now(), worker = ''
   WHERE id = %(job)s AND attempts = %(attempt)s AND state = 'active' RETURNING id)
DELETE FROM public.jobs_queueentry WHERE id = %(entry)s AND EXISTS (SELECT 1 FROM upd)
RETURNING (SELECT count(*) FROM upd)
"""
# How long a worker keeps taking jobs itself before going back to django-q2's
# task queue, where the pusher's prefetched entries and plain django-q2 tasks wait.
LOOP_SECONDS = 0.1
PROGRESS_MIN_INTERVAL = 0.2  # seconds between two progress writes/events (100% always goes out)

_tenants: dict[str, tuple[float, Tenant]] = {}


def _tenant(tenant_id) -> Tenant | None:
    """The job's tenant, cached in this worker for a few seconds."""
    cached = _tenants.get(str(tenant_id))
    if cached and time.monotonic() - cached[0] < 5:
        return cached[1]
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is not None:
        _tenants[str(tenant_id)] = (time.monotonic(), tenant)
    return tenant


@dataclass
class JobContext:
    """What a task gets besides its payload."""

    id: int
    task: str
    tenant: Tenant | None
    user_id: int | None
    attempt: int
    max_attempts: int
    _last_progress: tuple[float, int] = field(default=(0.0, -1), repr=False)

    def progress(self, pct: float, message: str = "") -> None:
        """Record progress (0–100) and push `job.progress` to the enqueuer."""
        pct = max(0, min(100, int(pct)))
        now = time.monotonic()
        last_time, last_pct = self._last_progress
        if pct == last_pct or (pct < 100 and now - last_time < PROGRESS_MIN_INTERVAL):
            return
        self._last_progress = (now, pct)
        message = (message or "")[:500]
        _sql("UPDATE public.jobs_job SET progress = %(pct)s, message = %(message)s WHERE id = %(job)s",
             {"pct": pct, "message": message, "job": self.id})
        if self.user_id and self.tenant is not None:
            from realtime.publish import notify_user

            notify_user(self.user_id, "job.progress",
                        {"job": self.id, "task": self.task, "progress": pct, "message": message},
                        tenant=self.tenant)


class JobFailure(Exception):
    """Raise from a task to fail the attempt with a clean reason (no traceback);
    `retry=False` fails the job at once (retrying cannot help: bad input, a
    recipient the mail server refuses…)."""

    def __init__(self, reason: str, *, retry: bool = True):
        super().__init__(reason)
        self.retry = retry


def _sql(query: str, params: dict):
    """Run one of the runner's statements on the raw connection: its tables are
    schema-qualified, so no `SET search_path` is needed whatever schema the
    last task left active (a worker switches schemas only when the tenant changes).

    A server-side-binding cursor with `prepare=True`: these few statements run
    for every job, and Django's client-side cursors would have PostgreSQL parse
    and plan them each time (a quarter of its CPU per no-op job). qcluster connections
    allow prepared statements (jobs/apps.py); elsewhere psycopg runs them unprepared."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, params, prepare=True)
        return cursor.fetchone() if cursor.description else None


@dataclass
class Claim:
    """One claimed attempt of a job: what CLAIM / COMPLETE_NEXT return about it."""

    job: int
    entry: int
    task: str
    payload: dict | str
    tenant_id: object
    attempt: int
    max_attempts: int
    user_id: int | None
    timeout: int

    @property
    def ids(self) -> dict:
        return {"job": self.job, "entry": self.entry, "attempt": self.attempt}


class WorkerSlot:
    """The django-q2 worker process this runner is in, for the jobs it runs
    after the one django-q2 handed it (see job_run): django-q2 sets a worker's
    process title and its guard timer once per task, so the runner does it per job.

    The timer is the shared value django-q2's sentinel counts down to kill a
    worker stuck past its task's timeout (C code SIGALRM cannot interrupt); the
    sentinel stores it on the worker's Process object before forking it."""

    def __init__(self, process):
        self.timer = process.timer
        self.name = process.name

    @classmethod
    def current(cls) -> "WorkerSlot | None":
        process = multiprocessing.current_process()
        return cls(process) if hasattr(process, "timer") else None

    def job_started(self, claim: Claim) -> None:
        self.timer.value = claim.timeout + 3  # django-q2's margin over the task's own timeout
        if setproctitle is not None:
            setproctitle.setproctitle(f"qcluster {self.name} processing job-{claim.job} '{RUNNER}'")


def job_run(job_id: int, entry_id: int, delivery: int) -> None:
    """Run the job django-q2 handed this worker, then, while ready jobs are
    waiting and for up to LOOP_SECONDS, the next ones: each job's outcome is
    recorded in the same statement that claims the next (COMPLETE_NEXT), so a
    busy worker spends one round trip per job and no multiprocessing queue hop.
    A job that does not complete (retry, failure, timeout) ends the run, and the
    next job waits for the next task; so does every job outside a qcluster worker."""
    row = _sql(CLAIM, {"entry": entry_id, "delivery": delivery, "job": job_id, "worker": worker_name()})
    if row is None:  # cancelled, finished, this delivery's lease lost to another one, or its tenant suspended
        _sql(UNLEASE_HELD, {"entry": entry_id, "delivery": delivery})
        return
    claim = Claim(job_id, entry_id, *row)
    slot = WorkerSlot.current()
    deadline = time.monotonic() + LOOP_SECONDS
    while claim is not None:
        outcome = _attempt(claim, timed=slot is not None)
        if outcome is None:
            return
        ctx, result = outcome
        params = {**claim.ids, "result": json.dumps(result)}
        claim = _complete(params, next_job=slot is not None and time.monotonic() < deadline)
        _completed_notify(ctx, result)
        if claim is not None:
            slot.job_started(claim)


def _complete(params: dict, *, next_job: bool) -> Claim | None:
    """Record a completed attempt; with `next_job`, claim the next ready job in
    the same statement. Should that statement fail (a deadlock with a cancel,
    say), the outcome is recorded on its own: it must not wait for a lease to run out."""
    if next_job:
        try:
            row = _sql(COMPLETE_NEXT, {**params, "worker": worker_name()})
            return Claim(*row[:-1]) if row else None
        except psycopg.errors.OperationalError:
            logger.warning("claiming the next job failed; recording job %s's outcome alone", params["job"],
                           exc_info=True)
    _sql(COMPLETE, params)
    return None


def _attempt(claim: Claim, *, timed: bool) -> tuple[JobContext, object] | None:
    """Run one claimed attempt; (its context, its result) if it completed, else
    None once its retry or failure is recorded. `timed`: under its own SIGALRM
    timeout (django-q2 sets one per task only, around the whole run)."""
    payload = json.loads(claim.payload) if isinstance(claim.payload, str) else claim.payload
    ids = claim.ids
    if claim.attempt > claim.max_attempts:  # earlier attempts died with their worker (killed, or stuck past the timeout)
        _fail(ids, claim.task, claim.tenant_id, claim.user_id, f"the worker running attempt {claim.attempt - 1} died",
              critical=False)
        return None
    spec = task_get(claim.task)
    tenant = _tenant(claim.tenant_id) if claim.tenant_id else None
    if spec is None or (claim.tenant_id and tenant is None):
        reason = f"unknown task {claim.task!r}" if spec is None else "the tenant no longer exists"
        _fail(ids, claim.task, claim.tenant_id, claim.user_id, reason, critical=True)
        return None
    ctx = JobContext(claim.job, claim.task, tenant, claim.user_id, claim.attempt, claim.max_attempts)
    try:
        with TimeoutHandler(claim.timeout if timed else -1):
            return ctx, task_execute(spec, ctx, payload)
    except (Exception, TimeoutException) as exc:
        reason = _reason(exc, spec)
        if claim.attempt < claim.max_attempts and getattr(exc, "retry", True):
            delay = spec.backoff * (2 ** (claim.attempt - 1))
            _sql(RETRY, {**ids, "reason": reason, "delay": delay})
            logger.warning("job %s (%s) attempt %s/%s failed, retrying in %.1fs: %s",
                           claim.job, claim.task, claim.attempt, claim.max_attempts, delay, reason)
        else:
            _fail(ids, claim.task, claim.tenant_id, claim.user_id, reason, critical=spec.critical)
        return None


def _completed_notify(ctx: JobContext, result) -> None:
    if ctx.user_id and ctx.tenant is not None:
        from realtime.publish import notify_user

        notify_user(ctx.user_id, "job.completed", {"job": ctx.id, "task": ctx.task, "result": result},
                    tenant=ctx.tenant)


def task_execute(spec: TaskSpec, ctx: JobContext, payload: dict):
    """Run one attempt of a task in its tenant's schema (public again afterwards)."""
    data = spec.schema.model_validate(payload)
    schema_activate(ctx.tenant)  # issues SET search_path only when the schema changes
    try:
        return spec.func(ctx, data)
    finally:
        schema_activate(None)  # lazily: the SET happens only if public is queried next


def _reason(exc: BaseException, spec: TaskSpec) -> str:
    if isinstance(exc, TimeoutException):
        return f"timed out after {spec.timeout} s"
    if isinstance(exc, JobFailure):
        return str(exc)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]


def _fail(ids: dict, task_name: str, tenant_id, user_id, reason: str, *, critical: bool) -> None:
    from .services import job_failure_notify

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(FAIL, {**ids, "reason": reason})
            failed = cursor.fetchone()
        if failed is not None:
            job_failure_notify(job_id=ids["job"], task=task_name, tenant_id=tenant_id, user_id=user_id,
                               attempts=ids["attempt"], reason=reason, critical=critical)
