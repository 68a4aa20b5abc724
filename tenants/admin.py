"""The operator admin (platform host): tenants, domains, members, audit, pool."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.db.models.expressions import RawSQL
from django.template.defaultfilters import filesizeformat

from common.errors import ApplicationError

from .audit import Actor
from .models import AuditEvent, Domain, Membership, PooledSchema, Tenant
from .services import (
    domain_audit,
    memberships_admin_changed,
    slug_validate,
    tenant_create,
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
    readonly_fields = ["id", "schema_name", "status", "created_at", "updated_at"]
    fields = ["id", "slug", "name", "status", "schema_name", "settings", "created_at", "updated_at"]
    inlines = [DomainInline, MembershipInline]
    actions = ["suspend", "reactivate"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return (
            super().get_queryset(request)
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
        created = tenant_create(slug=obj.slug, name=obj.name, owner=form.cleaned_data.get("owner_email"),
                                actor=Actor.from_request(request))
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = "default"

    def save_formset(self, request, form, formset, change):
        if formset.model is Membership:
            return self._memberships_save(request, form, formset, change)
        if formset.model is not Domain:
            return super().save_formset(request, form, formset, change)
        before = {d.pk: d.domain for d in Domain.objects.filter(tenant=form.instance)}
        super().save_formset(request, form, formset, change)
        after = {d.pk: d.domain for d in Domain.objects.filter(tenant=form.instance)}
        domain_audit(
            tenant=form.instance, actor=Actor.from_request(request),
            added=[after[pk] for pk in after.keys() - before.keys()],
            removed=[before[pk] for pk in before.keys() - after.keys()],
            changed=[(before[pk], after[pk]) for pk in before.keys() & after.keys() if before[pk] != after[pk]],
        )

    def _memberships_save(self, request, form, formset, change):
        roles_before = dict(Membership.objects.filter(tenant=form.instance).values_list("pk", "role"))
        super().save_formset(request, form, formset, change)
        memberships_admin_changed(
            tenant=form.instance, actor=Actor.from_request(request), added=formset.new_objects,
            role_changed=[(m, roles_before[m.pk]) for m, fields in formset.changed_objects if "role" in fields],
            removed=formset.deleted_objects,
        )

    @admin.action(description="Suspend selected tenants")
    def suspend(self, request, queryset):
        for tenant in queryset:
            tenant_suspend(tenant=tenant, actor=Actor.from_request(request))
        self.message_user(request, f"Suspended {queryset.count()} tenant(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request, queryset):
        for tenant in queryset:
            tenant_reactivate(tenant=tenant, actor=Actor.from_request(request))
        self.message_user(request, f"Reactivated {queryset.count()} tenant(s).", messages.SUCCESS)


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
