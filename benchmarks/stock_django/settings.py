"""Stock Django 5.2 + DRF for benchmarks/http_api.py: the anchor of issue 11, goal 1.

What `django-admin startproject` gives (its INSTALLED_APPS and MIDDLEWARE), plus DRF
with `TokenAuthentication` and `IsAuthenticated`, DEBUG off, no throttles (stock DRF
has none), served by gunicorn with 2 sync workers. Its own database (STOCK_DATABASE_URL,
which the benchmark points at a database of its own on the project's PostgreSQL server),
persistent connections (CONN_MAX_AGE=STOCK_CONN_MAX_AGE, 60 s unless told: what a
deployment sets; Django's default 0 opens a connection per request).
"""

import os

import dj_database_url

SECRET_KEY = os.environ.get("STOCK_SECRET_KEY", "stock-django-benchmark-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "benchmarks.stock_django.urls"
WSGI_APPLICATION = "benchmarks.stock_django.wsgi.application"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "benchmarks.stock_django",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ["STOCK_DATABASE_URL"], conn_max_age=int(os.environ.get("STOCK_CONN_MAX_AGE", "60"))
    )
}
if "host" in DATABASES["default"].get("OPTIONS", {}):  # unix socket given as ?host=/path
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
