"""The operator admin (platform host): tenants, domains, members, audit, pool."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.db.models.expressions import RawSQL
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat

from common.actors import Actor
from common.errors import ApplicationError

from .invitations import invitation_revoke
from .models import AuditEvent, Domain, Invitation, Membership, PooledSchema, Tenant
from .services import (
    domains_changed,
    membership_add,
    membership_remove,
    membership_role_change,
    slug_validate,
    tenant_create,
    tenant_deletion_cancel,
    tenant_deletion_expedite,
    tenant_deletion_request,
    tenant_reactivate,
    tenant_suspend,
)

SCHEMA_BYTES_SQL = """
    SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = tenants_tenant.schema_name AND c.relkind IN ('r', 'm', 'p')
"""


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ["domain", "is_primary"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]


class InlineRefused(Exception):
    """A service refused a change of the tenant change form's inlines (the last owner
    removed, ...): the whole save is undone and the change page says why."""

    def __init__(self, error: ApplicationError):
        super().__init__(error.message)
        self.error = error


class TenantAddForm(forms.ModelForm):
    owner_email = forms.EmailField(required=False, help_text="An existing user who becomes the owner.")

    class Meta:
        model = Tenant
        fields = ["slug", "name"]

    def clean_slug(self):
        try:
            return slug_validate(self.cleaned_data.get("slug", ""))
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_owner_email(self):
        email = self.cleaned_data.get("owner_email")
        if not email:
            return None
        user = get_user_model().objects.filter(email=email.lower()).first()
        if user is None:
            raise forms.ValidationError("No user has this email.")
        return user


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "status", "domain_list", "member_count", "schema_size", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["slug", "name", "domains__domain"]
    readonly_fields = [
        "id",
        "schema_name",
        "status",
        "deletion_requested_at",
        "deletion_due_at",
        "created_at",
        "updated_at",
    ]
    fields = [
        "id",
        "slug",
        "name",
        "status",
        "deletion_requested_at",
        "deletion_due_at",
        "schema_name",
        "settings",
        "created_at",
        "updated_at",
    ]
    inlines = [DomainInline, MembershipInline]
    actions = ["suspend", "reactivate", "schedule_deletion", "restore", "delete_now"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(member_count=Count("memberships", distinct=True), schema_bytes=RawSQL(SCHEMA_BYTES_SQL, []))
            .prefetch_related("domains")
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TenantAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["slug", "name", "owner_email"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*self.readonly_fields, "slug", "settings"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    @admin.display(description="domains")
    def domain_list(self, tenant):
        return ", ".join(d.domain for d in tenant.domains.all())

    @admin.display(description="members", ordering="member_count")
    def member_count(self, tenant):
        return tenant.member_count

    @admin.display(description="schema size", ordering="schema_bytes")
    def schema_size(self, tenant):
        return filesizeformat(tenant.schema_bytes)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # Provisioning goes through the same service as the API (the form has
        # already validated the slug the same way).
        created = tenant_create(
            slug=obj.slug,
            name=obj.name,
            owner=form.cleaned_data.get("owner_email"),
            actor=Actor.from_request(request, operator=True),
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = "default"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except InlineRefused as refused:  # raised inside super()'s transaction: nothing was saved
            self.message_user(request, f"Nothing was saved: {refused.error.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_formset(self, request, form, formset, change):
        if formset.model is Membership:
            return self._memberships_save(request, form.instance, formset)
        if formset.model is not Domain:
            return super().save_formset(request, form, formset, change)
        before = {d.pk: d.domain for d in Domain.objects.filter(tenant=form.instance)}
        super().save_formset(request, form, formset, change)
        after = {d.pk: d.domain for d in Domain.objects.filter(tenant=form.instance)}
        domains_changed(
            tenant=form.instance,
            actor=Actor.from_request(request, operator=True),
            added=[after[pk] for pk in after.keys() - before.keys()],
            removed=[before[pk] for pk in before.keys() - after.keys()],
            changed=[(before[pk], after[pk]) for pk in before.keys() & after.keys() if before[pk] != after[pk]],
        )

    def _memberships_save(self, request, tenant: Tenant, formset) -> None:
        """The inline's rows go through the membership services, like the API's, so they
        get the same rules and side effects (audit, welcome email, closed sockets). In
        this order: adds, role changes (to owner first), removals — so that handing the
        ownership over in one save never leaves the tenant without an owner on the way. A
        row whose user was changed is the old member removed and the new one added."""
        actor = Actor.from_request(request, operator=True)
        current = {m.pk: m for m in Membership.objects.filter(tenant=tenant).select_related("user")}
        adds, role_changes, removals = [], [], []
        for row in formset.forms:
            existing = current.get(row.instance.pk)
            if row in formset.deleted_forms:
                if existing is not None:
                    removals.append(existing)
                continue
            if not row.has_changed():
                continue
            user, role = row.cleaned_data["user"], row.cleaned_data["role"]
            if existing is None or existing.user_id != user.pk:
                adds.append((user, role))
                if existing is not None:
                    removals.append(existing)
            elif existing.role != role:
                role_changes.append((existing, role))
        role_changes.sort(key=lambda change: change[1] != Membership.Role.OWNER)
        try:
            formset.new_objects = [
                membership_add(tenant=tenant, email=user.email, role=role, actor=actor) for user, role in adds
            ]
            formset.changed_objects = [
                (membership_role_change(tenant=tenant, user_id=m.user_id, role=role, actor=actor), ["role"])
                for m, role in role_changes
            ]
            for membership in removals:
                membership_remove(tenant=tenant, user_id=membership.user_id, actor=actor)
        except ApplicationError as exc:
            raise InlineRefused(exc) from exc
        formset.deleted_objects = removals  # what the change message (the admin's history) lists

    def _each(self, request, queryset, service, done: str) -> None:
        """Run `service` on each selected tenant; one refused (ApplicationError) is reported, the others go on."""
        actor = Actor.from_request(request, operator=True)
        count = 0
        for tenant in queryset:
            try:
                service(tenant=tenant, actor=actor)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{tenant.slug}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{done} {count} tenant(s).", messages.SUCCESS)

    @admin.action(description="Suspend selected tenants")
    def suspend(self, request, queryset):
        self._each(request, queryset, tenant_suspend, "Suspended")

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request, queryset):
        self._each(request, queryset, tenant_reactivate, "Reactivated")

    @admin.action(description="Schedule deletion of selected tenants (restorable for the grace period)")
    def schedule_deletion(self, request, queryset):
        def schedule(*, tenant, actor):  # the operator's choice of the action is the confirmation
            tenant_deletion_request(tenant=tenant, actor=actor, confirm=tenant.slug)

        self._each(request, queryset, schedule, "Scheduled the deletion of")

    @admin.action(description="Restore selected tenants (cancel their deletion)")
    def restore(self, request, queryset):
        self._each(request, queryset, tenant_deletion_cancel, "Restored")

    @admin.action(description="Delete now: purge selected tenants pending deletion (irreversible)")
    def delete_now(self, request, queryset):
        self._each(request, queryset, tenant_deletion_expedite, "Queued the purge of")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant_slug", "action", "actor_email", "target", "ip"]
    list_filter = ["action", "created_at"]
    search_fields = ["tenant_slug", "actor_email", "target", "action"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PooledSchema)
class PooledSchemaAdmin(admin.ModelAdmin):
    list_display = ["schema_name", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only (the token is never shown: only its hash is kept); revoke through tenants.invitations."""

    list_display = ["email", "tenant", "role", "status", "send_count", "created_at", "expires_at"]
    list_filter = ["role"]
    search_fields = ["email", "tenant__slug"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Invitation._meta.fields if f.name != "token_hash"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Status")
    def status(self, invitation):
        return invitation.status

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request, queryset):
        actor, count = Actor.from_request(request, operator=True), 0
        for invitation in queryset.select_related("tenant"):
            try:
                invitation_revoke(tenant=invitation.tenant, invitation_id=invitation.pk, actor=actor)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{invitation.email}: {exc.message}", messages.ERROR)
        self.message_user(request, f"Revoked {count} invitation(s).", messages.SUCCESS)
