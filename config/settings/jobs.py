"""Background work: django-q2 on our PostgreSQL broker (jobs/broker.py), the tasks, the schedules,
the nightly maintenance."""

from __future__ import annotations

from config.env import env

# django-q2 runs the job system on our PostgreSQL broker (jobs/broker.py):
# leases, priorities, tenant fairness, LISTEN/NOTIFY wake-ups.
Q_CLUSTER = {
    "name": "platform",
    "broker_class": "jobs.broker.PostgresBroker",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 300,  # plain django-q2 tasks; a job's own timeout comes with it
    "retry": 360,  # lease of a plain django-q2 task
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 0,  # plain tasks' results are kept (maintenance prunes them); jobs record their own
    "ack_failures": True,
    "poll": env.float("Q_POLL", default=1.0),  # longest idle wait; enqueues wake the pusher at once
    "bulk": env.int("Q_BULK", default=4),
    "queue_limit": env.int("Q_QUEUE_LIMIT", default=4),  # small prefetch: priorities and fairness hold
    "cache": "platform",
    # A worker is replaced after this many tasks or above max_rss (KiB). django-q2's
    # default (500) leaves a slot empty for up to a guard cycle every 500 jobs:
    # a third of throughput on no-op jobs.
    "recycle": env.int("Q_RECYCLE", default=50_000),
    "max_rss": env.int("Q_MAX_RSS_KB", default=512 * 1024),
    "log_level": env("Q_LOG_LEVEL", default="WARNING"),
    "label": "Jobs (django-q2)",
}
# This process is a qcluster: set (JOBS_QCLUSTER_PROCESS=1) by whatever starts `manage.py qcluster`
# (config/devstack, tests/live.py, benchmarks/_bench.py, a deployment's process manager). Its
# connections then commit asynchronously, prepare the runner's statements and skip health checks
# (jobs/apps.py); every other process keeps Django's defaults.
JOBS_QCLUSTER_PROCESS = env.bool("JOBS_QCLUSTER_PROCESS", default=False)
# The modules declaring @job_task functions (jobs/registry.py imports them at start), then any a
# deployment adds.
JOBS_TASK_MODULES = [
    "jobs.tasks",
    "reports.tasks",
    "imports.tasks",
    "emails.tasks",
    "jobs.maintenance",
    "uploads.tasks",
    "webhooks.tasks",
    "documents.tasks",  # doc.announce (the throttled doc.updated), doc.compact
    "lifecycle.tasks",  # tenant.export
    "lifecycle.deletion_tasks",  # tenant.purge_due
    *env.list("JOBS_EXTRA_TASK_MODULES", default=[]),
]
JOBS_PLATFORM_SCHEDULES = {
    "tenant-schedules": {"func": "jobs.schedules.tenant_schedules_run", "cron": "* * * * *"},
    "maintenance": {"task": "maintenance.run", "cron": "0 2 * * *"},  # in TIME_ZONE
    # tenants pending deletion whose grace period ended are purged (lifecycle/deletion.py)
    "tenant-purge": {"task": "tenant.purge_due", "cron": env("TENANT_PURGE_SWEEP_CRON", default="*/5 * * * *")},
}
# What the nightly `maintenance.run` job cleans, in this order (jobs/maintenance.py).
# An app adds its own cleanup by declaring @maintenance_step functions in a module listed here.
MAINTENANCE_STEP_MODULES = [
    "accounts.maintenance",
    "tenants.maintenance",
    "jobs.maintenance",
    "uploads.maintenance",
    "webhooks.maintenance",
]  # uploads: the orphaned_files step; webhooks: the delivery log
JOBS_RETENTION_DAYS = env.int("JOBS_RETENTION_DAYS", default=30)  # finished jobs and django-q2 task rows
# Finished exports (lifecycle) kept per tenant: after each new archive, older rows and archives are deleted.
LIFECYCLE_EXPORTS_KEPT = env.int("LIFECYCLE_EXPORTS_KEPT", default=3)
LIFECYCLE_RESTORE_MAX_BYTES = env.int(
    "LIFECYCLE_RESTORE_MAX_BYTES", default=100 * 1024**3
)  # tenant_restore: decompressed bytes
AUTH_TOKEN_RETENTION_DAYS = env.int("AUTH_TOKEN_RETENTION_DAYS", default=30)  # expired/revoked tokens kept
