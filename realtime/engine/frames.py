"""The WebSocket protocol: one declared schema per frame type, both ways.

Client → server frames are parsed with `client_frame_parse` (unknown type,
missing or extra fields → an `error` frame). Server → client frames are built
from these models, so what we send always matches what we document; `event`
frames are assembled by the publish script from an already-validated event.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .eventlog import is_event_id


def _event_id(value: str) -> str:
    if not is_event_id(value):
        raise ValueError("not an event id (<ms>-<seq>, each at most 2**64 - 1)")
    return value


EventId = Annotated[str, Field(max_length=41), AfterValidator(_event_id)]

# Close codes (documented in docs/realtime.md, "Frames")
CLOSE_BAD_FRAME = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NO_TENANT = 4404
CLOSE_TOO_SLOW = 4408
CLOSE_RATE_LIMITED = 4429
CLOSE_INTERNAL_ERROR = 1011  # a failure on our side (RFC 6455); the client may reconnect
CLOSE_TRY_AGAIN_LATER = 1013  # no database connection in time (the pool is busy): reconnect later


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=False)


# --- client → server ------------------------------------------------------


class Subscribe(Frame):
    type: Literal["subscribe"]
    channel: str = Field(max_length=64)


class Unsubscribe(Frame):
    type: Literal["unsubscribe"]
    channel: str = Field(max_length=64)


class MessageSend(Frame):
    type: Literal["message"]
    room: int = Field(gt=0)
    body: str = Field(min_length=1, max_length=4000)
    ref: str | None = Field(default=None, max_length=64)


class Ping(Frame):
    type: Literal["ping"]


class Resume(Frame):
    type: Literal["resume"]
    last_event_id: EventId


ClientFrame = Annotated[Subscribe | Unsubscribe | MessageSend | Ping | Resume, Field(discriminator="type")]
_client_frames = TypeAdapter(ClientFrame)
CLIENT_TYPES = {"subscribe", "unsubscribe", "message", "ping", "resume"}


class FrameError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def client_frame_parse(text: str | None):
    """A client frame from its JSON text; raises FrameError(code, message)."""
    if text is None:
        raise FrameError("bad_frame", "Frames are JSON text, not binary.")
    try:
        return _client_frames.validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise FrameError("invalid_json", "The frame is not valid JSON.") from None
        if first["type"] in ("union_tag_invalid", "union_tag_not_found", "model_attributes_type", "model_type"):
            raise FrameError("unknown_frame_type", f"Frame types are {', '.join(sorted(CLIENT_TYPES))}.") from None
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        raise FrameError("invalid_frame", f"{where}: {first['msg']}") from None


# --- server → client ------------------------------------------------------


class Event(Frame):
    """Documented here; assembled by realtime.engine.eventlog (id assigned by the log)."""

    type: Literal["event"] = "event"
    id: str
    channel: str
    event: str
    data: dict[str, Any]
    ts: float


class Ack(Frame):
    type: Literal["ack"] = "ack"
    ref: str | None
    id: int


class Subscribed(Frame):
    type: Literal["subscribed"] = "subscribed"
    channel: str


class Unsubscribed(Frame):
    type: Literal["unsubscribed"] = "unsubscribed"
    channel: str


class Error(Frame):
    type: Literal["error"] = "error"
    code: str
    message: str


class Pong(Frame):
    type: Literal["pong"] = "pong"


class Reset(Frame):
    """The client is further behind than the event log reaches: refetch state."""

    type: Literal["reset"] = "reset"


class Welcome(Frame):
    """First frame after the handshake: who you are and where the log is."""

    type: Literal["welcome"] = "welcome"
    user: int
    tenant: str
    channels: list[str]
    last_event_id: str
