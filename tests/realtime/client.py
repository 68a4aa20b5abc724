"""A small WebSocket client for tests: connects to a real server with a Host."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets


class Socket:
    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def open(
        cls,
        server,
        host: str,
        *,
        ticket: str | None = None,
        cookie: str | None = None,
        origin: str | None = None,
        headers: dict | None = None,
    ) -> Socket:
        extra = dict(headers or {})
        if cookie:
            extra["Cookie"] = f"sessionid={cookie}"
        if origin:
            extra["Origin"] = origin
        path = f"/ws/?ticket={ticket}" if ticket else "/ws/"
        ws = await websockets.connect(
            f"ws://{host}:{server.port}{path}",
            host="127.0.0.1",
            port=server.port,
            additional_headers=extra,
            open_timeout=10,
            max_size=2**22,
        )
        return cls(ws)

    async def send(self, **frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 5) -> dict:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def recv_type(self, kind: str, timeout: float = 5) -> dict:
        """The next frame of this type (others before it are skipped)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - asyncio.get_running_loop().time()))
            if frame["type"] == kind:
                return frame

    async def events(self, count: int, timeout: float = 5, *, skip_presence: bool = True) -> list[dict]:
        """The next `count` events (presence events skipped unless asked for)."""
        found = []
        while len(found) < count:
            frame = await self.recv_type("event", timeout)
            if skip_presence and frame["event"].startswith("presence."):
                continue
            found.append(frame)
        return found

    async def event(self, name: str, timeout: float = 5) -> dict:
        while True:
            frame = await self.recv_type("event", timeout)
            if frame["event"] == name:
                return frame

    async def nothing_for(self, seconds: float, *, but_presence: bool = True) -> bool:
        """True if no frame (presence events aside) arrives for `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            try:
                frame = await asyncio.wait_for(self.ws.recv(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                return True
            if but_presence and '"event":"presence.' in frame:
                continue
            raise AssertionError(f"unexpected frame {frame}")

    async def closed_with(self, timeout: float = 5) -> int:
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else closed.code

    async def close(self) -> None:
        await self.ws.close()


async def ticket_for(server, host: str, token: str) -> str:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/api/realtime/ticket", headers={"Host": host, "Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return response.json()["ticket"]


async def connect_member(server, host: str, token: str, *, subscribe: list[str] = (), live: bool = True) -> Socket:
    """Connect with a fresh ticket, subscribe, and (by default) go live with a ping."""
    sock = await Socket.open(server, host, ticket=await ticket_for(server, host, token))
    welcome = await sock.recv_type("welcome")
    sock.welcome = welcome
    for channel in subscribe:
        await sock.send(type="subscribe", channel=channel)
        assert (await sock.recv_type("subscribed"))["channel"] == channel
    if live:
        await sock.send(type="ping")
        await sock.recv_type("pong")
    return sock


def api(server, host: str, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Host": host}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10)
