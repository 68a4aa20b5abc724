"""The declared schema of a tenant's settings.

Settings are not free JSON: every key is declared here with its type, range
and default. Unknown keys and out-of-range values are refused with the field
named. The stored JSON only holds what was set; `settings_effective` fills in
the defaults, so adding a setting later needs no data migration.
"""

from __future__ import annotations

import zoneinfo
from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers

FILE_TYPES = ["jpeg", "jpg", "png", "gif", "webp", "pdf", "txt", "csv"]

DEFAULTS: dict[str, Any] = {
    "display_name": "",
    "max_upload_mb": 5,
    "allowed_file_types": ["jpeg", "jpg", "png", "pdf"],
    "storage_quota_mb": 1024,
    "uploads_per_minute": 30,  # per user: POST /api/upload*, presigns included
    "rate_limit_per_minute": 600,
    "frontend_origins": [],
    "timezone": "UTC",
    "audit_retention_days": 365,
    "features": {"realtime": True, "uploads": True, "jobs": True, "webhooks": True},
}


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not declare, naming them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown setting."] for key in unknown})
        return super().to_internal_value(data)


class FeaturesSerializer(StrictSerializer):
    realtime = serializers.BooleanField(required=False)
    uploads = serializers.BooleanField(required=False)
    jobs = serializers.BooleanField(required=False)
    webhooks = serializers.BooleanField(required=False)


class TenantSettingsSerializer(StrictSerializer):
    display_name = serializers.CharField(max_length=100, allow_blank=True, required=False)
    max_upload_mb = serializers.IntegerField(min_value=1, max_value=1024, required=False)
    allowed_file_types = serializers.ListField(
        child=serializers.ChoiceField(choices=FILE_TYPES),
        allow_empty=True,
        max_length=len(FILE_TYPES),
        required=False,
    )
    storage_quota_mb = serializers.IntegerField(min_value=1, max_value=10_000_000, required=False)
    uploads_per_minute = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    rate_limit_per_minute = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    frontend_origins = serializers.ListField(
        child=serializers.CharField(max_length=200),
        max_length=20,
        required=False,
    )
    timezone = serializers.CharField(max_length=64, required=False)
    audit_retention_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    features = FeaturesSerializer(required=False)

    def validate_frontend_origins(self, origins: list[str]) -> list[str]:
        cleaned = []
        for origin in origins:
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or parts.path not in ("", "/")
                or parts.query
                or parts.fragment
            ):
                raise serializers.ValidationError(f"{origin!r} is not an origin like https://app.example.com")
            cleaned.append(f"{parts.scheme}://{parts.netloc}".lower())
        return cleaned

    def validate_timezone(self, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError(f"{value!r} is not a known IANA time zone.")
        return value

    def validate_allowed_file_types(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


def settings_effective(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with what the tenant set."""
    stored = stored or {}
    merged = {**DEFAULTS, **stored}
    merged["features"] = {**DEFAULTS["features"], **stored.get("features", {})}
    return merged
