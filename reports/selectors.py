"""Reads of reports, with their state taken from the job while it is unfinished."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db.models import QuerySet

from jobs.models import Job

from .errors import ReportNotFound, ReportNotReady
from .models import Report

# A job's state, as the state of the report it builds.
JOB_TO_REPORT = {
    Job.State.QUEUED: Report.State.QUEUED,
    Job.State.SCHEDULED: Report.State.QUEUED,
    Job.State.ACTIVE: Report.State.RUNNING,
    Job.State.RETRYING: Report.State.RUNNING,
    Job.State.COMPLETED: Report.State.COMPLETED,
    Job.State.FAILED: Report.State.FAILED,
    Job.State.CANCELLED: Report.State.CANCELLED,
}


def report_list(*, user, sees_all: bool) -> QuerySet[Report]:
    """The current tenant's reports: all of them for its admins, the user's own otherwise."""
    reports = Report.objects.all()
    if not sees_all:
        reports = reports.filter(created_by=user)
    return reports.order_by("-created_at")


def report_get(*, user, sees_all: bool, report_id) -> Report:
    report = report_list(user=user, sees_all=sees_all).filter(pk=report_id).first()
    if report is None:
        raise ReportNotFound(details={"report": str(report_id)})
    return report


def reports_with_jobs(reports) -> list[tuple[Report, Job | None]]:
    """Each report with its job (one query), for state and progress."""
    reports = list(reports)
    jobs = Job.objects.in_bulk([r.job_id for r in reports if r.job_id])
    return [(report, jobs.get(report.job_id)) for report in reports]


def report_state(report: Report, job: Job | None) -> str:
    """The report's own outcome once it has one; the job's state before that.
    A job that died without the report recording it (timeout, killed worker)
    shows as failed here; a pruned job leaves the report's last known state."""
    if report.is_finished or job is None:
        return report.state
    state = JOB_TO_REPORT[job.state]
    if state == Report.State.COMPLETED:  # the job finished but the report has no file: cannot happen
        return Report.State.FAILED
    return state


def report_file_open(*, tenant, report: Report):
    """(an open binary file, a download name) of a built report."""
    if report.state != Report.State.COMPLETED or not report.file_key:
        raise ReportNotReady(details={"report": str(report.pk), "state": report.state})
    if not report.file_key.startswith(f"tenants/{tenant.pk}/"):  # never another tenant's file
        raise ReportNotFound(details={"report": str(report.pk)})
    filename = f"{report.kind}-report-{report.finished_at:%Y-%m-%d}-{str(report.pk)[:8]}.csv"
    return default_storage.open(report.file_key, "rb"), filename
