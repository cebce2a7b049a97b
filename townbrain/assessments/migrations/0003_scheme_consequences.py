"""What a grade leads to, as part of the scheme (降格 → the 培育 list, 淘汰 → out, 警告 twice → flagged)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("assessments", "0002_frozen_runs_immutable"),
    ]

    operations = [
        migrations.AddField(
            model_name="scheme",
            name="consequences",
            field=models.JSONField(blank=True, default=list, help_text="[{grade, action: change_role | exit | flag, role, times}], applied after a run is frozen.", verbose_name="consequences of grades"),
        ),
    ]
