"""Realtime events of the job system (sent to the enqueuer's `user:<id>` channel)."""

from __future__ import annotations

from typing import Any

from realtime.engine.wire import EventData, event_declare


@event_declare("job.progress")
class JobProgress(EventData):
    job: int
    task: str
    progress: int
    message: str


@event_declare("job.completed")
class JobCompleted(EventData):
    job: int
    task: str
    result: Any = None


@event_declare("job.failed")
class JobFailed(EventData):
    job: int
    task: str
    attempts: int
    reason: str
