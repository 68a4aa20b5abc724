from django.urls import path

from .consumers import TenantSocketConsumer

websocket_urlpatterns = [
    path("ws/", TenantSocketConsumer.as_asgi()),
]
