"""`pip install .` ships every app the settings install (pyproject's packages.find)."""
from __future__ import annotations

import tomllib
from pathlib import Path

from django.apps import apps
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


def test_every_project_app_is_in_the_installed_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = set(find_packages(ROOT, include=config["tool"]["setuptools"]["packages"]["find"]["include"]))
    ours = {app.name for app in apps.get_app_configs() if (ROOT / app.name.split(".")[0]).is_dir()}
    assert ours and ours <= shipped, sorted(ours - shipped)
