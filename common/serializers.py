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
