"""Every SQL statement over the job queue, in one module: the broker (jobs/broker.py)
and the runner (jobs/runner.py) run these and write no queue SQL of their own.

Names come from the models: tables from `_meta.db_table`, schema-qualified (the
queue lives in public; the runner's statements run whatever schema the last task
left active), states from the models' choices; the columns used are checked
against the models when this module is imported, so a renamed field fails here,
not at the first job.

The order, written once (`pick_lease`, used by the broker's DEQUEUE and the
runner's COMPLETE_CLAIM):

- **ready**: the entry has a vt, is due (`ready_at`) and its lease is free
  (never leased, released, or run out): READY.
- **picked** in (priority, vt, id) order (PICK_ORDER), `FOR UPDATE SKIP LOCKED`.
- **leased**: `leased_until` = now() + its `lease_seconds`, `deliveries` + 1.
- **virtual time** (start-time fair queuing): an entry is stamped max(its
  tenant's newest vt, the clock) + n when it becomes ready (`fair_vt`: enqueue,
  promotion); the clock (the sequence VCLOCK) moves up to the newest vt a pick
  leased, never down (`pick_lease`'s `clock`).
"""

from __future__ import annotations

from django.db import models

from tenants.models import Tenant

from .models import Job, QueueEntry

QUEUE = f"public.{QueueEntry._meta.db_table}"
JOBS = f"public.{Job._meta.db_table}"
TENANTS = f"public.{Tenant._meta.db_table}"
VCLOCK = "public.jobs_vclock"  # the global virtual clock: a sequence (migration 0001), no model
CHANNEL = "jobs_ready"  # NOTIFY channel: ready work was enqueued


def _columns(model: type[models.Model], names: str) -> None:
    """The columns these statements use exist on `model` (a renamed field fails at import)."""
    missing = set(names.split()) - {f.column for f in model._meta.concrete_fields}
    if missing:
        raise LookupError(f"jobs/queue_sql.py uses columns {sorted(missing)} that {model.__name__} has no longer")


_columns(
    QueueEntry, "id job_id payload fair_key priority vt ready_at leased_until lease_seconds deliveries held created_at"
)
_columns(
    Job,
    "id tenant_id task payload state priority progress message attempts max_attempts timeout result"
    " failed_reason created_by_id worker started_at finished_on",
)
_columns(Tenant, "id status")


def _lit(*choices: models.TextChoices) -> str:
    return ", ".join(f"'{c.value}'" for c in choices)


_S = Job.State
_QUEUED, _ACTIVE, _RETRYING, _COMPLETED, _FAILED = map(
    _lit, (_S.QUEUED, _S.ACTIVE, _S.RETRYING, _S.COMPLETED, _S.FAILED)
)
_CLAIMABLE = _lit(*Job.WAITING_STATES, _S.ACTIVE)  # a delivery may (re)claim its job from these states
_TENANT_ACTIVE = _lit(Tenant.Status.ACTIVE)  # any other status (suspended, pending deletion) holds its jobs

# --- the order -----------------------------------------------------------------------

PICK_ORDER = "priority, vt, id"
# An entry nobody holds: never leased, released, or its lease ran out.
LEASE_FREE = "(leased_until IS NULL OR leased_until <= now())"
READY = f"vt IS NOT NULL AND ready_at <= now() AND {LEASE_FREE}"


def lease_until(alias: str = "") -> str:
    """When a lease taken now runs out (`alias`: the entry's table alias, with its dot)."""
    return f"now() + make_interval(secs => {alias}lease_seconds)"


def fair_vt(key: str) -> str:
    """The base vt of tenant `key` (an SQL expression): the n-th entry it makes ready gets base + n."""
    return (
        f"GREATEST(COALESCE((SELECT max(x.vt) FROM {QUEUE} x WHERE x.fair_key = {key}), 0),"
        f" (SELECT last_value FROM {VCLOCK}))"
    )


def pick_lease(*, limit: str, where: str = "") -> str:
    """The pick-and-lease CTEs (to follow `WITH` or a comma): `picked` takes up to
    `limit` READY entries in PICK_ORDER (`where`: more conditions, `AND …`),
    `leased` leases them (RETURNING id, job_id, payload, deliveries, lease_seconds,
    priority, vt) and `clock` moves the virtual clock up to the newest vt leased.
    `clock` is a plain SELECT: the statement must reference it (`(SELECT count(*)
    FROM clock)`) or PostgreSQL skips it and the clock stands still."""
    return f"""
picked AS (
  SELECT id FROM {QUEUE}
   WHERE {READY} {where}
  ORDER BY {PICK_ORDER} LIMIT {limit} FOR UPDATE SKIP LOCKED
), leased AS (
  UPDATE {QUEUE} e
     SET leased_until = {lease_until("e.")}, deliveries = e.deliveries + 1
    FROM picked WHERE e.id = picked.id
  RETURNING e.id, e.job_id, e.payload, e.deliveries, e.lease_seconds, e.priority, e.vt
), clock AS (
  SELECT setval('{VCLOCK}', top.vt) FROM (SELECT max(vt) AS vt FROM leased) top
   WHERE top.vt > (SELECT last_value FROM {VCLOCK})
)"""


CLOCK_MOVED = "(SELECT count(*) FROM clock)"  # reference to `clock` (see pick_lease)

# --- enqueue (jobs/broker.py) ----------------------------------------------------------------

NOTIFY = f"SELECT pg_notify('{CHANNEL}', '')"

# A plain django-q2 task (platform work): ready at once.
INSERT_RAW = f"""
WITH ins AS (
  INSERT INTO {QUEUE} (payload, fair_key, priority, vt, ready_at, lease_seconds, deliveries, created_at)
  VALUES (%(payload)s, %(key)s, 1, {fair_vt("%(key)s")} + 1, now(), %(lease)s, 0, now())
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
  SELECT d.fair_key, {fair_vt("d.fair_key")} AS base,
         EXISTS (SELECT 1 FROM {TENANTS} t WHERE t.id = d.fair_key AND t.status <> {_TENANT_ACTIVE}) AS held
    FROM (SELECT DISTINCT fair_key FROM rows) d
)
INSERT INTO {QUEUE} (job_id, fair_key, priority, vt, ready_at, lease_seconds, deliveries, held, created_at)
SELECT job_id, numbered.fair_key, priority,
       CASE WHEN NOT held AND (ready_at IS NULL OR ready_at <= now()) THEN base + k END, COALESCE(ready_at, now()),
       lease_seconds, 0, held, now()
FROM numbered JOIN bases USING (fair_key)
"""
# A suspended (or pending-deletion) tenant's entries wait, held (see QueueEntry.held): no vt, so
# DEQUEUE, PROMOTE and the runner never take them. A job queued while its tenant
# is suspended is held from the start (INSERT_JOBS). Races with an enqueue are
# closed by the tenant row: the suspension locks it FOR UPDATE, and the Job
# insert's foreign-key check takes FOR KEY SHARE on it, so the enqueue either
# commits before the hold (which then sees its entry) or reads the new status.
HOLD = f"UPDATE {QUEUE} SET held = true, vt = NULL WHERE fair_key = %s AND job_id IS NOT NULL AND NOT held"
# Released entries get a fresh vt on the next tick (PROMOTE), like delayed ones.
RELEASE = f"UPDATE {QUEUE} SET held = false WHERE fair_key = %s AND held"

# --- the broker's pusher (jobs/broker.py) -------------------------------------------------------------

DEQUEUE = f"""
WITH {pick_lease(limit="%(bulk)s")}
SELECT id, job_id, payload, deliveries, lease_seconds, {CLOCK_MOVED}
  FROM leased ORDER BY {PICK_ORDER}
"""

# Delayed entries (run_at, retry backoff) come due: give them their fair vt.
PROMOTE = f"""
WITH due AS (
  SELECT id, fair_key, ready_at FROM {QUEUE} WHERE vt IS NULL AND NOT held AND ready_at <= now()
     AND {LEASE_FREE}
  ORDER BY ready_at LIMIT 1000 FOR UPDATE SKIP LOCKED
), numbered AS (
  SELECT id, fair_key, row_number() OVER (PARTITION BY fair_key ORDER BY ready_at, id) AS k FROM due
), bases AS MATERIALIZED (
  SELECT d.fair_key, {fair_vt("d.fair_key")} AS base FROM (SELECT DISTINCT fair_key FROM due) d
), upd AS (
  UPDATE {QUEUE} e SET vt = bases.base + numbered.k
    FROM numbered JOIN bases USING (fair_key) WHERE e.id = numbered.id RETURNING e.job_id
), states AS (
  UPDATE {JOBS} j SET state = {_QUEUED} FROM upd
   WHERE j.id = upd.job_id AND j.state IN ({_lit(_S.SCHEDULED, _S.RETRYING)}) RETURNING j.id
)
SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM states)
"""
ENTRY_DELETE = f"DELETE FROM {QUEUE} WHERE id = %s"
QUEUE_SIZE = f"SELECT count(*) FROM {QUEUE} WHERE ready_at <= now() AND NOT held AND {LEASE_FREE}"
LOCK_SIZE = f"SELECT count(*) FROM {QUEUE} WHERE leased_until > now()"
PURGE = f"DELETE FROM {QUEUE} WHERE job_id IS NULL"
# The reaper: jobs running on this host's workers (host:pid), then the leases of the dead ones.
ACTIVE_WORKERS = f"SELECT id, worker FROM {JOBS} WHERE state = {_ACTIVE} AND worker LIKE %s"
LEASES_RELEASE = f"UPDATE {QUEUE} SET leased_until = NULL WHERE job_id = ANY(%s) AND leased_until > now()"

# --- the runner (jobs/runner.py) -----------------------------------------------------------------------

# A job's claim: its attempt starts. What a claim returns about the job (runner.Claim, after job and entry).
_JOB_CLAIM = f"state = {_ACTIVE}, attempts = j.attempts + 1, started_at = now(), worker = %(worker)s, message = ''"
_CLAIM_RETURNING = "j.task, j.payload, j.tenant_id, j.attempts, j.max_attempts, j.created_by_id, j.timeout"

# The delivery django-q2 handed a worker: its lease starts again from now.
CLAIM = f"""
WITH lease AS (
  UPDATE {QUEUE} SET leased_until = {lease_until()}
   WHERE id = %(entry)s AND deliveries = %(delivery)s AND NOT held RETURNING id)
UPDATE {JOBS} j SET {_JOB_CLAIM}
  FROM lease WHERE j.id = %(job)s AND j.state IN ({_CLAIMABLE})
RETURNING {_CLAIM_RETURNING}
"""
# CLAIM refused a delivery because the tenant was suspended after it was leased:
# the entry goes back to waiting now (not when the lease runs out), and the job
# has used no attempt. It runs once the tenant is reactivated.
UNLEASE_HELD = f"""
UPDATE {QUEUE} SET leased_until = NULL WHERE id = %(entry)s AND deliveries = %(delivery)s AND held
"""
# Many outcomes and the next claims in one statement: record the completed
# attempts of a batch, drop their entries, then lease and claim the next `size`
# ready jobs (pick_lease, as DEQUEUE). One round trip and one commit per batch
# while a worker has work (see runner.job_run).
#
# The size is written into the statement, one statement per CLAIM_SIZES entry:
# with a constant LIMIT PostgreSQL keeps one generic plan per prepared statement,
# while `LIMIT $n` made it plan the whole statement again at every batch (a
# generic plan for an unknown limit expects hundreds of rows and hash-joins
# whole tables), about 0.6 ms of a 3 ms batch.
_OUTCOMES = f"""
WITH outcomes AS (
  SELECT * FROM unnest(%(jobs)s::bigint[], %(entries)s::bigint[], %(attempts)s::integer[], %(results)s::text[])
         AS o(job, entry, attempt, result)
), upd AS (
  UPDATE {JOBS} j SET state = {_COMPLETED}, progress = 100, result = o.result::jsonb, finished_on = now(),
         worker = '', failed_reason = ''
    FROM outcomes o WHERE j.id = ANY(%(jobs)s::bigint[]) AND j.id = o.job AND j.attempts = o.attempt
     AND j.state = {_ACTIVE} RETURNING o.entry
), done AS (
  DELETE FROM {QUEUE} e USING upd WHERE e.id = upd.entry RETURNING e.id
)"""
RECORD = _OUTCOMES + "\nSELECT count(*) FROM done"  # outcomes only: claims nothing
CLAIM_SIZES = (1, 2, 4, 8, 16, 32, 64)  # a batch claims the largest of these not above its size


# The runner takes jobs only (not plain django-q2 tasks), and none of a worse priority than the best waiting.
_RUNNER_PICK = "AND job_id IS NOT NULL AND priority <= (SELECT priority FROM best)"


def _complete_claim(size: int) -> str:
    return (
        _OUTCOMES
        + f""", best AS (
  -- the best priority waiting anywhere, leased entries included: a worker must not
  -- go on with default jobs while a high one sits in django-q2's task queue
  SELECT min(priority) AS priority FROM {QUEUE}
   WHERE vt IS NOT NULL AND id <> ALL(%(entries)s::bigint[])
), {pick_lease(limit=str(size), where=_RUNNER_PICK)}, claimed AS (
  UPDATE {JOBS} j SET {_JOB_CLAIM}
    FROM leased WHERE j.id = leased.job_id AND j.state IN ({_CLAIMABLE})
  RETURNING j.id AS job, leased.id, {_CLAIM_RETURNING}, leased.priority, leased.vt
)
SELECT job, id, task, payload, tenant_id, attempts, max_attempts, created_by_id, timeout,
       {CLOCK_MOVED}, (SELECT count(*) FROM done)
  FROM claimed ORDER BY {PICK_ORDER}
"""
    )


COMPLETE_CLAIM = {size: _complete_claim(size) for size in CLAIM_SIZES}

# Claimed jobs a worker will not start after all (the batch ran long, or a job of
# it failed): back to waiting at once, in their place (their vt is kept), with
# their attempt given back.
RELEASE_CLAIMS = f"""
WITH r AS (
  SELECT * FROM unnest(%(jobs)s::bigint[], %(entries)s::bigint[], %(attempts)s::integer[]) AS r(job, entry, attempt)
), back AS (
  UPDATE {JOBS} j SET state = {_QUEUED}, attempts = j.attempts - 1, worker = ''
    FROM r WHERE j.id = r.job AND j.attempts = r.attempt AND j.state = {_ACTIVE} RETURNING r.entry)
UPDATE {QUEUE} e SET leased_until = NULL FROM back WHERE e.id = back.entry
"""
RETRY = f"""
WITH upd AS (
  UPDATE {JOBS} SET state = {_RETRYING}, failed_reason = %(reason)s, worker = ''
   WHERE id = %(job)s AND attempts = %(attempt)s AND state = {_ACTIVE} RETURNING id)
UPDATE {QUEUE} SET vt = NULL, ready_at = now() + make_interval(secs => %(delay)s),
       leased_until = NULL
 WHERE id = %(entry)s AND EXISTS (SELECT 1 FROM upd)
"""
FAIL = f"""
WITH upd AS (
  UPDATE {JOBS} SET state = {_FAILED}, failed_reason = %(reason)s, finished_on = now(), worker = ''
   WHERE id = %(job)s AND attempts = %(attempt)s AND state = {_ACTIVE} RETURNING id)
DELETE FROM {QUEUE} WHERE id = %(entry)s AND EXISTS (SELECT 1 FROM upd)
RETURNING (SELECT count(*) FROM upd)
"""
PROGRESS = f"UPDATE {JOBS} SET progress = %(pct)s, message = %(message)s WHERE id = %(job)s"
