"""The one module that touches django-q2's internals. Nothing else in the tree
imports them; tests/jobs/test_q2_adapter.py checks that, and checks everything
listed in RELIED_ON and SOURCE_FACTS against the installed django-q2 (verified
on the pin, 1.11.1), so an upgrade that removes or renames one fails that test
by name instead of breaking the queue silently.

What, and why:

- `Broker` (django_q.brokers): the base class of jobs.broker.PostgresBroker.
  django-q2 calls our overrides by name and pickles a broker into its processes
  (`__getstate__` / `__setstate__`, `get_connection(list_key)` from `__init__`).
- `Conf` (django_q.conf): the cluster's settings with django-q2's defaults
  applied (`cluster_conf`): bulk, poll and retry for the broker, the rest for
  the benchmarks' report.
- `SignedPackage` (django_q.signing) and the task package's keys: the broker
  hands the pusher signed task dicts, whose keys the worker and the monitor
  read (`task_package`).
- `scheduler` (django_q.scheduler): our pusher runs it every tick (1 s) instead
  of django-q2's sentinel every 30 s (`scheduler_run`).
- `TimeoutHandler` / `TimeoutException` (django_q.timeout, .exceptions): the
  SIGALRM timeout django-q2 puts around a task; the runner puts one around each
  job it runs (`timeout`), and tasks that clean up on a timeout catch
  `TimeoutException` (a SystemExit, not an Exception; re-exported as
  jobs.runner.JobTimeout).
- The worker's `timer` and process title (`WorkerSlot`): the sentinel stores a
  shared value on each worker's Process as `timer` and counts it down, killing
  the worker at 0 (a task stuck in C code that SIGALRM cannot interrupt);
  django-q2 sets it and the title once per task, the runner runs many jobs per
  task and sets them per job, as the worker would.

Public django-q2 API is used where it is needed, not through here:
`django_q.tasks`, `django_q.models`, `django_q.signals`,
`django_q.brokers.get_broker`, `django_q.status.Stat`.
"""

from __future__ import annotations

import multiprocessing
import uuid
from typing import NamedTuple

from django.utils import timezone
from django_q.brokers import Broker
from django_q.conf import Conf
from django_q.exceptions import TimeoutException
from django_q.signing import SignedPackage
from django_q.timeout import TimeoutHandler

try:
    import setproctitle
except ModuleNotFoundError:  # django-q2 treats it as optional too
    setproctitle = None

__all__ = [
    "Broker",
    "ClusterConf",
    "TimeoutException",
    "WorkerSlot",
    "cluster_conf",
    "scheduler_run",
    "task_package",
    "task_unpack",
    "timeout",
]

# What this module relies on, as data: tests/jobs/test_q2_adapter.py reads these two
# literals without importing this module (so it reports the missing name even when an
# import above fails) and checks them against the installed django-q2.
# "module:object" -> members it must have: "name" (an attribute), "name(p, q)" (a callable
# accepting parameters p and q), "(p, q)" (the object itself, callable so).
RELIED_ON = {
    "django_q.brokers:Broker": (
        "__init__(list_key)",
        "__getstate__()",
        "__setstate__(state)",
        "get_connection(list_key)",
        "enqueue(task)",
        "dequeue()",
        "acknowledge(task_id)",
        "fail(task_id)",
        "delete(task_id)",
        "queue_size()",
        "lock_size()",
        "purge_queue()",
        "delete_queue()",
        "ping()",
        "info()",
    ),
    "django_q.conf:Conf": ("WORKERS", "BULK", "POLL", "RETRY", "QUEUE_LIMIT", "RECYCLE"),
    "django_q.signing:SignedPackage": ("dumps(obj)", "loads(obj)"),
    "django_q.scheduler:scheduler": ("(broker)",),
    "django_q.timeout:TimeoutHandler": ("(timeout)", "__enter__()", "__exit__(exc_type, exc_value, traceback)"),
    "django_q.exceptions:TimeoutException": (),
    "django_q.worker:worker": ("(task_queue, result_queue, timer, timeout)",),
    "django_q.cluster:Sentinel": ("spawn_process(target)", "spawn_worker()", "guard()"),
}
# "module:function" -> text its source must contain: what django-q2 does with what we hand it.
SOURCE_FACTS = {
    "django_q.pusher:pusher": ("broker.dequeue()", "SignedPackage.loads(task[1])", 'task["ack_id"] = ack_id'),
    "django_q.worker:worker": (
        'task["func"]',
        'task["name"]',
        'task["args"]',
        'task["kwargs"]',
        'task.pop("timeout", timeout)',
        "with TimeoutHandler(timer_value)",
        "timer.value += 3",
        "f\"qcluster {proc_name} processing {task_name} '{func_name}'\"",
    ),
    "django_q.monitor:monitor": ('task.pop("ack_id", False)', 'task.get("ack_failure", False)'),
    "django_q.monitor:save_task": ('task.get("save", Conf.SAVE_LIMIT >= 0)', 'task["started"]', 'task["id"]'),
    "django_q.cluster:Sentinel.spawn_process": ("p.timer = args[2]",),
    "django_q.cluster:Sentinel.guard": ("p.timer.value -= cycle", "p.timer.value == 0"),
}

TIMER_MARGIN = 3  # seconds django-q2's worker adds to a task's timeout before its guard may kill it


class ClusterConf(NamedTuple):
    workers: int
    bulk: int
    poll: float
    retry: int
    queue_limit: int
    recycle: int


def cluster_conf() -> ClusterConf:
    """settings.Q_CLUSTER as django-q2 reads it (its defaults filled in)."""
    return ClusterConf(Conf.WORKERS, Conf.BULK, Conf.POLL, Conf.RETRY, Conf.QUEUE_LIMIT, Conf.RECYCLE)


def task_package(*, name: str, func: str, args: tuple, timeout: int) -> str:
    """A signed task for the pusher: a worker runs `func(*args)` (a dotted path)
    under `timeout` seconds, titled `name`; the monitor saves no Success row for it."""
    return SignedPackage.dumps(
        {
            "id": uuid.uuid4().hex,
            "name": name,
            "func": func,
            "args": args,
            "kwargs": {},
            "timeout": timeout,
            "started": timezone.now(),
            "save": False,
            "ack_failure": True,
        }
    )


def task_unpack(package: str) -> dict:
    """The task dict of a signed package (what the pusher hands a worker)."""
    return SignedPackage.loads(package)


def scheduler_run(broker: Broker) -> None:
    """One pass of django-q2's scheduler: due Schedules become tasks on `broker`."""
    from django_q.scheduler import scheduler  # imports django_q.tasks and models: only once apps are ready

    scheduler(broker=broker)


def timeout(seconds: int | None) -> TimeoutHandler:
    """A context manager raising TimeoutException after `seconds` (None: never), as around a django-q2 task."""
    return TimeoutHandler(-1 if seconds is None else seconds)


class WorkerSlot:
    """The django-q2 worker process we run in, for the tasks the runner starts
    itself: the guard's timer and the process title, set as django-q2's worker
    sets them at a task's start."""

    def __init__(self, process):
        self.timer = process.timer
        self.name = process.name

    @classmethod
    def current(cls) -> WorkerSlot | None:
        """This process's slot, or None outside a qcluster worker."""
        process = multiprocessing.current_process()
        return cls(process) if hasattr(process, "timer") else None

    def task_started(self, *, name: str, func: str, timeout: int) -> None:
        self.timer.value = timeout + TIMER_MARGIN
        if setproctitle is not None:
            setproctitle.setproctitle(f"qcluster {self.name} processing {name} '{func}'")
