"""Realtime events of the uploads app (sent to the uploader's `user:<id>` channel)."""

from __future__ import annotations

from realtime.engine.wire import EventData, event_declare


@event_declare("file.processed")
class FileProcessed(EventData):
    """A large image's processed JPEG is ready (the `uploads.image_process` job)."""

    file: str  # the original File's id
    processed: str  # the processed JPEG's File id
    width: int
    height: int
    job: int
