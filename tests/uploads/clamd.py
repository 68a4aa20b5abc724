"""A stand-in for clamd in tests: it speaks clamd's INSTREAM protocol on a unix socket
or TCP and finds the EICAR test file. (The real daemon needs signature databases
downloaded from ClamAV's mirrors, which this machine cannot reach; the protocol
our client speaks is the same.)"""

from __future__ import annotations

import os
import socketserver
import struct
import threading

from uploads.pipeline.scanning import EICAR


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        command = b""
        while not command.endswith(b"\0"):
            byte = self.rfile.read(1)
            if not byte:
                return
            command += byte
        self.server.commands.append(command)
        if command != b"zINSTREAM\0":
            self.wfile.write(b"UNKNOWN COMMAND\0")
            return
        data = b""
        while True:
            (length,) = struct.unpack("!L", self.rfile.read(4))
            if not length:
                break
            data += self.rfile.read(length)
        self.wfile.write(b"stream: Eicar-Signature FOUND\0" if EICAR in data else b"stream: OK\0")


class _Tcp(socketserver.ThreadingTCPServer):
    daemon_threads, allow_reuse_address = True, True


class _Unix(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


class FakeClamd:
    def __init__(self, unix_path: str | None = None):
        if unix_path:
            self.server, self.url = _Unix(unix_path, _Handler), f"unix://{unix_path}"
        else:
            self.server = _Tcp(("127.0.0.1", 0), _Handler)
            self.url = f"tcp://127.0.0.1:{self.server.server_address[1]}"
        self.server.commands = []
        self.unix_path = unix_path

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        if self.unix_path and os.path.exists(self.unix_path):
            os.unlink(self.unix_path)
