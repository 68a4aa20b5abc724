"""A ModelSerializer that works out its fields once per class, not once per response.

DRF's ModelSerializer introspects its model and builds every field each time a serializer
is made (`get_fields`): measured on `GET /api/tenant`, that was the most expensive single
step of the request. Here the fields built for the first instance are kept on the class and
each later instance gets fresh copies of them (DRF fields are bound to their serializer, so
they cannot be shared). Only for serializers whose fields depend on the class alone — the
platform's output serializers; a serializer that builds fields from its context or
instance keeps DRF's ModelSerializer.
"""

from __future__ import annotations

import copy

from rest_framework import serializers


class ModelSerializer(serializers.ModelSerializer):
    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            cls._fields_built = built
        return copy.deepcopy(built)


# --- lists read as rows ------------------------------------------------------------------

_PLAIN = (
    serializers.CharField,
    serializers.IntegerField,
    serializers.BigIntegerField,
    serializers.BooleanField,
    serializers.FloatField,
)


def _formatter(field):
    """How DRF's `field` represents a value read from the database, or None if only DRF
    itself can say (then the whole list goes through DRF)."""
    if isinstance(field, serializers.ChoiceField) or getattr(field, "source", None) not in (None, field.field_name):
        return None
    if isinstance(field, serializers.DateTimeField):
        format_ = getattr(field, "format", serializers.api_settings.DATETIME_FORMAT)
        return _datetime if format_ == "iso-8601" and getattr(field, "timezone", None) is None else None
    if isinstance(field, serializers.PrimaryKeyRelatedField) and not field.pk_field:
        return _same
    if isinstance(field, serializers.UUIDField) and field.uuid_format == "hex_verbose":
        return _text
    if type(field) in _PLAIN and not getattr(field, "coerce_to_string", False):
        return _same  # str, int, bool, float as read (DRF's str()/int()/float() change nothing)
    if type(field) is serializers.JSONField and not field.binary:
        return _same
    return None


def _same(value):
    return value


def _text(value):
    return None if value is None else str(value)


def _datetime(value):
    from django.utils import timezone

    if value is None:
        return None
    value = timezone.localtime(value, timezone.get_current_timezone()) if timezone.is_aware(value) else value
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class _Rows:
    """Reads a serializer's fields as `.values()` rows and represents them as DRF would."""

    def __init__(self, formatters: dict):
        self.formatters = formatters
        self.names = list(formatters)

    def represent(self, rows) -> list[dict]:
        items = self.formatters.items()
        return [{name: format_(row[name]) for name, format_ in items} for row in rows]


_rows_by_class: dict[type, _Rows | None] = {}


def _rows_for(serializer_class) -> _Rows | None:
    if serializer_class not in _rows_by_class:
        formatters = {}
        for name, field in serializer_class().fields.items():
            formatter = _formatter(field)
            if formatter is None:
                _rows_by_class[serializer_class] = None
                break
            formatters[name] = formatter
        else:
            _rows_by_class[serializer_class] = _Rows(formatters)
    return _rows_by_class[serializer_class]


def page_representation(paginator, serializer_class, queryset, request, view) -> list:
    """`serializer_class(paginator.paginate_queryset(queryset, …), many=True).data`, read as
    `.values()` rows — no model instances, no DRF field calls — when every field is a plain
    column DRF would render as it is (numbers, text, booleans, JSON, ids of foreign keys,
    UUIDs, ISO 8601 datetimes); DRF's own path otherwise. A list page's cost was mostly
    those two (tests/common/test_page_representation.py holds it to DRF's output)."""
    rows = _rows_for(serializer_class)
    if rows is None:
        return serializer_class(paginator.paginate_queryset(queryset, request, view=view), many=True).data
    return rows.represent(paginator.paginate_queryset(queryset.values(*rows.names), request, view=view))
