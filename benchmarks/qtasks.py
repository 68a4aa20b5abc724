"""Plain django-q2 tasks for the stock django-q2 side of benchmarks/jobs.py.

Stock django-q2 records no start time of its own (`Task.started` is set by
`async_task`, at enqueue), so the no-op returns the time it started running: the
result row then carries it, and enqueue→start can be measured as for our jobs.
"""

from __future__ import annotations

import time


def noop(value=None) -> float:
    return time.time()
