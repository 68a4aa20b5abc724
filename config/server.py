"""How the platform is served: one command line, used by `make run`, the tests' live
server, the benchmarks and the documented production topology, so that all four
measure and run the same thing.

uvicorn serves HTTP and WebSocket from `config.asgi:application`, in worker processes
started by `config/serve.py` (each binds the port itself with SO_REUSEPORT, so the
kernel spreads connections evenly; uvicorn's own --workers shares one socket, and
keep-alive clients piled onto one worker):

- `--workers` (WEB_CONCURRENCY, default one per core): one process per core, each with
  its own event loop, its own hub (one Redis subscription per process) and its own
  database pool. Everything a limit or a revocation needs is shared through Redis and
  PostgreSQL, never held in one process (docs/performance.md).
- `--ws websockets-sansio`: the implementation realtime/engine/transport.py writes shared frames to.
- `--ws-max-size`: uvicorn buffers a WebSocket frame whole before the consumer sees it
  (and the consumer refuses one over REALTIME["MAX_FRAME_BYTES"], 64 KiB): a frame over
  twice that is refused (1009) by uvicorn itself before it is read.
- no proxy headers (config/serve.py): common/proxies.py reads X-Forwarded-* itself, only behind a proxy.
- lifespan off (config/serve.py): Django has no lifespan handler.
"""

from __future__ import annotations

import os
import sys

WS_MAX_SIZE = 131072


def web_concurrency(env: dict[str, str] | None = None) -> int:
    """Server processes: WEB_CONCURRENCY, else one per core (at least 1)."""
    value = (env if env is not None else os.environ).get("WEB_CONCURRENCY", "")
    if value.strip():
        return max(1, int(value))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def server_command(
    *,
    host: str,
    port: int | str,
    workers: int | None = None,
    ws: str = "websockets-sansio",
    access_log: bool = True,
    log_level: str | None = None,
) -> list[str]:
    """The uvicorn command line serving the platform on host:port."""
    cmd = [
        sys.executable,
        "-m",
        "config.serve",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers or web_concurrency()),
        "--ws",
        ws,
        "--ws-max-size",
        str(WS_MAX_SIZE),
        "--access-log" if access_log else "--no-access-log",
    ]
    if log_level:
        cmd += ["--log-level", log_level]
    return cmd
