"""DRF renderers: the browsable API for browsers, but never for an error.

DRF renders an error with the renderer content negotiation chose, so a client sending
`Accept: text/html` (any browser) got the browsable API's HTML page for a 4xx/5xx. Errors
are always the JSON error shape (common/errors.py), whatever was asked for.
"""
from __future__ import annotations

from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            json = renderers.JSONRenderer()
            response["Content-Type"] = json.media_type  # Response set text/html before rendering
            return json.render(data, json.media_type, renderer_context)
        return super().render(data, accepted_media_type, renderer_context)
