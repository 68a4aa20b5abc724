"""Job system: no-op jobs through a real `manage.py qcluster` on the real broker, beside BullMQ.

One run prints, for our job system (jobs.broker.PostgresBroker, `Q_WORKERS` 2) and for
BullMQ (benchmarks/node/bullmq_noop.mjs: one Worker, concurrency 8, the profile's Redis,
completed jobs and return values kept), and the ratio ours / BullMQ:

- throughput: N no-op jobs, results recorded; jobs/s from the first job's start to the
  last job's result being recorded. Both sides drain N jobs enqueued in bulk: ours
  in one `job_enqueue_many` committed while the cluster runs, BullMQ's by `addBulk`
  before its Worker starts;
- latency: jobs enqueued one at a time at a paced rate while the workers are idle;
  enqueue->start and enqueue->finish p50/p99 (each side's own stamps: ours the job's
  columns, set with the database's clock; BullMQ's timestamp/processedOn/finishedOn).

`--rounds R` alternates the two sides R times (the machine is shared: read the
ratio of each round, not one side's figure across runs).

How cost grows (`--backlog 1000000 --tenants 1000`): after the rounds, the same N-job
throughput again, first with N jobs spread over T tenants and an otherwise empty
queue, then with B jobs of those T tenants ready in the queue (inserted in bulk by
SQL while the cluster is stopped; each tenant's n-th job gets its fair vt as an
enqueue would give it, so the tenants interleave). The cluster then drains the
backlog's head: jobs/s over its first N jobs' starts -> results, and the ratio to
the empty-queue figure (target >= 0.90). The T tenants are tenant rows of their
own (`bjt-NNNN`) without schemas — a no-op never touches its schema — deleted at
the end of the run (and before the next one starts).

Stock django-q2 (Redis and ORM brokers, child processes under
benchmarks/settings_stock_q2.py) is optional: `--with-stock`.

    .venv/bin/python -m config.devstack exec --profile bench-jobs -- .venv/bin/python benchmarks/jobs.py
    # options: --n 20000 --workers 2 --rate 100 --seconds 10 --rounds 1
    #          --backlog 1000000 --tenants 1000   --with-stock --stock-n 20000
    # about 40 s per round; --backlog 1000000 adds about 1.5 min; --with-stock about 2 min

(`cd benchmarks/node && npm ci` once first.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is called jobs.py and its folder comes first on sys.path: it would
# shadow the `jobs` app. Import the project from the root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from benchmarks import _bench  # noqa: E402  (after the sys.path fix above)

SLUG = "bench-jobs"
POLL = 0.25  # seconds between two "all done?" queries


def log_path(name: str) -> Path:
    return Path(os.environ.get("PLATFORM_DATA_DIR", ROOT / ".data" / "bench-jobs")) / f"{name}.log"


def wait_until(done, timeout: float, what: str) -> float:
    """Poll `done()` every POLL s; the time.time() at which it first held."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL)
    return time.time()


def paced(count: int, rate: float):
    """Yield 0..count-1 at `rate` per second (absolute schedule: no drift)."""
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield i


def ms(seconds: list[float]) -> str:
    p50, p99, mean = _bench.summary([s * 1000 for s in seconds])
    return f"p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  mean {mean:8.1f} ms  max {max(seconds) * 1000:8.1f} ms"


# --- ours ---------------------------------------------------------------------


def ours_setup():
    from django.db import connection

    from tenants.models import Tenant
    from tenants.services import tenant_create

    tenant = Tenant.objects.filter(slug=SLUG).first() or tenant_create(slug=SLUG, name="Jobs benchmark")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE jobs_queueentry, jobs_job CASCADE")
    return tenant


def ours_idle() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM jobs_queueentry WHERE job_id IS NOT NULL")
        return cursor.fetchone()[0] == 0


def ours_throughput(tenant, n: int, batch: int) -> dict:
    from django.db import connection
    from django.db.models import Count, Max, Min, Q

    from jobs.models import Job
    from jobs.services import job_build, job_enqueue_many

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE jobs_queueentry, jobs_job CASCADE")
    t0 = time.time()
    for start in range(0, n, batch):
        job_enqueue_many(job_build(tenant, "noop", {"value": i}) for i in range(start, min(n, start + batch)))
    enqueued = time.time()
    seen = wait_until(ours_idle, 600, f"{n} jobs")
    agg = Job.objects.aggregate(
        first=Min("started_at"),
        last=Max("finished_on"),
        total=Count("id"),
        done=Count("id", filter=Q(state="completed", result__isnull=False)),
        rerun=Count("id", filter=Q(attempts__gt=1)),
    )
    span = (agg["last"] - agg["first"]).total_seconds()
    return {
        "n": agg["total"],
        "completed": agg["done"],
        "reruns": agg["rerun"],
        "enqueue_s": enqueued - t0,
        "span_s": span,
        "wall_s": seen - t0,
    }


def ours_latency(tenant, rate: float, seconds: float) -> dict:
    from django.db import connection

    from jobs.models import Job
    from jobs.services import job_enqueue

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE jobs_queueentry, jobs_job CASCADE")
    count = int(rate * seconds)
    t0 = time.perf_counter()
    ids = [job_enqueue(tenant, "noop", {"value": i}).pk for i in paced(count, rate)]
    pace_s = time.perf_counter() - t0
    wait_until(ours_idle, 120, "the paced jobs")
    rows = list(Job.objects.filter(pk__in=ids).values_list("state", "created_at", "started_at", "finished_on"))
    done = [r for r in rows if r[0] == "completed"]
    return {
        "count": len(ids),
        "completed": len(done),
        "pace_s": pace_s,
        "start": [(r[2] - r[1]).total_seconds() for r in done],
        "finish": [(r[3] - r[1]).total_seconds() for r in done],
    }


def ours_config(args) -> str:
    from django.conf import settings

    q = settings.Q_CLUSTER
    return (
        f"workers {args.workers}, bulk {q['bulk']}, queue_limit {q['queue_limit']}, "
        f"recycle {q.get('recycle', 500)}, poll {q['poll']} s (LISTEN/NOTIFY wake-ups)"
    )


def ours_cluster(args) -> _bench.QCluster:
    """A started qcluster that has run 200 warm-up jobs."""
    from jobs.models import Job
    from jobs.services import job_build, job_enqueue_many

    tenant = ours_setup()
    cluster = _bench.QCluster(log_path("qcluster-ours"), {"Q_WORKERS": str(args.workers)}).start()
    try:
        warm = job_enqueue_many(job_build(tenant, "noop", {"value": i}) for i in range(200))
        wait_until(
            lambda: not Job.objects.filter(pk__in=[j.pk for j in warm]).exclude(state="completed").exists(),
            120,
            "the cluster to start (200 warm-up jobs)",
        )
    except BaseException:
        cluster.stop()
        raise
    return cluster


def ours(args, tenant) -> dict:
    """One round with the cluster running: throughput, then paced latency."""
    load_before = _bench.load()
    tp = ours_throughput(tenant, args.n, args.batch or args.n)
    lat = ours_latency(tenant, args.rate, args.seconds)
    return {
        "name": "ours: PostgresBroker, qcluster",
        "config": ours_config(args),
        "throughput": tp,
        "latency": lat,
        "load": (load_before, _bench.load()),
    }


# --- BullMQ (node benchmarks/node/bullmq_noop.mjs) -----------------------------


def bullmq(args) -> dict:
    script = HERE / "node" / "bullmq_noop.mjs"
    if not (HERE / "node" / "node_modules" / "bullmq").exists():
        sys.exit("BullMQ is not installed: cd benchmarks/node && npm ci")
    load_before = _bench.load()
    out = subprocess.run(
        [
            "node",
            str(script),
            "--n",
            str(args.n),
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
            "--concurrency",
            "8",
        ],
        cwd=HERE / "node",
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["load"] = (load_before, _bench.load())
    return result


# --- how cost grows: many tenants, a deep backlog --------------------------------

BACKLOG_SLUG = "bjt-"


def backlog_tenants_drop() -> None:
    """Delete the tenant rows an earlier backlog run left (they have no schemas)."""
    from django.db import connection

    if "jobs_queueentry" not in connection.introspection.table_names():
        return  # a new profile: nothing migrated yet
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM jobs_queueentry WHERE fair_key IN (SELECT id FROM tenants_tenant WHERE slug LIKE %s)",
            [BACKLOG_SLUG + "%"],
        )
        cursor.execute(
            "DELETE FROM jobs_job WHERE tenant_id IN (SELECT id FROM tenants_tenant WHERE slug LIKE %s)",
            [BACKLOG_SLUG + "%"],
        )
        cursor.execute("DELETE FROM tenants_tenant WHERE slug LIKE %s", [BACKLOG_SLUG + "%"])


def backlog_tenants(count: int) -> list:
    from tenants.models import Tenant

    backlog_tenants_drop()
    return Tenant.objects.bulk_create(
        [
            Tenant(slug=f"{BACKLOG_SLUG}{i:04d}", name=f"Backlog tenant {i}", schema_name=f"bjt_{i:04d}")
            for i in range(count)
        ]
    )


def backlog_fill(tenants: list, count: int) -> float:
    """`count` ready no-op jobs, job i of tenant i % T, inserted by two INSERT … SELECT
    statements; each tenant's k-th job gets vt = clock + k (what `entries_create` gives a
    tenant's k-th job in an empty queue). Seconds taken."""
    from django.db import connection, transaction

    t0 = time.time()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO jobs_job (tenant_id, task, payload, state, priority, progress, message, attempts, max_attempts,
                                  timeout, critical, failed_reason, worker, created_at)
            SELECT (%(tenants)s::uuid[])[1 + (g %% %(t)s)], 'noop', jsonb_build_object('value', g), 'queued', 1, 0, '',
                   0, 3, 30, false, '', '', now()
              FROM generate_series(0, %(n)s - 1) g""",
            {"tenants": [t.pk for t in tenants], "t": len(tenants), "n": count},
        )
        cursor.execute(
            """
            INSERT INTO jobs_queueentry (job_id, fair_key, priority, vt, ready_at, lease_seconds, deliveries, held,
                                         created_at)
            SELECT j.id, j.tenant_id, 1,
                   (SELECT last_value FROM jobs_vclock) + row_number() OVER (PARTITION BY j.tenant_id ORDER BY j.id),
                   now(), 35, 0, false, now()
              FROM jobs_job j WHERE j.tenant_id = ANY(%(tenants)s::uuid[])""",
            {"tenants": [t.pk for t in tenants]},
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE jobs_job")
        cursor.execute("ANALYZE jobs_queueentry")
    return time.time() - t0


def first_n_throughput(n: int) -> dict:
    """Jobs/s over the first n jobs to finish: first start -> n-th result."""
    from jobs.models import Job

    def enough():
        return Job.objects.filter(state="completed").count() >= n

    wait_until(enough, 600, f"{n} backlog jobs")
    done = Job.objects.filter(state="completed").order_by("finished_on")
    last = done.values_list("finished_on", flat=True)[n - 1]
    first = Job.objects.filter(started_at__isnull=False).order_by("started_at").values_list("started_at", flat=True)[0]
    rerun = Job.objects.filter(attempts__gt=1).count()
    return {"n": n, "completed": n, "reruns": rerun, "span_s": (last - first).total_seconds()}


def backlog(args) -> dict:
    """Empty queue vs a deep backlog, both over `args.tenants` tenants (see the docstring)."""
    from django.db import connection

    from jobs.services import job_build, job_enqueue_many

    tenants = backlog_tenants(args.tenants)
    try:
        cluster = ours_cluster(args)
        try:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE jobs_queueentry, jobs_job CASCADE")
            t0 = time.time()
            job_enqueue_many(job_build(tenants[i % len(tenants)], "noop", {"value": i}) for i in range(args.n))
            enqueue_s = time.time() - t0
            wait_until(ours_idle, 600, f"{args.n} jobs of {len(tenants)} tenants")
            empty = first_n_throughput(args.n)
            empty["enqueue_s"] = enqueue_s
        finally:
            cluster.stop()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE jobs_queueentry, jobs_job CASCADE")
        fill_s = backlog_fill(tenants, args.backlog)
        cluster = _bench.QCluster(log_path("qcluster-ours"), {"Q_WORKERS": str(args.workers)}).start()
        try:
            deep = first_n_throughput(args.n)
        finally:
            cluster.stop()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM jobs_queueentry WHERE job_id IS NOT NULL")
            left = cursor.fetchone()[0]
            cursor.execute("TRUNCATE jobs_queueentry, jobs_job CASCADE")
    finally:
        backlog_tenants_drop()
    return {
        "tenants": len(tenants),
        "backlog": args.backlog,
        "fill_s": fill_s,
        "empty": empty,
        "deep": deep,
        "left": left,
    }


# --- stock django-q2 (child process, settings_stock_q2) -------------------------


def stock_clear() -> None:
    from django.db import connection
    from django_q.brokers import get_broker

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE django_q_task, django_q_ormq")
    get_broker().delete_queue()  # the Redis list (the ORM broker's is the table above)


def stock_saved(count: int):
    from django_q.models import Task

    return lambda: Task.objects.filter(func="benchmarks.qtasks.noop").count() >= count


def stock_enqueue(n: int) -> float:
    """async_task n no-ops one at a time (django-q2 has no bulk enqueue); seconds taken."""
    from django_q.tasks import async_task

    t0 = time.time()
    for i in range(n):
        async_task("benchmarks.qtasks.noop", i)
    return time.time() - t0


def stock_throughput(n: int, enqueue_s: float, t0: float) -> dict:
    """Wait for n results; the run's figures (first start -> last result seen saved)."""
    from django.db.models import Count, Max, Q
    from django_q.models import Task

    seen = wait_until(stock_saved(n), 1800, f"{n} stock tasks")
    rows = Task.objects.filter(func="benchmarks.qtasks.noop")
    agg = rows.aggregate(total=Count("id"), ok=Count("id", filter=Q(success=True)), last=Max("stopped"))
    first = min(r for r in rows.filter(success=True).values_list("result", flat=True))
    # The last result row is written by the monitor after the worker's `stopped`:
    # the window ends when the rows were seen (within POLL s), not at `stopped`.
    return {
        "n": agg["total"],
        "completed": agg["ok"],
        "reruns": 0,
        "enqueue_s": enqueue_s,
        "span_s": seen - first,
        "span_stopped_s": agg["last"].timestamp() - first,
        "wall_s": seen - t0,
    }


def stock_latency(rate: float, seconds: float) -> dict:
    from django_q.models import Task
    from django_q.tasks import async_task

    stock_clear()
    count = int(rate * seconds)
    sent: dict[str, float] = {}
    t0 = time.perf_counter()
    for i in paced(count, rate):
        at = time.time()
        sent[async_task("benchmarks.qtasks.noop", i)] = at
    pace_s = time.perf_counter() - t0
    wait_until(stock_saved(count), 300, "the paced stock tasks")
    rows = list(Task.objects.filter(id__in=list(sent), success=True).values_list("id", "result", "stopped"))
    return {
        "count": count,
        "completed": len(rows),
        "pace_s": pace_s,
        "start": [result - sent[tid] for tid, result, _ in rows],
        "finish": [stopped.timestamp() - sent[tid] for tid, _, stopped in rows],
    }


def stock(args) -> dict:
    """Runs in a child process whose DJANGO_SETTINGS_MODULE is benchmarks.settings_stock_q2.

    Throughput twice: enqueued one at a time while the cluster runs (on 2 cores the
    enqueuing process then competes with the cluster, and with the Redis broker it is
    the slower side), and the same N enqueued first, then drained by a cluster
    started afterwards: what the cluster itself sustains."""
    from django.conf import settings
    from django_q.tasks import async_task

    from jobs.q2 import cluster_conf

    kind, conf = settings.STOCK_Q2_BROKER, cluster_conf()
    stock_clear()
    config = f"workers {conf.workers}, bulk {conf.bulk}, queue_limit {conf.queue_limit}, recycle {conf.recycle}" + (
        f", poll {conf.poll} s" if kind == "orm" else ", BLPOP"
    )
    env = {"Q_WORKERS": str(args.workers)}
    cluster = _bench.QCluster(log_path(f"qcluster-stock-{kind}"), env).start()
    try:
        for i in range(50):
            async_task("benchmarks.qtasks.noop", i)
        wait_until(stock_saved(50), 120, "the stock cluster to start (50 warm-up tasks)")
        load_before = _bench.load()
        stock_clear()
        t0 = time.time()
        concurrent = stock_throughput(args.stock_n, stock_enqueue(args.stock_n), t0)
        lat = stock_latency(args.rate, args.seconds)
    finally:
        cluster.stop()
    stock_clear()
    t0 = time.time()
    enqueue_s = stock_enqueue(args.stock_n)
    cluster = _bench.QCluster(log_path(f"qcluster-stock-{kind}"), env).start()
    try:
        drain = stock_throughput(args.stock_n, enqueue_s, t0)
        load_after = _bench.load()
    finally:
        cluster.stop()
    name = {"redis": "stock django-q2, Redis broker", "orm": "stock django-q2, ORM broker"}[kind]
    return {
        "name": name,
        "config": config,
        "throughput": drain,
        "concurrent": concurrent,
        "latency": lat,
        "load": (load_before, load_after),
    }


def stock_in_child(kind: str, args) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings_stock_q2", "STOCK_Q2_BROKER": kind}
    cmd = [
        sys.executable,
        __file__,
        "--stock",
        kind,
        "--workers",
        str(args.workers),
        "--rate",
        str(args.rate),
        "--seconds",
        str(args.seconds),
        "--stock-n",
        str(args.stock_n),
    ]
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- output -------------------------------------------------------------------


def report_throughput(label: str, tp: dict, how: str) -> None:
    print(
        f"  {label}: {tp['completed']:,} of {tp['n']:,} no-op jobs completed with results recorded "
        f"in {tp['span_s']:.2f} s (first start -> last result) -> {tp['completed'] / tp['span_s']:,.0f} jobs/s"
    )
    pad = " " * (len(label) + 4)
    if "span_stopped_s" in tp:
        print(f"{pad}(to the last worker `stopped`: {tp['span_stopped_s']:.2f} s; the monitor saves results after it)")
    print(
        f"{pad}enqueue ({how}): {tp['enqueue_s']:.2f} s -> {tp['n'] / tp['enqueue_s']:,.0f} jobs/s; "
        f"enqueue start -> all recorded {tp['wall_s']:.2f} s; jobs run more than once: {tp['reruns']}"
    )


def report(result: dict, args) -> None:
    tp, lat = result["throughput"], result["latency"]
    print(f"\n{result['name']}  ({result['config']})")
    print(f"  load average before / after: {result['load'][0]} / {result['load'][1]}")
    if result["name"].startswith("ours"):
        report_throughput("throughput", tp, "bulk, job_enqueue_many, while the cluster runs")
    elif result["name"].startswith("BullMQ"):
        report_throughput("throughput", tp, "addBulk x1000, before the Worker starts")
    else:
        report_throughput("throughput", tp, "one at a time, async_task, before the cluster starts")
        report_throughput("while enqueuing", result["concurrent"], "one at a time, async_task, while the cluster runs")
    print(
        f"  latency: {lat['count']} jobs one at a time at {args.rate:g}/s "
        f"(enqueued in {lat['pace_s']:.2f} s), {lat['completed']} completed"
    )
    if lat["start"]:
        print(f"    enqueue -> start   {ms(lat['start'])}")
        print(f"    enqueue -> finish  {ms(lat['finish'])}")


def rate(r: dict) -> float:
    return r["throughput"]["completed"] / r["throughput"]["span_s"]


def p50(samples: list[float]) -> float:
    return _bench.percentile(samples, 50) * 1000 if samples else float("nan")


def summary(results: list[dict]) -> None:
    print("\nsummary                                   jobs/s   start p50   start p99   finish p50")
    for r in results:
        lat = r["latency"]
        p99 = _bench.percentile(lat["start"], 99) * 1000 if lat["start"] else float("nan")
        tag = f"{r['name']}" + (f" #{r['round']}" if "round" in r else "")
        print(f"  {tag:<38} {rate(r):7,.0f}   {p50(lat['start']):7.1f} ms  {p99:7.1f} ms  {p50(lat['finish']):8.1f} ms")


def report_backlog(b: dict, single: float | None) -> None:
    e, d = b["empty"], b["deep"]
    er, dr = e["completed"] / e["span_s"], d["completed"] / d["span_s"]
    print(
        f"\nhow cost grows: {b['tenants']:,} tenants, backlog {b['backlog']:,} ready jobs "
        f"(inserted in {b['fill_s']:.1f} s by SQL, cluster stopped)"
    )
    print(
        f"  empty queue: {e['n']:,} jobs of {b['tenants']:,} tenants (job_enqueue_many, {e['enqueue_s']:.2f} s) "
        f"-> {er:,.0f} jobs/s"
    )
    print(
        f"  backlog:     first {d['n']:,} of {b['backlog']:,} ready jobs -> {dr:,.0f} jobs/s "
        f"({b['left']:,} still queued when stopped; run more than once: {d['reruns']})"
    )
    print(
        f"  backlog / empty queue: {dr / er:.2f}  (target >= 0.90)"
        + (f"; backlog / one tenant, empty queue (rounds above): {dr / single:.2f}" if single else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="no-op jobs for the throughput run")
    parser.add_argument("--batch", type=int, default=0, help="jobs per job_enqueue_many call (0: all N in one)")
    parser.add_argument("--workers", type=int, default=2, help="Q_WORKERS of the cluster")
    parser.add_argument("--rate", type=float, default=100, help="jobs/s for the latency run")
    parser.add_argument("--seconds", type=float, default=10, help="length of the latency run")
    parser.add_argument("--rounds", type=int, default=1, help="ours then BullMQ, this many times")
    parser.add_argument("--skip-bullmq", action="store_true")
    parser.add_argument("--backlog", type=int, default=0, help="how cost grows: ready jobs queued (e.g. 1000000)")
    parser.add_argument("--tenants", type=int, default=1000, help="how cost grows: tenants the jobs belong to")
    parser.add_argument("--with-stock", action="store_true", help="also stock django-q2 (Redis and ORM brokers)")
    parser.add_argument("--stock-n", type=int, default=20_000, help="tasks for stock django-q2's throughput run")
    parser.add_argument("--stock", choices=["redis", "orm"], help=argparse.SUPPRESS)  # the child's mode
    args = parser.parse_args()

    _bench.require_services()
    _bench.django_setup()
    if args.stock:
        print(json.dumps(stock(args)))
        return

    from django.conf import settings

    print(f"Jobs: no-op jobs through a real qcluster (benchmark tenant {SLUG!r}) beside BullMQ")
    print(
        f"machine: {_bench.machine()}; Redis {_bench.redis_version()}; "
        f"node {subprocess.run(['node', '--version'], stdout=subprocess.PIPE, text=True).stdout.strip()}"
    )
    print(f"database: {settings.DATABASES['default']['NAME']} (profile data {os.environ.get('PLATFORM_DATA_DIR')})")
    backlog_tenants_drop()  # rows an interrupted backlog run left: no schemas, so not for migrate
    _bench.manage("migrate_schemas", "--noinput")
    results, ratios = [], []
    for i in range(1, args.rounds + 1):
        cluster = ours_cluster(args)
        try:
            from tenants.models import Tenant

            mine = ours(args, Tenant.objects.get(slug=SLUG))
        finally:
            cluster.stop()
        report(mine, args)
        mine["round"] = i
        results.append(mine)
        if not args.skip_bullmq:
            theirs = bullmq(args)
            report(theirs, args)
            theirs["round"] = i
            results.append(theirs)
            ratios.append(rate(mine) / rate(theirs))
    if args.with_stock:
        for kind in ("redis", "orm"):
            results.append(stock_in_child(kind, args))
            report(results[-1], args)
    summary(results)
    if ratios:
        print(
            "ours / BullMQ jobs/s, per round: "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + "  (target >= 1.5; start p50 <= 5 ms)"
        )
    if args.backlog:
        singles = [rate(r) for r in results if r["name"].startswith("ours")]
        single = statistics.median(singles) if singles else None
        report_backlog(backlog(args), single)


if __name__ == "__main__":
    main()
