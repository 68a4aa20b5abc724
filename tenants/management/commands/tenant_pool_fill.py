from django.core.management.base import BaseCommand

from tenants.provisioning import pool_fill


class Command(BaseCommand):
    help = "Clone schemas from the template until the pool holds TENANT_POOL_SIZE (or --size)."

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=None)

    def handle(self, *args, size=None, **options):
        created = pool_fill(size)
        self.stdout.write(f"pool: {created} schema(s) cloned")
