"""Test settings (DJANGO_SETTINGS_MODULE=config.settings_test): small overrides of config/settings/,
nothing more. A module beside the package, not in it: it sets a SECRET_KEY before the package is read."""

import os
import secrets

# `make test` passes the checkout's key (.data/secret_key); a bare pytest gets one for the run,
# which the servers it starts inherit.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
# The tenant purge sweep (lifecycle) fires once a year here: tests run it themselves, and the session
# qcluster's sweep must not race them for the tenants they made due.
os.environ.setdefault("TENANT_PURGE_SWEEP_CRON", "0 0 1 1 *")

from .settings import *  # noqa: E402,F403
from .settings import JOBS_TASK_MODULES, MAINTENANCE_STEP_MODULES, env  # noqa: E402

# Fast hashing for the many users tests create (production keeps PBKDF2).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests fill the pool themselves when they test it.
TENANT_POOL_SIZE = 0
# Tasks only the tests run (the test qcluster loads them too).
JOBS_TASK_MODULES = [*JOBS_TASK_MODULES, "tests.jobs.tasks"]
# Test processes send no mail unless pointed at a test SMTP server (tests/smtp.py).
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
# A maintenance step only the tests declare: a per-tenant clean-up (tests/jobs/test_maintenance.py).
MAINTENANCE_STEP_MODULES = [*MAINTENANCE_STEP_MODULES, "tests.jobs.maintenance_steps"]
