from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("playground", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="sharedscenario",
            name="parent",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
    ]
