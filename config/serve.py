"""`python -m config.serve`: uvicorn worker processes that each accept their own connections.

uvicorn's `--workers` binds one listening socket in its supervisor and every worker
accepts from it. Keep-alive clients then stick to whichever worker won the race
for their connection: measured with wrk's 32 connections, one worker of two often
held most of them and ran its core flat out while the other idled — half the
throughput, and the latency tail of a queue. Here each worker binds its own socket to
the same address with SO_REUSEPORT, so the kernel spreads new connections evenly
over the workers.

The supervisor starts WORKERS processes (`python -m config.serve --worker …`),
starts a worker again if one dies, and on SIGTERM/SIGINT stops them all (each
finishes its requests, as uvicorn does on SIGTERM). A worker that dies within
START_GRACE seconds of starting, three times in a row (the port taken, the app
failing to import), stops the whole server with exit code 1 instead of a restart loop.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # the kernel balances accepts
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(args) -> None:
    import uvicorn

    config = uvicorn.Config(
        "config.asgi:application",
        host=args.host,
        port=args.port,
        ws=args.ws,
        ws_max_size=args.ws_max_size,
        lifespan="off",
        proxy_headers=False,
        access_log=args.access_log,
        log_level=args.log_level,
    )
    uvicorn.Server(config).run(sockets=[_listening_socket(args.host, args.port)])


START_GRACE = 5.0  # seconds: a worker dying sooner did not start


def _supervise(args, worker_argv: list[str]) -> int:
    procs: dict[int, subprocess.Popen] = {}
    started: dict[int, float] = {}
    early_deaths = 0
    stopping = False

    def start(index: int) -> None:
        procs[index] = subprocess.Popen([sys.executable, "-m", "config.serve", "--worker", *worker_argv])
        started[index] = time.monotonic()

    def stop(*_) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(args.workers):
        start(index)
    failed = False
    while not stopping:
        for index, proc in list(procs.items()):
            if proc.poll() is not None and not stopping:
                early_deaths = early_deaths + 1 if time.monotonic() - started[index] < START_GRACE else 0
                if early_deaths >= 3:
                    print(f"serve: workers keep exiting at start (last: {proc.returncode}); stopping", flush=True)
                    stopping = failed = True
                    break
                print(f"serve: worker {proc.pid} exited with {proc.returncode}; starting another", flush=True)
                time.sleep(0.5)  # a worker that cannot start must not spin
                start(index)
        time.sleep(0.2)
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--ws", default="websockets-sansio")
    parser.add_argument("--ws-max-size", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    return _supervise(args, [a for a in argv if a != "--worker"])


if __name__ == "__main__":
    sys.exit(main())
