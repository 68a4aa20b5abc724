from rest_framework import serializers
from rest_framework.reverse import reverse

from .exports import export_state
from .models import Export


class ExportCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    job_id = serializers.IntegerField()
    status = serializers.CharField()


class ExportOutputSerializer(serializers.Serializer):
    """Takes (export, job) pairs; `request` and `tenant` in the context for the download link."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Export.Status.choices)
    progress = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the archive.")
    sha256 = serializers.CharField(help_text="SHA-256 of the archive file; empty until done.")
    rows = serializers.IntegerField(allow_null=True)
    files = serializers.IntegerField(allow_null=True)
    job_id = serializers.IntegerField(allow_null=True)
    failed_reason = serializers.CharField()
    download_url = serializers.URLField(allow_null=True)

    def to_representation(self, instance):
        export, job = instance
        status = export_state(export, job)
        done = status == Export.Status.DONE
        when = serializers.DateTimeField().to_representation
        return {
            "id": str(export.pk),
            "status": status,
            "progress": 100 if done else (job.progress if job else 0),
            "created_at": when(export.created_at),
            "finished_at": when(export.finished_at) if export.finished_at else None,
            "size": export.size,
            "sha256": export.sha256,
            "rows": export.rows,
            "files": export.files,
            "job_id": export.job_id,
            "failed_reason": export.failed_reason or (job.failed_reason if job and status == "failed" else ""),
            "download_url": reverse(
                "tenant-export-download", args=[self.context["tenant"].pk, export.pk], request=self.context["request"]
            )
            if done
            else None,
        }
