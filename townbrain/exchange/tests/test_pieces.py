"""A kind that writes in pieces (projects): each piece of the file is written in the background while
the next is checked (pipeline.PIECE_ROWS, core/writer.py) — on PostgreSQL by the writer's thread — and the
import is still one transaction: the same rows, history, roll-up cells and undo as at once, nothing
written when a later piece refuses a row, the pieces around a refused row written with only_valid."""

import threading

import pytest

from townbrain.core import doctor
from townbrain.core.models import AuditEntry
from townbrain.exchange import pipeline
from townbrain.exchange.kinds import ProjectsKind
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch
from townbrain.projects.models import Project, RollupCell

from .conftest import HEADER, xlsx

pytestmark = pytest.mark.django_db
ROWS = 7


@pytest.fixture
def pieces_of_two(monkeypatch):
    """Pieces of two rows, and the threads the pieces were written in."""
    monkeypatch.setattr(pipeline, "PIECE_ROWS", 2)
    threads = []
    pending = ProjectsKind.pending

    def recorded(kind):
        write = pending(kind)

        def run():
            threads.append(threading.current_thread())
            write()
        return run

    monkeypatch.setattr(ProjectsKind, "pending", recorded)
    return threads


def rows(bad_row=None):
    out = [HEADER]
    for i in range(ROWS):
        total = 50 if i + 2 == bad_row else 1000 + i  # file row i + 2: a plan of 100 above the total is refused
        out.append([f"PC-{i:03d}", f"分批项目{i}", "330109113", "meili", "功能便民环境美", total, 100, "2020-03-01", "谋划"])
    return out


def rollups_hold() -> bool:
    (result,) = doctor.run_all(only=("rollups",))
    return result["status"] == doctor.OK


def test_a_file_in_pieces_is_written_as_one_import(users, pieces_of_two):
    from django.db import connection

    summary = run_import(users["guali"], xlsx(rows()), "p.xlsx", "projects")
    assert (summary["status"], summary["counts"]["created"]) == ("applied", ROWS), summary
    assert len(pieces_of_two) == 4  # 2 + 2 + 2 + 1 rows
    in_background = connection.vendor == "postgresql"
    assert all((t is not threading.current_thread()) == in_background for t in pieces_of_two)
    created = AuditEntry.objects.filter(action="project.create", import_batch=summary["id"])
    assert sorted((e.import_row, e.object_id) for e in created) == sorted(
        (int(p.code[3:]) + 2, str(p.pk)) for p in Project.objects.all())
    assert RollupCell.objects.exists() and rollups_hold()

    undo_batch(users["guali"], ImportBatch.objects.get(pk=summary["id"]))
    assert not Project.objects.exists() and not RollupCell.objects.filter(n__gt=0).exists()


def test_a_row_refused_in_a_later_piece_leaves_nothing_written(users, pieces_of_two):
    summary = run_import(users["guali"], xlsx(rows(bad_row=7)), "p.xlsx", "projects")
    assert summary["status"] == "failed"
    assert [(e["row"], e["column"]) for e in summary["errors"]] == [(7, "年度计划投资(万元)")]
    assert len(pieces_of_two) == 2  # the pieces before the refused row were written, then rolled back
    assert not Project.objects.exists() and not RollupCell.objects.exists()
    assert not ImportBatch.objects.exists() and not AuditEntry.objects.filter(action="project.create").exists()


def test_only_valid_writes_the_pieces_around_a_refused_row(users, pieces_of_two):
    summary = run_import(users["guali"], xlsx(rows(bad_row=4)), "p.xlsx", "projects", only_valid=True)
    assert (summary["status"], summary["counts"]["created"]) == ("partial", ROWS - 1), summary
    assert sorted(Project.objects.values_list("code", flat=True)) == [f"PC-{i:03d}" for i in range(ROWS) if i != 2]
    assert rollups_hold()


def test_a_dry_run_checks_in_one_piece_and_writes_nothing(users, pieces_of_two):
    summary = run_import(users["guali"], xlsx(rows()), "p.xlsx", "projects", dry_run=True)
    assert (summary["status"], summary["counts"]["created"]) == ("dry_run", ROWS)
    assert pieces_of_two == [] and not Project.objects.exists()
