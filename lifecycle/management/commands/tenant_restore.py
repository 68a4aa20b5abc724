"""`manage.py tenant_restore <archive> --slug <new>`: a new tenant from an export's archive."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from common.errors import ApplicationError
from lifecycle.restore import archive_summary, restore_archive
from tenants.services import tenant_create


class Command(BaseCommand):
    help = (
        "Create a tenant (tenants.services.tenant_create) and load an export's archive into it (lifecycle/restore.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="Path of the .zip an export stored (GET …/exports/<id>/download).")
        parser.add_argument(
            "--slug", required=True, help="The new tenant's slug (the archived tenant may still exist)."
        )
        parser.add_argument("--name", default=None, help="The new tenant's name (default: the archived one's).")
        parser.add_argument("--dry-run", action="store_true", help="Print what the archive holds and stop.")

    def handle(self, *args, archive, slug, name, dry_run, **options):
        try:
            summary = json.loads(archive_summary(archive))
            if dry_run:
                self.stdout.write(json.dumps(summary, indent=1))
                return
            with open(archive, "rb") as source:
                with transaction.atomic():  # a refused restore leaves no tenant behind
                    tenant = tenant_create(slug=slug, name=name or summary["name"])
                    result = restore_archive(source, tenant)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message} {exc.details or ''}") from None
        except OSError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result, indent=1))
