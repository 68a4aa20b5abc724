def error_code(response) -> str:
    """The stable code of an error response, after checking the one error shape."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]["code"]


def job_wait(job_or_id, *, states=None, timeout: float = 15):
    """The job once it reaches one of `states` (default: finished; fails the test after `timeout` s)."""
    import time

    from jobs.models import Job

    states = states or Job.FINISHED_STATES
    job_id = getattr(job_or_id, "pk", job_or_id)
    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(pk=job_id)
        if job.state in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job.state} after {timeout} s ({job.failed_reason})")
        time.sleep(0.05)


def tenant_files_remove(tenant) -> None:
    """Delete what a test stored for `tenant` in the default storage (tenants/<id>/…)."""
    from django.core.files.storage import default_storage

    def remove(folder: str) -> None:
        folders, files = default_storage.listdir(folder)
        for name in files:
            default_storage.delete(f"{folder}/{name}")
        for name in folders:
            remove(f"{folder}/{name}")

    if default_storage.exists(f"tenants/{tenant.pk}"):
        remove(f"tenants/{tenant.pk}")
