"""Declaring wire events: each event name once, with its data schema.

`event_validate` runs on every publish (realtime.engine.publish): an undeclared
event name or data that does not match its schema is a programming error,
caught before anything is sent. Each app declares its events with
`event_declare` in its own `events.py`, imported by its AppConfig.ready().
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

_EVENTS: dict[str, type[BaseModel]] = {}


class EventData(BaseModel):
    model_config = ConfigDict(extra="forbid")


def event_declare(name: str):
    def register(model: type[BaseModel]) -> type[BaseModel]:
        _EVENTS[name] = model
        return model

    return register


def event_validate(name: str, data: dict[str, Any]) -> dict[str, Any]:
    model = _EVENTS.get(name)
    if model is None:
        raise ValueError(f"undeclared realtime event {name!r}; declare it with event_declare")
    try:
        return model.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        raise ValueError(f"data of {name!r} does not match its schema: {exc}") from exc


def events_declared() -> dict[str, dict]:
    """Name → JSON schema of every declared event (for the docs)."""
    return {name: model.model_json_schema() for name, model in sorted(_EVENTS.items())}
