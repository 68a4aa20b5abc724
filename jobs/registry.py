"""The tasks jobs may run, declared once with their payload schema and policy.

    @job_task("report.generate", schema=ReportPayload, timeout=300, max_attempts=3)
    def report_generate(job: JobContext, payload: ReportPayload) -> dict: ...

A task takes ids, not objects: its payload is validated JSON. It runs with its
tenant's schema active (`job.tenant`), and reports progress with
`job.progress(pct, message)`. What it returns (JSON) becomes the job's result.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from pydantic import BaseModel, ConfigDict, ValidationError


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmptyPayload(Payload):
    pass


@dataclass(frozen=True)
class TaskSpec:
    name: str
    func: Callable
    schema: type[BaseModel]
    timeout: int
    max_attempts: int
    backoff: float  # seconds before the 2nd attempt; doubles for each next one
    critical: bool
    platform: bool  # runs without a tenant (public schema)
    exposed: bool  # tenant admins may start it through POST /api/jobs

    def payload_validate(self, payload: Any) -> dict:
        return self.schema.model_validate(payload or {}).model_dump(mode="json")


_TASKS: dict[str, TaskSpec] = {}


def job_task(
    name: str,
    *,
    schema: type[BaseModel] = EmptyPayload,
    timeout: int = 300,
    max_attempts: int = 3,
    backoff: float = 5.0,
    critical: bool = False,
    platform: bool = False,
    exposed: bool = False,
):
    def register(func: Callable) -> Callable:
        if name in _TASKS and _TASKS[name].func is not func:
            raise RuntimeError(f"job task {name!r} declared twice")
        _TASKS[name] = TaskSpec(name, func, schema, timeout, max_attempts, backoff, critical, platform, exposed)
        return func

    return register


def task_get(name: str) -> TaskSpec | None:
    return _TASKS.get(name)


def tasks_declared() -> list[str]:
    return sorted(_TASKS)


def task_modules_import() -> None:
    for module in settings.JOBS_TASK_MODULES:
        importlib.import_module(module)


__all__ = ["Payload", "EmptyPayload", "TaskSpec", "job_task", "task_get", "tasks_declared", "ValidationError"]
