"""Fault run: SIGKILL a qcluster worker mid-task, many times, under load.

Runs a real `manage.py qcluster` on the real broker, enqueues N `bench.sleep_record`
jobs (benchmarks/jobtasks.py: sleeps 50–200 ms and credits an account once per job,
keyed by the job id) and, while they run, kills a worker process with SIGKILL K
times: each time it picks an active job it has not hit before whose task body still
has at least 30 ms to run (from the attempt's first write and the sleep it was
given), takes the worker pid from `Job.worker` (host:pid), checks that this process
of the cluster is still running that job (its process title, set by django-q2 per
task) and kills it. Then it waits for every job to finish and reports:

- jobs lost (not completed; target 0), completed, failed;
- re-runs (jobs with attempts > 1) and raw executions beyond one per job (the
  at-least-once re-runs: expected > 0);
- duplicated side effects of the idempotent task (target 0), and how many a task
  without the idempotency key would have duplicated;
- how soon a killed job ran again;
- whether the cluster stalled. A worker killed outside a task body (idle, or in
  django-q2's bookkeeping after it) can die holding a lock that django-q2's other
  processes wait on forever: the cluster stops working without exiting. If no job
  finishes for --stall seconds the script restarts the cluster, as a supervisor
  with a liveness check would, and says so. `--anywhere` kills whenever the
  worker's title names the job, body or not, to show that.

    .venv/bin/python -m config.devstack exec --profile bench-jobs -- .venv/bin/python benchmarks/jobs_fault.py
    # options: --jobs 2000 --kills 100 --workers 2 --interval 0.6 --min-ms 50 --max-ms 200 --seed 1
    #          --stall 60 --anywhere
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # as in jobs.py
sys.path.insert(0, str(ROOT))

from benchmarks import _bench  # noqa: E402  (after the sys.path fix above)

SLUG = "bench-jobs"
TASK_ENV = {"JOBS_EXTRA_TASK_MODULES": "benchmarks.jobtasks"}
MARGIN = 0.03  # seconds: kill only if the task body still has this long to run
# Active jobs and the end of their current attempt's task body: the attempt's run
# row (written when the body starts) + the sleep the payload asks for.
BODY_END = """
SELECT j.id, j.worker, j.attempts,
       EXTRACT(EPOCH FROM r.started_at) + (j.payload->>'ms')::numeric / 1000 AS body_end
  FROM jobs_job j LEFT JOIN public.bench_fault_run r ON r.job_id = j.id AND r.attempt = j.attempts
 WHERE j.id BETWEEN %(low)s AND %(high)s AND j.state = 'active' AND j.worker <> ''
"""
TABLES = """
CREATE TABLE IF NOT EXISTS public.bench_fault_run (
  id bigserial PRIMARY KEY, job_id bigint NOT NULL, attempt integer NOT NULL, pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS public.bench_fault_effect (
  job_id bigint PRIMARY KEY, attempt integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS public.bench_fault_account (
  id integer PRIMARY KEY, balance bigint NOT NULL, naive bigint NOT NULL);
TRUNCATE public.bench_fault_run, public.bench_fault_effect, public.bench_fault_account;
INSERT INTO public.bench_fault_account VALUES (1, 0, 0);
TRUNCATE jobs_queueentry, jobs_job CASCADE;
"""


def sql(query: str, params=None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def running(pid: int, job_id: int) -> bool:
    """Whether process `pid` is running job `job_id` now (django-q2's per-task title)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return f"processing job-{job_id} '" in title


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="Q_WORKERS of the cluster")
    parser.add_argument("--interval", type=float, default=0.6, help="seconds between two kills")
    parser.add_argument("--min-ms", type=int, default=50)
    parser.add_argument("--max-ms", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for every job to finish")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--stall", type=float, default=60, help="restart the cluster when no job has finished for this many seconds"
    )
    parser.add_argument(
        "--anywhere",
        action="store_true",
        help="kill whenever the worker runs the job (also outside the task body, where "
        "django-q2's worker holds locks its sentinel needs)",
    )
    args = parser.parse_args()

    _bench.require_services()
    _bench.django_setup(**TASK_ENV)
    from django.db.models import Count, Q

    from jobs.models import Job
    from jobs.services import job_build, job_enqueue_many
    from tenants.models import Tenant
    from tenants.services import tenant_create

    print(f"Jobs fault run: SIGKILL of a worker mid-task, {args.kills} times, under load")
    print(f"machine: {_bench.machine()}")
    _bench.manage("migrate_schemas", "--noinput")
    tenant = Tenant.objects.filter(slug=SLUG).first() or tenant_create(slug=SLUG, name="Jobs benchmark")
    sql(TABLES)
    rng = random.Random(args.seed)
    log = Path(os.environ.get("PLATFORM_DATA_DIR", ROOT / ".data" / "bench-jobs")) / "qcluster-fault.log"
    log.unlink(missing_ok=True)
    cluster_env = {"Q_WORKERS": str(args.workers), **TASK_ENV}
    cluster = _bench.QCluster(log, cluster_env).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the cluster on the way out
    kills: list[tuple[int, int, int, float]] = []  # job id, attempt it was on, pid, time.time()
    restarts: list[float] = []  # seconds after the enqueue at which the cluster was found stalled
    try:
        warm = job_enqueue_many(job_build(tenant, "noop") for _ in range(20))
        deadline = time.monotonic() + 120
        while Job.objects.filter(pk__in=[j.pk for j in warm]).exclude(state="completed").exists():
            if time.monotonic() > deadline:
                sys.exit("the cluster did not start in 120 s")
            time.sleep(0.2)

        t0 = time.time()
        jobs = job_enqueue_many(
            job_build(tenant, "bench.sleep_record", {"ms": rng.randint(args.min_ms, args.max_ms)})
            for _ in range(args.jobs)
        )
        ids = [j.pk for j in jobs]
        mine = Job.objects.filter(pk__gte=min(ids), pk__lte=max(ids))
        hit: set[int] = set()
        host = socket.gethostname()
        progress = [-1, time.monotonic()]  # finished jobs, when that number last changed

        def unfinished() -> int:
            """Jobs not finished yet; restarts the cluster when none has finished for --stall s."""
            nonlocal cluster
            left = mine.exclude(state__in=Job.FINISHED_STATES).count()
            if left != progress[0]:
                progress[:] = [left, time.monotonic()]
            elif left and time.monotonic() - progress[1] > args.stall:
                restarts.append(time.time() - t0)
                print(
                    f"  no job finished for {args.stall:.0f} s ({left} left, {time.time() - t0:.0f} s in): "
                    f"the cluster is stalled; restarting it",
                    flush=True,
                )
                cluster.stop()
                cluster = _bench.QCluster(log, cluster_env).start()
                progress[1] = time.monotonic()
            return left

        while len(kills) < args.kills and unfinished():
            # active jobs not hit yet, with the end of their current attempt's task body
            candidates = sql(BODY_END, {"low": min(ids), "high": max(ids)})
            rng.shuffle(candidates)
            for job_id, worker, attempts, body_end in candidates:
                worker_host, pid = worker.rsplit(":", 1)
                pid = int(pid)
                if job_id in hit or worker_host != host or not cluster.member(pid):
                    continue
                if not args.anywhere and (body_end is None or time.time() > float(body_end) - MARGIN):
                    continue  # not (or no longer surely) inside the task body
                if running(pid, job_id):
                    os.kill(pid, signal.SIGKILL)
                    kills.append((job_id, attempts, pid, time.time()))
                    hit.add(job_id)
                    time.sleep(args.interval)
                    break
            else:
                time.sleep(0.01)
        kills_s = time.time() - t0

        deadline = time.monotonic() + args.timeout
        while unfinished() and time.monotonic() < deadline:
            time.sleep(0.5)
        elapsed = time.time() - t0
    finally:
        cluster.stop()

    states = dict(mine.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    agg = mine.aggregate(rerun=Count("id", filter=Q(attempts__gt=1)), total=Count("id"))
    extra_attempts = sum(max(0, a - 1) for a in mine.values_list("attempts", flat=True))
    completed = states.get("completed", 0)
    reasons = list(mine.filter(state="failed").values_list("failed_reason", flat=True)[:5])
    runs, run_jobs = sql(
        "SELECT count(*), count(DISTINCT job_id) FROM public.bench_fault_run WHERE job_id BETWEEN %s AND %s",
        [min(ids), max(ids)],
    )[0]
    effects = sql(
        "SELECT count(*) FROM public.bench_fault_effect WHERE job_id BETWEEN %s AND %s", [min(ids), max(ids)]
    )[0][0]
    balance, naive = sql("SELECT balance, naive FROM public.bench_fault_account WHERE id = 1")[0]
    completed_without_effect = sql(
        "SELECT count(*) FROM jobs_job j WHERE j.id BETWEEN %s AND %s AND j.state = 'completed' "
        "AND NOT EXISTS (SELECT 1 FROM public.bench_fault_effect e WHERE e.job_id = j.id)",
        [min(ids), max(ids)],
    )[0][0]
    # how soon a killed job's next attempt started (its run row), and whether it had one
    next_runs = {
        (job_id, attempt): started.timestamp()
        for job_id, attempt, started in sql(
            "SELECT job_id, attempt, started_at FROM public.bench_fault_run WHERE job_id = ANY(%s)",
            [[k[0] for k in kills]],
        )
    }
    again = [
        next_runs[(job_id, attempt + 1)] - at for job_id, attempt, _, at in kills if (job_id, attempt + 1) in next_runs
    ]
    mid_task = sum(1 for job_id, attempt, _, _ in kills if (job_id, attempt) in next_runs)
    log_text = log.read_text(errors="replace") if log.exists() else ""
    released = sum(int(n) for n in re.findall(r"released (\d+) job", log_text))

    lost = agg["total"] - completed
    print(
        f"jobs: {agg['total']} x bench.sleep_record ({args.min_ms}-{args.max_ms} ms, uniform; seed {args.seed}), "
        f"{args.workers} workers; load average now {_bench.load()}"
    )
    where = (
        "whenever it ran the job"
        if args.anywhere
        else f"inside the task body (>= {MARGIN * 1000:.0f} ms before its end)"
    )
    print(
        f"kills: {len(kills)} SIGKILLs of a worker running a job, each a different job, {where}, in {kills_s:.1f} s; "
        f"{mid_task} of them after the attempt had started the task body"
    )
    print(
        f"  cluster log: {log_text.count('reincarnated worker')} workers replaced by django-q2's sentinel, "
        f"{released} leases released at once by the broker's reaper (dead pid)"
    )
    if restarts:
        print(
            f"  STALLED {len(restarts)} time(s) (no job finished for {args.stall:.0f} s, at "
            f"{', '.join(f'{r:.0f} s' for r in restarts)}): the cluster was stopped and started again"
        )
    else:
        print("  the cluster never stalled (no restart)")
    unfinished = agg["total"] - sum(states.get(s, 0) for s in Job.FINISHED_STATES)
    print(
        f"all finished {elapsed:.1f} s after the enqueue"
        if not unfinished
        else f"{unfinished} jobs NOT finished {elapsed:.1f} s after the enqueue"
    )
    print(f"  completed                      {completed}")
    print(f"  lost (not completed)           {lost}   states: {states}" + (f" reasons: {reasons}" if reasons else ""))
    print(
        f"  jobs run more than once        {agg['rerun']} (attempts > 1); attempts beyond the first: {extra_attempts}"
    )
    print(
        f"  raw executions                 {runs} for {run_jobs} jobs: {runs - run_jobs} beyond one per job "
        f"(at-least-once re-runs)"
    )
    if again:
        p50, _, _ = _bench.summary([s * 1000 for s in again])
        print(
            f"  killed jobs that ran again     {len(again)} of {len(kills)}; kill -> next attempt started: "
            f"p50 {p50:.0f} ms, max {max(again) * 1000:.0f} ms"
        )
    print("idempotent effect (a credit keyed by the job id):")
    print(
        f"  jobs credited                  {effects}; completed jobs without their credit: {completed_without_effect}"
    )
    print(f"  balance                        {balance} -> duplicated side effects: {balance - effects}")
    print(
        f"  effect step executions         {naive}: without the key, {naive - effects} credits would have "
        f"been applied twice"
    )
    print("targets: 0 lost, 0 duplicated side effects")


if __name__ == "__main__":
    main()
