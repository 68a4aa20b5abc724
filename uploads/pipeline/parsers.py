"""The multipart parser of the upload views.

Django's parser silently rewrites file names (drops directories, `..`, NUL
and other unprintable characters) before an upload handler sees them. Ours
keeps the name as sent for `names.filename_clean`, which refuses a NUL byte or
a `..` component outright instead of quietly accepting a doctored name.
"""

from __future__ import annotations

from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser

from ..errors import FilenameInvalid
from .handlers import LimitedUploadHandler
from .names import filename_clean


class NameCheckingMultiPartParser(DjangoMultiPartParser):
    def sanitize_file_name(self, file_name):
        return filename_clean(file_name)  # raises FilenameInvalid; the cleaned name otherwise


class UploadMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        try:
            parser = NameCheckingMultiPartParser(
                meta, stream, request.upload_handlers, parser_context.get("encoding", "utf-8")
            )
            try:
                data, files = parser.parse()
            except BaseException:
                for handler in request.upload_handlers:  # Django's parser closes only completed files
                    if isinstance(handler, LimitedUploadHandler):
                        handler.discard()
                raise
            return DataAndFiles(data, files)
        except MultiPartParserError as exc:
            if "header size" in str(exc):  # a part header over 1 KiB: in practice a file name thousands long
                raise FilenameInvalid(details={"reason": "too_long"}) from exc
            raise ParseError(f"Multipart form parse error - {exc}") from exc
