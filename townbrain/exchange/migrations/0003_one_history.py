"""One history for the audit log and an import's undo: the audit rows an import wrote carry its batch
and row (core 0005), and the import-change rows that held a second copy of each change go.

Batches applied before keep their undo: each change row's audit rows (same record, same actor, written
in the import's transaction — before the batch's own `import.apply` row, within the hour before the
batch) are tagged with the batch and row; a change whose audit row cannot be found becomes an audit
row of its own, so nothing the undo needs is lost."""

import importlib
from datetime import timedelta

from django.db import migrations

# Audit rows are append-only (core 0002's trigger refuses an UPDATE): the trigger steps aside while the
# import tags of old rows are filled in — nothing the rows say changes — and is back before the commit.
immutable = importlib.import_module("townbrain.core.migrations.0002_audit_immutable")

WINDOW = timedelta(hours=1)  # an import's transaction, generously (100,000 rows take under a minute)


def tag_legacy_changes(apps, schema_editor):
    ImportBatch = apps.get_model("exchange", "ImportBatch")
    ImportChange = apps.get_model("exchange", "ImportChange")
    AuditEntry = apps.get_model("core", "AuditEntry")
    if not ImportChange.objects.exists():
        return
    immutable.backwards(apps, schema_editor)
    _tag(ImportBatch, ImportChange, AuditEntry)
    immutable.forwards(apps, schema_editor)


def _tag(ImportBatch, ImportChange, AuditEntry):  # noqa: N803 (historical models)
    for batch in ImportBatch.objects.filter(pk__in=ImportChange.objects.values("batch_id")).order_by("pk"):
        written = AuditEntry.objects.filter(actor_name=batch.actor_name, import_batch__isnull=True,
                                            time__gte=batch.created - WINDOW, time__lte=batch.created)
        applied = AuditEntry.objects.filter(action="import.apply", object_type="importbatch",
                                            object_id=str(batch.pk)).values_list("id", flat=True).first()
        if applied is not None:
            written = written.filter(id__lt=applied)
        for change in ImportChange.objects.filter(batch=batch).order_by("id"):
            mine = written.filter(object_type=change.object_type, object_id=change.object_id)
            if mine.update(import_batch=batch.pk, import_row=change.row):
                continue
            verb = "create" if change.action == "created" else "update"
            AuditEntry.objects.create(
                time=batch.created, actor_id=batch.actor_id, actor_name=batch.actor_name,
                action=f"{change.object_type}.{verb}", object_type=change.object_type, object_id=change.object_id,
                object_repr=f"{change.object_type} {change.object_id}", org_code=batch.org_code,
                changes={name: [value, None] for name, value in (change.before or {}).items()}, source="migration",
                import_batch=batch.pk, import_row=change.row)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0005_audit_import"),
        ("exchange", "0002_data_warnings"),
    ]

    operations = [
        migrations.RunPython(tag_legacy_changes, migrations.RunPython.noop),
        migrations.DeleteModel(name="ImportChange"),
    ]
