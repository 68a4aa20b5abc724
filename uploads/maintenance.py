"""The nightly `orphaned_files` step (common/maintenance.py): uploads.cleanup in every tenant, with the sweep."""

from __future__ import annotations

from datetime import datetime

from common.maintenance import maintenance_step

from .cleanup import uploads_cleanup


@maintenance_step("orphaned_files", per_tenant=True)
def orphaned_files_remove(*, now: datetime, tenant) -> int:
    return uploads_cleanup(tenant=tenant, now=now, sweep=True)
