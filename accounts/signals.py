"""Live connections end when the credential or the account behind them does: a session
logging out, a token revoked or deleted other than through `token_revoke` (the admin's
change form and delete action save or delete the object), a user deactivated or deleted
(the admin again). And every process forgets its cached copy of a token or user that
changed, however it was saved (common/localcache.py)."""
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from common.localcache import invalidate

from .selectors import token_cache_key, user_cache_tag


@receiver(user_logged_out)
def _session_ended(sender, request, user, **kwargs):
    from realtime.services import connections_close_for_credential

    from .services import session_credential

    if request is not None and request.session.session_key:
        connections_close_for_credential(credential=session_credential(request.session.session_key))


def _token_connections_close(token) -> None:
    from realtime.services import connections_close_for_credential

    from .services import token_credential

    connections_close_for_credential(credential=token_credential(token.pk))


@receiver(post_save, sender="accounts.AuthToken")
def _token_saved(sender, instance, created, **kwargs):
    if not created:
        invalidate(token_cache_key(instance.digest))
    if instance.revoked_at is not None:
        _token_connections_close(instance)


@receiver(post_delete, sender="accounts.AuthToken")
def _token_deleted(sender, instance, **kwargs):
    invalidate(token_cache_key(instance.digest))
    _token_connections_close(instance)


def _user_connections_close(user, reason: str) -> None:
    from realtime.services import connections_close_for_user
    from tenants.models import Membership

    for tenant_id in Membership.objects.filter(user_id=user.pk).values_list("tenant_id", flat=True):
        connections_close_for_user(tenant_id=tenant_id, user_id=user.pk, reason=reason)


@receiver(post_save, sender="accounts.User")
def _user_saved(sender, instance, created, **kwargs):
    if not created:
        invalidate(user_cache_tag(instance.pk))
    if not created and not instance.is_active:
        _user_connections_close(instance, "user_deactivated")


@receiver(pre_delete, sender="accounts.User")
def _user_deleted(sender, instance, **kwargs):
    invalidate(user_cache_tag(instance.pk))
    _user_connections_close(instance, "user_deleted")  # its memberships go with it
