"""Many reports at once (ReportBatch, an import) end exactly as one report_progress() / delete_report()
call after another would: the same reports accepted and refused, the same reports and project
figures, the roll-up table equal to rebuild() — for a cost in queries that does not grow with the rows."""

import random
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from townbrain.core import bulk
from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.projects import rollups, services
from townbrain.projects.models import ProgressReport, Project, RollupCell

from .test_rollup_cells import MONTHS, Walk, cells

pytestmark = pytest.mark.django_db


def _ledger() -> tuple:
    reports = set(ProgressReport.objects.values_list("project_id", "period", "month_investment", "cumulative_investment",
                                                     "progress_percent", "status", "problems", "correction_reason"))
    projects = set(Project.objects.values_list("pk", "status", "cumulative_investment", "progress_percent",
                                               "last_period"))
    return reports, projects, cells()


def _operations(seed: int, n: int) -> list[tuple]:
    """A random file's worth of changes: reports (new, replacing, unchanged, downward corrections with
    and without a reason, started without a start date, bad figures) and removals."""
    rng = random.Random(seed)
    projects = list(Project.objects.order_by("pk"))
    ops = []
    for _ in range(n):
        project = rng.choice(projects)
        period = rng.choice(MONTHS[12:24])
        if rng.random() < 0.1:
            ops.append(("remove", project, period, None))
            continue
        figures = {"cumulative_investment": Decimal(rng.randrange(0, 3000)) / 10,
                   "progress_percent": Decimal(rng.randrange(0, 1001)) / 10,
                   "month_investment": Decimal(rng.randrange(0, 100))}
        if rng.random() < 0.3:
            figures["correction_reason"] = "更正"
        if rng.random() < 0.5:
            figures["status"] = rng.choice(["planned", "preparing", "started", "suspended", "completed"])
        if rng.random() < 0.05:
            figures["month_investment"] = Decimal(-1)
        ops.append(("report", project, period, figures))
    return ops


def _one_by_one(ops) -> list:
    outcomes = []
    for op, project, period, figures in ops:
        try:
            if op == "remove":
                report = ProgressReport.objects.filter(project=project, period=period).first()
                if report is not None:
                    services.delete_report(SYSTEM, report)
                outcomes.append("removed")
            else:
                services.report_progress(SYSTEM, project, period, **figures)
                outcomes.append("saved")
        except ValidationError as exc:
            outcomes.append(sorted(exc.message_dict))
    return outcomes


def _batch(ops) -> list:
    batch = services.ReportBatch(SYSTEM)
    batch.load([project.pk for _op, project, _period, _figures in ops])
    outcomes = []
    for op, project, period, figures in ops:
        try:
            if op == "remove":
                batch.remove(project.pk, period)
                outcomes.append("removed")
            else:
                batch.report(project.pk, period, figures)
                outcomes.append("saved")
        except ValidationError as exc:
            outcomes.append(sorted(exc.message_dict))
    batch.write()
    return outcomes


@pytest.mark.parametrize("seed", range(4))
def test_a_batch_ends_as_one_call_after_another(tree, seed):
    walk = Walk(seed)
    walk.populate(projects=12, reports=25)
    ops = _operations(seed, 80)
    with transaction.atomic():
        expected_outcomes = _one_by_one(ops)
        expected = _ledger()
        transaction.set_rollback(True)
    outcomes = _batch(ops)
    assert outcomes == expected_outcomes
    assert any(o == "saved" for o in outcomes) and any(isinstance(o, list) for o in outcomes)
    assert _ledger() == expected
    kept = cells()
    rollups.rebuild()
    assert cells() == kept


def test_a_batch_costs_the_same_queries_for_3_or_60_reports(tree):
    from .test_projects import make_project

    projects = [make_project("330109113") for _ in range(6)]

    def queries(periods) -> list[str]:
        with CaptureQueriesContext(connection) as seen, transaction.atomic():
            batch = services.ReportBatch(SYSTEM)
            results = batch.check([(p, period, {"cumulative_investment": Decimal(i + 1)})
                                   for i, period in enumerate(periods) for p in projects])
            assert not any(isinstance(r, Exception) for r in results), results
            batch.write()
            transaction.set_rollback(True)
        return [q["sql"][:70] for q in seen.captured_queries]

    few, many = queries(["202003"]), queries(MONTHS[12:22])
    assert len(many) == len(few), "\n".join(few) + "\n---\n" + "\n".join(many)


def test_refused_reports_say_why_and_the_rest_are_written(tree, users):
    from .test_projects import make_project

    project = make_project("330109113")
    elsewhere = make_project("330182107")
    batch = services.ReportBatch(users["guali"])
    results = batch.check([
        (project, "202004", {"cumulative_investment": Decimal(50)}),
        (project, "202005", {"cumulative_investment": Decimal(40)}),  # below April's, no reason
        (project, "202006", {"cumulative_investment": Decimal(40), "correction_reason": "四月多报"}),
        (project, "2020-13", {"cumulative_investment": Decimal(1)}),
        (project, "202007", {"status": "started"}),  # no actual start date
        (project, "202008", {"colour": "red"}),
        (elsewhere, "202004", {"cumulative_investment": Decimal(5)}),  # outside guali's town
    ])
    assert [r[2] if isinstance(r, tuple) else type(r).__name__ for r in results] == [
        "created", "ValidationError", "created", "ValidationError", "ValidationError", "ValidationError",
        "PermissionDenied"]
    assert "cumulative_investment" in results[1].message_dict and "period" in results[3].message_dict
    assert "status" in results[4].message_dict
    assert isinstance(results[6], PermissionDenied)
    batch.write()
    assert list(project.reports.order_by("period").values_list("period", "cumulative_investment")) == [
        ("202004", Decimal(50)), ("202006", Decimal(40))]
    project.refresh_from_db()
    assert (project.last_period, project.cumulative_investment) == ("202006", Decimal(40))
    assert not elsewhere.reports.exists()
    assert AuditEntry.objects.filter(action="progress.report", object_id__in=[
        str(pk) for pk in project.reports.values_list("pk", flat=True)]).count() == 2


def test_removed_and_saved_again_in_one_batch_is_one_row_updated(tree):
    from .test_projects import make_project

    project = make_project("330109113")
    report = services.report_progress(SYSTEM, project, "202004", cumulative_investment=Decimal(10))
    batch = services.ReportBatch(SYSTEM)
    batch.load([project.pk])
    batch.remove(project.pk, "202004")
    batch.report(project.pk, "202004", {"cumulative_investment": Decimal(20)})
    batch.write()
    assert list(project.reports.values_list("pk", "cumulative_investment")) == [(report.pk, Decimal(20))]
    kept = cells()
    rollups.rebuild()
    assert cells() == kept and RollupCell.objects.exists()


@pytest.mark.parametrize("rows", [3, 30])  # 30: bulk.insert's COPY path on PostgreSQL
def test_bulk_update_and_insert_agree_with_the_orm(tree, rows, monkeypatch):
    from .test_projects import make_project

    monkeypatch.setattr(bulk, "BATCH", 5)  # more than BATCH rows: the COPY + UPDATE … FROM path on PostgreSQL
    project = make_project("330109113")
    new = [ProgressReport(project=project, period=f"2020{i:02d}", status="planned",
                          cumulative_investment=Decimal(i), problems=f"问题 {i}") for i in range(rows)]
    with transaction.atomic():
        bulk.insert(ProgressReport, new)
    assert all(r.pk for r in new)
    assert sorted(ProgressReport.objects.values_list("pk", "cumulative_investment", "problems")) == sorted(
        (r.pk, r.cumulative_investment, r.problems) for r in new)
    stamp = ProgressReport.objects.get(pk=new[0].pk).updated
    for r in new:
        r.cumulative_investment += 1
        r.problems = "已解决"
        r.status = "preparing"  # not named: stays
    with transaction.atomic():
        bulk.update(ProgressReport, new, ["cumulative_investment", "problems"])
    stored = {pk: (c, p, s) for pk, c, p, s in ProgressReport.objects.values_list(
        "pk", "cumulative_investment", "problems", "status")}
    assert stored == {r.pk: (r.cumulative_investment, "已解决", "planned") for r in new}
    assert ProgressReport.objects.get(pk=new[0].pk).updated > stamp  # auto_now moves


def test_audit_rows_of_a_big_batch_are_written_in_pieces(tree, monkeypatch):
    from .test_projects import make_project

    monkeypatch.setattr(bulk, "ROWS_CHUNK", 7)
    projects = [make_project("330109113") for _ in range(4)]
    written = []
    real = services.audit.record_many
    monkeypatch.setattr(services.audit, "record_many", lambda rows: written.append(len(rows)) or real(rows))
    batch = services.ReportBatch(SYSTEM)
    batch.check([(p, period, {"cumulative_investment": Decimal(i + 1), "status": "preparing"})
                 for p in projects for i, period in enumerate(MONTHS[12:17])])
    batch.write()
    # 20 reports and 4 projects whose status and figures followed them
    assert written == [7, 7, 7, 3]
    assert AuditEntry.objects.filter(action="progress.report").count() == 20
    assert AuditEntry.objects.filter(action="project.progress").count() == 4
