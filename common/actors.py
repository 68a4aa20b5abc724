"""Who is acting: the user (None for system work) and the address they act from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .proxies import client_ip  # the trusted-proxy rule


@dataclass(frozen=True)
class Actor:
    """Who is acting and from which address (None for system work).

    `operator`: an operator acting on a tenant from the platform's own tools (the admin),
    with full rights in every tenant, like system work, but recorded under their name."""

    user: Any = None
    ip: str | None = None
    operator: bool = False

    @classmethod
    def from_request(cls, request, *, operator: bool = False) -> Actor:
        user = getattr(request, "user", None)
        return cls(
            user=user if user is not None and user.is_authenticated else None, ip=client_ip(request), operator=operator
        )

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)


SYSTEM = Actor()
