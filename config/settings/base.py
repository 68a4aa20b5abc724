"""Django itself: debug, the data folder, hosts, apps, middleware, templates, static files, i18n, logging."""

from __future__ import annotations

from pathlib import Path

from config.env import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=False)
# Files, emails and temporary uploads live under it (config/devstack: .data/<profile>/).
DATA_DIR = Path(env("PLATFORM_DATA_DIR", default=str(BASE_DIR / ".data" / "dev")))

# --- hosts ------------------------------------------------------------------
BASE_DOMAIN = env("BASE_DOMAIN", default="localhost").lower()
PORT = env.int("PORT", default=8000)
# The tenant middleware answers any host that is neither a platform host nor a
# tenant domain with 404 tenant_not_found, so Django's own host check can be open.
ALLOWED_HOSTS = ["*"]

# --- apps -------------------------------------------------------------------
SHARED_APPS = [
    "tenants",  # before django_tenants: its migrate_schemas keeps the template and pool current
    "django_tenants",
    "common",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from the package (no CDN)
    "channels",
    "django_q",
    "jobs",  # the job system: jobs, the queue, schedules (public: the broker spans tenants)
    "imports",  # bulk imports as jobs; no models (memberships are public, the outcome is the Job's)
    "emails",  # email jobs: send-email, welcome, daily digest; no tables of its own
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "realtime",  # rooms, messages, notifications: per tenant
    "reports",  # reports asked for and their CSV files: per tenant
    "uploads",  # files and presigned uploads: per tenant (objects in storage under tenants/<id>/uploads/)
    "webhooks",  # a tenant's endpoints and their delivery log: per tenant (its data, dropped with its schema)
    "documents",  # collaborative documents, their update log and snapshots: per tenant
    "lifecycle",  # a tenant's exports (per tenant); deletion and purge work on the public records
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- requests ---------------------------------------------------------------
# Threads per server process that run requests' sync part (common/asgi_handler.py); a
# streamed upload gets a thread of its own. Above the pool's size, requests wait for a
# thread without holding anything.
REQUEST_THREADS = env.int("REQUEST_THREADS", default=8)
MIDDLEWARE = [
    "common.exceptions.ApiErrorsAsJsonMiddleware",  # /api/ errors are JSON, whatever produced them
    "common.body_limits.BodyLimitMiddleware",  # the ASGI door's path limits, also under WSGI/test client
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "common.exceptions.ApplicationErrorMiddleware",  # non-DRF views (login forms) answer our JSON errors
    "common.exceptions.DatabaseUnavailableMiddleware",  # no pooled connection in time: 503, not 500
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The project's own templates (emails, admin and ReDoc overrides, the live page): inside the
        # config package, so the wheel ships them (pyproject's package-data).
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"

# --- i18n and static files --------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
# In production: set STATIC_ROOT and run collectstatic; otherwise files come from the finders.
STATIC_ROOT = env("STATIC_ROOT", default=None)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One INFO line per task costs throughput; failures are logged at WARNING/ERROR.
        "django-q": {"level": env("Q_LOG_LEVEL", default="WARNING")},
    },
}
