"""Changes made outside accounts/services.py — the admin's change form and delete action,
the shell, a session logging out — caught by Django's signals and announced as the
same domain events the services emit (accounts/domain_events.py): a token revoked or
deleted, a session ended, a user deactivated or deleted. Whoever reacts (realtime
closes live connections) subscribes to those. And every process forgets its cached
copy of a token or user that changed, however it was saved (common/localcache.py)."""

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from common.domain_events import emit
from common.localcache import invalidate

from .domain_events import CredentialRevoked, UserDeactivated, UserDeleted
from .selectors import token_cache_key, user_cache_tag
from .services import session_credential, token_credential


@receiver(user_logged_out)
def _session_ended(sender, request, user, **kwargs):
    if request is not None and request.session.session_key:
        emit(
            CredentialRevoked(
                user_id=getattr(user, "pk", None),
                credential=session_credential(request.session.session_key),
                reason="logged_out",
            )
        )


def _token_revoked(token, reason: str) -> None:
    emit(CredentialRevoked(user_id=token.user_id, credential=token_credential(token.pk), reason=reason))


@receiver(post_save, sender="accounts.AuthToken")
def _token_saved(sender, instance, created, **kwargs):
    if not created:
        invalidate(token_cache_key(instance.digest))
    if instance.revoked_at is not None:
        _token_revoked(instance, "revoked")


@receiver(post_delete, sender="accounts.AuthToken")
def _token_deleted(sender, instance, **kwargs):
    invalidate(token_cache_key(instance.digest))
    _token_revoked(instance, "deleted")


@receiver(post_save, sender="accounts.User")
def _user_saved(sender, instance, created, **kwargs):
    if not created:
        invalidate(user_cache_tag(instance.pk))
    if not created and not instance.is_active:
        emit(UserDeactivated(user_id=instance.pk))


@receiver(pre_delete, sender="accounts.User")
def _user_deleted(sender, instance, **kwargs):
    invalidate(user_cache_tag(instance.pk))
    emit(UserDeleted(user_id=instance.pk, email=instance.email))  # before its memberships go with it
