from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("realtime", "0002_message_note")]
    operations = [AddIndexConcurrently("message", models.Index(fields=["note"], name="message_note"))]
