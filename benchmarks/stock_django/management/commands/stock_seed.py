"""Fresh benchmark data: N users with a DRF token each, the org row, R rooms.
Prints JSON: {"tokens": [...], "room": <id of the room messages are posted to>}."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from benchmarks.stock_django.models import Message, Org, Room


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=100)
        parser.add_argument("--rooms", type=int, default=50)

    def handle(self, *args, users, rooms, **options):
        User = get_user_model()
        with transaction.atomic():
            Message.objects.all().delete()
            Room.objects.all().delete()
            Org.objects.all().delete()
            Token.objects.all().delete()
            User.objects.all().delete()
            Org.objects.create(slug="bench", name="Bench")
            people = User.objects.bulk_create([User(username=f"u{i}", password="!") for i in range(users)])
            tokens = [Token.objects.create(user=user).key for user in people]
            made = Room.objects.bulk_create([Room(name=f"room {i}", created_by=people[0]) for i in range(rooms)])
        self.stdout.write(json.dumps({"tokens": tokens, "room": made[0].pk}))
