"""The import job: thin — it runs the import its payload names. One attempt:
a half-done import is not repeated behind the user's back (re-running the file
is safe and skips what is there)."""

from __future__ import annotations

from jobs.registry import Payload, job_task

from .services import members_import_run


class ImportPayload(Payload):
    file_key: str
    filename: str = ""


@job_task("import.members", schema=ImportPayload, timeout=300, max_attempts=1)
def import_members(job, payload: ImportPayload) -> dict:
    return members_import_run(tenant=job.tenant, user_id=job.user_id, file_key=payload.file_key, job=job)
