"""The kinds of report: their parameters (validated when a report is asked
for, defaults filled in and stored with it) and their rows, read chunk by
chunk inside the tenant's schema.

    members   email, role, joined            one row per member of the tenant
    activity  date, audit_events, messages   one row per day (tenant's time zone), {since, until}
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import ClassVar

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from realtime.models import Message
from tenants.models import AuditEvent, Tenant
from tenants.selectors import people_memberships
from tenants.settings_schema import settings_effective

from .errors import ReportKindUnknown, ReportParamsInvalid

CHUNK_ROWS = 500  # members read per query (one progress step each)
CHUNK_DAYS = 31  # days of activity counted per pair of queries


def tenant_tz(tenant: Tenant) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings_effective(tenant.settings)["timezone"])


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MembersParams(Params):
    pass


class ActivityParams(Params):
    MAX_DAYS: ClassVar[int] = 366

    since: date | None = None  # default: 29 days before `until`
    until: date | None = None  # default: today in the tenant's time zone

    @model_validator(mode="after")
    def _range(self):
        if self.since and self.until:
            if self.since > self.until:
                raise ValueError("since must not be after until")
            if (self.until - self.since).days + 1 > self.MAX_DAYS:
                raise ValueError(f"at most {self.MAX_DAYS} days")
        return self


class ReportKind:
    name: ClassVar[str]
    header: ClassVar[tuple[str, ...]]
    params_schema: ClassVar[type[Params]]

    def __init__(self, tenant: Tenant, params: dict):
        self.tenant, self.params, self.tz = tenant, params, tenant_tz(tenant)

    @classmethod
    def params_clean(cls, params: dict, tenant: Tenant) -> dict:
        """The stored parameters: validated, defaults filled in."""
        return cls.params_schema.model_validate(params).model_dump(mode="json")

    def total(self) -> int:
        raise NotImplementedError

    def chunks(self) -> Iterator[list[list]]:
        raise NotImplementedError


class MembersReport(ReportKind):
    name = "members"
    header = ("email", "role", "joined")
    params_schema = MembersParams

    def _members(self):
        return people_memberships(tenant=self.tenant)  # API keys' service accounts are not members

    def total(self) -> int:
        return self._members().count()

    def chunks(self) -> Iterator[list[list]]:
        last_id = 0
        while True:
            page = list(
                self._members()
                .filter(id__gt=last_id)
                .order_by("id")
                .values_list("id", "user__email", "role", "created_at")[:CHUNK_ROWS]
            )
            if not page:
                return
            last_id = page[-1][0]
            yield [
                [email, role, joined.astimezone(self.tz).isoformat(timespec="seconds")]
                for _, email, role, joined in page
            ]


class ActivityReport(ReportKind):
    name = "activity"
    header = ("date", "audit_events", "messages")
    params_schema = ActivityParams

    @classmethod
    def params_clean(cls, params: dict, tenant: Tenant) -> dict:
        data = ActivityParams.model_validate(params)
        until = data.until or timezone.now().astimezone(tenant_tz(tenant)).date()
        since = data.since or until - timedelta(days=29)
        return ActivityParams(since=since, until=until).model_dump(mode="json")  # checks the range again

    def _days(self) -> list[date]:
        since, until = date.fromisoformat(self.params["since"]), date.fromisoformat(self.params["until"])
        return [since + timedelta(days=n) for n in range((until - since).days + 1)]

    def total(self) -> int:
        return len(self._days())

    def _per_day(self, queryset, first: date, last: date) -> dict[date, int]:
        start = datetime.combine(first, time.min, self.tz)
        end = datetime.combine(last + timedelta(days=1), time.min, self.tz)
        rows = (
            queryset.filter(created_at__gte=start, created_at__lt=end)
            .annotate(day=TruncDate("created_at", tzinfo=self.tz))
            .values("day")
            .annotate(n=Count("id"))
        )
        return {row["day"]: row["n"] for row in rows}

    def chunks(self) -> Iterator[list[list]]:
        days = self._days()
        for i in range(0, len(days), CHUNK_DAYS):
            chunk = days[i : i + CHUNK_DAYS]
            audit = self._per_day(AuditEvent.objects.filter(tenant=self.tenant), chunk[0], chunk[-1])
            messages = self._per_day(Message.objects.all(), chunk[0], chunk[-1])  # the tenant's schema
            yield [[day.isoformat(), audit.get(day, 0), messages.get(day, 0)] for day in chunk]


KINDS: dict[str, type[ReportKind]] = {kind.name: kind for kind in (MembersReport, ActivityReport)}


def report_kind_get(name: str) -> type[ReportKind]:
    kind = KINDS.get(name)
    if kind is None:
        raise ReportKindUnknown(details={"kind": name, "kinds": sorted(KINDS)})
    return kind


def report_params_clean(kind: type[ReportKind], params, tenant: Tenant) -> dict:
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ReportParamsInvalid(details={"params": ["Expected an object."]})
    try:
        return kind.params_clean(params, tenant)
    except ValidationError as exc:
        details: dict[str, list[str]] = {}
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "params"
            details.setdefault(field, []).append(err["msg"].removeprefix("Value error, "))
        raise ReportParamsInvalid(details=details) from exc
