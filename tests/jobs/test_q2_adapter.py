"""django-q2's internals stay behind jobs/q2.py, and what it relies on is still there.

The adapter lists what it relies on as literals (RELIED_ON, SOURCE_FACTS), read
here from its source without importing it: a django-q2 upgrade that removes or
renames one of them fails a test named after it, with the name in the message,
even when the adapter itself no longer imports. A scan of the tree then checks
that no other module reaches past the adapter into django-q2."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = ROOT / "jobs" / "q2.py"
Q2_VERSION = importlib.metadata.version("django-q2")
# django-q2's public API: what any module may import from it (None: any name).
PUBLIC = {
    "django_q.tasks": None,
    "django_q.models": None,
    "django_q.signals": None,
    "django_q.brokers": {"get_broker"},
    "django_q.status": {"Stat"},
}
SKIP_DIRS = {
    ".venv",
    "venv",
    ".git",
    "node_modules",
    ".data",
    "__pycache__",
    "build",
    "dist",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
}


def adapter_literals() -> dict:
    """The adapter's module-level literals (RELIED_ON, SOURCE_FACTS, __all__), from its source."""
    found = {}
    for node in ast.parse(ADAPTER.read_text()).body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        for target in targets:
            if isinstance(target, ast.Name) and target.id in {"RELIED_ON", "SOURCE_FACTS", "__all__"}:
                found[target.id] = ast.literal_eval(node.value)
    return found


LITERALS = adapter_literals()
RELIED_ON: dict[str, tuple[str, ...]] = LITERALS["RELIED_ON"]
SOURCE_FACTS: dict[str, tuple[str, ...]] = LITERALS["SOURCE_FACTS"]
EXPORTED: set[str] = set(LITERALS["__all__"])


def resolve(path: str):
    """The object `module:qualname` in the installed django-q2, or a failure naming what is missing."""
    module_name, _, qualname = path.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        pytest.fail(f"django-q2 {Q2_VERSION}: module {module_name} is gone ({exc}); jobs/q2.py relies on {path}")
    for part in qualname.split("."):
        if not hasattr(obj, part):
            pytest.fail(
                f"django-q2 {Q2_VERSION}: {module_name} has no {qualname!r} (no {part!r}); jobs/q2.py relies on it"
            )
        obj = getattr(obj, part)
    return obj


MEMBER = re.compile(r"^(?P<name>\w*)(?:\((?P<params>[^)]*)\))?$")


@pytest.mark.parametrize("path", sorted(RELIED_ON))
def test_every_name_the_adapter_relies_on_is_still_there(path):
    obj = resolve(path)
    for spec in RELIED_ON[path]:
        match = MEMBER.match(spec)
        assert match, f"jobs/q2.py: RELIED_ON[{path!r}] has a malformed entry {spec!r}"
        name, params = match["name"], match["params"]
        target = obj
        if name:
            assert hasattr(obj, name), f"django-q2 {Q2_VERSION}: {path} has no {name!r}; jobs/q2.py relies on it"
            target = getattr(obj, name)
        if params is None:
            continue
        assert callable(target), f"django-q2 {Q2_VERSION}: {path}.{name} is no longer callable"
        signature = inspect.signature(target)
        expected = {p.strip() for p in params.split(",") if p.strip()}
        present = {p for p in signature.parameters if p != "self"}
        required = {
            p.name
            for p in signature.parameters.values()
            if p.name != "self"
            and p.default is p.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        label = f"{path}.{name}" if name else path
        assert expected <= present, (
            f"django-q2 {Q2_VERSION}: {label}{signature} lost parameter(s) "
            f"{sorted(expected - present)}; jobs/q2.py relies on them"
        )
        assert required <= expected, (
            f"django-q2 {Q2_VERSION}: {label}{signature} now requires "
            f"{sorted(required - expected)}; jobs/q2.py does not pass them"
        )


@pytest.mark.parametrize("path", sorted(SOURCE_FACTS))
def test_django_q2_still_does_with_our_tasks_what_the_adapter_expects(path):
    source = inspect.getsource(resolve(path))
    for fact in SOURCE_FACTS[path]:
        assert fact in source, (
            f"django-q2 {Q2_VERSION}: {path} no longer contains {fact!r}; re-check what jobs/q2.py relies on there"
        )


def test_the_timeout_exception_is_not_an_exception_a_task_catches_by_accident():
    exc = resolve(next(path for path in RELIED_ON if path.endswith(":TimeoutException")))
    assert issubclass(exc, BaseException) and not issubclass(exc, Exception), (
        f"django-q2 {Q2_VERSION}: TimeoutException is now an Exception; jobs.runner.JobTimeout's docs are wrong"
    )


def test_every_django_q2_name_the_adapter_imports_is_listed_as_relied_on():
    imported = {
        f"{node.module}:{alias.name}"
        for node in ast.walk(ast.parse(ADAPTER.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("django_q")
        for alias in node.names
    }
    assert imported - set(RELIED_ON) == set(), "jobs/q2.py imports these without listing them in RELIED_ON"


def test_the_adapter_exports_what_it_says():
    from jobs import q2

    assert [name for name in sorted(EXPORTED) if not hasattr(q2, name)] == []


# --- nothing else touches django-q2's internals ---------------------------------------------------

INTERNAL_NAMES = {path.partition(":")[2].split(".")[0] for path in RELIED_ON}
# Identifiers only the adapter may use: the internal classes it does not export, and the worker's timer.
FORBIDDEN_IDENTIFIERS = {name for name in INTERNAL_NAMES if name[:1].isupper()} - EXPORTED
FORBIDDEN_ATTRIBUTES = {"timer"}
DOTTED = re.compile(r"^django_q\.\w+")  # a django-q2 module by name (import_string, mock.patch targets…)


def _public(module: str, names: list[str]) -> bool:
    if module == "django_q":  # `from django_q import tasks`: modules
        return all(f"django_q.{n}" in PUBLIC and PUBLIC[f"django_q.{n}"] is None for n in names)
    allowed = PUBLIC.get(module, set())
    return module in PUBLIC and (allowed is None or set(names) <= allowed)


def violations(rel: Path, text: str) -> list[str]:
    """Where the module `rel` (its source `text`) reaches past jobs/q2.py into django-q2."""
    tree = ast.parse(text, filename=str(rel))
    in_jobs = rel.parts[0] == "jobs"
    found = []
    for node in ast.walk(tree):
        where = f"{rel}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [a.name for a in node.names]
            if node.level == 0 and (module == "django_q" or module.startswith("django_q.")):
                if not _public(module, names):
                    found.append(f"{where}: from {module} import {', '.join(names)} (use jobs/q2.py)")
            adapter = (node.level == 0 and module == "jobs.q2") or (in_jobs and node.level == 1 and module == "q2")
            if adapter and set(names) - EXPORTED:
                found.append(f"{where}: imports {sorted(set(names) - EXPORTED)} from jobs.q2 (not in its __all__)")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "django_q" or (
                    alias.name.startswith("django_q.") and PUBLIC.get(alias.name, set()) is not None
                ):
                    found.append(f"{where}: import {alias.name} (use jobs/q2.py)")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_IDENTIFIERS:
            found.append(f"{where}: {node.id} (a django-q2 internal: use jobs/q2.py)")
        elif isinstance(node, ast.Attribute) and (node.attr in FORBIDDEN_ATTRIBUTES | FORBIDDEN_IDENTIFIERS):
            found.append(f"{where}: .{node.attr} (a django-q2 internal: use jobs/q2.py)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.match(node.value):
            if DOTTED.match(node.value)[0] not in PUBLIC:
                found.append(f"{where}: {node.value!r} (a django-q2 internal by name: use jobs/q2.py)")
    return found


def python_files():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if not any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts[:-1]) and path != ADAPTER:
            yield path


def test_no_module_but_the_adapter_touches_django_q2_internals():
    found = [v for path in python_files() for v in violations(path.relative_to(ROOT), path.read_text())]

    assert found == [], "django-q2 internals outside jobs/q2.py:\n" + "\n".join(found)


def test_the_scan_sees_an_internal_used_elsewhere():
    text = (
        "from django_q.conf import Conf\nfrom django_q.tasks import async_task\nfrom jobs.q2 import Conf as C\n"
        "import django_q.signing\nx = process.timer\nmock_target = 'django_q.scheduler.scheduler'\n"
    )

    found = violations(Path("benchmarks/sample.py"), text)

    assert [v.split(": ", 1)[1].split(" ")[0] for v in found] == [
        "from",
        "imports",
        "import",
        ".timer",
        "'django_q.scheduler.scheduler'",
    ]
    assert "Conf" in found[0] and "async_task" not in " ".join(found)
