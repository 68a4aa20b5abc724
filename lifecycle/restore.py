"""Restoring an archive (lifecycle/archive.py) into a fresh tenant.

    result = restore_archive("/tmp/acme.zip", into_tenant)   # or `manage.py tenant_restore <archive> --slug <new>`

An archive is untrusted input (its owner downloaded it and may have edited it, manifest included).
In this order, and a refusal at any step changes nothing:
1. the archive's format and the manifest's shape against the ZIP's entries, before any is read
   (archive.Archive.check: file paths only below `files/`, no `..`; sizes as declared, within
   settings.LIFECYCLE_RESTORE_MAX_BYTES; platform roles), then every table's and file's SHA-256
   (and row count, size; rows of at most archive.MAX_LINE_BYTES) against it, and the tenant's
   settings against tenants.settings_schema (`ArchiveInvalid`);
2. the target: each archived table is one this platform exports (never `lifecycle_export`,
   `django_migrations` or an unknown name), exists in the new schema with the same columns
   (`RestoreIncompatible`: archives restore into a platform at the same migrations) and is
   empty (`RestoreTargetNotEmpty`);
3. the files, copied under the new tenant's prefix (`tenants/<new id>/<same path>`);
4. one transaction: the rows, table by table, parents first (`jsonb_populate_recordset`,
   2,000 rows per statement; foreign keys checked at the commit); every text column's value
   that starts with `tenants/<old id>/` (storage keys: uploads' `key`, reports' `file_key`, and
   any other) rewritten to `tenants/<new id>/`, after which a storage key (a text column `key` or
   `*_key`) outside `tenants/<new id>/` (another tenant's, `..`), or any text naming another
   tenant's prefix, refuses the archive (`ArchiveInvalid`); every serial/identity sequence set past its
   column's largest value; webhook endpoints given new secrets and left disabled (secrets are not
   exported); the tenant's settings, and the memberships of archived members who have an account
   on this platform (matched by email, never an API key's service account; `members_missing` lists
   the others: `--dry-run` shows them, with their roles, first); an audit row
   `tenant.restore`. If it fails, the copied files are deleted again.

User ids in rows (authors, uploaders) are kept as they are: on the same platform they name the
same people. Domains are not restored (the new tenant has its own `<slug>.<BASE_DOMAIN>`).
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.files import File as DjangoFile
from django.core.files.storage import default_storage
from django.db import DataError, IntegrityError, connection, transaction
from django_tenants.utils import schema_context
from psycopg import sql

from common.actors import SYSTEM
from tenants.audit import audit_record
from tenants.models import Membership, Tenant
from tenants.settings_schema import TenantSettingsSerializer
from webhooks.models import Endpoint
from webhooks.services import secret_new

from .archive import Archive, ArchiveInvalid, Progress, tenant_models, tenant_prefix
from .errors import RestoreArchiveInvalid, RestoreIncompatible, RestoreTargetNotEmpty

logger = logging.getLogger(__name__)

ROWS_PER_INSERT = 2000
BYTES_PER_INSERT = 32 * 1024 * 1024  # a statement's rows are also bounded in bytes (big documents)
TEXT_TYPES = ("text", "character varying")
# After the rewrite, a storage key (a text column named `key` or `*_key`) is empty or a clean path
# below the new tenant's prefix; no other text value names another tenant's prefix either.
KEY_PATH = r"^[^/\\]+(/[^/\\]+)*$"
DOT_PART = r"(^|/)\.\.?(/|$)"
OTHER_PREFIX = r"^[./]*tenants/[0-9A-Fa-f-]{32,36}/"


def _target_columns(schema: str, table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            [schema, table],
        )
        return dict(cursor.fetchall())


def _target_check(schema: str, tables: list[dict]) -> None:
    """Each archived table is one this platform exports (never an excluded or unknown one), with the
    same columns, and empty in the new schema."""
    exported = {model._meta.db_table for model in tenant_models()}
    with connection.cursor() as cursor:
        for table in tables:
            if table["table"] not in exported:
                raise RestoreIncompatible(
                    details={"table": table["table"][:100], "reason": "not a table this platform exports"}
                )
            columns = _target_columns(schema, table["table"])
            if set(columns) != set(table["columns"]):
                raise RestoreIncompatible(
                    details={
                        "table": table["table"],
                        "archive_only": sorted(set(table["columns"]) - set(columns)),
                        "target_only": sorted(set(columns) - set(table["columns"])),
                    }
                )
            cursor.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(schema, table["table"])).as_string()
            )
            if cursor.fetchone()[0]:
                raise RestoreTargetNotEmpty(details={"table": table["table"]})


def _files_copy(archive: Archive, tenant: Tenant, progress: Progress) -> list[str]:
    prefix, copied = tenant_prefix(tenant), []
    entries = archive.manifest["files"]
    try:
        for index, entry in enumerate(entries, 1):
            key = prefix + entry["path"].removeprefix("files/")
            with archive.file_open(entry) as handle:
                stored = default_storage.save(key, DjangoFile(handle, name=key))
            copied.append(stored)
            if stored != key:  # the fresh prefix already held it: never keep a file under another name
                raise RestoreTargetNotEmpty(details={"file": key})
            progress(40 * index / max(len(entries), 1), f"{index} of {len(entries)} files")
    except BaseException:
        _files_delete(copied)
        raise
    return copied


def _files_delete(keys: list[str]) -> None:
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception:
            logger.warning("could not delete %s after a failed restore", key, exc_info=True)


def _rows_load(archive: Archive, schema: str, table: dict) -> int:
    target = sql.Identifier(schema, table["table"])
    insert = sql.SQL("INSERT INTO {} SELECT * FROM jsonb_populate_recordset(NULL::{}, %s::jsonb)").format(
        target, target
    )
    statement, loaded, batch, size = insert.as_string(), 0, [], 0
    with connection.cursor() as cursor:
        for line in archive.lines(table):
            batch.append(line)
            size += len(line)
            if len(batch) == ROWS_PER_INSERT or size >= BYTES_PER_INSERT:
                cursor.execute(statement, ["[" + ",".join(batch) + "]"])
                loaded, batch, size = loaded + len(batch), [], 0
        if batch:
            cursor.execute(statement, ["[" + ",".join(batch) + "]"])
            loaded += len(batch)
    return loaded


def _keys_rewrite(schema: str, table: str, old_prefix: str, new_prefix: str) -> int:
    """Text values that start with the old tenant's storage prefix now start with the new one's."""
    changed = 0
    with connection.cursor() as cursor:
        for column, data_type in _target_columns(schema, table).items():
            if data_type not in TEXT_TYPES:
                continue
            col = sql.Identifier(column)
            cursor.execute(
                sql.SQL("UPDATE {} SET {} = %s || substr({}, %s) WHERE starts_with({}, %s)")
                .format(sql.Identifier(schema, table), col, col, col)
                .as_string(),
                [new_prefix, len(old_prefix) + 1, old_prefix],
            )
            changed += cursor.rowcount
    return changed


def _keys_check(schema: str, table: str, new_prefix: str) -> None:
    """Refuse rows that would point at files outside `new_prefix` (another tenant's, or `..` out of it)."""
    target = sql.Identifier(schema, table)
    with connection.cursor() as cursor:
        for column, data_type in _target_columns(schema, table).items():
            if data_type not in TEXT_TYPES:
                continue
            col = sql.Identifier(column)
            if column == "key" or column.endswith("_key"):
                query = sql.SQL(
                    "SELECT {c} FROM {t} WHERE {c} <> '' AND NOT (starts_with({c}, %s) AND substr({c}, %s) ~ %s"
                    " AND substr({c}, %s) !~ %s) LIMIT 1"
                ).format(c=col, t=target)
                start = len(new_prefix) + 1
                params = [new_prefix, start, KEY_PATH, start, DOT_PART]
            else:
                query = sql.SQL("SELECT {c} FROM {t} WHERE {c} ~ %s AND NOT starts_with({c}, %s) LIMIT 1").format(
                    c=col, t=target
                )
                params = [OTHER_PREFIX, new_prefix]
            cursor.execute(query.as_string(), params)
            found = cursor.fetchone()
            if found is not None:
                raise RestoreArchiveInvalid(
                    "A row names a file outside the restored tenant's storage.",
                    details={"table": table, "column": column, "value": found[0][:200]},
                )


def _settings_check(manifest: dict) -> None:
    """The archived settings are ones the platform accepts (tenants.settings_schema), as a settings update would."""
    serializer = TenantSettingsSerializer(data=manifest["tenant"].get("settings") or {})
    if not serializer.is_valid():
        raise RestoreArchiveInvalid(
            "The archive's tenant settings are not valid.", details={"settings": serializer.errors}
        )


def _sequences_reset(schema: str, table: str) -> None:
    qualified = sql.Identifier(schema, table).as_string()
    with connection.cursor() as cursor:
        for column in _target_columns(schema, table):
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [qualified, column])
            sequence = cursor.fetchone()[0]
            if sequence:
                col = sql.Identifier(column)
                cursor.execute(
                    sql.SQL("SELECT setval(%s, COALESCE((SELECT MAX({}) FROM {}), 1), EXISTS (SELECT 1 FROM {}))")
                    .format(col, sql.Identifier(schema, table), sql.Identifier(schema, table))
                    .as_string(),
                    [sequence],
                )


def _public_restore(manifest: dict, tenant: Tenant) -> list[str]:
    """The tenant's settings and memberships (of members with an account here); the emails missing."""
    tenant.settings = manifest["tenant"].get("settings") or {}
    tenant.save(update_fields=["settings", "updated_at"])
    members = manifest["public"]["memberships"]
    people = get_user_model().objects.filter(email__in=[m["email"] for m in members], api_key__isnull=True)
    users = {u.email: u for u in people}  # an API key's service account is nobody's member but its key's
    existing = set(Membership.objects.filter(tenant=tenant).values_list("user_id", flat=True))
    missing = []
    for member in members:
        user = users.get(member["email"])
        if user is None:
            missing.append(member["email"])
        elif user.pk not in existing:
            Membership.objects.create(
                tenant=tenant, user=user, role=member["role"], digest_opt_in=member.get("digest_opt_in", False)
            )
        else:
            Membership.objects.filter(tenant=tenant, user=user).update(role=member["role"])
    return missing


@contextmanager
def _rows_refused(table: str | None):
    """Rows the database refuses (not JSON objects, a foreign key to nothing) are an invalid archive."""
    try:
        yield
    except (DataError, IntegrityError) as exc:
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise RestoreArchiveInvalid(
            "The database refused the archive's rows.", details={"table": table, "reason": reason}
        ) from None


def restore_archive(source, into_tenant: Tenant, *, progress: Progress | None = None) -> dict:
    """Load an archive (a path or a binary file) into `into_tenant`, a fresh tenant (see the module)."""
    progress = progress or (lambda pct, message: None)
    try:
        archive = Archive.open(source)
        archive.verify()
    except ArchiveInvalid as exc:
        raise RestoreArchiveInvalid(str(exc)) from None
    try:
        manifest, schema = archive.manifest, into_tenant.schema_name
        tables = manifest["tables"]
        old_prefix, new_prefix = f"tenants/{manifest['tenant']['id']}/", tenant_prefix(into_tenant)
        _settings_check(manifest)
        with schema_context(schema):
            _target_check(schema, tables)
            copied = _files_copy(archive, into_tenant, progress)
            try:
                rows, rewritten = 0, 0
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                    for index, table in enumerate(tables, 1):
                        with _rows_refused(table["table"]):
                            rows += _rows_load(archive, schema, table)
                            rewritten += _keys_rewrite(schema, table["table"], old_prefix, new_prefix)
                            _keys_check(schema, table["table"], new_prefix)
                            _sequences_reset(schema, table["table"])
                        progress(40 + 59 * index / len(tables), f"{rows} rows")
                    with _rows_refused(None), connection.cursor() as cursor:
                        # The foreign keys now, not at a caller's commit (the command's transaction holds
                        # the new tenant too): a refusal must come while the copied files can still go.
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    for endpoint_id in Endpoint.objects.values_list("pk", flat=True):
                        Endpoint.objects.filter(pk=endpoint_id).update(
                            secret=secret_new(), enabled=False, disabled_reason="restored from an export: new secret"
                        )
                    with schema_context("public"):
                        missing = _public_restore(manifest, into_tenant)
                        audit_record(
                            tenant=into_tenant,
                            actor=SYSTEM,
                            action="tenant.restore",
                            target=f"export:{manifest['export_id']}",
                            after={
                                "from_tenant": manifest["tenant"]["id"],
                                "from_slug": manifest["tenant"]["slug"],
                                "rows": rows,
                                "files": len(copied),
                            },
                        )
            except BaseException:
                _files_delete(copied)
                raise
    finally:
        archive.close()
    progress(100, "restored")
    return {
        "tenant": str(into_tenant.pk),
        "from_tenant": manifest["tenant"]["id"],
        "export": manifest["export_id"],
        "rows": rows,
        "files": len(copied),
        "keys_rewritten": rewritten,
        "members_missing": missing,
    }


def archive_summary(source) -> str:
    """The manifest of an archive, readable (for the command's --dry-run)."""
    try:
        archive = Archive.open(source)
    except ArchiveInvalid as exc:
        raise RestoreArchiveInvalid(str(exc)) from None
    try:
        manifest = archive.manifest
        return json.dumps(
            {
                "tenant": manifest["tenant"]["slug"],
                "name": manifest["tenant"]["name"],
                "created_at": manifest.get("created_at"),
                "tables": {t["table"]: t["rows"] for t in manifest["tables"]},
                "files": len(manifest["files"]),
                "members": {m["email"]: m["role"] for m in manifest["public"]["memberships"]},  # who gets a role
            },
            indent=1,
        )
    finally:
        archive.close()
