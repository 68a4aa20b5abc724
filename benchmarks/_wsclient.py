"""A lean WebSocket client for load generation: an asyncio.Protocol that parses
frames itself and counts events, so the benchmark measures the server rather
than a client library's per-message overhead (the websockets library costs
~30 µs a message; this costs a few). RFC 6455 as far as a client needs it:
handshake, masked client frames, unmasked server frames, pong replies.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time

EVENT_PREFIX = b'{"type":"event"'


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    mask = os.urandom(4)
    size = len(payload)
    header = bytes((0x80 | opcode,))
    if size < 126:
        header += bytes((0x80 | size,))
    elif size < 1 << 16:
        header += bytes((0x80 | 126,)) + size.to_bytes(2, "big")
    else:
        header += bytes((0x80 | 127,)) + size.to_bytes(8, "big")
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class LeanSocket(asyncio.Protocol):
    """Counts the `event` frames of one event name (others, such as presence,
    are skipped); every `sample`-th one is decoded for its latency (the
    publisher puts {"t": send time} in the event's `field`: an announcement's
    text, a chat message's body). Also counts `ack` and `error` replies (for a
    socket that sends chat messages)."""

    def __init__(
        self, host: str, path: str, sample: int, latencies: list[float], name: str = "announcement", field: str = "text"
    ):
        self.host, self.path = host, path
        self.marker = f'"event":"{name}"'.encode()
        self.field = field
        self.acks = 0
        self.errors: list[str] = []
        self.sample, self.latencies = sample, latencies
        self.buffer = bytearray()
        self.opened = asyncio.get_running_loop().create_future()
        self.welcomed = asyncio.Event()
        self.ponged = asyncio.Event()
        self.closed = asyncio.get_running_loop().create_future()
        self.handshaken = False
        self.events = 0
        self.last_event_at = 0.0
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def send_text(self, text: str) -> None:
        self.transport.write(client_frame(text.encode()))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        pos = 0
        if not self.handshaken:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buffer[:end]:
                self.opened.set_exception(ConnectionError(bytes(buffer[:end]).decode(errors="replace")))
                return
            self.handshaken = True
            self.opened.set_result(None)
            pos = end + 4
        size_all = len(buffer)
        while size_all - pos >= 2:
            opcode, size = buffer[pos] & 0x0F, buffer[pos + 1] & 0x7F
            start = pos + 2
            if size >= 126:
                width = 2 if size == 126 else 8
                if size_all < start + width:
                    break
                size, start = int.from_bytes(buffer[start : start + width], "big"), start + width
            if size_all < start + size:
                break
            pos = start + size
            if opcode == 0x1:
                if buffer.startswith(EVENT_PREFIX, start):
                    if buffer.find(self.marker, start, min(pos, start + 160)) < 0:
                        continue  # another event (presence)
                    self.events += 1
                    self.last_event_at = time.time()
                    if self.events % self.sample == 0:
                        frame = json.loads(buffer[start:pos])
                        self.latencies.append(time.time() - json.loads(frame["data"][self.field])["t"])
                elif buffer.startswith(b'{"type":"welcome"', start):
                    self.welcomed.set()
                elif buffer.startswith(b'{"type":"pong"', start):
                    self.ponged.set()
                elif buffer.startswith(b'{"type":"ack"', start):
                    self.acks += 1
                elif buffer.startswith(b'{"type":"error"', start):
                    self.errors.append(bytes(buffer[start:pos]).decode(errors="replace"))
            elif opcode == 0x9:  # ping -> pong
                self.transport.write(client_frame(bytes(buffer[start:pos]), 0xA))
            elif opcode == 0x8:
                self.transport.close()
        del buffer[:pos]

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during handshake"))


async def lean_connect(
    port: int,
    host: str,
    path: str,
    sample: int,
    latencies: list[float],
    name: str = "announcement",
    field: str = "text",
) -> LeanSocket:
    loop = asyncio.get_running_loop()
    _, sock = await loop.create_connection(
        lambda: LeanSocket(host, path, sample, latencies, name, field), "127.0.0.1", port
    )
    await asyncio.wait_for(sock.opened, 60)
    return sock
