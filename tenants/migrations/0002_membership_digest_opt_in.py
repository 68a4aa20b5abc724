from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="digest_opt_in",
            field=models.BooleanField(default=False, help_text="Receives the tenant's daily digest email."),
        ),
    ]
