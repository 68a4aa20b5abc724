"""Tenancy (django-tenants): a schema per tenant, the platform's own hosts, the pool of ready schemas."""

from __future__ import annotations

from config.env import env

from .base import BASE_DOMAIN

# Hosts that serve the platform itself (admin, tenant management API).
PLATFORM_HOSTS = [h.lower() for h in env.list("PLATFORM_HOSTS", default=[BASE_DOMAIN, "127.0.0.1", "testserver"])]
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
TENANTS_PER_USER = env.int("TENANTS_PER_USER", default=10)  # tenants a user may own (POST /api/tenants)
TENANT_API_KEYS_MAX = env.int("TENANT_API_KEYS_MAX", default=25)  # live API keys per tenant (409 beyond)
# Deletion (docs/lifecycle.md): days a tenant stays pending_deletion (restorable) before the purge sweep
# (config/settings/jobs.py: the `tenant-purge` schedule, TENANT_PURGE_SWEEP_CRON) removes it.
TENANT_DELETION_GRACE_DAYS = env.int("TENANT_DELETION_GRACE_DAYS", default=7)
# Invitations (tenants/invitations.py, docs/tenancy.md): how long a link lives, and per tenant how many may
# wait for an answer and how many emails (new ones and resends) may go out per UTC day (429 beyond).
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)
INVITATIONS_PENDING_MAX = env.int("INVITATIONS_PENDING_MAX", default=100)
INVITATIONS_PER_TENANT_PER_DAY = env.int("INVITATIONS_PER_TENANT_PER_DAY", default=200)
# The link the email carries: a front end's page with `{token}` in it (e.g. https://app.example.com/invite/{token});
# empty: the platform's own GET /api/invitations/{token}.
INVITATION_LINK = env("INVITATION_LINK", default="")
RESERVED_SLUGS = {
    "public",
    "www",
    "api",
    "admin",
    "app",
    "static",
    "media",
    "assets",
    "ws",
    "wss",
    "mail",
    "smtp",
    "ftp",
    "status",
    "help",
    "support",
    "docs",
    "platform",
    "root",
    "system",
    "localhost",
    "tenant-template",
    "template",
    "pool",
    "default",
    "internal",
    "dashboard",
    "billing",
    "auth",
    "login",
    "signup",
    "account",
    "accounts",
    "blog",
    "cdn",
    "information-schema",
}
