"""Domain events: what a service announces happened, delivered to the apps that react.

    @domain_event("member.added")
    class MemberAdded(DomainEvent):
        tenant_id: str
        user_id: int

    emit(MemberAdded(tenant_id=str(tenant.pk), user_id=user.pk), actor=actor)  # in the write's transaction

    @subscribe(MemberAdded)                           # in the reacting app's subscribers.py
    def _close(event: MemberAdded, actor: Actor | None) -> None: ...

Invariants:
- An event is a frozen pydantic model of JSON-able fields; `name` (a class attribute) is
  its stable dotted name, unique across the platform; `model_dump(mode="json")` is the
  payload webhooks and change feeds will see. Who acted (with their IP) travels beside
  the event, not in it.
- A default subscriber runs after the emitting transaction commits (at once in
  autocommit), never if it rolls back; one failing is logged and the others still run.
  For side effects outside the database: sockets, Redis, HTTP.
- A `within_transaction=True` subscriber runs synchronously in `emit`, inside the
  emitting transaction: its writes commit or roll back with the change (audit rows, job
  rows: an outbox), and its exception rolls the change back. They all run before any
  after-commit subscriber is queued, so one raising leaves nothing queued. (Emitted in
  autocommit, outside any transaction, the change is already committed: services that
  emit do so inside theirs.)
- Subscribers are connected by importing the app's subscribers.py in AppConfig.ready();
  importing it twice connects nothing twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from django.db import transaction
from pydantic import BaseModel, ConfigDict

from .actors import Actor

logger = logging.getLogger(__name__)

NAME_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


class DomainEvent(BaseModel):
    """Base of every domain event (declare subclasses with @domain_event)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str] = ""


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any, Actor | None], None]


@dataclass(frozen=True)
class _Subscriber:
    handler: Handler
    within_transaction: bool

    @property
    def key(self) -> str:
        return f"{self.handler.__module__}.{self.handler.__qualname__}"


_EVENTS: dict[str, type[DomainEvent]] = {}
_SUBSCRIBERS: dict[type[DomainEvent], list[_Subscriber]] = {}
_RECORDERS: list[list[DomainEvent]] = []


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def domain_event(name: str) -> Callable[[type[E]], type[E]]:
    """Declare an event class under its stable `name` (dotted, lowercase, unique)."""
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"domain event name {name!r}: use dotted lowercase words, like 'member.added'")

    def register(cls: type[E]) -> type[E]:
        if not (isinstance(cls, type) and issubclass(cls, DomainEvent)):
            raise TypeError(f"@domain_event({name!r}) decorates DomainEvent subclasses")
        existing = _EVENTS.get(name)
        if existing is not None and _qualified(existing) != _qualified(cls):  # the same class re-imported is fine
            raise ValueError(f"domain event {name!r} is declared twice: {_qualified(existing)}, {_qualified(cls)}")
        cls.name = name
        _EVENTS[name] = cls
        return cls

    return register


def subscribe(event_class: type[E], *, within_transaction: bool = False) -> Callable[[Handler], Handler]:
    """Connect `handler(event, actor)` to `event_class` (see the module's invariants)."""
    if _EVENTS.get(event_class.name) is not event_class:
        raise TypeError(f"{event_class.__name__} is not a declared domain event (@domain_event)")

    def connect(handler: Handler) -> Handler:
        subscriber = _Subscriber(handler, within_transaction)
        subscribers = _SUBSCRIBERS.setdefault(event_class, [])
        subscribers[:] = [s for s in subscribers if s.key != subscriber.key] + [subscriber]
        return handler

    return connect


def emit(event: DomainEvent, *, actor: Actor | None = None) -> None:
    """Announce `event`: within-transaction subscribers run now (their exception
    propagates), the others are queued for after the commit."""
    event_class = type(event)
    if _EVENTS.get(event_class.name) is not event_class:
        raise TypeError(f"{event_class.__name__} is not a declared domain event (@domain_event)")
    for recorder in _RECORDERS:
        recorder.append(event)
    subscribers = list(_SUBSCRIBERS.get(event_class, ()))
    for subscriber in subscribers:  # all of these first: one raising queues nothing after the commit
        if subscriber.within_transaction:
            subscriber.handler(event, actor)
    for subscriber in subscribers:
        if not subscriber.within_transaction:
            transaction.on_commit(_after_commit(subscriber, event, actor), robust=True)


def _after_commit(subscriber: _Subscriber, event: DomainEvent, actor: Actor | None) -> Callable[[], None]:
    def deliver() -> None:
        try:
            subscriber.handler(event, actor)
        except Exception:
            logger.exception("subscriber %s of domain event %s failed", subscriber.key, event.name)

    deliver.__qualname__ = f"deliver[{event.name} -> {subscriber.key}]"  # what Django logs, if it ever does
    return deliver


def subscribers_of(event_class: type[DomainEvent]) -> list[tuple[str, bool]]:
    """(dotted handler name, within_transaction) of each subscriber, in delivery order."""
    return [(s.key, s.within_transaction) for s in _SUBSCRIBERS.get(event_class, ())]


def events_declared() -> dict[str, type[DomainEvent]]:
    """Name → class of every declared event (their JSON schema: `model_json_schema()`)."""
    return dict(sorted(_EVENTS.items()))


@contextmanager
def captured() -> Iterator[list[DomainEvent]]:
    """For tests: the events emitted inside the block, in order (whether or not their
    transaction commits); delivery to subscribers still happens as usual."""
    events: list[DomainEvent] = []
    _RECORDERS.append(events)
    try:
        yield events
    finally:
        _RECORDERS.remove(events)
