"""Idempotent seed for `make run`: an operator, a demo tenant and a member."""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from tenants.models import Membership, Tenant
from tenants.services import tenant_create

OPERATOR_EMAIL = os.environ.get("DEMO_OPERATOR_EMAIL", "admin@example.com")
OPERATOR_PASSWORD = os.environ.get("DEMO_OPERATOR_PASSWORD", "admin-password")
MEMBER_EMAIL = os.environ.get("DEMO_MEMBER_EMAIL", "demo@example.com")
MEMBER_PASSWORD = os.environ.get("DEMO_MEMBER_PASSWORD", "demo-password")


class Command(BaseCommand):
    help = "Create (once) the operator superuser and the demo tenant with a demo member."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        operator = User.objects.filter(email=OPERATOR_EMAIL).first()
        if operator is None:
            operator = User.objects.create_superuser(email=OPERATOR_EMAIL, password=OPERATOR_PASSWORD)
        member = User.objects.filter(email=MEMBER_EMAIL).first()
        if member is None:
            member = User.objects.create_user(email=MEMBER_EMAIL, password=MEMBER_PASSWORD)
        tenant = Tenant.objects.filter(slug="demo").first()
        if tenant is None:
            tenant = tenant_create(slug="demo", name="Demo Inc.", owner=member)
        Membership.objects.get_or_create(tenant=tenant, user=member, defaults={"role": Membership.Role.OWNER})

        port = settings.PORT
        base = settings.BASE_DOMAIN
        self.stdout.write(self.style.SUCCESS("\nThe platform is starting:"))
        self.stdout.write(f"  Operator admin   http://{base}:{port}/admin/   {OPERATOR_EMAIL} / {OPERATOR_PASSWORD}")
        self.stdout.write(f"  API docs         http://{base}:{port}/api/docs/")
        self.stdout.write(f"  Demo tenant      http://demo.{base}:{port}/api/me   {MEMBER_EMAIL} / {MEMBER_PASSWORD}")
        self.stdout.write(f"  WebSocket        ws://demo.{base}:{port}/ws/")
        self.stdout.write(
            f"  Get a token      curl -s http://{base}:{port}/api/auth/token "
            f"-H 'Content-Type: application/json' "
            f'-d \'{{"email": "{MEMBER_EMAIL}", "password": "{MEMBER_PASSWORD}"}}\'\n'
        )
