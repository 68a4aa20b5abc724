"""Start-up checks of what exports and purges assume about the deployment."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


@register()
def uploads_in_the_default_storage(app_configs=None, **kwargs) -> list[Error]:
    """An export reads, and a restore writes, the tenant's files in the default storage: with
    uploads in another alias an export would silently leave them out."""
    alias = settings.UPLOADS["STORAGE"]
    if alias == "default":
        return []
    return [
        Error(
            f"UPLOADS['STORAGE'] is {alias!r}: tenant exports and restores only read and write the default storage.",
            hint="Keep uploads in STORAGES['default'] (configure that alias for S3), or teach lifecycle/archive.py the alias.",
            id="lifecycle.E001",
        )
    ]
