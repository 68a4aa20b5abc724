"""The process's hub reader keeps delivering whatever one batch of events does."""

import asyncio

from asgiref.sync import sync_to_async

from common.redis_client import redis_client
from realtime.engine.channel_names import stream_key
from realtime.engine.eventlog import event_append
from realtime.engine.hub import Hub
from tests.realtime.client import connect_member


async def test_a_malformed_log_entry_does_not_stop_delivery(asgi_server, world):
    acme = str(world["acme"].pk)
    sock = await connect_member(asgi_server, "acme.localhost", world["member_token"])
    redis_client().xadd(stream_key(acme), {"junk": "no channel, no body"})
    await asyncio.sleep(0.3)  # the reader has taken the bad entry
    await sync_to_async(event_append)(acme, "tenant", "announcement", {"text": "after"})
    assert (await sock.event("announcement"))["data"]["text"] == "after"
    await sock.close()


class Inbox:
    def __init__(self):
        self.events = []

    def push_one(self, event):
        self.events.append(event)

    def push(self, events):
        self.events.extend(events)


async def test_the_reader_restarts_after_an_unexpected_error(world, monkeypatch):
    acme = str(world["acme"].pk)
    hub, inbox = Hub(), Inbox()
    failures = []
    dispatch = hub._dispatch

    def failing_once(key, entries):
        if not failures:
            failures.append(key)
            raise RuntimeError("a bug in dispatch")
        return dispatch(key, entries)

    monkeypatch.setattr(hub, "_dispatch", failing_once)
    monkeypatch.setattr("realtime.engine.hub.RESTART_BACKOFF", 0.05)
    await hub.subscribe(acme, "tenant", inbox)
    try:
        await sync_to_async(event_append)(acme, "tenant", "announcement", {"text": "lost in the failure"})
        for _ in range(50):
            if failures:
                break
            await asyncio.sleep(0.05)
        await sync_to_async(event_append)(acme, "tenant", "announcement", {"text": "delivered"})
        for _ in range(50):
            if inbox.events:
                break
            await asyncio.sleep(0.05)
        assert failures and not hub.task.done()
        assert any('"delivered"' in event.text for event in inbox.events)
    finally:
        hub.task.cancel()
