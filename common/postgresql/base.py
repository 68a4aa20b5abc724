"""django-tenants' PostgreSQL backend, without a `SET search_path` the connection already has.

django-tenants sets the search_path the first time each Django connection object opens a
cursor for a schema. Under the ASGI server every request takes a connection from the pool
and gives it back, so that was one more round trip per request — for a search_path the
pooled connection usually still had. PostgreSQL 18 reports search_path to the client
(ParameterStatus, also after a rollback undoes a SET), so the statement is skipped when the
server says it is already the one wanted. Against an older server the report is absent
and every SET is issued, as before. Names are compared only when they are plain
(`[a-z0-9_-]`, which every schema the platform makes is); anything else is SET.
The hook into django-tenants is common/compat/django_tenants.py.
"""

from __future__ import annotations

import re

from common.compat.django_tenants import DatabaseWrapperBase

_PLAIN = re.compile(r"[a-z0-9_-]+")


def _reported_schemas(reported: str) -> list[str] | None:
    names = [part.strip().strip('"') for part in reported.split(",")]
    return names if all(_PLAIN.fullmatch(name) for name in names) else None


class DatabaseWrapper(DatabaseWrapperBase):
    def search_path_is_current(self, schemas: list[str]) -> bool:
        reported = self.connection.info.parameter_status("search_path")
        return reported is not None and _reported_schemas(reported) == list(schemas)
