"""Channel names a connection can hold, and the tenant-carrying names behind them.

Public names (what clients say): `user:<id>`, `room:<id>`, `tenant`.
Internal names always carry the tenant: the hub's subscription key
(tenant id, "room:12"), the event-log stream `t:<tenant id>:events` and the
channel-layer control groups `t.<tenant hex>.ctl[.u<user id>]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.redis_client import tenant_key

CHANNEL_RE = re.compile(r"^(?:user:(?P<user>\d{1,18})|room:(?P<room>\d{1,18})|(?P<tenant>tenant))$")


@dataclass(frozen=True)
class Channel:
    kind: str  # "user", "room" or "tenant"
    ident: int | None = None

    @property
    def name(self) -> str:
        return self.kind if self.ident is None else f"{self.kind}:{self.ident}"

    @classmethod
    def parse(cls, name: str) -> Channel | None:
        match = CHANNEL_RE.match(name or "")
        if match is None:
            return None
        if match["user"]:
            return cls("user", int(match["user"]))
        if match["room"]:
            return cls("room", int(match["room"]))
        return cls("tenant")


def control_group(tenant_id, user_id: int | None = None) -> str:
    """Control messages (close sockets) to one user's or every connection of a tenant."""
    hex_id = str(tenant_id).replace("-", "")
    return f"t.{hex_id}.ctl" if user_id is None else f"t.{hex_id}.ctl.u{user_id}"


def stream_key(tenant_id) -> str:
    return tenant_key(tenant_id, "events")


def trimmed_key(tenant_id) -> str:
    """The oldest id kept by the last trim that removed events (the replay floor)."""
    return tenant_key(tenant_id, "events", "trimmed")
