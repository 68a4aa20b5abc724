"""Operators: every job with its failure, the queue, tenant schedules, and the
qcluster workers alive (django-q2's own admin keeps Schedules, Successes,
Failures and its queue)."""

from __future__ import annotations

from django.contrib import admin, messages
from django_q.status import Stat

from common.errors import ApplicationError

from .models import Job, QueueEntry, TenantSchedule
from .services import job_cancel, job_retry


class CriticalFailureFilter(admin.SimpleListFilter):
    title, parameter_name = "critical failure", "critical_failure"

    def lookups(self, request, model_admin):
        return [("yes", "Critical failures")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(state=Job.State.FAILED, critical=True)
        return queryset


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "task",
        "tenant",
        "state",
        "priority",
        "progress",
        "attempts",
        "max_attempts",
        "created_at",
        "finished_on",
        "failed_reason_short",
    ]
    list_filter = [CriticalFailureFilter, "state", "priority", "task", "tenant"]
    search_fields = ["task", "idempotency_key", "failed_reason", "tenant__slug"]
    readonly_fields = [f.name for f in Job._meta.fields]
    list_select_related = ["tenant"]
    actions = ["retry_failed", "cancel_waiting"]
    show_full_result_count = False
    change_list_template = "admin/jobs/job/change_list.html"

    @admin.display(description="failed reason")
    def failed_reason_short(self, job: Job) -> str:
        return job.failed_reason.splitlines()[-1][:120] if job.failed_reason else ""

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "clusters": Stat.get_all()}
        return super().changelist_view(request, extra_context=extra_context)

    def _each(self, request, queryset, action, verb):
        done = 0
        for job in queryset:
            try:
                action(job=job)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"#{job.pk}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{verb} {done} job(s).")

    @admin.action(description="Retry the selected failed jobs")
    def retry_failed(self, request, queryset):
        self._each(request, queryset, job_retry, "Retried")

    @admin.action(description="Cancel the selected waiting jobs")
    def cancel_waiting(self, request, queryset):
        self._each(request, queryset, job_cancel, "Cancelled")


@admin.register(QueueEntry)
class QueueEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "priority", "vt", "ready_at", "deliveries", "held", "fair_key"]
    readonly_fields = [f.name for f in QueueEntry._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(TenantSchedule)
class TenantScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "task", "cron", "enabled", "next_run", "last_job"]
    list_filter = ["enabled", "task"]
    raw_id_fields = ["last_job"]
