from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import (
            events,  # noqa: F401  (declares the rooms', chat's, notifications' and presence wire events)
            subscribers,  # noqa: F401  (closing live connections when access ends)
        )
