"""The steps of the nightly clean-up, declared where their data lives; jobs/maintenance.py runs them.

A step is declared in a module listed in settings.MAINTENANCE_STEP_MODULES and returns how
many rows (or files) it removed:

    @maintenance_step("orphaned_files", per_tenant=True)
    def orphaned_files_remove(*, now, tenant) -> int: ...   # runs in each tenant's schema

Steps delete in batches (`rows_delete`: a short transaction each), so a step that fails keeps
what was already removed, and must be idempotent: the job retries and every step runs again.
Steps run in module order, then declaration order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

BATCH = 5000  # rows per DELETE: short transactions, bounded memory


@dataclass(frozen=True)
class MaintenanceStep:
    name: str
    func: Callable[..., int]
    per_tenant: bool  # called once per tenant, with the tenant's schema active


_STEPS: dict[str, MaintenanceStep] = {}


def maintenance_step(name: str, *, per_tenant: bool = False):
    def register(func: Callable[..., int]) -> Callable[..., int]:
        if name in _STEPS and _STEPS[name].func is not func:
            raise RuntimeError(f"maintenance step {name!r} declared twice")
        _STEPS[name] = MaintenanceStep(name, func, per_tenant)
        return func

    return register


def maintenance_steps() -> list[MaintenanceStep]:
    """The declared steps, in the order of settings.MAINTENANCE_STEP_MODULES."""
    modules = list(settings.MAINTENANCE_STEP_MODULES)
    for module in modules:
        importlib.import_module(module)

    def position(step: MaintenanceStep) -> int:
        module = step.func.__module__
        return modules.index(module) if module in modules else len(modules)

    return sorted(_STEPS.values(), key=position)  # stable: declaration order within a module


def rows_delete(queryset: QuerySet) -> int:
    """Delete what `queryset` matches in batches of BATCH rows (cascades included);
    returns how many rows of its model went."""
    model = queryset.model
    removed = 0
    while True:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:BATCH])
        if not ids:
            return removed
        with transaction.atomic():
            _, per_model = model._base_manager.filter(pk__in=ids).delete()
        removed += per_model.get(model._meta.label, 0)
