"""DRF renderers: JSON through orjson, and the browsable API for browsers, but never for an error.

DRF renders an error with the renderer content negotiation chose, so a client sending
`Accept: text/html` (any browser) got the browsable API's HTML page for a 4xx/5xx. Errors
are always the JSON error shape (common/errors.py), whatever was asked for.

JSONRenderer is drf-orjson-renderer's: the same JSON for what serializers produce (they
turn datetimes, decimals and UUIDs into strings first), several times faster to encode.
"""

from __future__ import annotations

import orjson
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework import renderers


class JSONRenderer(ORJSONRenderer):
    options = ORJSONRenderer.options | orjson.OPT_NON_STR_KEYS  # error details keyed by list index

    def render(self, data, media_type=None, renderer_context=None):
        try:
            return super().render(data, media_type, renderer_context)
        except orjson.JSONEncodeError:  # what orjson cannot encode (an integer over 64 bits): DRF's
            return renderers.JSONRenderer().render(data, media_type, renderer_context)


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            json = JSONRenderer()
            response["Content-Type"] = json.media_type  # Response set text/html before rendering
            return json.render(data, json.media_type, renderer_context)
        return super().render(data, accepted_media_type, renderer_context)
