"""Stock django-q2 for benchmarks/jobs.py: the project's settings with django-q2's own
Redis broker (or, with STOCK_Q2_BROKER=orm, its ORM broker) instead of ours.

Everything else is django-q2's default (bulk 1, queue_limit workers², recycle 500,
poll 0.2 s for the ORM broker) except what the comparison needs: the same number of
workers, every result saved (save_limit 0: one Success row per task, as our jobs
record theirs), log level WARNING like ours (INFO logs a line per task), and no
scheduler (the platform's schedules belong to our cluster).

The qcluster processes still get what the `jobs` app does to any qcluster's
database connections (asynchronous commit, no per-task health check): both sides
run on the same database settings.
"""

from config.settings import *  # noqa: F403  (the platform's settings, then the stock broker)
from config.settings import REDIS_URL, env

STOCK_Q2_BROKER = env("STOCK_Q2_BROKER", default="redis")

Q_CLUSTER = {
    "name": "stock-q2",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 60,
    "retry": 120,  # django-q2 warns unless retry > timeout
    "save_limit": 0,
    "log_level": "WARNING",
    "scheduler": False,
    "label": "Stock django-q2 (benchmark)",
}
if STOCK_Q2_BROKER == "redis":
    # django-q2 passes a string to redis.from_url, which takes the launcher's
    # unix:///path/redis.sock (and ?db=N) as well as redis://host:port/N.
    Q_CLUSTER["redis"] = REDIS_URL
elif STOCK_Q2_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
else:
    raise ValueError(f"STOCK_Q2_BROKER={STOCK_Q2_BROKER!r}: redis or orm")
