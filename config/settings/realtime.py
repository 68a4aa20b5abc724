"""Real-time delivery (realtime/): the event log, WebSocket frames and connections, presence."""

from __future__ import annotations

from config.env import env

REALTIME = {
    "EVENT_RETENTION_SECONDS": env.int("REALTIME_EVENT_RETENTION_SECONDS", default=900),
    "EVENT_LOG_MAX": env.int("REALTIME_EVENT_LOG_MAX", default=200_000),  # hard cap per tenant
    "TICKET_TTL_SECONDS": 30,
    "MAX_FRAME_BYTES": 64 * 1024,
    "FRAMES_PER_10S": env.int("REALTIME_FRAMES_PER_10S", default=100),
    "MAX_CONNECTIONS_PER_USER": env.int("REALTIME_MAX_CONNECTIONS_PER_USER", default=10),
    "PRESENCE_TTL_SECONDS": env.int("REALTIME_PRESENCE_TTL_SECONDS", default=45),
    "HEARTBEAT_SECONDS": env.int("REALTIME_HEARTBEAT_SECONDS", default=15),
    "SEND_TIMEOUT_SECONDS": env.float("REALTIME_SEND_TIMEOUT_SECONDS", default=10),
}
