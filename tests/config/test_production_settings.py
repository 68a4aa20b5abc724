"""Production-safe defaults: no public SECRET_KEY, and HTTPS hardening behind a proxy."""

import os
import secrets
import subprocess
import sys

import httpx
import pytest

from config.devstack.services import DATA_ROOT, local_secret_key
from tests.live import ROOT, LiveServer

pytestmark = pytest.mark.django_db


def production_env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}}
    return {**env, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false", **extra}


def django_setup(env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_debug_the_app_refuses_to_start_without_a_secret_key():
    refused = django_setup(production_env())
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "SECRET_KEY is not set" in refused.stderr
    public = django_setup(production_env(SECRET_KEY="dev-only-insecure-secret-key-change-me-in-production-0123456789"))
    assert public.returncode != 0 and "SECRET_KEY is not set" in public.stderr
    assert django_setup(production_env(SECRET_KEY=secrets.token_urlsafe(50))).returncode == 0
    assert django_setup(production_env(DEBUG="true")).returncode == 0  # development may use the dev key


def test_make_run_and_make_test_use_one_local_key_kept_under_data():
    key = local_secret_key()
    path = DATA_ROOT / "secret_key"  # .data/, unless PLATFORM_DATA_ROOT moves it
    assert len(key) >= 50 and local_secret_key() == key
    assert path.read_text().strip() == key and (path.stat().st_mode & 0o077) == 0
    assert os.environ["SECRET_KEY"] == key  # what this very run was given


def test_check_deploy_passes_with_production_variables():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(SECRET_KEY=secrets.token_urlsafe(50), BEHIND_PROXY="true"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_behind_a_proxy_http_is_redirected_and_https_answers_carry_hsts():
    server = LiveServer({"BEHIND_PROXY": "true"}).start()
    try:
        with httpx.Client(base_url=server.url, headers={"Host": "localhost"}, timeout=10) as client:
            plain = client.get("/api/me")
            assert plain.status_code == 301 and plain.headers["Location"] == "https://localhost/api/me"
            assert client.get("/healthz").status_code == 200  # load balancers probe over plain HTTP
            secure = client.get("/api-auth/login/", headers={"X-Forwarded-Proto": "https"})  # sets csrftoken
            assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
            assert "includeSubDomains" in secure.headers["Strict-Transport-Security"]
            cookie = secure.headers.get("Set-Cookie", "")
            assert "csrftoken" in cookie and "Secure" in cookie
    finally:
        server.stop()
