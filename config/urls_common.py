"""Routes served on every host: health, auth, the API schema and docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from common.health import healthz, readyz
from tenants.apis import MeApi, TokenApi


class DocsPageMixin:
    """The docs are HTML pages (DRF's TemplateHTMLRenderer): GET and HEAD only. OPTIONS would
    render DRF's metadata through the page's template (Swagger's: a 500); now a 405 like TRACE."""

    http_method_names = ["get", "head"]


class SwaggerPage(DocsPageMixin, SpectacularSwaggerView):
    pass


class RedocPage(DocsPageMixin, SpectacularRedocView):
    pass


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/auth/token", TokenApi.as_view(), name="auth-token"),
    path("api/me", MeApi.as_view(), name="me"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerPage.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", RedocPage.as_view(url_name="schema"), name="redoc"),
    path("api-auth/", include("rest_framework.urls")),
]
