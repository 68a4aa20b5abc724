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

Its SQL is in jobs/queue_sql.py (the pick shared with the broker's DEQUEUE);
django-q2's timeout, timer and process title are behind jobs/q2.py.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass, field

import psycopg
from django.db import connection, transaction

from tenants.context import schema_activate
from tenants.models import Tenant

from . import q2
from .broker import RUNNER, worker_name
from .queue_sql import CLAIM, CLAIM_SIZES, COMPLETE_CLAIM, FAIL, PROGRESS, RECORD, RELEASE_CLAIMS, RETRY, UNLEASE_HELD
from .registry import TaskSpec, task_get

logger = logging.getLogger("jobs")

JobTimeout = q2.TimeoutException  # raised in a task that runs past its timeout: a SystemExit, not an Exception


def claim_size(wanted: int) -> int:
    """The CLAIM_SIZES entry a batch of `wanted` jobs claims (0: none)."""
    return max((size for size in CLAIM_SIZES if size <= wanted), default=0)


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
        _sql(PROGRESS, {"pct": pct, "message": message, "job": self.id})
        if self.user_id and self.tenant is not None:
            from realtime.engine.publish import notify_user

            notify_user(
                self.user_id,
                "job.progress",
                {"job": self.id, "task": self.task, "progress": pct, "message": message},
                tenant=self.tenant,
            )


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


class WorkerSlot(q2.WorkerSlot):
    """The django-q2 worker process this runner is in, for the jobs it runs
    after the one django-q2 handed it (see job_run): django-q2 sets a worker's
    process title and its guard timer once per task, so the runner does it per job."""

    def job_started(self, claim: Claim) -> None:
        self.task_started(name=f"job-{claim.job}", func=RUNNER, timeout=claim.timeout)


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
                    _release(claims[i + 1 :])
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
        params = {
            "jobs": [c.job for c, _, _ in done],
            "entries": [c.entry for c, _, _ in done],
            "attempts": [c.attempt for c, _, _ in done],
            "results": [json.dumps(result) for _, _, result in done],
        }
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
        _sql(
            RELEASE_CLAIMS,
            {
                "jobs": [c.job for c in claims],
                "entries": [c.entry for c in claims],
                "attempts": [c.attempt for c in claims],
            },
        )


def _attempt(claim: Claim, *, timed: bool) -> tuple[JobContext, object] | None:
    """Run one claimed attempt; (its context, its result) if it completed, else
    None once its retry or failure is recorded. `timed`: under its own SIGALRM
    timeout (django-q2 sets one per task only, around the whole run)."""
    payload = json.loads(claim.payload) if isinstance(claim.payload, str) else claim.payload
    ids = claim.ids
    # Earlier attempts died with their worker (killed, or stuck past the timeout).
    if claim.attempt > claim.max_attempts:
        _fail(
            ids,
            claim.task,
            claim.tenant_id,
            claim.user_id,
            f"the worker running attempt {claim.attempt - 1} died",
            critical=False,
        )
        return None
    spec = task_get(claim.task)
    tenant = _tenant(claim.tenant_id) if claim.tenant_id else None
    if spec is None or (claim.tenant_id and tenant is None):
        reason = f"unknown task {claim.task!r}" if spec is None else "the tenant no longer exists"
        _fail(ids, claim.task, claim.tenant_id, claim.user_id, reason, critical=True)
        return None
    ctx = JobContext(claim.job, claim.task, tenant, claim.user_id, claim.attempt, claim.max_attempts)
    try:
        with q2.timeout(claim.timeout if timed else None):
            return ctx, task_execute(spec, ctx, payload)
    except (Exception, JobTimeout) as exc:
        reason = _reason(exc, spec)
        if claim.attempt < claim.max_attempts and getattr(exc, "retry", True):
            delay = spec.backoff * (2 ** (claim.attempt - 1))
            _sql(RETRY, {**ids, "reason": reason, "delay": delay})
            logger.warning(
                "job %s (%s) attempt %s/%s failed, retrying in %.1fs: %s",
                claim.job,
                claim.task,
                claim.attempt,
                claim.max_attempts,
                delay,
                reason,
            )
        else:
            _fail(ids, claim.task, claim.tenant_id, claim.user_id, reason, critical=spec.critical)
        return None


def _completed_notify(ctx: JobContext, result) -> None:
    if ctx.user_id and ctx.tenant is not None:
        from realtime.engine.publish import notify_user

        notify_user(
            ctx.user_id, "job.completed", {"job": ctx.id, "task": ctx.task, "result": result}, tenant=ctx.tenant
        )


def task_execute(spec: TaskSpec, ctx: JobContext, payload: dict):
    """Run one attempt of a task in its tenant's schema (public again afterwards)."""
    data = spec.schema.model_validate(payload)
    schema_activate(ctx.tenant)  # issues SET search_path only when the schema changes
    try:
        return spec.func(ctx, data)
    finally:
        schema_activate(None)  # lazily: the SET happens only if public is queried next


def _reason(exc: BaseException, spec: TaskSpec) -> str:
    if isinstance(exc, JobTimeout):
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
            job_failure_notify(
                job_id=ids["job"],
                task=task_name,
                tenant_id=tenant_id,
                user_id=user_id,
                attempts=ids["attempt"],
                reason=reason,
                critical=critical,
            )
