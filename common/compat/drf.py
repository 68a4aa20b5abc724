"""Django REST framework: the Django HttpRequest under a DRF Request.

Uses `rest_framework.request.Request._request` (set in `__init__`).

Why no public API: DRF's Request proxies reads of attributes it lacks to the HttpRequest,
but not writes, and no property returns the HttpRequest itself. We need it to write to it:
the upload handlers (`upload_handlers`, read by the multipart parser), the bearer token the
tenant middleware already looked up (accounts.authentication), and to read `tenant` /
`tenant_role` without the proxy's fall-back lookup (tenants.resolution).

On upgrade: check that Request still keeps the HttpRequest as `_request`.
"""

from __future__ import annotations

from . import Internal, Owned

REQUIRES = (
    Internal(
        "djangorestframework",
        "rest_framework.request",
        "Request",
        params=("request",),
        assigned=("_request",),
        used_by=("rest_framework.request:Request.__getattr__",),
    ),
)
OWNS = Owned(names=frozenset({"_request"}))


def django_request(request):
    """The HttpRequest under a DRF Request; a Django request is returned as it is."""
    return getattr(request, "_request", request)
