"""Logging out ends the session's live connections (the only thing done here)."""
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver


@receiver(user_logged_out)
def _session_ended(sender, request, user, **kwargs):
    from realtime.services import connections_close_for_credential

    from .services import session_credential

    if request is not None and request.session.session_key:
        connections_close_for_credential(credential=session_credential(request.session.session_key))
