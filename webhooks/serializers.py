from rest_framework import serializers

from .catalogue import tenant_events

EVENTS_HELP = "Domain event names; the catalogue is in docs/webhooks.md (GET /api/webhooks/events lists it)."


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, help_text="http(s); must resolve to public addresses.")
    events = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1, max_length=100, help_text=EVENTS_HELP
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1, max_length=100, required=False, help_text=EVENTS_HELP
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False, help_text="true re-enables a disabled webhook.")


class EndpointCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    secret = serializers.CharField(help_text="`whsec_…` (Standard Webhooks). Shown this once only.")


class EndpointOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    consecutive_failures = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event = serializers.CharField()
    state = serializers.ChoiceField(choices=["pending", "retrying", "delivered", "failed"])
    status_code = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField()
    duration_ms = serializers.IntegerField(allow_null=True)
    next_retry_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class AcceptedDeliverySerializer(serializers.Serializer):
    delivery_id = serializers.UUIDField()
    job_id = serializers.IntegerField()


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    schema = serializers.JSONField(help_text="The JSON schema of the payload's `data`.")


class EventCatalogueSerializer(serializers.Serializer):
    events = EventTypeSerializer(many=True)


def event_catalogue() -> dict:
    return {"events": [{"name": name, "schema": cls.model_json_schema()} for name, cls in tenant_events().items()]}
