"""`manage.py migrate` is migrate_schemas (as in django-tenants), with our additions."""

from .migrate_schemas import Command  # noqa: F401
