"""Importing members from a CSV, as a job.

    job = members_import_request(tenant=tenant, user=request.user, upload=request.FILES.get("file"))

The upload is checked (size, type, header, rows) before anything is stored or
queued, saved under `tenants/<tenant id>/imports/<uuid>.csv`, and the job's
payload carries that key. The job validates every row and adds the valid ones
through `tenants.invitations.member_add_or_invite` (the rules of POST /members,
its audit events): a verified account joins, any other address is invited by
email. One transaction per row: a row that fails never undoes the others, and a
member already there, or an address with a pending invitation, is skipped — so
running the same file again imports (and emails) nothing twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from common.errors import ApplicationError
from jobs.models import Job
from jobs.runner import JobFailure
from jobs.services import job_enqueue
from tenants.audit import Actor
from tenants.invitations import member_add_or_invite
from tenants.models import MANAGER_ROLES, Invitation, Membership, Tenant

from .errors import FileMissing, FileTooLarge, FileTypeUnsupported
from .members_csv import members_csv_rows

Role = Membership.Role
IMPORTABLE_ROLES = (Role.MEMBER, Role.ADMIN)


def import_file_key(tenant: Tenant) -> str:
    """Where an upload is kept: from ids the platform made, never from the file's name."""
    return f"tenants/{tenant.pk}/imports/{uuid.uuid4()}.csv"


def members_import_request(*, tenant: Tenant, user, upload) -> Job:
    """Check the upload, store it, queue `import.members` (raises 4xx; nothing stored or queued then)."""
    if upload is None:
        raise FileMissing()
    max_bytes = settings.IMPORTS["MAX_BYTES"]
    if upload.size > max_bytes:
        raise FileTooLarge(details={"size": upload.size, "max_bytes": max_bytes})
    if not (upload.name or "").lower().endswith(".csv"):
        raise FileTypeUnsupported(details={"filename": upload.name})
    data = upload.read()
    members_csv_rows(data)
    key = default_storage.save(import_file_key(tenant), ContentFile(data))
    try:
        with transaction.atomic():
            return job_enqueue(tenant, "import.members", {"file_key": key, "filename": upload.name[:200]}, user=user)
    except BaseException:
        default_storage.delete(key)
        raise


class RowError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


IMPORTED, INVITED, SKIPPED = "imported", "invited", "skipped"


def member_row_import(*, tenant: Tenant, actor: Actor, fields: list[str]) -> str:
    """Add (or invite) the member one row names: IMPORTED, INVITED, or SKIPPED (already a member, or
    already invited). Raises RowError."""
    if len(fields) != 2:
        raise RowError("row_malformed", f"Expected 2 fields (email,role), got {len(fields)}.")
    email, role = fields[0].strip(), fields[1].strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise RowError("email_invalid", f"{email!r} is not a valid email address.") from None
    if role == Role.OWNER:
        raise RowError("role_not_importable", "The owner role cannot be imported; use member or admin.")
    if role not in IMPORTABLE_ROLES:
        raise RowError("role_invalid", f"Unknown role {role!r}; use member or admin.")
    try:
        added = member_add_or_invite(tenant=tenant, email=email, role=role, actor=actor)
    except ApplicationError as exc:
        if exc.code in ("already_member", "invitation_pending"):
            return SKIPPED
        raise RowError(exc.code, exc.message) from None
    except IntegrityError:  # added by someone else between the check and the insert
        return SKIPPED
    return INVITED if isinstance(added, Invitation) else IMPORTED


def members_import_run(*, tenant: Tenant, user_id: int | None, file_key: str, job) -> dict:
    """The job: every row validated, valid ones added or invited, progress per row.
    Returns {imported, invited, skipped, errors: [{row, error, code}]}; the file is deleted once imported."""
    if not file_key.startswith(f"tenants/{tenant.pk}/imports/"):
        raise JobFailure("the file is not an import of this tenant")
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    role = Membership.objects.filter(tenant=tenant, user=user).values_list("role", flat=True).first() if user else None
    if role not in MANAGER_ROLES:
        raise JobFailure("the user who started the import is no longer an owner or admin of this tenant")
    try:
        with default_storage.open(file_key, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise JobFailure("the uploaded file is gone") from None
    try:
        rows = members_csv_rows(data)
    except ApplicationError as exc:
        raise JobFailure(f"{exc.code}: {exc.message}") from None
    actor = Actor(user=user)
    counts, errors = {IMPORTED: 0, INVITED: 0, SKIPPED: 0}, []
    for done, (line, fields) in enumerate(rows, 1):
        try:
            counts[member_row_import(tenant=tenant, actor=actor, fields=fields)] += 1
        except RowError as exc:
            errors.append({"row": line, "error": exc.message, "code": exc.code})
        job.progress(100 * done / len(rows), f"row {done} of {len(rows)}")
    default_storage.delete(file_key)
    return {**counts, "errors": errors}
