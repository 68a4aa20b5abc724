"""A y-websocket client in Python (pycrdt) for tests: what Yjs's WebsocketProvider does on the wire."""

from __future__ import annotations

import asyncio

import websockets
from pycrdt import (
    Doc,
    Text,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
    read_message,
)

from tests.realtime.client import ticket_for


class YClient:
    def __init__(self, ws, doc: Doc):
        self.ws, self.doc = ws, doc
        self.text = doc.get("content", type=Text)
        self.synced = asyncio.Event()
        self.received: list[bytes] = []  # every message, as it came
        self.closed: websockets.ConnectionClosed | None = None
        self.updated = asyncio.Event()
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self._remote = False
        doc.observe(self._on_transaction)
        self.tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._write())]

    @classmethod
    async def connect(
        cls,
        server,
        host: str,
        token: str,
        document_id,
        *,
        doc: Doc | None = None,
        sync: bool = True,
        origin: str | None = None,
    ) -> YClient:
        ticket = await ticket_for(server, host, token)
        ws = await websockets.connect(
            f"ws://{host}:{server.port}/ws/docs/{document_id}?ticket={ticket}",
            host="127.0.0.1",
            port=server.port,
            open_timeout=10,
            max_size=2**24,
            additional_headers={"Origin": origin} if origin else None,
        )
        client = cls(ws, doc or Doc())
        try:
            await ws.send(create_sync_message(client.doc))  # step 1, as the provider sends on open
        except websockets.ConnectionClosed:
            return client  # refused: closed_with() says how
        if sync:
            await asyncio.wait_for(client.synced.wait(), 5)
        return client

    def _on_transaction(self, event) -> None:
        if not self._remote and event.update != b"\x00\x00":
            self._outgoing.put_nowait(create_update_message(event.update))

    async def _write(self) -> None:
        while True:
            await self.ws.send(await self._outgoing.get())

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                self.received.append(message)
                if message[0] == YMessageType.SYNC:
                    self._remote = True
                    try:
                        reply = handle_sync_message(message[1:], self.doc)
                    finally:
                        self._remote = False
                    if reply is not None:
                        await self.ws.send(reply)
                    if message[1] == YSyncMessageType.SYNC_STEP2:
                        self.synced.set()
                    self.updated.set()
        except websockets.ConnectionClosed as closed:
            self.closed = closed

    async def send_raw(self, message: bytes) -> None:
        await self.ws.send(message)

    async def awareness(self, client_id: int, clock: int, state: str) -> None:
        from pycrdt import Encoder

        encoder = Encoder()
        encoder.write_var_uint(1)
        encoder.write_var_uint(client_id)
        encoder.write_var_uint(clock)
        encoder.write_var_string(state)
        await self.ws.send(create_awareness_message(encoder.to_bytes()))

    def awareness_received(self) -> list[bytes]:
        return [read_message(m[1:]) for m in self.received if m[0] == YMessageType.AWARENESS]

    async def wait_text(self, expected: str, timeout: float = 5) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while str(self.text) != expected and loop.time() < deadline:
            self.updated.clear()
            try:
                await asyncio.wait_for(self.updated.wait(), max(0.01, deadline - loop.time()))
            except TimeoutError:
                break
        return str(self.text)

    async def closed_with(self, timeout: float = 5) -> tuple[int, str]:
        await asyncio.wait_for(asyncio.shield(self.tasks[0]), timeout)
        closed = self.closed
        if closed is None:
            return (self.ws.close_code, self.ws.close_reason)
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (closed.code, "")

    async def flush(self) -> None:
        while not self._outgoing.empty():
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        await self.flush()
        for task in self.tasks:
            task.cancel()
        await self.ws.close()
