"""What a qcluster worker runs for a job: claim it, run its task in its
tenant's schema, record the outcome and drop its queue entry in one transaction.

The broker hands each worker `job_run(job_id, entry_id, delivery)`. The claim
only succeeds for the current delivery of a live entry, so a delivery that
lost its lease (and was handed to someone else) or a cancelled job never runs.

A busy worker then takes the next ready jobs itself, in batches, for up to
LOOP_SECONDS: one statement records the outcomes of a batch and leases and
claims the next batch in (priority, vt) order (COMPLETE_CLAIM), so under load
a batch costs one round trip and no trip through django-q2's pusher, task
queue and monitor. Each job still runs under its own lease, timeout and
process title; a batch is sized to a few milliseconds of work (see _Run).
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

from .broker import PICK_LEASE, RUNNER, worker_name
from .registry import TaskSpec, task_get

try:
    import setproctitle
except ModuleNotFoundError:  # django-q2 treats it as optional too
    setproctitle = None

logger = logging.getLogger("jobs")

CLAIM = """
WITH lease AS (
  UPDATE public.jobs_queueentry SET leased_until = now() + make_interval(secs => lease_seconds)
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
UPDATE public.jobs_queueentry SET leased_until = NULL WHERE id = %(entry)s AND deliveries = %(delivery)s AND held
"""
# Many outcomes and the next claims in one statement: record the completed
# attempts of a batch, drop their entries, then lease and claim the next `size`
# ready jobs in (priority, vt) order (PICK_LEASE, as the broker's DEQUEUE).
# One round trip and one commit per batch while a worker has work (see job_run).
#
# The size is written into the statement, one statement per CLAIM_SIZES entry:
# with a constant LIMIT PostgreSQL keeps one generic plan per prepared statement,
# while `LIMIT $n` made it plan the whole statement again at every batch (a
# generic plan for an unknown limit expects hundreds of rows and hash-joins
# whole tables), about 0.6 ms of a 3 ms batch.
_OUTCOMES = """
WITH outcomes AS (
  SELECT * FROM unnest(%(jobs)s::bigint[], %(entries)s::bigint[], %(attempts)s::integer[], %(results)s::text[])
         AS o(job, entry, attempt, result)
), upd AS (
  UPDATE public.jobs_job j SET state = 'completed', progress = 100, result = o.result::jsonb, finished_on = now(),
         worker = '', failed_reason = ''
    FROM outcomes o WHERE j.id = ANY(%(jobs)s::bigint[]) AND j.id = o.job AND j.attempts = o.attempt
     AND j.state = 'active' RETURNING o.entry
), done AS (
  DELETE FROM public.jobs_queueentry e USING upd WHERE e.id = upd.entry RETURNING e.id
)"""
RECORD = _OUTCOMES + "\nSELECT count(*) FROM done"  # outcomes only: claims nothing
CLAIM_SIZES = (1, 2, 4, 8, 16, 32, 64)  # a batch claims the largest of these not above its size
_COMPLETE_CLAIM = _OUTCOMES + f""", best AS (
  -- the best priority waiting anywhere, leased entries included: a worker must not
  -- go on with default jobs while a high one sits in django-q2's task queue
  SELECT min(priority) AS priority FROM public.jobs_queueentry
   WHERE vt IS NOT NULL AND id <> ALL(%(entries)s::bigint[])
), {PICK_LEASE.format(where="AND job_id IS NOT NULL AND priority <= (SELECT priority FROM best)",
                      limit="{size}")}, claimed AS (
  UPDATE public.jobs_job j SET state = 'active', attempts = j.attempts + 1, started_at = now(), worker = %(worker)s,
         message = ''
    FROM leased WHERE j.id = leased.job_id AND j.state IN ('queued', 'scheduled', 'retrying', 'active')
  RETURNING j.id, leased.id AS entry, j.task, j.payload, j.tenant_id, j.attempts, j.max_attempts, j.created_by_id,
            j.timeout, leased.priority, leased.vt
)
SELECT id, entry, task, payload, tenant_id, attempts, max_attempts, created_by_id, timeout,
       (SELECT count(*) FROM clock), (SELECT count(*) FROM done)
  FROM claimed ORDER BY priority, vt, entry
"""
COMPLETE_CLAIM = {size: _COMPLETE_CLAIM.replace("{size}", str(size)) for size in CLAIM_SIZES}


def claim_size(wanted: int) -> int:
    """The CLAIM_SIZES entry a batch of `wanted` jobs claims (0: none)."""
    return max((size for size in CLAIM_SIZES if size <= wanted), default=0)


# Claimed jobs a worker will not start after all (the batch ran long, or a job of
# it failed): back to waiting at once, in their place (their vt is kept), with
# their attempt given back.
RELEASE_CLAIMS = """
WITH r AS (
  SELECT * FROM unnest(%(jobs)s::bigint[], %(entries)s::bigint[], %(attempts)s::integer[]) AS r(job, entry, attempt)
), back AS (
  UPDATE public.jobs_job j SET state = 'queued', attempts = j.attempts - 1, worker = ''
    FROM r WHERE j.id = r.job AND j.attempts = r.attempt AND j.state = 'active' RETURNING r.entry)
UPDATE public.jobs_queueentry e SET leased_until = NULL FROM back WHERE e.id = back.entry
"""
RETRY = """
WITH upd AS (
  UPDATE public.jobs_job SET state = 'retrying', failed_reason = %(reason)s, worker = ''
   WHERE id = %(job)s AND attempts = %(attempt)s AND state = 'active' RETURNING id)
UPDATE public.jobs_queueentry SET vt = NULL, ready_at = now() + make_interval(secs => %(delay)s),
       leased_until = NULL
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
BATCH_MAX = CLAIM_SIZES[-1]  # jobs one worker claims at once
BATCH_WINDOW = 0.005  # seconds of work (at the last batch's pace) a worker claims at once
FLUSH_AFTER = 0.005  # seconds a completed job's outcome waits for others before it is recorded
RELEASE_AFTER = 0.5  # seconds after which claimed jobs not started yet are released
PROGRESS_MIN_INTERVAL = 0.2  # seconds between two progress writes/events (100% always goes out)

_tenants: dict[str, tuple[float, Tenant]] = {}


TENANT_TTL = 5.0  # seconds a worker trusts the Tenant row it read (status, settings)


def _tenant(tenant_id) -> Tenant | None:
    """The job's tenant, cached in this worker for TENANT_TTL seconds."""
    cached = _tenants.get(str(tenant_id))
    if cached and time.monotonic() - cached[0] < TENANT_TTL:
        return cached[1]
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is not None:
        _tenants[str(tenant_id)] = (time.monotonic(), tenant)
    return tenant


def _tenants_load(tenant_ids) -> None:
    """Read the tenants of a claimed batch that are not cached (fresh) in one query:
    with many tenants interleaved by fairness, consecutive jobs rarely share one."""
    now = time.monotonic()
    missing = {str(t) for t in tenant_ids if t}
    missing = [t for t in missing if not (t in _tenants and now - _tenants[t][0] < TENANT_TTL)]
    if len(missing) > 1:
        for tenant in Tenant.objects.filter(pk__in=missing):
            _tenants[str(tenant.pk)] = (now, tenant)


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


def _sql_all(query: str, params: dict) -> list[tuple]:
    """_sql for a statement returning many rows."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, params, prepare=True)
        return cursor.fetchall() if cursor.description else []


@dataclass
class Claim:
    """One claimed attempt of a job: what CLAIM / COMPLETE_CLAIM return about it."""

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
    waiting and for up to LOOP_SECONDS, the next ones, in batches: the statement
    that records a batch's outcomes also claims the next batch (COMPLETE_CLAIM),
    so a busy worker spends one round trip per batch and no multiprocessing
    queue hop per job. A job that does not complete (retry, failure, timeout)
    ends the run, and the next job waits for the next task; so does every job
    outside a qcluster worker."""
    row = _sql(CLAIM, {"entry": entry_id, "delivery": delivery, "job": job_id, "worker": worker_name()})
    if row is None:  # cancelled, finished, this delivery's lease lost to another one, or its tenant suspended
        _sql(UNLEASE_HELD, {"entry": entry_id, "delivery": delivery})
        return
    claim = Claim(job_id, entry_id, *row)
    _Run(WorkerSlot.current()).go([claim], handed=claim)


class _Run:
    """One call of job_run: claimed jobs run one at a time, each under its own
    timeout; completed ones are recorded together, within FLUSH_AFTER of the
    first of them completing (so a slow job never holds back the results of the
    jobs before it). The next batch is as large as BATCH_WINDOW of work at the
    last batch's pace (at most BATCH_MAX): a batch of no-ops is dozens of jobs, a
    batch of slow jobs is one. Claimed jobs not started within RELEASE_AFTER of
    their claim are released (back to waiting, attempt given back): a batch never
    sits on jobs other workers could run, nor on a lease that could run out."""

    def __init__(self, slot: WorkerSlot | None):
        self.slot = slot
        self.deadline = time.monotonic() + LOOP_SECONDS
        self.done: list[tuple[Claim, JobContext, object]] = []  # completed, not recorded yet
        self.done_at = 0.0  # when the first of them completed

    def go(self, claims: list[Claim], *, handed: Claim | None = None) -> None:
        """Run `claims` and the batches claimed after them. `handed`: the job
        django-q2 handed the worker (it set the worker's title and timer for it)."""
        while claims:
            claimed_at = time.monotonic()
            _tenants_load(c.tenant_id for c in claims)
            for i, claim in enumerate(claims):
                now = time.monotonic()
                if self.done and now - self.done_at > FLUSH_AFTER:
                    self.record(0)
                if now - claimed_at > RELEASE_AFTER:
                    _release(claims[i:])
                    break
                if claim is not handed and self.slot is not None:
                    self.slot.job_started(claim)
                outcome = _attempt(claim, timed=self.slot is not None)
                if outcome is None:  # its retry or failure is recorded: stop here
                    self.record(0)
                    _release(claims[i + 1:])
                    return
                if not self.done:
                    self.done_at = time.monotonic()
                self.done.append((claim, *outcome))
            else:
                pace = (time.monotonic() - claimed_at) / len(claims)
                size = max(1, min(BATCH_MAX, int(BATCH_WINDOW / pace) if pace > 0 else BATCH_MAX))
                more = self.slot is not None and time.monotonic() < self.deadline
                claims = self.record(size if more else 0)
                continue
            claims = self.record(0)  # released the rest: record what ran, claim nothing

    def record(self, claim: int) -> list[Claim]:
        """Record the completed outcomes and claim up to `claim` next jobs, in one
        statement. Should it fail (a deadlock with a cancel, say), the outcomes
        are recorded on their own: they must not wait for a lease to run out."""
        done, self.done = self.done, []
        if not done and not claim:
            return []
        params = {"jobs": [c.job for c, _, _ in done], "entries": [c.entry for c, _, _ in done],
                  "attempts": [c.attempt for c, _, _ in done],
                  "results": [json.dumps(result) for _, _, result in done]}
        size = claim_size(claim)
        try:
            rows = _sql_all(COMPLETE_CLAIM[size], {**params, "worker": worker_name()}) if size else None
        except psycopg.errors.OperationalError:
            logger.warning("claiming the next jobs failed; recording %d outcome(s) alone", len(done), exc_info=True)
            rows = None
        if rows is None:
            if done:
                _sql(RECORD, params)
            rows = []
        for _, ctx, result in done:
            _completed_notify(ctx, result)
        return [Claim(*row[:9]) for row in rows]


def _release(claims: list[Claim]) -> None:
    if claims:
        _sql(RELEASE_CLAIMS, {"jobs": [c.job for c in claims], "entries": [c.entry for c in claims],
                              "attempts": [c.attempt for c in claims]})


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
