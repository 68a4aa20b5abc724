"""django-tenants' PostgreSQL backend, without a `SET search_path` the connection already has.

django-tenants sets the search_path the first time each Django connection object opens a
cursor for a schema. Under the ASGI server every request takes a connection from the pool
and gives it back, so that was one more round trip per request — for a search_path the
pooled connection usually still had. PostgreSQL 18 reports search_path to the client
(ParameterStatus, also after a rollback undoes a SET), so the statement is skipped when the
server says it is already the one wanted. Against an older server the report is absent
and every SET is issued, as before. Names are compared only when they are plain
(`[a-z0-9_-]`, which every schema the platform makes is); anything else is SET.
"""
from __future__ import annotations

import re

from django_tenants.postgresql_backend import base

_PLAIN = re.compile(r"[a-z0-9_-]+")


def _reported_schemas(reported: str) -> list[str] | None:
    names = [part.strip().strip('"') for part in reported.split(",")]
    return names if all(_PLAIN.fullmatch(name) for name in names) else None


class DatabaseWrapper(base.DatabaseWrapper):
    def _handle_search_path(self, cursor=None):
        if not self._setting_search_path and self.schema_name and self.connection is not None:
            wanted = self._get_cursor_search_paths()
            reported = self.connection.info.parameter_status("search_path")
            if reported is not None and _reported_schemas(reported) == list(wanted):
                self.search_path_set_schemas = wanted
                return
        super()._handle_search_path(cursor)
