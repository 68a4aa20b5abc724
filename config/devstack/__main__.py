"""`python -m config.devstack run|test|exec|stop`: the launcher behind make.

run   services up, migrate (shared, tenants, template, pool), seed the demo
      tenant, then serve HTTP + WebSocket (uvicorn) and a qcluster until Ctrl-C.
test  services up (profile "test"), then pytest with the given arguments.
exec  services up (profile from --profile, default "bench"), then any command.
stop  stop the embedded servers of a profile.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config.server import server_command, web_concurrency

from .services import ROOT, local_secret_key, stack_down, stack_up, stop_postgres, stop_redis

PYTHON = sys.executable


def _env(stack, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(stack.environ())
    env.setdefault("SECRET_KEY", local_secret_key())  # settings refuse to start without one (DEBUG off)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra or {})
    _folders_make(env)
    return env


def _folders_make(env: dict[str, str]) -> None:
    """The folders the settings name and Django's checks want to exist (the settings make none)."""
    Path(env.get("FILE_UPLOAD_TEMP_DIR") or Path(env["PLATFORM_DATA_DIR"]) / "tmp").mkdir(parents=True, exist_ok=True)


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def run(_args) -> int:
    stack = stack_up("dev")
    env = _env(stack)
    port = env.get("PORT", "8000")
    procs: list[subprocess.Popen] = []
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        _manage(env, "migrate_schemas", "--noinput", "-v", "0")
        _manage(env, "seed_demo")
        procs.append(
            subprocess.Popen(  # config/server.py: one process per core
                server_command(
                    host=env.get("HOST", "127.0.0.1"),
                    port=port,
                    workers=web_concurrency(env),
                    access_log=env.get("ACCESS_LOG") != "0",
                ),
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
        )
        procs.append(
            subprocess.Popen(
                [PYTHON, "manage.py", "qcluster"],
                cwd=ROOT,
                env={**env, "JOBS_QCLUSTER_PROCESS": "1"},
                start_new_session=True,
            )
        )
        while not stopping:
            for proc in procs:
                if proc.poll() is not None:
                    print(f"process {proc.args[:3]} exited with {proc.returncode}; stopping", flush=True)
                    stopping = True
            time.sleep(0.2)
    finally:
        for proc in procs:
            if proc.poll() is None:
                # The main process only: it stops its children (qcluster's sentinel and
                # workers, uvicorn's workers); a group-wide SIGTERM hangs django-q2.
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
            except ProcessLookupError:
                pass
        stack_down(stack)
        print("stopped: app server, qcluster and the services this run started", flush=True)
    return 0


def test(args) -> int:
    # DEVSTACK_PROFILE lets two suites run side by side without sharing servers.
    stack = stack_up(os.environ.get("DEVSTACK_PROFILE", "test"))
    try:
        cmd = [PYTHON, "-m", "pytest", *args.rest]
        env = _env(stack, {"DJANGO_SETTINGS_MODULE": "config.settings_test"})
        return subprocess.call(cmd, cwd=ROOT, env=env)
    finally:
        stack_down(stack)


def exec_(args) -> int:
    stack = stack_up(args.profile)
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    try:
        return subprocess.call(rest, cwd=ROOT, env=_env(stack))
    finally:
        stack_down(stack)


def stop(args) -> int:
    stop_redis(args.profile)
    stop_postgres(args.profile)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m config.devstack", allow_abbrev=False)
    parser.add_argument("command", choices=["run", "test", "exec", "stop"])
    parser.add_argument("--profile", default=None)
    args, rest = parser.parse_known_args()
    args.rest = rest
    if args.command == "stop":  # the profile `make test` / a helper's DEVSTACK_PROFILE started, else make run's
        args.profile = args.profile or os.environ.get("DEVSTACK_PROFILE") or "dev"
    args.profile = args.profile or "bench"
    return {"run": run, "test": test, "exec": exec_, "stop": stop}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
