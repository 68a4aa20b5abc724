"""config/serve.py: the supervisor of the server's worker processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from tests.live import ROOT


def test_a_port_already_taken_stops_the_server_with_an_error_instead_of_restarting_forever():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "config.serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    assert "keep exiting at start" in run.stdout
    assert time.monotonic() - started < 30
