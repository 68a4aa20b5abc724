"""Driving the operator admin as a browser would: a logged-in operator, and the
tenant change form's fields as the admin posts them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from tenants.models import Domain
from tests.factories import user_make


def operator_client(email: str = "ops@platform.test") -> Client:
    """A client logged in as the superuser `email` (made the first time), on the platform host."""
    operator = get_user_model().objects.filter(email=email).first() or user_make(
        email, is_staff=True, is_superuser=True
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    return client


def change_form(tenant, *, domains: list[dict] | None = None, memberships: list[dict] | None = None) -> dict:
    """The tenant change form as the admin posts it: each inline's rows (a row
    with an "id" is an existing one), by default the tenant's rows as they are."""
    if domains is None:
        domains = [
            {"id": d.pk, "domain": d.domain, "is_primary": "on" if d.is_primary else ""}
            for d in Domain.objects.filter(tenant=tenant)
        ]
    if memberships is None:
        memberships = [{"id": m.pk, "user": m.user_id, "role": m.role} for m in tenant.memberships.all()]
    data = {"name": tenant.name}
    for prefix, rows in (("domains", domains), ("memberships", memberships)):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(len(rows)),
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": str(sum(1 for row in rows if "id" in row)),
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for i, row in enumerate(rows):
            data.update({f"{prefix}-{i}-{key}": value for key, value in {"tenant": tenant.pk, **row}.items()})
    return data


def member_rows(tenant, **changes: dict) -> list[dict]:
    """The membership inline's rows as they are, with `changes` applied by email
    (e.g. `**{"a@x.test": {"DELETE": "on"}}`)."""
    rows = []
    for m in tenant.memberships.select_related("user").order_by("pk"):
        rows.append({"id": m.pk, "user": m.user_id, "role": m.role, **changes.get(m.user.email, {})})
    return rows
