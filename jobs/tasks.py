"""Built-in tasks of the job system."""

from __future__ import annotations

from .registry import Payload, job_task


class NoopPayload(Payload):
    value: int | None = None


@job_task("noop", schema=NoopPayload, timeout=30, max_attempts=3, backoff=1.0, exposed=True)
def noop(job, payload: NoopPayload):
    """Does nothing: health checks and benchmarks."""
    return {"value": payload.value}
