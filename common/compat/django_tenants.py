"""django-tenants: the step that sets a connection's search_path, and the clone function.

Uses, of `django_tenants.postgresql_backend.base.DatabaseWrapper`: `_handle_search_path`
(run by `_cursor` for every cursor), the state it keeps (`_setting_search_path`,
`search_path_set_schemas`, `schema_name`) and `_get_cursor_search_paths()` (the schemas it
would SET). Of `django_tenants.clone.CloneSchema`: `_create_clone_schema_function()`, which
installs the `clone_schema()` SQL function. tenants/migrations/0001_initial.py refers to
`django_tenants.postgresql_backend.base._check_schema_name` (the validator makemigrations
froze there from TenantMixin), which must stay importable.

Why no public API: django-tenants' only way to issue fewer SETs, TENANT_LIMIT_SET_CALLS,
trusts its own memory of the connection, wrong once a pool hands the connection to the
next request; common.postgresql skips the SET only when the server reports that
search_path already (`search_path_is_current`). The public `CloneSchema.clone_schema()`
re-creates the SQL function on every call (slow, and concurrent clones wait on each
other); tenants.provisioning installs it once (`clone_schema_function_create`) and calls it.

On upgrade: check that `_cursor` still calls `_handle_search_path`, which still returns
early while `_setting_search_path` is set and records the schemas in
`search_path_set_schemas`; that `_create_clone_schema_function` still only installs the
function; tests/tenants/test_resolution.py (the SETs a request issues) and
tests/tenants/test_provisioning*.py pass.
"""

from __future__ import annotations

from django_tenants.clone import CloneSchema
from django_tenants.postgresql_backend import base

from . import Internal, Owned

_BASE = "django_tenants.postgresql_backend.base"

REQUIRES = (
    Internal(
        "django-tenants",
        _BASE,
        "DatabaseWrapper._handle_search_path",
        params=("cursor",),
        used_by=(f"{_BASE}:DatabaseWrapper._cursor",),
    ),
    Internal(
        "django-tenants",
        _BASE,
        "DatabaseWrapper._get_cursor_search_paths",
        used_by=(f"{_BASE}:DatabaseWrapper._handle_search_path",),
    ),
    Internal(
        "django-tenants",
        _BASE,
        "DatabaseWrapper",
        assigned=("_setting_search_path", "search_path_set_schemas", "schema_name"),
        used_by=(f"{_BASE}:DatabaseWrapper._handle_search_path",),
    ),
    Internal("django-tenants", _BASE, "_check_schema_name", params=("name",)),
    Internal(
        "django-tenants",
        "django_tenants.clone",
        "CloneSchema._create_clone_schema_function",
        used_by=("django_tenants.clone:CloneSchema.clone_schema",),
    ),
)
OWNS = Owned(
    names=frozenset(
        {
            "_handle_search_path",
            "_setting_search_path",
            "_get_cursor_search_paths",
            "search_path_set_schemas",
            "_create_clone_schema_function",
            "_check_schema_name",
        }
    ),
    modules=("django_tenants.postgresql_backend", "django_tenants.clone"),
)


class DatabaseWrapperBase(base.DatabaseWrapper):
    """django-tenants' backend; its `SET search_path` is skipped when
    `search_path_is_current(schemas)` says the connection has it already."""

    def _handle_search_path(self, cursor=None):
        if not self._setting_search_path and self.schema_name and self.connection is not None:
            wanted = self._get_cursor_search_paths()
            if self.search_path_is_current(wanted):
                self.search_path_set_schemas = wanted
                return
        super()._handle_search_path(cursor)

    def search_path_is_current(self, schemas: list[str]) -> bool:
        return False


def clone_schema_function_create() -> None:
    """(Re)create django-tenants' `clone_schema()` SQL function on the default connection."""
    CloneSchema()._create_clone_schema_function()
