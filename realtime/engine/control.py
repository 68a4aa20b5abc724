"""Closing live connections (sockets and SSE streams) when access to what they show ends.

Control messages travel on the channel layer, never in the event log: each
connection joins its tenant's and its user's control groups
(channel_names.control_group) and the `ctl.<credential>` group of the token or
session it was opened with; an `rt.close` message there closes it (4403 and
the reason). Every close is sent after the current transaction commits.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from common.redis_client import redis_client

from .channel_names import control_group
from .frames import CLOSE_FORBIDDEN


def _close(group: str, reason: str) -> None:
    async_to_sync(get_channel_layer().group_send)(
        group, {"type": "rt.close", "code": CLOSE_FORBIDDEN, "reason": reason}
    )


def connections_close_for_user(*, tenant_id, user_id: int, reason: str = "access_revoked") -> None:
    transaction.on_commit(lambda: _close(control_group(tenant_id, user_id), reason))


def connections_close_for_tenant(*, tenant_id, reason: str = "tenant_suspended") -> None:
    transaction.on_commit(lambda: _close(control_group(tenant_id), reason))


def _revoked_key(credential: str) -> str:
    return f"ctl:revoked:{credential}"  # platform-wide, like the credential itself


def credential_revoked(credential: str) -> bool:
    """Whether this credential was revoked within the last ticket lifetime."""
    return bool(redis_client().exists(_revoked_key(credential)))


def connections_close_for_credential(*, credential: str, reason: str = "credential_revoked") -> None:
    """Every connection opened with this token or session, whatever its tenant
    (sockets and SSE streams), and every ticket it was issued and not yet
    redeemed: the revocation is remembered for as long as a ticket lives, and
    remembered before the close is sent, so that a connection being opened
    either sees it or is in the group when the close comes."""

    def close() -> None:
        redis_client().set(_revoked_key(credential), "1", ex=settings.REALTIME["TICKET_TTL_SECONDS"] + 5)
        _close(f"ctl.{credential}", reason)

    transaction.on_commit(close)
