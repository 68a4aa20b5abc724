"""`pip install .` ships every app the settings install, with the files they read (pyproject's
[tool.setuptools]): the wheel is built from a copy of the checkout and imported in a process that
cannot see the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from django.apps import apps
from django.db.migrations.loader import MigrationLoader
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
# What a build reads nothing from (and writes build/ and *.egg-info next to).
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", ".data", "node_modules", "__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".*_cache"
)


def project_apps() -> list[str]:
    return [app.name for app in apps.get_app_configs() if (ROOT / app.name.split(".")[0]).is_dir()]


def project_packages() -> set[str]:
    return {name.split(".")[0] for name in project_apps()} | {"config"}


def package_files(base: Path) -> set[str]:
    """Every file of the project's packages under `base`, bytecode aside."""
    return {
        str(path.relative_to(base))
        for package in project_packages()
        for path in (base / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_every_project_app_is_in_the_installed_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = set(find_packages(ROOT, include=config["tool"]["setuptools"]["packages"]["find"]["include"]))
    ours = set(project_apps())
    assert ours and ours <= shipped, sorted(ours - shipped)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, Path]:
    """(the sources it was built from, the wheel unpacked as pip installs it)."""
    base = tmp_path_factory.mktemp("wheel")
    sources, dist, site = base / "src", base / "dist", base / "site"
    shutil.copytree(ROOT, sources, ignore=NOT_SOURCES)
    # PEP 517's build_wheel with the environment's setuptools, offline: what
    # `pip wheel . --no-build-isolation` calls (bdist_wheel is built into setuptools >= 70.1).
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta; build_meta.build_wheel(sys.argv[1])",
            str(dist),
        ],
        cwd=sources,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, (
        "the build failed (bdist_wheel needs setuptools >= 70.1 here: the dev extra "
        "pins it)\n" + built.stdout[-3000:] + built.stderr[-3000:]
    )
    (wheel_file,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel_file) as archive:
        archive.extractall(site)
    return sources, site


def test_the_wheel_holds_every_file_of_the_apps_and_nothing_else(wheel):
    sources, site = wheel
    missing = package_files(sources) - package_files(site)
    assert not missing, f"left out of the wheel (pyproject [tool.setuptools.package-data]): {sorted(missing)}"
    top_level = {path.name for path in site.iterdir() if not path.name.endswith(".dist-info")}
    assert top_level == project_packages(), sorted(top_level ^ project_packages())  # no tests/, benchmarks/


# Runs with `python -I -S`: no current directory, no .pth file (the editable install's finder
# maps the packages to the checkout), PYTHON* variables ignored; sys.path is the wheel, the
# standard library and the environment's site-packages.
CHILD = """
import importlib, json, os, sys
site, site_packages, wanted = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
ours = {name.split(".")[0] for name in wanted["modules"]}
sys.path[:0] = [site]
sys.path += site_packages
elsewhere = [(path, name) for path in sys.path[1:] for name in ours if os.path.exists(os.path.join(path, name))]
assert not elsewhere, elsewhere  # the wheel is the only place a project package can come from

import config.asgi  # django.setup() (every app, its models and ready()), then the ASGI application
import config.settings, config.urls_public, config.urls_tenants, config.urls_schema

from django.apps import apps
from django.contrib.staticfiles import finders
from django.db.migrations.loader import MigrationLoader
from django.template.loader import get_template

for name in wanted["modules"]:
    importlib.import_module(name)
print(json.dumps({
    "apps": sorted(app.name for app in apps.get_app_configs() if app.name.split(".")[0] in ours),
    "files": sorted({getattr(module, "__file__", None) or "?" for name, module in list(sys.modules.items())
                     if name.split(".")[0] in ours}),
    "app_paths": sorted(app.path for app in apps.get_app_configs() if app.name.split(".")[0] in ours),
    "templates": [get_template(name).origin.name for name in wanted["templates"]],
    "static": [finders.find(name) for name in wanted["static"]],
    "migrations": sorted(f"{label}.{name}" for label, name in MigrationLoader(None, ignore_no_migrations=True)
                         .disk_migrations if label in wanted["labels"]),
}))
"""


def test_every_app_the_settings_and_the_asgi_application_import_from_the_wheel_alone(wheel):
    _, site = wheel
    templates = sorted(
        str(path.relative_to(folder))
        for folder in site.glob("**/templates")
        for path in folder.rglob("*")
        if path.is_file()
    )
    static = sorted(
        str(path.relative_to(folder))
        for folder in site.glob("*/static")
        for path in folder.rglob("*")
        if path.is_file()
    )
    assert "emails/welcome.html" in templates and "realtime/client.js" in static
    labels = [app.label for app in apps.get_app_configs() if app.name in project_apps()]
    wanted = {
        "modules": [*project_apps(), "config.settings", "config.asgi"],
        "labels": labels,
        "templates": templates,
        "static": static,
    }
    site_packages = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    child = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CHILD, str(site), json.dumps(site_packages), json.dumps(wanted)],
        cwd=site.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-5000:]
    found = json.loads(child.stdout.strip().splitlines()[-1])

    assert found["apps"] == sorted(project_apps())
    outside = [
        path
        for key in ("files", "app_paths", "templates", "static")
        for path in found[key]
        if not (path or "").startswith(str(site))
    ]
    assert not outside, outside  # every module, app, template and static file came from the wheel
    expected = sorted(
        f"{label}.{name}"
        for label, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
        if label in labels
    )
    assert expected and found["migrations"] == expected
