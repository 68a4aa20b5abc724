"""What a tenant's members may do right now: the one policy for suspension and
feature flags, asked by every door (HTTP, SSE, WebSocket, the platform API).

Suspended (`status` = suspended):
- Inside the tenant (its host, X-Tenant-ID, a tenant token; HTTP, SSE and
  WebSocket alike) nothing is served: 403 `tenant_suspended` / close 4403.
  Open sockets and streams are closed when it is suspended
  (tenants.services._status_set).
- On the platform API its owners may still read the tenant's record: detail,
  settings, usage, members and audit. Every write there (settings, members)
  and every read by another role is 403 `tenant_suspended`. Operators keep the
  admin.

Pending deletion (`status` = pending_deletion, tenants.services.tenant_deletion_request):
- Inside the tenant, as suspended: nothing is served, 403 `tenant_pending_deletion` / close
  4403; open sockets and streams are closed, its jobs are held (so webhooks wait too).
- On the platform API its owners keep only the tenant's record (GET /api/tenants/<id>) and its
  restore (`lifecycle`); everything else, and everything by another role, is 403
  `tenant_pending_deletion`. Operators keep the admin (Restore, Delete now).

Feature flags (`settings.features`): a route of a capability that is switched
off answers 403 `feature_disabled` (details: {"feature": ...}); a WebSocket
closes 4403 `feature_disabled`. Which routes belong to which capability is
declared on the views (`capability`, see `view_capability`):
- realtime: WebSocket connect, tickets, SSE `/api/events`, announcements.
- uploads: every way a file comes in — upload, multiple, image, presign,
  direct upload, confirm. Files already stored stay listable, downloadable
  and deletable.
- jobs: every API that starts background work on the tenant's request —
  POST /api/jobs, retry, POST /api/reports, POST /api/imports and
  POST /api/send-email. Reads and cancel stay.
Work in flight when a flag goes off: realtime — the tenant's sockets and SSE
streams are closed (4403 feature_disabled; tenants.services) and unredeemed
tickets no longer open one; uploads — a presign not yet used can neither upload
nor be confirmed (it works again if switched back on before it expires);
jobs — jobs already accepted run (cancel them to stop them). Work the platform
starts itself (an upload's image processing, a new member's welcome email,
the digest) is not a tenant job and is not switched off by `jobs`.
"""

from __future__ import annotations

from .errors import FeatureDisabled, TenantPendingDeletion, TenantSuspended
from .models import Membership, Tenant
from .settings_schema import settings_effective

CAPABILITIES = ("realtime", "uploads", "jobs")


def feature_enabled(tenant: Tenant, capability: str) -> bool:
    return bool(settings_effective(tenant.settings)["features"].get(capability, True))


def tenant_access_check(
    tenant: Tenant,
    *,
    role: str | None = None,
    capability: str | None = None,
    record_read: bool = False,
    lifecycle: bool = False,
) -> None:
    """Raise unless this may be done in `tenant` now.

    `capability`: the feature the action belongs to (None: the tenant's core).
    `record_read`: a read of the tenant's own record on the platform API — the
    one thing a suspended tenant's owners keep.
    `lifecycle`: the tenant's detail read or its restore — what a pending-deletion
    tenant's owners keep.
    """
    if tenant.status == Tenant.Status.PENDING_DELETION:
        if not (lifecycle and role == Membership.Role.OWNER):
            due = tenant.deletion_due_at.isoformat() if tenant.deletion_due_at else None
            raise TenantPendingDeletion(details={"tenant": tenant.slug, "deletion_due_at": due})
    elif tenant.status != Tenant.Status.ACTIVE:
        if not (record_read and role == Membership.Role.OWNER):
            raise TenantSuspended(details={"tenant": tenant.slug})
    if capability is not None and not feature_enabled(tenant, capability):
        raise FeatureDisabled(details={"feature": capability})


def capability(name: str | dict[str, str]):
    """Declare the capability of a function view (class views set the
    `capability` attribute): a name for every method, or {method: name}."""
    assert all(c in CAPABILITIES for c in ([name] if isinstance(name, str) else name.values()))

    def mark(view):
        view.capability = name
        return view

    return mark


def view_capability(view_func, method: str) -> str | None:
    """The capability a request to this view needs, as the view declares it."""
    declared = getattr(getattr(view_func, "view_class", view_func), "capability", None)
    if isinstance(declared, dict):
        return declared.get("GET" if method == "HEAD" else method)
    return declared
