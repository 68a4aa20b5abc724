"""Input and output of the email endpoints."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "email"},
            {
                "type": "array",
                "items": {"type": "string", "format": "email"},
                "minItems": 1,
                "maxItems": settings.EMAILS["MAX_RECIPIENTS"],
            },
        ]
    }
)
class RecipientsField(serializers.Field):
    """One address, or a list of 1 to EMAILS["MAX_RECIPIENTS"]; duplicates dropped (ignoring case)."""

    def to_internal_value(self, data):
        items = [data] if isinstance(data, str) else data
        limit = settings.EMAILS["MAX_RECIPIENTS"]
        if not isinstance(items, list) or not items:
            raise serializers.ValidationError(f"One email address, or a list of 1 to {limit}.")
        if len(items) > limit:
            raise serializers.ValidationError(f"At most {limit} recipients; got {len(items)}.")
        cleaned: dict[str, str] = {}
        for item in items:
            address = item.strip() if isinstance(item, str) else item
            try:
                validate_email(address)
            except DjangoValidationError:
                raise serializers.ValidationError(f"{item!r} is not a valid email address.") from None
            cleaned.setdefault(address.lower(), address)
        return list(cleaned.values())

    def to_representation(self, value):
        return value


def _single_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise serializers.ValidationError("The subject must be one line.")
    return value


class EmailInputSerializer(serializers.Serializer):
    to = RecipientsField()
    subject = serializers.CharField(max_length=200, validators=[_single_line])
    template = serializers.CharField(max_length=50, help_text="generic or welcome (templates/emails/).")
    context = serializers.DictField(
        required=False, default=dict, help_text="generic: {heading?, body}; welcome: {role?, note?}."
    )


class JobAcceptedSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()


class DigestPreferenceSerializer(serializers.Serializer):
    opt_in = serializers.BooleanField()
