from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("realtime", "0001_initial")]
    operations = [migrations.AddField("message", "note", models.TextField(null=True))]
