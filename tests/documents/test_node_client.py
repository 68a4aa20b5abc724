"""A real Yjs client (Node: yjs + y-websocket's WebsocketProvider, from benchmarks/node) edits a
document alongside the Python client, and both converge."""

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from tests.realtime.client import ticket_for

from .yclient import YClient

NODE_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "node"
ACME = "acme.localhost"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "y-websocket").is_dir(),
    reason="needs node and benchmarks/node/node_modules (run `npm ci` in benchmarks/node)",
)


async def test_a_node_yjs_client_and_a_python_client_converge(asgi_server, live_people):
    p = live_people
    python = await YClient.connect(asgi_server, ACME, p["acme"].owner_token, p["notes"].pk)
    python.text.insert(0, "py")
    await python.flush()
    ticket = await ticket_for(asgi_server, ACME, p["member_token"])
    node = await asyncio.create_subprocess_exec(
        "node",
        "ydoc_client.mjs",
        f"ws://127.0.0.1:{asgi_server.port}/ws/docs",
        str(p["notes"].pk),
        ticket,
        ACME,
        " node",
        "+",
        cwd=NODE_DIR,
        stdout=asyncio.subprocess.PIPE,
    )
    assert await python.wait_text("py node", timeout=10) == "py node"  # node saw "py", then appended
    python.text.insert(len(str(python.text)), "+")
    out, _ = await asyncio.wait_for(node.communicate(), 15)
    assert node.returncode == 0, out
    assert json.loads(out.decode().strip().splitlines()[-1]) == {"text": "py node+"}
    assert str(python.text) == "py node+"
    await python.close()
