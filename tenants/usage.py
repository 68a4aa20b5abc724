"""What the apps above tenants add to a tenant's usage (tenants imports none of them).

An app registers a contribution in its AppConfig.ready(): a function of the tenant returning
its figures, e.g. jobs: `{"jobs": 12}`, uploads: `{"storage_bytes": ..., "files": ...}`.
`tenant_usage` (selectors) adds them to its own figures; each figure has one owner.
"""

from __future__ import annotations

from collections.abc import Callable

from .models import Tenant

UsageContribution = Callable[[Tenant], dict[str, int]]

_contributions: dict[str, UsageContribution] = {}


def usage_contribution_register(app: str, contribution: UsageContribution) -> None:
    """Called from `app`'s AppConfig.ready(); registering again replaces the app's contribution."""
    _contributions[app] = contribution


def usage_with_contributions(tenant: Tenant, figures: dict[str, int]) -> dict[str, int]:
    """`figures` (tenants' own) and the registered apps' for `tenant`, in registration order;
    a figure reported twice is a bug, not an override."""
    figures = dict(figures)
    for app, contribution in _contributions.items():
        added = contribution(tenant)
        if taken := figures.keys() & added.keys():
            raise RuntimeError(f"usage figures {sorted(taken)} reported twice (again by {app})")
        figures.update(added)
    return figures
