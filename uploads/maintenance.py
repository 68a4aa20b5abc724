"""The nightly `orphaned_files` step (jobs/maintenance.py): uploads.cleanup in every tenant, with the sweep."""
from __future__ import annotations

from datetime import datetime

from jobs.maintenance import maintenance_step

from .cleanup import uploads_cleanup


@maintenance_step("orphaned_files", per_tenant=True)
def orphaned_files_remove(*, now: datetime, tenant) -> int:
    return uploads_cleanup(tenant=tenant, now=now, sweep=True)
