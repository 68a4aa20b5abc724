"""Job tasks only the benchmarks run (benchmarks/jobs_fault.py).

Loaded by the enqueuing script and by the qcluster through
JOBS_EXTRA_TASK_MODULES=benchmarks.jobtasks (config/settings/jobs.py).

`bench.sleep_record` stands for a task with a side effect that must happen once
per job although the job may run more than once (at-least-once delivery): it
credits an account, keyed by the job id. Its tables live in `public` and are
created by the fault script:

- `bench_fault_run`: one row per execution, written when the attempt starts and
  never deduplicated — the raw count of at-least-once executions;
- `bench_fault_effect` (job_id primary key) and `bench_fault_account`: the
  idempotent effect. One transaction inserts the job's key with
  ON CONFLICT DO NOTHING and adds 1 to the balance only if the key was new, so a
  re-run after the effect committed finds the key and credits nothing. The same
  transaction counts every execution that reached the effect (`naive`): what a
  task without the key would have credited.

The task sleeps half its time before the effect and half after, so a kill can land
on either side of it: before (the re-run applies the effect) or after (the re-run
must not apply it again).
"""

from __future__ import annotations

import os
import time

from django.db import connection, transaction

from jobs.registry import Payload, job_task


class SleepRecordPayload(Payload):
    ms: int


@job_task("bench.sleep_record", schema=SleepRecordPayload, timeout=30, max_attempts=3, backoff=0.5)
def sleep_record(job, payload: SleepRecordPayload):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.bench_fault_run (job_id, attempt, pid) VALUES (%s, %s, %s)",
            [job.id, job.attempt, os.getpid()],
        )
    time.sleep(payload.ms / 2000)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.bench_fault_effect (job_id, attempt) VALUES (%s, %s) ON CONFLICT (job_id) DO NOTHING",
            [job.id, job.attempt],
        )
        applied = cursor.rowcount == 1
        cursor.execute(
            "UPDATE public.bench_fault_account SET balance = balance + %s, naive = naive + 1 WHERE id = 1",
            [1 if applied else 0],
        )
    time.sleep(payload.ms / 2000)
    return {"applied": applied, "attempt": job.attempt}
