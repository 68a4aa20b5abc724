"""Collaborative documents (documents/): the limits of a document and of its WebSockets."""

from __future__ import annotations

from config.env import env

DOCUMENTS = {
    "MAX_DOCUMENT_BYTES": env.int("DOCUMENTS_MAX_DOCUMENT_BYTES", default=10 * 1024 * 1024),  # the update log's size
    # One WebSocket message; the server itself refuses frames over 128 KiB (config/server.py, 1009).
    "MAX_UPDATE_BYTES": env.int("DOCUMENTS_MAX_UPDATE_BYTES", default=128 * 1024),
    "UPDATES_PER_SECOND": env.int("DOCUMENTS_UPDATES_PER_SECOND", default=50),  # per connection, bursting to 2 s
    "MAX_CONNECTIONS_PER_DOCUMENT": env.int("DOCUMENTS_MAX_CONNECTIONS_PER_DOCUMENT", default=100),  # per process
    "CATCH_UP_SECONDS": 0.5,  # a gap in a document's update numbers is filled from the database after this
    "RECONCILE_SECONDS": env.float("DOCUMENTS_RECONCILE_SECONDS", default=5),  # each open room checks the log
    "UPDATED_EVENT_SECONDS": env.int("DOCUMENTS_UPDATED_EVENT_SECONDS", default=10),  # doc.updated, per document
    "COMPACT_EVERY_UPDATES": env.int("DOCUMENTS_COMPACT_EVERY_UPDATES", default=500),  # queue doc.compact
    "SEND_QUEUE_MAX_BYTES": 8 * 1024 * 1024,  # unsent to one socket before it is dropped (4408)
}
