from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializers import ModelSerializer  # fields built once per class

from .cache import cached_domains
from .models import ApiKey, AuditEvent, Invitation, Membership, Tenant
from .settings_schema import settings_effective


class TenantCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.CharField(max_length=50, help_text="Lowercase, DNS-safe; the tenant's subdomain.")


class TenantOutputSerializer(ModelSerializer):
    domains = serializers.SerializerMethodField()
    settings = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["id", "slug", "name", "status", "domains", "settings", "created_at", "deletion_due_at"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_domains(self, tenant):
        if self.context.get("domains_cached"):  # one tenant: this process's copy, no query
            return cached_domains(tenant.pk)
        return [d.domain for d in tenant.domains.all()]  # a page of tenants prefetches them

    @extend_schema_field(serializers.DictField())
    def get_settings(self, tenant):
        return settings_effective(tenant.settings)


class TenantWithRoleOutputSerializer(TenantOutputSerializer):
    role = serializers.CharField(read_only=True)

    class Meta(TenantOutputSerializer.Meta):
        fields = TenantOutputSerializer.Meta.fields + ["role"]


class UsageOutputSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    schema_bytes = serializers.IntegerField()
    api_requests_today = serializers.IntegerField()
    storage_bytes = serializers.IntegerField()
    files = serializers.IntegerField()
    jobs = serializers.IntegerField()


class MemberAddInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.CharField(max_length=16, default=Membership.Role.MEMBER)


class MemberRoleInputSerializer(serializers.Serializer):
    role = serializers.CharField(max_length=16)


class MemberOutputSerializer(ModelSerializer):
    user_id = serializers.IntegerField(source="user.id")
    email = serializers.EmailField(source="user.email")
    joined_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Membership
        fields = ["user_id", "email", "role", "joined_at"]


class AuditEventOutputSerializer(ModelSerializer):
    actor = serializers.CharField(source="actor_email")

    class Meta:
        model = AuditEvent
        fields = ["id", "action", "actor", "target", "before", "after", "ip", "created_at"]


class ApiKeyCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=["member", "admin"], default="member", help_text="Never owner.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Omitted: never expires.")


class ApiKeyCreatedOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    role = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    key = serializers.CharField(help_text="The secret (`sk_…`): shown once, only its SHA-256 is kept.")


class ApiKeyOutputSerializer(ModelSerializer):
    role = serializers.CharField(read_only=True)
    last_used_at = serializers.DateTimeField(source="token.last_used_at", allow_null=True, read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "created_at", "last_used_at", "expires_at"]


class InvitationCreateInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.CharField(
        max_length=16, default=Membership.Role.MEMBER, help_text="member or admin; owner only by an owner."
    )


class InvitationOutputSerializer(ModelSerializer):
    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)
    invited_by = serializers.EmailField(source="invited_by.email", allow_null=True, read_only=True, default=None)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "expires_at",
            "created_at",
            "last_sent_at",
            "send_count",
            "invited_by",
        ]


class InvitationTenantSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()


class InvitationPublicOutputSerializer(serializers.Serializer):
    """What the link shows whoever holds it: nothing about whether the address has an account."""

    tenant = InvitationTenantSerializer()
    email = serializers.EmailField()
    role = serializers.CharField()
    expires_at = serializers.DateTimeField()


class InvitationAcceptInputSerializer(serializers.Serializer):
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        max_length=4096,
        help_text="Only without an account (not signed in): the new account's password.",
    )


class InvitationAcceptedOutputSerializer(serializers.Serializer):
    tenant = InvitationTenantSerializer()
    role = serializers.CharField()
    token = serializers.CharField(
        allow_null=True, help_text="A bearer token for the account the accept made (null when signed in)."
    )
