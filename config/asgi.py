"""One ASGI application for HTTP and WebSocket (served by uvicorn)."""
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DB_POOL", "1")  # each request runs in its own thread: pool connections
django.setup(set_prefix=False)  # what django.core.asgi.get_asgi_application() does, before its handler

from common.asgi import StreamingASGIHandler  # noqa: E402

# Django's ASGIHandler, except that a multipart body streams from `receive` to the
# upload handler instead of being spooled to a temporary file first (common/asgi.py).
django_asgi_app = StreamingASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from realtime.routing import websocket_urlpatterns  # noqa: E402
from tenants.asgi import TenantASGIMiddleware  # noqa: E402
from uploads.asgi import UploadBodyLimit  # noqa: E402

application = ProtocolTypeRouter({
    "http": UploadBodyLimit(django_asgi_app),  # an oversized upload is refused before Django reads it
    "websocket": TenantASGIMiddleware(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})
