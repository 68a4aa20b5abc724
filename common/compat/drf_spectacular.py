"""drf-spectacular: the AutoSchema steps that pick a view's paginator and build its responses.

Uses `AutoSchema._get_paginator()` (the paginator a list response is wrapped in),
`AutoSchema._get_response_bodies(direction)` (an operation's `responses`) and
`AutoSchema._get_response_for_code(serializer, status_code, media_types=…)` (one response
object, with its component).

Why no public API: `extend_schema` documents one view at a time; common.schema documents
every operation's error statuses and the pagination of APIViews that paginate by hand, in
one place (DEFAULT_SCHEMA_CLASS). drf-spectacular offers no hook for either (its
postprocessing hooks see the finished document, without the views' serializers).

On upgrade: check the three methods' names and parameters, that `get_operation` still
builds `responses` with `_get_response_bodies()` and list responses still ask
`_get_paginator()`; tests/common/test_openapi_schema.py and test_openapi_conformance.py pass.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

from . import Internal, Owned

_OPENAPI = "drf_spectacular.openapi"

REQUIRES = (
    Internal(
        "drf-spectacular",
        _OPENAPI,
        "AutoSchema._get_paginator",
        used_by=(f"{_OPENAPI}:AutoSchema._get_response_for_code",),
    ),
    Internal(
        "drf-spectacular",
        _OPENAPI,
        "AutoSchema._get_response_bodies",
        params=("direction",),
        used_by=(f"{_OPENAPI}:AutoSchema.get_operation",),
    ),
    Internal(
        "drf-spectacular",
        _OPENAPI,
        "AutoSchema._get_response_for_code",
        params=("serializer", "status_code", "media_types"),
    ),
)
OWNS = Owned(
    names=frozenset({"_get_paginator", "_get_response_bodies", "_get_response_for_code"}),
    modules=("drf_spectacular.openapi",),
)


class AutoSchemaBase(AutoSchema):
    """drf-spectacular's AutoSchema; subclasses override `paginator_get` and `responses_build`."""

    def _get_paginator(self):
        return self.paginator_get()

    def _get_response_bodies(self, direction="response"):
        return self.responses_build(direction)

    def paginator_get(self):
        """The paginator a list response of this view is documented as wrapped in (None: a bare list)."""
        return AutoSchema._get_paginator(self)

    def responses_build(self, direction: str) -> dict:
        """The operation's `responses` ("request" direction: for a request body's component)."""
        return AutoSchema._get_response_bodies(self, direction)

    def response_for(self, serializer, status_code: str, media_types: list[str]) -> dict:
        """One response object for `serializer` (its component registered)."""
        return self._get_response_for_code(serializer, status_code, media_types=media_types)
