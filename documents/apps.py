from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    """Collaborative documents: Yjs documents in the tenant's schema, edited over the standard
    y-websocket protocol at `/ws/docs/<id>`, every update stored before anyone sees it."""

    name = "documents"
    verbose_name = "Documents"
    default_auto_field = "django.db.models.BigAutoField"
