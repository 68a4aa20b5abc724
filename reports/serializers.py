from rest_framework import serializers
from rest_framework.reverse import reverse

from .kinds import KINDS
from .models import Report
from .selectors import report_state


class ReportInputSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=32, help_text=f"One of {', '.join(KINDS)}.")
    params = serializers.JSONField(
        required=False,
        default=dict,
        help_text="members: none. activity: {since, until} (ISO dates, ≤ 366 days; "
        "default the last 30 days in the tenant's time zone).",
    )


class ReportCreatedSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    report_id = serializers.UUIDField()


class ReportOutputSerializer(serializers.Serializer):
    """Takes (report, job) pairs; `request` in the context for the download link."""

    id = serializers.UUIDField()
    kind = serializers.CharField()
    params = serializers.JSONField()
    state = serializers.CharField()
    progress = serializers.IntegerField()
    rows = serializers.IntegerField(allow_null=True)
    job_id = serializers.IntegerField(allow_null=True)
    failed_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.URLField(allow_null=True)

    def to_representation(self, instance):
        report, job = instance
        state = report_state(report, job)
        completed = state == Report.State.COMPLETED
        request = self.context["request"]
        return {
            "id": str(report.pk),
            "kind": report.kind,
            "params": report.params,
            "state": state,
            "progress": 100 if completed else (job.progress if job else 0),
            "rows": report.rows,
            "job_id": report.job_id,
            "failed_reason": report.failed_reason or (job.failed_reason if job and state == "failed" else ""),
            "created_at": serializers.DateTimeField().to_representation(report.created_at),
            "finished_at": serializers.DateTimeField().to_representation(report.finished_at)
            if report.finished_at
            else None,
            "download_url": reverse("report-download", args=[report.pk], request=request) if completed else None,
        }
