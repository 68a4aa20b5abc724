"""Settings, all from the environment (see .env.example).

Production differs from development only through environment variables.
"""
from __future__ import annotations

from pathlib import Path

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
# No public default outside DEBUG: `make run`/`make test` pass one they keep in .data/secret_key.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env("SECRET_KEY", default="") or (_DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in ("", _DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it in the environment (50+ random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'); `make run` and `make test` "
        "generate a local one under .data/.")
DATA_DIR = Path(env("PLATFORM_DATA_DIR", default=str(BASE_DIR / ".data" / "dev")))

# --- hosts and tenancy ------------------------------------------------------
BASE_DOMAIN = env("BASE_DOMAIN", default="localhost").lower()
PORT = env.int("PORT", default=8000)
# Hosts that serve the platform itself (admin, tenant management API).
PLATFORM_HOSTS = [h.lower() for h in env.list("PLATFORM_HOSTS", default=[BASE_DOMAIN, "127.0.0.1", "testserver"])]
# The tenant middleware answers any host that is neither a platform host nor a
# tenant domain with 404 tenant_not_found, so Django's own host check can be open.
ALLOWED_HOSTS = ["*"]

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
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
TENANT_LIMIT_SET_CALLS = True  # one SET search_path per request, not per query
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("MIGRATE_PROCESSES", default=2)
TENANT_MULTIPROCESSING_CHUNKS = env.int("MIGRATE_CHUNKS", default=50)
TENANT_POOL_SIZE = env.int("TENANT_POOL_SIZE", default=3)
RESERVED_SLUGS = {
    "public", "www", "api", "admin", "app", "static", "media", "assets", "ws", "wss", "mail",
    "smtp", "ftp", "status", "help", "support", "docs", "platform", "root", "system", "localhost",
    "tenant-template", "template", "pool", "default", "internal", "dashboard", "billing", "auth",
    "login", "signup", "account", "accounts", "blog", "cdn", "information-schema",
}

# --- the database and Redis -------------------------------------------------
DATABASE_URL = env("DATABASE_URL", default="postgresql://postgres@localhost:5432/platform")
# The ASGI server runs every request's sync code in a thread of its own, so
# per-thread persistent connections are never reused there: config/asgi.py
# turns on psycopg's connection pool (DB_POOL=1). Management commands and the
# forking qcluster keep plain persistent connections (a pool must not cross a fork).
DB_POOL = env.bool("DB_POOL", default=False)
_db = dj_database_url.parse(DATABASE_URL, engine="common.postgresql",  # django-tenants' (+ fewer SETs)
                            conn_max_age=0 if DB_POOL else env.int("CONN_MAX_AGE", default=60),
                            conn_health_checks=not DB_POOL)
if "host" in _db.get("OPTIONS", {}):  # unix socket given as ?host=/path
    _db["HOST"] = _db["OPTIONS"].pop("host")
if DB_POOL:
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        "timeout": env.float("DB_POOL_TIMEOUT", default=10),  # longest wait for a connection (then 503)
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://localhost:6379/0")
CACHES = {
    # Keys written in a tenant's context are prefixed with its schema by
    # django-tenants' key function, so tenants can never read each other's cache.
    "default": {
        "BACKEND": "common.cache.SharedRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "c",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    # Platform-level keys (host → tenant resolution, memberships): global by design.
    "platform": {
        "BACKEND": "common.cache.SharedRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "platform",
        "TIMEOUT": 3600,
    },
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "chan"},
    }
}

# --- Django -----------------------------------------------------------------
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
        "DIRS": [BASE_DIR / "templates"],
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
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list("PASSWORD_HASHERS", default=[
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
])
AUTH_TOKEN_TTL_SECONDS = env.int("AUTH_TOKEN_TTL_SECONDS", default=7 * 24 * 3600)
TENANTS_PER_USER = env.int("TENANTS_PER_USER", default=10)  # tenants a user may own (POST /api/tenants)
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
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
# In production: set STATIC_ROOT and run collectstatic; otherwise files come from the finders.
STATIC_ROOT = env("STATIC_ROOT", default=None)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(DATA_DIR / "media")}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Files (uploads, reports, imports): local disk under the data folder, outside any web root
# (no URL serves it: files leave only through authorised views), or S3 when a bucket is set.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": env("AWS_S3_ENDPOINT_URL", default="") or None,  # MinIO, R2, ...
        "region_name": env("AWS_S3_REGION_NAME", default="") or None,
        "file_overwrite": False,  # keys are uuids; never replace an object
        "default_acl": None,  # private: the bucket's policy (no public-read)
        "querystring_expire": 300,
        "signature_version": "s3v4",
    }}  # credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (boto3's usual chain)
# Multipart bodies are streamed here (next to the local storage: storing is a rename).
FILE_UPLOAD_TEMP_DIR = env("FILE_UPLOAD_TEMP_DIR", default=str(DATA_DIR / "tmp"))
# Every request body has a limit known before it is read (common/body_limits.py): uploads the
# tenant's, /api/imports IMPORTS["MAX_BYTES"], any other body (JSON, forms) this. Over it: 413.
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES  # Django's own check on non-file data agrees
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)  # Django's checks want it to exist
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
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
CSRF_FAILURE_VIEW = "common.exceptions.csrf_failure"  # 403 csrf_failed in the JSON shape (HTML for admin)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[
    f"https://{BASE_DOMAIN}", f"https://*.{BASE_DOMAIN}",
] if SESSION_COOKIE_SECURE else [
    f"http://{BASE_DOMAIN}:{PORT}", f"http://*.{BASE_DOMAIN}:{PORT}",
])
LOGIN_URL = "/api-auth/login/"

# --- the API ----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "accounts.authentication.SessionAuthentication",  # DRF's, CSRF refusals as 403 csrf_failed
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "common.renderers.JSONRenderer",  # orjson
        "common.renderers.BrowsableAPIRenderer",  # HTML for browsers, except errors: always JSON
    ],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser",  # bad JSON of any depth: 400 malformed_request
                               "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "common.schema.PlatformAutoSchema",  # pagination, errors, bearer auth
    "EXCEPTION_HANDLER": "common.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "tenants.throttling.RequestRateThrottle",  # user + tenant (or anonymous) windows, one round trip
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("THROTTLE_USER_RATE", default="1200/min"),
        "anon": env("THROTTLE_ANON_RATE", default="300/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": NUM_PROXIES,  # DRF's own get_ident: the same trusted-proxy rule as common/proxies.py
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SaaS platform API",
    "DESCRIPTION": "Multi-tenant platform: tenants, members, realtime, uploads, jobs. "
                   "Errors are always {\"error\": {\"code\", \"message\", \"details\"}}.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_URLCONF": "config.urls_schema",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # the docs work offline: assets from drf-spectacular-sidecar
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"TenantStatusEnum": "tenants.models.Tenant.Status"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "common.schema.document_event_stream"],  # GET /api/events (SSE)
}

# --- real-time ---------------------------------------------------------------
REALTIME = {
    "EVENT_RETENTION_SECONDS": env.int("REALTIME_EVENT_RETENTION_SECONDS", default=900),
    "EVENT_LOG_MAX": env.int("REALTIME_EVENT_LOG_MAX", default=200_000),  # hard cap per tenant
    "TICKET_TTL_SECONDS": 30,
    "MAX_FRAME_BYTES": 64 * 1024,
    "FRAMES_PER_10S": env.int("REALTIME_FRAMES_PER_10S", default=100),
    "MAX_CONNECTIONS_PER_USER": env.int("REALTIME_MAX_CONNECTIONS_PER_USER", default=10),
    "PRESENCE_TTL_SECONDS": env.int("REALTIME_PRESENCE_TTL_SECONDS", default=45),
    "HEARTBEAT_SECONDS": env.int("REALTIME_HEARTBEAT_SECONDS", default=15),
    "SEND_TIMEOUT_SECONDS": env.float("REALTIME_SEND_TIMEOUT_SECONDS", default=10),
}

# --- background work (django-q2 on PostgreSQL: see the README) --------------
# django-q2 runs the job system on our PostgreSQL broker (jobs/broker.py):
# leases, priorities, tenant fairness, LISTEN/NOTIFY wake-ups.
Q_CLUSTER = {
    "name": "platform",
    "broker_class": "jobs.broker.PostgresBroker",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 300,  # plain django-q2 tasks; a job's own timeout comes with it
    "retry": 360,  # lease of a plain django-q2 task
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 0,  # plain tasks' results are kept (maintenance prunes them); jobs record their own
    "ack_failures": True,
    "poll": env.float("Q_POLL", default=1.0),  # longest idle wait; enqueues wake the pusher at once
    "bulk": env.int("Q_BULK", default=4),
    "queue_limit": env.int("Q_QUEUE_LIMIT", default=4),  # small prefetch: priorities and fairness hold
    "cache": "platform",
    # A worker is replaced after this many tasks or above max_rss (KiB). django-q2's
    # default (500) leaves a slot empty for up to a guard cycle every 500 jobs:
    # a third of throughput on no-op jobs.
    "recycle": env.int("Q_RECYCLE", default=50_000),
    "max_rss": env.int("Q_MAX_RSS_KB", default=512 * 1024),
    "log_level": env("Q_LOG_LEVEL", default="WARNING"),
    "label": "Jobs (django-q2)",
}
JOBS_TASK_MODULES = ["jobs.tasks", "reports.tasks", "imports.tasks", "emails.tasks", "jobs.maintenance",
                     *env.list("JOBS_EXTRA_TASK_MODULES", default=[])]
IMPORTS = {
    "MAX_BYTES": env.int("IMPORT_MAX_BYTES", default=1024 * 1024),  # one upload
    "MAX_ROWS": env.int("IMPORT_MAX_ROWS", default=5000),  # rows of one file (each is one transaction)
}
JOBS_PLATFORM_SCHEDULES = {
    "tenant-schedules": {"func": "jobs.schedules.tenant_schedules_run", "cron": "* * * * *"},
    "maintenance": {"task": "maintenance.run", "cron": "0 2 * * *"},  # in TIME_ZONE
}
# What the nightly `maintenance.run` job cleans, in this order (jobs/maintenance.py).
# An app adds its own cleanup by declaring @maintenance_step functions in a module listed here.
MAINTENANCE_STEP_MODULES = ["accounts.maintenance", "tenants.maintenance", "jobs.maintenance"]
JOBS_RETENTION_DAYS = env.int("JOBS_RETENTION_DAYS", default=30)  # finished jobs and django-q2 task rows
AUTH_TOKEN_RETENTION_DAYS = env.int("AUTH_TOKEN_RETENTION_DAYS", default=30)  # expired/revoked tokens kept

# --- email (sent only by the `email.send` job: emails/) -------------------------
# Development default: every message is written to a file under .data/<profile>/emails/.
# Production: EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST etc.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(DATA_DIR / "emails"))
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds; a hung SMTP server fails the attempt
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default=f"noreply@{BASE_DOMAIN}")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
PLATFORM_NAME = env("PLATFORM_NAME", default="SaaS platform")  # the sender of the platform's own emails (signup)
EMAILS = {
    "MAX_RECIPIENTS": 50,
    # POST /api/send-email: recipients per tenant per UTC day (429 email_quota_exceeded above it).
    "RECIPIENTS_PER_TENANT_PER_DAY": env.int("EMAIL_RECIPIENTS_PER_TENANT_PER_DAY", default=200),
    # Before the 2nd of 5 attempts; doubles each time (1, 2, 4, 8 min: a 15-minute SMTP outage is ridden out).
    "RETRY_BACKOFF_SECONDS": env.float("EMAIL_RETRY_BACKOFF_SECONDS", default=60),
}

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

# --- uploads (uploads/; README "File uploads") ---------------------------------
UPLOADS = {
    "STORAGE": "default",  # the STORAGES alias holding uploaded objects
    "CLAMAV_URL": env("CLAMAV_URL", default=""),  # unix:///run/clamav/clamd.ctl or tcp://host:3310; unset: EICAR only
    "PRESIGN_EXPIRES_SECONDS": 300,
    "DOWNLOAD_URL_EXPIRES_SECONDS": env.int("UPLOADS_DOWNLOAD_URL_EXPIRES_SECONDS", default=60),  # S3 redirects
    "MAX_FILES_PER_REQUEST": 10,  # POST /api/upload/multiple
    "IMAGE_MAX_SIDE": env.int("UPLOADS_IMAGE_MAX_SIDE", default=800),
    "IMAGE_QUALITY": env.int("UPLOADS_IMAGE_QUALITY", default=80),
    # POST /api/upload/image: an image of more pixels than this (width × height, read from its header)
    # is processed by the `uploads.image_process` job (202) instead of in the request (201).
    # 12 Mpx keeps a 4000×3000 photo (~55 ms) in the request.
    "IMAGE_INLINE_MAX_PIXELS": env.int("UPLOADS_IMAGE_INLINE_MAX_PIXELS", default=12_000_000),
    # An image whose pixels decoded (width × height × bands × bytes per band; a JPEG at the
    # scale it is decoded at) exceed this is refused (422 invalid_image, too_many_bytes),
    # whatever its pixel count: 16-bit and alpha bands multiply the pixel limit (uploads/images.py).
    "IMAGE_MAX_DECODED_MB": env.int("UPLOADS_IMAGE_MAX_DECODED_MB", default=128),
    "ABANDONED_AFTER_SECONDS": 3600,  # presigns never confirmed, files stuck pending: removed after this
}
JOBS_TASK_MODULES = [*JOBS_TASK_MODULES, "uploads.tasks"]
MAINTENANCE_STEP_MODULES = [*MAINTENANCE_STEP_MODULES, "uploads.maintenance"]  # the nightly orphaned_files step
