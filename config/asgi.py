"""One ASGI application for HTTP and WebSocket (served by uvicorn)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DB_POOL", "1")  # each request runs in its own thread: pool connections
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from realtime.routing import websocket_urlpatterns  # noqa: E402
from tenants.asgi import TenantASGIMiddleware  # noqa: E402
from uploads.asgi import UploadBodyLimit  # noqa: E402

application = ProtocolTypeRouter({
    "http": UploadBodyLimit(django_asgi_app),  # an oversized upload is refused before Django reads it
    "websocket": TenantASGIMiddleware(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})
