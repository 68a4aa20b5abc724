"""Job system: no-op jobs through a real `manage.py qcluster` on the real broker.

Prints, for our job system (jobs.broker.PostgresBroker) and then for stock django-q2
on its Redis broker and on its ORM broker:

- throughput: N no-op jobs; jobs/s sustained from the first job's start to the last
  job's result being recorded, and the enqueue rate. Ours are enqueued in bulk while
  the cluster runs. Stock django-q2 can only enqueue one at a time, which on two
  cores is slower than its Redis cluster drains: its N are timed twice, enqueued
  while the cluster runs ("enqueued during") and enqueued before it starts (the
  headline: what the cluster itself sustains);
- latency: jobs enqueued one at a time at a paced rate; enqueue→start and
  enqueue→finish p50/p99.

Ours: jobs of one benchmark tenant, enqueued in bulk (`job_enqueue_many(job_build(…))`)
for throughput and one by one (`job_enqueue`) for latency; a job's times are its own
columns (created_at when the enqueuer saved it, started_at and finished_on set by the
runner with the database's clock). Stock: `async_task("benchmarks.qtasks.noop")` one
at a time (django-q2 has no bulk enqueue), results saved as stock does (Success rows),
run in a child process under benchmarks/settings_stock_q2.py.

    .venv/bin/python -m config.devstack exec --profile bench-jobs -- .venv/bin/python benchmarks/jobs.py
    # options: --n 20000 --workers 2 --rate 100 --seconds 10 --stock-n 20000 --skip-stock
"""
from __future__ import annotations

import argparse
import json
import os
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

from benchmarks import _bench

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
    agg = Job.objects.aggregate(first=Min("started_at"), last=Max("finished_on"), total=Count("id"),
                                done=Count("id", filter=Q(state="completed", result__isnull=False)),
                                rerun=Count("id", filter=Q(attempts__gt=1)))
    span = (agg["last"] - agg["first"]).total_seconds()
    return {"n": agg["total"], "completed": agg["done"], "reruns": agg["rerun"], "enqueue_s": enqueued - t0,
            "span_s": span, "wall_s": seen - t0}


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
    return {"count": len(ids), "completed": len(done), "pace_s": pace_s,
            "start": [(r[2] - r[1]).total_seconds() for r in done],
            "finish": [(r[3] - r[1]).total_seconds() for r in done]}


def ours(args) -> dict:
    from django.conf import settings

    from jobs.models import Job
    from jobs.services import job_build, job_enqueue_many

    tenant = ours_setup()
    q = settings.Q_CLUSTER
    config = (f"workers {args.workers}, bulk {q['bulk']}, queue_limit {q['queue_limit']}, "
              f"recycle {q.get('recycle', 500)}, poll {q['poll']} s (LISTEN/NOTIFY wake-ups)")
    cluster = _bench.QCluster(log_path("qcluster-ours"), {"Q_WORKERS": str(args.workers)}).start()
    try:
        warm = job_enqueue_many(job_build(tenant, "noop", {"value": i}) for i in range(200))
        wait_until(lambda: not Job.objects.filter(pk__in=[j.pk for j in warm]).exclude(state="completed").exists(),
                   120, "the cluster to start (200 warm-up jobs)")
        load_before = _bench.load()
        tp = ours_throughput(tenant, args.n, args.batch or args.n)
        lat = ours_latency(tenant, args.rate, args.seconds)
        load_after = _bench.load()
    finally:
        cluster.stop()
    return {"name": "ours: PostgresBroker", "config": config, "throughput": tp, "latency": lat,
            "load": (load_before, load_after)}


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
    return {"n": agg["total"], "completed": agg["ok"], "reruns": 0, "enqueue_s": enqueue_s,
            "span_s": seen - first, "span_stopped_s": agg["last"].timestamp() - first, "wall_s": seen - t0}


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
    return {"count": count, "completed": len(rows), "pace_s": pace_s,
            "start": [result - sent[tid] for tid, result, _ in rows],
            "finish": [stopped.timestamp() - sent[tid] for tid, _, stopped in rows]}


def stock(args) -> dict:
    """Runs in a child process whose DJANGO_SETTINGS_MODULE is benchmarks.settings_stock_q2.

    Throughput twice: enqueued one at a time while the cluster runs (on 2 cores the
    enqueuing process then competes with the cluster, and with the Redis broker it is
    the slower side), and the same N enqueued first, then drained by a cluster
    started afterwards: what the cluster itself sustains."""
    from django.conf import settings
    from django_q.conf import Conf
    from django_q.tasks import async_task

    kind = settings.STOCK_Q2_BROKER
    stock_clear()
    config = (f"workers {Conf.WORKERS}, bulk {Conf.BULK}, queue_limit {Conf.QUEUE_LIMIT}, recycle {Conf.RECYCLE}"
              + (f", poll {Conf.POLL} s" if kind == "orm" else ", BLPOP"))
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
    return {"name": name, "config": config, "throughput": drain, "concurrent": concurrent, "latency": lat,
            "load": (load_before, load_after)}


def stock_in_child(kind: str, args) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings_stock_q2", "STOCK_Q2_BROKER": kind}
    cmd = [sys.executable, __file__, "--stock", kind, "--workers", str(args.workers), "--rate", str(args.rate),
           "--seconds", str(args.seconds), "--stock-n", str(args.stock_n)]
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- output -------------------------------------------------------------------

def report_throughput(label: str, tp: dict, how: str) -> None:
    print(f"  {label}: {tp['completed']:,} of {tp['n']:,} no-op jobs completed with results recorded "
          f"in {tp['span_s']:.2f} s (first start -> last result) -> {tp['completed'] / tp['span_s']:,.0f} jobs/s")
    pad = " " * (len(label) + 4)
    if "span_stopped_s" in tp:
        print(f"{pad}(to the last worker `stopped`: {tp['span_stopped_s']:.2f} s; "
              f"the monitor saves results after it)")
    print(f"{pad}enqueue ({how}): {tp['enqueue_s']:.2f} s -> {tp['n'] / tp['enqueue_s']:,.0f} jobs/s; "
          f"enqueue start -> all recorded {tp['wall_s']:.2f} s; jobs run more than once: {tp['reruns']}")


def report(result: dict, args) -> None:
    tp, lat = result["throughput"], result["latency"]
    print(f"\n{result['name']}  ({result['config']})")
    print(f"  load average before / after: {result['load'][0]} / {result['load'][1]}")
    if result["name"].startswith("ours"):
        report_throughput("throughput", tp, "bulk, job_enqueue_many, while the cluster runs")
    else:
        report_throughput("throughput", tp, "one at a time, async_task, before the cluster starts")
        report_throughput("while enqueuing", result["concurrent"], "one at a time, async_task, while the cluster runs")
    print(f"  latency: {lat['count']} jobs one at a time at {args.rate:g}/s "
          f"(enqueued in {lat['pace_s']:.2f} s), {lat['completed']} completed")
    if lat["start"]:
        print(f"    enqueue -> start   {ms(lat['start'])}")
        print(f"    enqueue -> finish  {ms(lat['finish'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="no-op jobs for the throughput run")
    parser.add_argument("--batch", type=int, default=0, help="jobs per job_enqueue_many call (0: all N in one)")
    parser.add_argument("--workers", type=int, default=2, help="Q_WORKERS of the cluster")
    parser.add_argument("--rate", type=float, default=100, help="jobs/s for the latency run")
    parser.add_argument("--seconds", type=float, default=10, help="length of the latency run")
    parser.add_argument("--stock-n", type=int, default=20_000, help="tasks for stock django-q2's throughput run")
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--only-stock", action="store_true")
    parser.add_argument("--stock", choices=["redis", "orm"], help=argparse.SUPPRESS)  # the child's mode
    args = parser.parse_args()

    _bench.require_services()
    _bench.django_setup()
    if args.stock:
        print(json.dumps(stock(args)))
        return

    from django.conf import settings

    print(f"Jobs: no-op jobs through a real qcluster (benchmark tenant {SLUG!r})")
    print(f"machine: {_bench.machine()}; Redis {_bench.redis_version()}")
    print(f"database: {settings.DATABASES['default']['NAME']} (profile data {os.environ.get('PLATFORM_DATA_DIR')})")
    _bench.manage("migrate_schemas", "--noinput")
    results = [] if args.only_stock else [ours(args)]
    if results:
        report(results[0], args)
    if not args.skip_stock:
        for kind in ("redis", "orm"):
            results.append(stock_in_child(kind, args))
            report(results[-1], args)

    print("\nsummary                               jobs/s   (enqueued during)   start p50   start p99   finish p50")
    for r in results:
        tp, lat = r["throughput"], r["latency"]
        during = r.get("concurrent", tp)
        p50 = _bench.percentile(lat["start"], 50) * 1000 if lat["start"] else float("nan")
        p99 = _bench.percentile(lat["start"], 99) * 1000 if lat["start"] else float("nan")
        f50 = _bench.percentile(lat["finish"], 50) * 1000 if lat["finish"] else float("nan")
        print(f"  {r['name']:<34} {tp['completed'] / tp['span_s']:7,.0f}   ({during['completed'] / during['span_s']:7,.0f})"
              f"          {p50:7.1f} ms  {p99:7.1f} ms  {f50:8.1f} ms")
    print("targets: BullMQ ~4,500 no-op jobs/s on this kind of machine; p50 enqueue->start <= 5 ms")


if __name__ == "__main__":
    main()
