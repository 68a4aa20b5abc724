"""What the Django admin does to credentials: it saves or deletes the objects themselves,
without the services (the model signals must still reach live connections)."""


def admin_revoke_token(raw_token: str) -> None:
    """What the admin's change form does: set revoked_at and save the object."""
    from django.utils import timezone

    from accounts.models import AuthToken
    from accounts.tokens import token_digest

    token = AuthToken.objects.get(digest=token_digest(raw_token))
    token.revoked_at = timezone.now()
    token.save()


def admin_delete_token(raw_token: str) -> None:
    from accounts.models import AuthToken
    from accounts.tokens import token_digest

    AuthToken.objects.get(digest=token_digest(raw_token)).delete()


def admin_deactivate(user) -> None:
    user.is_active = False
    user.save()
