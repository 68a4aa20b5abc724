"""The adapters to third-party internals (common/compat) against the installed libraries.

- Each adapter's REQUIRES must hold: every name importable, with the parameters it is
  called with, the instance attributes it reads assigned by the library's code, and the
  library's own code still using what we override or read. A failure names the library,
  its version and the name, so an upgrade that removes or renames one is seen here.
- Nothing outside common/compat touches what an adapter OWNS (a scan of the project's
  packages), so the list above is the whole of what an upgrade can break that way.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.metadata
import inspect
import pkgutil
import textwrap
import tomllib
from pathlib import Path

import pytest
from django.utils.functional import cached_property

import common.compat
from common.compat import Internal, Owned

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = sorted(f"common.compat.{m.name}" for m in pkgutil.iter_modules(common.compat.__path__))
# Migrations are history frozen by makemigrations (tenants' refers to django-tenants'
# _check_schema_name validator); that name is in common.compat.django_tenants.REQUIRES instead.
SCAN_EXCLUDED = ("common/compat/", "/migrations/")


def adapter(name: str):
    try:
        return importlib.import_module(name)
    except (ImportError, AttributeError) as exc:  # an internal it binds at import time is gone
        pytest.fail(f"{name} does not import with the installed libraries: {exc!r}")


def _resolve(module: str, path: str):
    obj = importlib.import_module(module)
    for part in path.split(".") if path else ():
        obj = getattr(obj, part)
    return obj


def _function(obj):
    """The plain function behind a method, property or cached property."""
    if isinstance(obj, (cached_property, functools.cached_property)):
        return obj.func
    if isinstance(obj, property):
        return obj.fget
    return inspect.unwrap(getattr(obj, "__func__", obj))


def _tree(obj) -> ast.AST:
    return ast.parse(textwrap.dedent(inspect.getsource(obj)))


def _self_assigned(cls) -> set[str]:
    """Every `self.a[.b…] = …` in the code of `cls` and its bases (dotted, without `self.`)."""
    found: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        try:
            tree = _tree(klass)
        except (OSError, TypeError):  # no Python source (a C type)
            continue
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else ([node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            )
            for target in targets:
                parts = []
                while isinstance(target, ast.Attribute):
                    parts.append(target.attr)
                    target = target.value
                if parts and isinstance(target, ast.Name) and target.id == "self":
                    found.add(".".join(reversed(parts)))
    return found


def _identifiers(function) -> set[str]:
    """Names, attributes and string constants in a function's code."""
    found: set[str] = set()
    for node in ast.walk(_tree(_function(function))):
        if isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
    return found


def problems(internal: Internal) -> list[str]:
    """What no longer holds of `internal`, each naming the library and its version."""
    try:
        version = importlib.metadata.version(internal.dist)
    except importlib.metadata.PackageNotFoundError:
        return [f"{internal.dist} is not installed (needed for {internal})"]
    where = f"{internal.dist} {version}: {internal}"
    try:
        obj = _resolve(internal.module, internal.name)
    except (ImportError, AttributeError) as exc:
        return [f"{where} is missing ({exc})"]
    found = []
    if internal.params:
        try:
            parameters = inspect.signature(obj).parameters
        except (TypeError, ValueError) as exc:
            parameters = {}
            found.append(f"{where}: no signature to check ({exc})")
        missing = [p for p in internal.params if p not in parameters]
        if missing and parameters:
            found.append(f"{where} no longer takes {', '.join(missing)} (now: {', '.join(parameters)})")
    if internal.assigned:
        assigned = _self_assigned(obj)
        for attr in internal.assigned:
            if attr not in assigned:
                found.append(f"{where} no longer sets self.{attr}")
    tokens = [a.rsplit(".", 1)[-1] for a in internal.assigned] or [internal.name.rsplit(".", 1)[-1]]
    for user in internal.used_by:
        module, _, path = user.partition(":")
        try:
            used = _identifiers(_resolve(module, path))
        except (ImportError, AttributeError) as exc:
            found.append(f"{internal.dist} {version}: {user} (which uses {internal}) is missing ({exc})")
            continue
        for token in tokens:
            if token not in used:
                found.append(f"{internal.dist} {version}: {user} no longer uses {token} ({internal})")
    return found


@pytest.mark.parametrize("name", ADAPTERS)
def test_every_internal_an_adapter_relies_on_is_there_in_the_installed_library(name):
    module = adapter(name)
    assert module.REQUIRES, f"{name} declares no REQUIRES"
    found = [problem for internal in module.REQUIRES for problem in problems(internal)]
    assert not found, f"{name} relies on internals that changed:\n  " + "\n  ".join(found)


@pytest.mark.parametrize("name", ADAPTERS)
def test_what_an_adapter_owns_is_among_what_it_requires(name):
    """OWNS drives the scan below: a name there that REQUIRES does not list is stale."""
    module = adapter(name)
    owns: Owned = module.OWNS
    required = {
        part
        for i in module.REQUIRES
        for part in (*i.name.split("."), *(a for attr in i.assigned for a in attr.split(".")))
    }
    assert owns.names <= required, f"{name} owns names it does not require: {sorted(owns.names - required)}"
    for prefix in owns.modules:
        assert any(i.module == prefix or i.module.startswith(prefix + ".") for i in module.REQUIRES), (
            f"{name} owns module {prefix} but requires nothing from it"
        )


def test_the_guard_names_library_version_and_name_when_an_internal_is_gone():
    version = importlib.metadata.version("uvicorn")
    gone = problems(
        Internal(
            "uvicorn", "uvicorn.protocols.websockets.websockets_sansio_impl", "WebSocketsSansIOProtocol.renamed_send"
        )
    )
    assert len(gone) == 1 and gone[0].startswith(f"uvicorn {version}: ") and "renamed_send" in gone[0]
    assert problems(Internal("channels", "channels.sessions", "InstanceSessionWrapper", assigned=("real_sent",))) == [
        f"channels {importlib.metadata.version('channels')}: channels.sessions:InstanceSessionWrapper "
        f"no longer sets self.real_sent"
    ]
    unused = problems(
        Internal(
            "Django",
            "django.core.handlers.asgi",
            "ASGIHandler.read_body",
            used_by=("django.core.handlers.asgi:ASGIHandler.send_response",),
        )
    )
    assert len(unused) == 1 and "send_response no longer uses read_body" in unused[0]
    assert (
        "no longer takes body"
        in problems(Internal("Django", "django.core.handlers.asgi", "ASGIHandler.read_body", params=("body",)))[0]
    )


# --- nothing else touches them ------------------------------------------------------------


def _owned() -> tuple[dict[str, str], dict[str, str]]:
    """(owned name → its adapter, owned module prefix → its adapter)."""
    names, modules = {}, {}
    for name in ADAPTERS:
        owns: Owned = adapter(name).OWNS
        names.update(dict.fromkeys(owns.names, name))
        modules.update(dict.fromkeys(owns.modules, name))
    return names, modules


def scan(source: str, names: dict[str, str], modules: dict[str, str]) -> list[tuple[int, str, str]]:
    """(line, what, owning adapter) for each use of an owned name or module in `source`."""
    found = []

    def module_use(node, module: str) -> None:
        for prefix, owner in modules.items():
            if module == prefix or module.startswith(prefix + "."):
                found.append((node.lineno, f"imports {module}", owner))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.append((node.lineno, f".{node.attr}", names[node.attr]))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in names:
                    found.append((item.lineno, f"overrides {item.name}", names[item.name]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                module_use(node, alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module_use(node, node.module)
            for alias in node.names:
                module_use(node, f"{node.module}.{alias.name}")  # from django.core.handlers import asgi
                if alias.name in names:
                    found.append((node.lineno, f"imports {alias.name}", names[alias.name]))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            found.append((node.lineno, repr(node.value), names[node.value]))  # getattr(x, "_request")
    return sorted(set(found))


def project_files() -> list[Path]:
    """The packages the distribution ships (pyproject's packages.find), as the wheel has them."""
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = sorted({pattern.rstrip("*").rstrip(".") for pattern in include})
    files = [path for package in packages for path in (ROOT / package).rglob("*.py")]
    files.append(ROOT / "manage.py")
    return [
        path for path in files if not any(part in f"/{path.relative_to(ROOT).as_posix()}" for part in SCAN_EXCLUDED)
    ]


def test_nothing_outside_common_compat_touches_the_internals_the_adapters_own():
    names, modules = _owned()
    assert names and modules, "the adapters own nothing: the scan would prove nothing"
    files = project_files()
    assert any(path.match("common/asgi_handler.py") for path in files)
    violations = [
        f"{path.relative_to(ROOT)}:{line}: {what} (only {owner} may)"
        for path in files
        for line, what, owner in scan(path.read_text(), names, modules)
    ]
    assert not violations, "third-party internals used outside common/compat:\n  " + "\n  ".join(violations)


def test_the_scan_sees_each_kind_of_use():
    source = textwrap.dedent("""
        from channels.sessions import InstanceSessionWrapper
        import uvicorn.protocols.websockets.websockets_sansio_impl
        from django.core.handlers import asgi
        from storages.utils import clean_name

        class Handler(Base):
            async def read_body(self, receive):
                return request._request

        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
        _cache()  # a function of our own with an owned name is not a use
    """)
    found = {(line, what) for line, what, _ in scan(source, *_owned())}
    assert found == {
        (2, "imports channels.sessions"),
        (2, "imports channels.sessions.InstanceSessionWrapper"),
        (2, "imports InstanceSessionWrapper"),
        (3, "imports uvicorn.protocols.websockets.websockets_sansio_impl"),
        (4, "imports django.core.handlers"),
        (4, "imports django.core.handlers.asgi"),
        (5, "imports storages.utils"),
        (5, "imports storages.utils.clean_name"),
        (8, "overrides read_body"),
        (9, "._request"),
        (11, ".threadlocal"),
        (11, "'main_event_loop'"),
    }


# --- the adapters against the real objects ------------------------------------------------


class _Transport:
    """Enough of an asyncio transport for a uvicorn protocol's connection_made."""

    def __init__(self):
        self.written = bytearray()

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.written += data

    def get_write_buffer_size(self) -> int:
        return 0


async def test_a_socket_behind_channels_sessions_on_uvicorn_sansio_gets_the_raw_frame_writer():
    """What realtime's fan-out relies on, put together from the installed uvicorn and Channels:
    the send a consumer gets under AuthMiddlewareStack leads to the connection's transport."""
    from channels.sessions import InstanceSessionWrapper
    from uvicorn.config import Config
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from uvicorn.server import ServerState

    from realtime.engine.transport import raw_writer

    config = Config(app=lambda scope, receive, send: None, ws="websockets-sansio", lifespan="off")
    config.load()
    protocol = WebSocketsSansIOProtocol(config=config, server_state=ServerState(), app_state={})
    transport = _Transport()
    protocol.connection_made(transport)
    wrapped = InstanceSessionWrapper({"type": "websocket", "cookies": {}}, protocol.send).send

    assert raw_writer(wrapped) is None  # not accepted yet
    protocol.handshake_complete = True
    writer = raw_writer(wrapped)
    assert writer is not None and writer.write(b"frame") and bytes(transport.written) == b"frame"
    protocol.close_sent = True
    assert not writer.write(b"late") and bytes(transport.written) == b"frame"

    async def plain_send(message):  # another server, or a wrapper we do not know
        pass

    assert raw_writer(plain_send) is None
