"""Content negotiation for views that answer a file, not a rendered body."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation

from common.renderers import JSONRenderer


class DownloadNegotiation(DefaultContentNegotiation):
    """A download is sent as it is (FileResponse, redirect), whatever renderers the API has:
    `Accept: text/csv` or `image/png` must not be a 406. Errors fall back to JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return JSONRenderer(), JSONRenderer.media_type
