"""A tenant's archive: writing it (the export job) and reading it (restore).

One ZIP file (ZIP64, written entry by entry to a file; nothing is held whole in memory):

    manifest.json                what follows, with counts and SHA-256s (format below; written last)
    tables/<db table>.jsonl      one JSON object per row (`to_jsonb(row)`: column → value), ordered by pk
    files/<path>                 each stored object under `tenants/<tenant id>/` (uploads/, reports/, imports/),
                                 at its path below that prefix; exports/ is left out

Which tables: the models of TENANT_APPS in the app registry (auto-created many-to-many tables
included), parents before children, minus EXCLUDED_MODELS (the exports' own table, and
contenttypes, which every schema gets from the template). `tenant_tables_unlisted` names any
table of a schema that is neither exported nor excluded (a test keeps that list empty).

Rows are read in one REPEATABLE READ, READ ONLY transaction on a connection of their own, with a
server-side cursor per table: every table comes from the same moment, however long the files take,
and the job's progress writes go through the job's connection as usual. Column values are
PostgreSQL's own JSON (timestamps with their offset, UUIDs and JSON as they are), which restore
turns back into rows with `jsonb_populate_recordset`: what comes back is what went out.

Reading (restore) trusts nothing in the archive: `Archive.open` checks the manifest's shape against
the ZIP's entries before it reads any (names below `files/` only, declared sizes, which bound what
zipfile decompresses, within settings.LIFECYCLE_RESTORE_MAX_BYTES), and rows are read one line at
a time, each at most MAX_LINE_BYTES.

Not exported: webhook endpoints' signing secrets (the column is written as ""; a restore gives
each endpoint a new secret and leaves it disabled), and nothing of `public` beyond the manifest's
`tenant` and `public` records (users' passwords, tokens, sessions and API keys stay out).
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.utils import timezone
from psycopg import IsolationLevel, sql

from tenants.models import Domain, Membership, Tenant
from tenants.selectors import people_memberships

FORMAT = "saas-platform.tenant-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
EXCLUDED_MODELS = frozenset({"lifecycle.export", "contenttypes.contenttype"})  # app_label.model_name
EXCLUDED_TABLES = frozenset({"django_migrations"})  # schema bookkeeping, not data
REDACTED = {"webhooks_endpoint": {"secret": ""}}  # table → {column: what is written instead}
FILES_SKIPPED = ("exports/",)  # below the tenant's prefix
ROWS_PER_FETCH = 2000
CHUNK = 1024 * 1024
# Reading an archive (restore): sizes are the ZIP's declared ones, which bound what zipfile decompresses.
MAX_MANIFEST_BYTES = 256 * 1024 * 1024  # about a million files
MAX_LINE_BYTES = 256 * 1024 * 1024  # one row's JSON (a document of DOCUMENTS_MAX_DOCUMENT_BYTES is far below)


Progress = Callable[[float, str], None]


def tenant_models() -> list[type[Model]]:
    """The exported models, each after the models it references (so a restore inserts parents first)."""
    names = set(settings.TENANT_APPS)
    models = [
        model
        for config in apps.get_app_configs()
        if config.name in names
        for model in config.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and model._meta.label_lower not in EXCLUDED_MODELS
    ]
    models.sort(key=lambda m: m._meta.db_table)
    chosen = set(models)
    ordered: list[type[Model]] = []
    placed: set[type[Model]] = set()
    while len(ordered) < len(models):
        ready = [
            m
            for m in models
            if m not in placed
            and all(
                f.related_model in placed or f.related_model is m or f.related_model not in chosen
                for f in m._meta.concrete_fields
                if f.is_relation
            )
        ]
        if not ready:  # a cycle: the rest in name order (foreign keys are deferred on restore)
            ready = [m for m in models if m not in placed]
        for model in ready:
            ordered.append(model)
            placed.add(model)
    return ordered


def tenant_tables_unlisted(schema: str) -> list[str]:
    """Tables of `schema` that the archive neither exports nor excludes on purpose."""
    listed = {m._meta.db_table for m in tenant_models()} | EXCLUDED_TABLES
    listed |= {apps.get_model(label)._meta.db_table for label in EXCLUDED_MODELS}
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        return sorted(name for (name,) in cursor.fetchall() if name not in listed)


def tenant_prefix(tenant) -> str:
    return f"tenants/{tenant.pk}/"


def file_path_safe(path) -> bool:
    """An archive's file path that can only become a key below a tenant's prefix: `files/a/b`, no
    empty, `.` or `..` part, no backslash, not below `files/exports/` (never exported)."""
    if not isinstance(path, str) or not path.startswith("files/") or "\\" in path or "\x00" in path:
        return False
    rest = path.removeprefix("files/")
    return all(part not in ("", ".", "..") for part in rest.split("/")) and not rest.startswith(FILES_SKIPPED)


def storage_walk(prefix: str) -> Iterator[str]:
    """Every key below `prefix` (a folder ending in /), in name order, through the storage's own listing."""
    folder = prefix.rstrip("/")
    if not default_storage.exists(folder) and not hasattr(default_storage, "bucket_name"):
        return
    folders, files = default_storage.listdir(folder)
    for name in sorted(files):
        yield f"{folder}/{name}"
    for name in sorted(folders):
        yield from storage_walk(f"{folder}/{name}/")


def tenant_file_keys(tenant) -> list[str]:
    prefix = tenant_prefix(tenant)
    return [key for key in storage_walk(prefix) if not key[len(prefix) :].startswith(FILES_SKIPPED)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def public_records(tenant: Tenant) -> tuple[dict, dict]:
    """(the manifest's `tenant`, its `public`): what `public` holds of the tenant, minus credentials."""
    record = {
        "id": str(tenant.pk),
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "schema_name": tenant.schema_name,
        "settings": tenant.settings or {},
        "created_at": _iso(tenant.created_at),
    }
    memberships = [
        {
            "email": m.user.email,
            "role": m.role,
            "user_id": m.user_id,
            "digest_opt_in": m.digest_opt_in,
            "created_at": _iso(m.created_at),
        }
        for m in people_memberships(tenant=tenant).select_related("user").order_by("created_at", "id")
    ]
    domains = [
        {"domain": d.domain, "is_primary": d.is_primary}
        for d in Domain.objects.filter(tenant=tenant).order_by("-is_primary", "domain")
    ]
    return record, {"memberships": memberships, "domains": domains}


class _Hashing:
    """A write-only stream that hashes and counts what goes through it."""

    def __init__(self, target):
        self.target, self.sha256, self.size = target, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.sha256.update(data)
        self.size += len(data)
        self.target.write(data)


def _entry(zf: zipfile.ZipFile, name: str, compress: int):
    info = zipfile.ZipInfo(name, date_time=timezone.now().timetuple()[:6])
    info.compress_type = compress
    return zf.open(info, "w", force_zip64=True)


def _snapshot_connection():
    """A connection of its own, in a REPEATABLE READ READ ONLY transaction (the caller closes it)."""
    wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
    wrapper.ensure_connection()
    raw = wrapper.connection
    raw.autocommit = False
    raw.isolation_level = IsolationLevel.REPEATABLE_READ
    raw.read_only = True
    return wrapper, raw


def _columns(raw, schema: str, table: str) -> list[str]:
    rows = raw.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
        "ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [name for (name,) in rows]


def schema_migrations(raw, schema: str) -> dict[str, list[str]]:
    rows = raw.execute(
        sql.SQL("SELECT app, name FROM {}.django_migrations ORDER BY app, name").format(sql.Identifier(schema))
    ).fetchall()
    out: dict[str, list[str]] = {}
    for app, name in rows:
        out.setdefault(app, []).append(name)
    return out


def archive_write(*, tenant: Tenant, export_id: str, out: BinaryIO, progress: Progress) -> dict:
    """Write `tenant`'s archive into `out` (a seekable binary file); returns the manifest."""
    schema = tenant.schema_name
    created_at = timezone.now()
    tenant_record, public = public_records(tenant)
    tables: list[dict] = []
    files: list[dict] = []
    wrapper, raw = _snapshot_connection()
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            models = tenant_models()
            counts = {}
            for model in models:
                table = sql.Identifier(schema, model._meta.db_table)
                counts[model] = raw.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()[0]
            total_rows, done_rows = sum(counts.values()), 0
            migrations = schema_migrations(raw, schema)
            for model in models:
                name = model._meta.db_table
                redacted = REDACTED.get(name)
                query = sql.SQL("SELECT ({})::text FROM {} t ORDER BY {}").format(
                    sql.SQL("to_jsonb(t) || {}::jsonb").format(sql.Literal(json.dumps(redacted)))
                    if redacted
                    else sql.SQL("to_jsonb(t)"),
                    sql.Identifier(schema, name),
                    sql.Identifier(model._meta.pk.column),
                )
                rows = 0
                with _entry(zf, f"tables/{name}.jsonl", zipfile.ZIP_DEFLATED) as entry:
                    hashing = _Hashing(entry)
                    with raw.cursor(name=f"export_{name}"[:60]) as cursor:
                        cursor.itersize = ROWS_PER_FETCH
                        cursor.execute(query)
                        while batch := cursor.fetchmany(ROWS_PER_FETCH):
                            hashing.write("".join(f"{line}\n" for (line,) in batch).encode())
                            rows += len(batch)
                            done_rows += len(batch)
                            progress(50 * done_rows / max(total_rows, 1), f"{done_rows} of {total_rows} rows")
                tables.append(
                    {
                        "table": name,
                        "model": model._meta.label_lower,
                        "path": f"tables/{name}.jsonl",
                        "rows": rows,
                        "sha256": hashing.sha256.hexdigest(),
                        "columns": _columns(raw, schema, name),
                        **({"redacted": sorted(redacted)} if redacted else {}),
                    }
                )
            raw.rollback()  # the snapshot is read: let it go before the files
            prefix = tenant_prefix(tenant)
            keys = tenant_file_keys(tenant)
            for index, key in enumerate(keys, 1):
                path = f"files/{key[len(prefix) :]}"
                with default_storage.open(key, "rb") as source, _entry(zf, path, zipfile.ZIP_STORED) as entry:
                    hashing = _Hashing(entry)
                    while chunk := source.read(CHUNK):
                        hashing.write(chunk)
                files.append({"path": path, "key": key, "size": hashing.size, "sha256": hashing.sha256.hexdigest()})
                progress(50 + 49 * index / len(keys), f"{index} of {len(keys)} files")
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "export_id": str(export_id),
                "created_at": created_at.isoformat(),
                "tenant": tenant_record,
                "public": public,
                "migrations": migrations,
                "tables": tables,
                "files": files,
                "excluded": {
                    "tables": sorted(
                        EXCLUDED_TABLES | {apps.get_model(label)._meta.db_table for label in EXCLUDED_MODELS}
                    ),
                    "files": [f"{prefix}{skipped}" for skipped in FILES_SKIPPED],
                    "columns": {table: sorted(columns) for table, columns in REDACTED.items()},
                },
            }
            with _entry(zf, MANIFEST, zipfile.ZIP_DEFLATED) as entry:
                entry.write(json.dumps(manifest, indent=1, sort_keys=True).encode())
    finally:
        wrapper.close()
    return manifest


class ArchiveInvalid(Exception):
    """Not an archive of this format, or its content does not match its manifest."""


@dataclass
class Archive:
    """An archive opened for reading: `manifest`, its tables' lines and its files' bytes."""

    zip: zipfile.ZipFile
    manifest: dict

    @classmethod
    def open(cls, source) -> Archive:
        """The archive, its manifest's shape checked against its entries before any of them is read
        (ArchiveInvalid): nothing it names can be bigger than declared, outside `files/`, or missing."""
        try:
            zf = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ArchiveInvalid(f"not a tenant archive: {exc}") from None
        try:
            info = zf.getinfo(MANIFEST)
            if info.file_size > MAX_MANIFEST_BYTES:
                raise ArchiveInvalid(f"{MANIFEST} is {info.file_size} bytes (at most {MAX_MANIFEST_BYTES})")
            manifest = json.loads(zf.read(info))
            if not isinstance(manifest, dict):
                raise ArchiveInvalid(f"{MANIFEST} is not an object")
            if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
                raise ArchiveInvalid(f"unsupported archive: {manifest.get('format')} v{manifest.get('format_version')}")
            archive = cls(zf, manifest)
            archive.check()
        except (zipfile.BadZipFile, KeyError, ValueError, ArchiveInvalid) as exc:
            zf.close()
            raise exc if isinstance(exc, ArchiveInvalid) else ArchiveInvalid(f"not a tenant archive: {exc}") from None
        return archive

    def check(self) -> None:
        """The manifest's shape, and the entries it names: present, safe names, declared sizes within bounds."""
        manifest, names = self.manifest, set(self.zip.namelist())
        tenant, public = manifest.get("tenant"), manifest.get("public")
        if not isinstance(tenant, dict) or not all(isinstance(tenant.get(k), str) for k in ("id", "slug", "name")):
            raise ArchiveInvalid("manifest: `tenant` needs id, slug and name")
        uuid.UUID(tenant["id"])  # ValueError: not a tenant's id
        export_id = manifest.get("export_id")
        if not isinstance(tenant.get("settings", {}), dict) or not isinstance(export_id, str) or len(export_id) > 64:
            raise ArchiveInvalid("manifest: `tenant.settings` is an object, `export_id` a string")
        members = public.get("memberships") if isinstance(public, dict) else None
        if not isinstance(members, list) or not all(
            isinstance(m, dict) and isinstance(m.get("email"), str) and m.get("role") in Membership.Role.values
            for m in members
        ):
            raise ArchiveInvalid("manifest: `public.memberships` are {email, role} with a platform role")
        tables, files = manifest.get("tables"), manifest.get("files")
        if not isinstance(tables, list) or not isinstance(files, list):
            raise ArchiveInvalid("manifest: `tables` and `files` are lists")
        total, seen = self.zip.getinfo(MANIFEST).file_size, set()
        for table in tables:
            if not (
                isinstance(table, dict)
                and isinstance(table.get("table"), str)
                and table.get("path") == f"tables/{table['table']}.jsonl"
                and isinstance(table.get("rows"), int)
                and isinstance(table.get("sha256"), str)
                and isinstance(table.get("columns"), list)
                and all(isinstance(c, str) for c in table["columns"])
            ):
                raise ArchiveInvalid(
                    f"manifest: a table entry is not {{table, path, rows, sha256, columns}}: {table!r}"[:500]
                )
            if table["path"] in seen or table["path"] not in names:
                raise ArchiveInvalid(f"{table['path']}: listed twice, or not in the archive")
            seen.add(table["path"])
            total += self.zip.getinfo(table["path"]).file_size
        for entry in files:
            path = entry.get("path") if isinstance(entry, dict) else None
            if (
                not file_path_safe(path)
                or not isinstance(entry.get("size"), int)
                or not isinstance(entry.get("sha256"), str)
            ):
                raise ArchiveInvalid(
                    f"manifest: a file entry has no safe path below files/, size and sha256: {path!r}"[:500]
                )
            if path in seen or path not in names:
                raise ArchiveInvalid(f"{path}: listed twice, or not in the archive")
            seen.add(path)
            declared = self.zip.getinfo(path).file_size
            if declared != entry["size"]:
                raise ArchiveInvalid(f"{path} does not match the manifest (size {declared}, not {entry['size']})")
            total += declared
        limit = settings.LIFECYCLE_RESTORE_MAX_BYTES
        if total > limit:
            raise ArchiveInvalid(f"the archive holds {total} bytes once decompressed (at most {limit})")

    def close(self) -> None:
        self.zip.close()

    def lines(self, table: dict) -> Iterator[str]:
        """The table's rows, one JSON text each (ArchiveInvalid: a row above MAX_LINE_BYTES, or not UTF-8)."""
        with self.zip.open(table["path"]) as raw:
            while line := raw.readline(MAX_LINE_BYTES + 1):
                if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                    raise ArchiveInvalid(f"{table['path']}: a row of more than {MAX_LINE_BYTES} bytes")
                try:
                    text = line.decode("utf-8").rstrip("\n")
                except UnicodeDecodeError:
                    raise ArchiveInvalid(f"{table['path']}: not UTF-8") from None
                if text:
                    yield text

    def file_open(self, entry: dict):
        return self.zip.open(entry["path"])

    def verify(self) -> None:
        """Every table and file against the manifest's SHA-256 (and row count, size); raises ArchiveInvalid."""
        for table in self.manifest["tables"]:
            digest, rows = hashlib.sha256(), 0
            try:
                for line in self.lines(table):
                    digest.update(f"{line}\n".encode())
                    rows += 1
            except zipfile.BadZipFile as exc:
                raise ArchiveInvalid(f"{table['path']}: {exc}") from None
            if (digest.hexdigest(), rows) != (table["sha256"], table["rows"]):
                raise ArchiveInvalid(f"{table['path']} does not match the manifest")
        for entry in self.manifest["files"]:
            digest, size = hashlib.sha256(), 0
            try:
                with self.file_open(entry) as handle:
                    while chunk := handle.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
            except (KeyError, zipfile.BadZipFile) as exc:
                raise ArchiveInvalid(f"{entry['path']}: {exc}") from None
            if (digest.hexdigest(), size) != (entry["sha256"], entry["size"]):
                raise ArchiveInvalid(f"{entry['path']} does not match the manifest")
