"""The version of an acceptance (optimistic locking, core/conflicts.py).

SQLite adds a NOT NULL column by rebuilding the table, which the triggers of 0002 (a frozen
acceptance cannot be changed) stand in the way of: they are taken off for the rebuild and put back.
"""

import importlib

from django.db import migrations, models

frozen = importlib.import_module("townbrain.acceptance.migrations.0002_frozen_acceptances_immutable")


def _sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for sql in statements():
                schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("acceptance", "0002_frozen_acceptances_immutable")]

    operations = [
        migrations.RunPython(_sqlite(frozen._sqlite_down), _sqlite(frozen._sqlite_up)),
        migrations.AddField(
            model_name="acceptance",
            name="version",
            field=models.PositiveIntegerField(default=1, editable=False, verbose_name="version"),
        ),
        migrations.RunPython(_sqlite(frozen._sqlite_up), _sqlite(frozen._sqlite_down)),
    ]
