"""Email, sent only by the `email.send` job (emails/)."""

from __future__ import annotations

from config.env import env

from .base import BASE_DOMAIN, DATA_DIR

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
