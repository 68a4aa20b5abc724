"""What a qcluster worker runs for a job: claim it, run its task in its
tenant's schema, record the outcome and drop its queue entry in one transaction.

The broker hands each worker `job_run(job_id, entry_id, delivery)`. The claim
only succeeds for the current delivery of a live entry, so a delivery that
lost its lease (and was handed to someone else) or a cancelled job never runs.
"""
from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass, field

import psycopg
from django.db import connection, transaction
from django_q.exceptions import TimeoutException

from tenants.context import schema_activate
from tenants.models import Tenant

from .broker import worker_name
from .registry import TaskSpec, task_get

logger = logging.getLogger("jobs")

CLAIM = """
WITH lease AS (
  UPDATE public.jobs_queueentry SET ready_at = now() + make_interval(secs => lease_seconds)
   WHERE id = %(entry)s AND deliveries = %(delivery)s RETURNING id)
UPDATE public.jobs_job j SET state = 'active', attempts = j.attempts + 1, started_at = now(), worker = %(worker)s,
       message = ''
  FROM lease WHERE j.id = %(job)s AND j.state IN ('queued', 'scheduled', 'retrying', 'active')
RETURNING j.task, j.payload, j.tenant_id, j.attempts, j.max_attempts, j.created_by_id
"""
COMPLETE = """
WITH upd AS (
  UPDATE public.jobs_job SET state = 'completed', progress = 100, result = %(result)s, finished_on = now(),
         worker = '', failed_reason = ''
   WHERE id = %(job)s AND attempts = %(attempt)s AND state = 'active' RETURNING id)
DELETE FROM public.jobs_queueentry WHERE id = %(entry)s AND EXISTS (SELECT 1 FROM upd)
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


def job_run(job_id: int, entry_id: int, delivery: int) -> None:
    row = _sql(CLAIM, {"entry": entry_id, "delivery": delivery, "job": job_id, "worker": worker_name()})
    if row is None:
        return  # cancelled, finished, or this delivery's lease was lost to another one
    task_name, payload, tenant_id, attempt, max_attempts, user_id = row
    if isinstance(payload, str):
        payload = json.loads(payload)
    ids = {"job": job_id, "entry": entry_id, "attempt": attempt}
    if attempt > max_attempts:  # earlier attempts died with their worker (killed, or stuck past the timeout)
        _fail(ids, task_name, tenant_id, user_id, f"the worker running attempt {attempt - 1} died", critical=False)
        return
    spec = task_get(task_name)
    tenant = _tenant(tenant_id) if tenant_id else None
    if spec is None or (tenant_id and tenant is None):
        reason = f"unknown task {task_name!r}" if spec is None else "the tenant no longer exists"
        _fail(ids, task_name, tenant_id, user_id, reason, critical=True)
        return
    ctx = JobContext(job_id, task_name, tenant, user_id, attempt, max_attempts)
    try:
        result = task_execute(spec, ctx, payload)
    except (Exception, TimeoutException) as exc:
        reason = _reason(exc, spec)
        if attempt < max_attempts and getattr(exc, "retry", True):
            delay = spec.backoff * (2 ** (attempt - 1))
            _sql(RETRY, {**ids, "reason": reason, "delay": delay})
            logger.warning("job %s (%s) attempt %s/%s failed, retrying in %.1fs: %s",
                           job_id, task_name, attempt, max_attempts, delay, reason)
        else:
            _fail(ids, task_name, tenant_id, user_id, reason, critical=spec.critical)
        return
    _sql(COMPLETE, {**ids, "result": json.dumps(result)})
    if user_id and tenant is not None:
        from realtime.publish import notify_user

        notify_user(user_id, "job.completed", {"job": job_id, "task": task_name, "result": result}, tenant=tenant)


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
