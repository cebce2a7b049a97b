"""One history: an import's audit rows carry the batch and the file row; its page and its undo read
them (exchange/history.py), and batches applied before the change keep their undo (migration 0003)."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import translation

from townbrain.core.models import AuditEntry
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch
from townbrain.projects.models import Project

from .conftest import xlsx

pytestmark = pytest.mark.django_db
immutable = importlib.import_module("townbrain.core.migrations.0002_audit_immutable")


def test_the_audit_rows_of_an_import_are_its_history(users, project_rows, client):
    first = run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects")
    created = AuditEntry.objects.filter(action="project.create").order_by("import_row")
    assert [(e.import_batch, e.import_row, e.object_id) for e in created] == [
        (first["id"], 2, str(Project.objects.get(code="GL-001").pk)),
        (first["id"], 3, str(Project.objects.get(code="GL-002").pk))]
    # The batch's own row is in its history too, but names no file row (undo leaves it alone).
    applied = AuditEntry.objects.get(action="import.apply")
    assert (applied.import_batch, applied.import_row) == (first["id"], None)
    assert not AuditEntry.objects.filter(import_batch__isnull=True).exclude(action__startswith="user.").exists()

    revised = [row[:] for row in project_rows]
    revised[1][5] = 1300  # GL-001's total investment
    second = run_import(users["guali"], xlsx(revised), "p2.xlsx", "projects")
    assert second["counts"]["updated"] == 1, second
    update = AuditEntry.objects.get(action="project.update")
    assert (update.import_batch, update.import_row) == (second["id"], 2)
    assert update.changes["total_investment"] == ["1200", "1300"]

    client.force_login(users["guali"])
    page = client.get(reverse("import-detail", args=[second["id"]])).content.decode()
    assert "GL-001" in page and "瓜沥镇污水管网" in page

    undo_batch(users["guali"], ImportBatch.objects.get(pk=second["id"]))
    assert Project.objects.get(code="GL-001").total_investment == 1200
    undo_batch(users["guali"], ImportBatch.objects.get(pk=first["id"]))
    assert not Project.objects.exists()


def test_a_dry_run_leaves_no_batch_and_no_history(users, project_rows):
    summary = run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects", dry_run=True)
    assert summary["status"] == "dry_run"
    assert not ImportBatch.objects.exists() and not AuditEntry.objects.filter(import_batch__isnull=False).exists()


@pytest.mark.usefixtures("shipped_data")  # a transactional database (DDL) with the migrations' programmes
def test_batches_applied_before_keep_their_undo(users, project_rows):
    """Migration 0003 tags the audit rows of each old import-change row with its batch and row (or writes
    one when none is found), then drops the change rows; undo of such a batch then works from the audit log."""
    # The models as migration 0003 sees them (their managers, unlike the live audit log's, may update).
    old = MigrationLoader(connection).project_state([("exchange", "0002_data_warnings"),
                                                     ("core", "0005_audit_import")]).apps
    legacy_change, legacy_audit = old.get_model("exchange", "ImportChange"), old.get_model("core", "AuditEntry")
    with connection.schema_editor() as editor:
        editor.create_model(legacy_change)
    try:
        summary = run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects")
        batch = ImportBatch.objects.get(pk=summary["id"])
        # As the pipeline wrote them before: untagged audit rows, a change row each.
        with connection.schema_editor() as editor:  # past the append-only trigger, as the migration goes
            immutable.backwards(old, editor)
            legacy_audit.objects.filter(import_batch=batch.pk).update(import_batch=None, import_row=None)
            immutable.forwards(old, editor)
        projects = {p.code: p.pk for p in Project.objects.all()}
        legacy_change.objects.create(batch_id=batch.pk, row=2, action="created", object_type="project",
                                     object_id=str(projects["GL-001"]), before=None)
        legacy_change.objects.create(batch_id=batch.pk, row=3, action="created", object_type="project",
                                     object_id=str(projects["GL-002"]), before=None)
        # One whose audit row is gone (a hand-made database): it gets one of its own.
        legacy_change.objects.create(batch_id=batch.pk, row=4, action="created", object_type="project",
                                     object_id="999999", before=None)

        migration = importlib.import_module("townbrain.exchange.migrations.0003_one_history")
        with connection.schema_editor() as editor:
            migration.tag_legacy_changes(old, editor)
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(legacy_change)

    tagged = AuditEntry.objects.filter(import_batch=batch.pk, import_row__isnull=False).order_by("import_row")
    with pytest.raises(Exception, match="audit rows cannot be changed"):  # append-only again
        legacy_audit.objects.filter(pk=tagged[0].pk).update(import_row=7)
    assert [(e.import_row, e.object_id, e.action) for e in tagged] == [
        (2, str(projects["GL-001"]), "project.create"), (3, str(projects["GL-002"]), "project.create"),
        (4, "999999", "project.create")]
    undo_batch(users["guali"], batch)
    assert not Project.objects.exists()


def test_doctor_finds_a_batch_without_its_history(users, project_rows):
    from townbrain.core import doctor

    def batches():
        return next(r for r in doctor.run_all(doctor.Options(full=True)) if r["name"] == "import_batches")

    summary = run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects")
    assert batches()["status"] == "ok"
    # A batch that says it created rows but whose audit rows name none of them: undo would do nothing.
    bad = ImportBatch.objects.create(kind="projects", actor_name="guali", file_name="q.xlsx", file_hash="0" * 64,
                                     counts={"created": 2, "updated": 0, "unchanged": 0})
    with translation.override("en"):
        found = batches()
    assert found["problems"] == [f"import batch #{bad.pk} (projects) wrote 2 rows but holds no changes"], found
    assert summary["id"] != bad.pk
