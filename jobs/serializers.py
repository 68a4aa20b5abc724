from rest_framework import serializers

from common.serializers import ModelSerializer  # fields built once per class

from .models import Job


class JobOutputSerializer(ModelSerializer):
    priority = serializers.CharField(source="priority_name")

    class Meta:
        model = Job
        fields = [
            "id",
            "task",
            "state",
            "priority",
            "progress",
            "message",
            "attempts",
            "max_attempts",
            "failed_reason",
            "result",
            "created_at",
            "run_at",
            "started_at",
            "finished_on",
        ]


class JobInputSerializer(serializers.Serializer):
    task = serializers.CharField(max_length=100)
    payload = serializers.JSONField(required=False, default=dict)
    priority = serializers.CharField(required=False, default="default")
    delay = serializers.FloatField(
        required=False, allow_null=True, default=None, help_text="Seconds from now (0 to 30 days)."
    )
    run_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    idempotency_key = serializers.CharField(required=False, allow_null=True, max_length=200, default=None)


class QueueStatsSerializer(serializers.Serializer):
    waiting = serializers.IntegerField()
    active = serializers.IntegerField()
    scheduled = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
