"""Secrets, passwords and sign-in limits, cookies, HTTPS and proxies, CSRF."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import env

from .base import BASE_DOMAIN, DEBUG, PORT

# No public default outside DEBUG: `make run`/`make test` pass one they keep in .data/secret_key.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env("SECRET_KEY", default="") or (_DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in ("", _DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it in the environment (50+ random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'); `make run` and `make test` "
        "generate a local one under .data/."
    )

# --- passwords, tokens, sign-in limits --------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ],
)
AUTH_TOKEN_TTL_SECONDS = env.int("AUTH_TOKEN_TTL_SECONDS", default=7 * 24 * 3600)
# Every password check goes through this backend: the credential limits below hold on all of them.
AUTHENTICATION_BACKENDS = ["accounts.backends.RateLimitedModelBackend"]
# Failed password checks in any sliding window per client address (IPv6: per /64) and per account
# (refused then only from addresses that failed for it: no lockout), signups per address and per
# email; on all hosts together; over it: 429 rate_limited (accounts/credential_limits.py).
AUTH_LIMITS = {
    "WINDOW_SECONDS": env.int("AUTH_LIMIT_WINDOW_SECONDS", default=900),
    "PER_ACCOUNT": env.int("AUTH_LIMIT_PER_ACCOUNT", default=10),
    "PER_IP": env.int("AUTH_LIMIT_PER_IP", default=50),
    "SIGNUPS_PER_EMAIL": env.int("AUTH_LIMIT_SIGNUPS_PER_EMAIL", default=3),  # each one emails the address
    "EMAILS_PER_ADDRESS": env.int("AUTH_LIMIT_EMAILS_PER_ADDRESS", default=3),  # password resets, verification resends
}
# Account flows (docs/accounts.md). Reset links live PASSWORD_RESET_TIMEOUT (Django's; and die once used).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
EMAIL_VERIFICATION_TIMEOUT = env.int("EMAIL_VERIFICATION_TIMEOUT", default=3 * 24 * 3600)
# What a user whose email is not verified yet may do; "create_tenant" is refused by default (403 email_unverified).
UNVERIFIED_USERS_MAY = set(env.list("UNVERIFIED_USERS_MAY", default=["sign_in", "accept_invitations"]))
LOGIN_URL = "/api-auth/login/"
LOGIN_REDIRECT_URL = "/api/me"  # after the browsable API's login without ?next=: who you are, your tenants

# --- cookies, HTTPS, proxies ------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Behind a reverse proxy (BEHIND_PROXY): the proxy's X-Forwarded-Proto says https, and the client
# address is the NUM_PROXIES-th X-Forwarded-For entry from the right (common/proxies.py). Not behind
# one, both headers are the client's to forge and are ignored.
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
NUM_PROXIES = max(1, env.int("NUM_PROXIES", default=1)) if BEHIND_PROXY else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# Served over HTTPS (default: when behind a proxy): secure cookies, HSTS and a redirect of plain
# HTTP (cookiecutter-django's production settings), the probes exempt (load balancers speak HTTP).
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=BEHIND_PROXY)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SESSION_COOKIE_SECURE)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60) if SESSION_COOKIE_SECURE else 0  # raise once proven
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)  # tenants are subdomains
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- CSRF -------------------------------------------------------------------
CSRF_FAILURE_VIEW = "common.exceptions.csrf_failure"  # 403 csrf_failed in the JSON shape (HTML for admin)
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS",
    default=[
        f"https://{BASE_DOMAIN}",
        f"https://*.{BASE_DOMAIN}",
    ]
    if SESSION_COOKIE_SECURE
    else [
        f"http://{BASE_DOMAIN}:{PORT}",
        f"http://*.{BASE_DOMAIN}:{PORT}",
    ],
)
