"""Making users, tenants and tokens for tests, through the real services."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from accounts.services import token_issue
from tenants.models import Membership, Tenant
from tenants.services import tenant_create, tenant_token_issue

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def user_make(email: str | None = None, *, password: str = PASSWORD, **extra):
    email = email or f"user{next(_seq)}@example.com"
    return get_user_model().objects.create_user(email=email, password=password, **extra)


def tenant_make(slug: str | None = None, *, owner=None, name: str | None = None) -> Tenant:
    slug = slug or f"tenant-{next(_seq)}"
    return tenant_create(slug=slug, name=name or slug.title(), owner=owner)


def member_make(tenant: Tenant, *, role: str = Membership.Role.MEMBER, email: str | None = None):
    user = user_make(email)
    Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


def token_make(user, *, tenant: Tenant | None = None) -> str:
    if tenant is None:
        _, raw = token_issue(email=user.email, password=PASSWORD)
    else:
        _, raw = tenant_token_issue(email=user.email, password=PASSWORD, tenant=tenant)
    return raw
