"""One ASGI application for HTTP and WebSocket (served by uvicorn)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DB_POOL", "1")  # each request runs in its own thread: pool connections
django.setup(set_prefix=False)  # what django.core.asgi.get_asgi_application() does, before its handler

from django.conf import settings  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

if settings.JOBS_QCLUSTER_PROCESS:  # a qcluster commits asynchronously (jobs/apps.py): never a web server
    raise ImproperlyConfigured(
        "JOBS_QCLUSTER_PROCESS is set: it is for `manage.py qcluster` processes only (their commits do not wait "
        "for the WAL flush). Unset it in the web server's environment."
    )

from common.asgi_handler import PlatformASGIHandler  # noqa: E402

# Django's ASGIHandler, except that a request's sync part is one call on a thread pool
# (common/asgi_handler.py) and a multipart body streams from `receive` to the upload
# handler instead of being spooled to a temporary file first (common/asgi.py).
django_asgi_app = PlatformASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from common.asgi_headers import SingleValuedHeaders  # noqa: E402
from common.body_limits import RequestBodyLimit  # noqa: E402
from documents.routing import websocket_urlpatterns as documents_websockets  # noqa: E402
from realtime.routing import websocket_urlpatterns as realtime_websockets  # noqa: E402
from tenants.asgi import TenantASGIMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimit(django_asgi_app),  # a body over its endpoint's limit is refused before Django reads it
        "websocket": TenantASGIMiddleware(
            AuthMiddlewareStack(URLRouter([*realtime_websockets, *documents_websockets]))
        ),
    }
)
application = SingleValuedHeaders(application)  # two Host (X-Tenant-ID, …) headers: 400, on either protocol

# Everything loaded so far lives as long as the process: keep it out of the cyclic
# garbage collector's full passes, which otherwise walk the whole app on every one of
# them (measured: the long tail of request latency under load). docs/performance.md
import gc  # noqa: E402

gc.collect()
gc.freeze()
