"""What the settings read: `env` (django-environ over os.environ) and BASE_DIR.

BASE_DIR is the folder holding the project's packages: the checkout, or site-packages
once the wheel is installed. A `.env` file there is read first; a variable already in
the environment wins over it.
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")
