"""core.bulk's paths for a few rows (a one-record write): fetch(), and insert()/update() below bulk.FEW,
write their own SQL instead of the ORM's — they must read and write exactly what the ORM does."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from townbrain.core import audit, bulk
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects.models import MonthlyPlan, ProgressReport, Project


def _project(tree, code, **extra) -> Project:
    meili = Programme.objects.get(code="meili")
    fields = {"code": code, "name": f"项目 {code}", "town": tree["330109113"], "programme": meili,
              "category": meili.categories.first(), "total_investment": Decimal("1200.50"),
              "annual_plan": Decimal(600), "planned_start": date(2021, 3, 1), "status": "planned",
              "latitude": Decimal("30.123456")} | extra
    return Project.objects.create(**fields)


def _values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.mark.django_db
def test_fetch_reads_what_the_orm_reads(tree):
    a, b = _project(tree, "A-1"), _project(tree, "A-2", planned_start=None, latitude=None)
    for period, progress in (("202103", "12.50"), ("202101", "3")):
        MonthlyPlan.objects.create(project=a, period=period, planned_progress=Decimal(progress))
        ProgressReport.objects.create(project=a, period=period, status="started", cumulative_investment=Decimal(7),
                                      progress_percent=Decimal(progress))
    ids = [b.pk, a.pk, a.pk, 10**9]  # repeated and unknown keys, as a batch's may be
    fetched = bulk.fetch(Project, "pk", ids, order_by=("pk",), for_update=True)
    assert [_values(p) for p in fetched] == [_values(p) for p in Project.objects.filter(pk__in=ids).order_by("pk")]
    assert all(not p._state.adding and p._state.db == "default" for p in fetched)
    reports = bulk.fetch(ProgressReport, "project_id", [a.pk, b.pk], order_by=("project_id", "period"))
    assert [_values(r) for r in reports] == [_values(r) for r in ProgressReport.objects.order_by("project_id", "period")]
    assert [r.period for r in reports] == ["202101", "202103"]
    names = ("project_id", "period", "planned_progress")
    assert (bulk.fetch(MonthlyPlan, "project_id", [a.pk], order_by=("period",), names=names)
            == list(MonthlyPlan.objects.order_by("period").values_list(*names)))
    assert bulk.fetch(MonthlyPlan, "project_id", [a.pk], names=names)[0][2].as_tuple().exponent == -2  # as stored
    assert bulk.fetch(Project, "pk", []) == []


@pytest.mark.django_db
def test_fetch_narrows_by_more_fields_and_defers_what_it_is_told(tree, django_assert_num_queries):
    a, b = _project(tree, "D-1"), _project(tree, "D-2", status="preparing")
    found = bulk.fetch(Project, "pk", [a.pk, b.pk], where={"status": ("planned", "started"), "code": "D-1"},
                       names=("pk", "code"))
    assert found == [(a.pk, "D-1")]
    assert bulk.fetch(Project, "pk", [a.pk], where={"status": ()}) == []
    with django_assert_num_queries(1):
        (late,) = bulk.fetch(Project, "pk", [a.pk], defer=("created", "updated"))
        assert late.code == "D-1" and late.get_deferred_fields() == {"created", "updated"}
    with django_assert_num_queries(1):  # read when asked for, as QuerySet.defer() does
        created = late.created
    assert created == a.created and late.updated == a.updated


@pytest.mark.django_db
def test_fetch_reads_in_pieces_where_there_are_no_arrays(tree, monkeypatch):
    monkeypatch.setattr(bulk, "IN_CHUNK", 2)
    codes = sorted(tree) + ["999999999"]
    assert ({u.code for u in bulk.fetch(OrgUnit, "code", codes)}
            == set(OrgUnit.objects.filter(code__in=codes).values_list("code", flat=True)))


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 3])
def test_update_of_a_few_rows_writes_what_bulk_update_writes(tree, count):
    ours = [_project(tree, f"U-{i}") for i in range(count)]
    theirs = [_project(tree, f"V-{i}") for i in range(count)]
    names = ("status", "cumulative_investment", "progress_percent", "last_period", "actual_start", "latitude")
    for i, p in enumerate([*ours, *theirs]):
        p.status, p.cumulative_investment, p.progress_percent = "started", Decimal("10.5") + i % count, Decimal(30)
        p.last_period, p.actual_start, p.latitude = "202104", date(2021, 4, 2), None
    with CaptureQueriesContext(connection) as seen:
        bulk.update(Project, ours, names)
    assert len([q for q in seen.captured_queries if "SAVEPOINT" not in q["sql"]]) == 1  # executemany: one batch
    Project.objects.bulk_update(theirs, [*names, "updated"])
    for mine, other in zip(ours, theirs, strict=True):
        mine.refresh_from_db()
        other.refresh_from_db()
        got, want = _values(mine), _values(other)
        assert got.pop("updated") >= got["created"]
        for name in ("id", "code", "name", "created", "updated"):
            got.pop(name, None)
            want.pop(name, None)
        assert got == want and mine.last_period == "202104" and mine.latitude is None
    untouched = _project(tree, "W-1")
    assert Project.objects.get(pk=untouched.pk).status == "planned"  # only the rows given change


@pytest.mark.django_db
def test_update_refuses_what_bulk_update_refuses(tree):
    project = _project(tree, "R-1")
    with pytest.raises(ValueError):
        bulk.update(Project, [Project(code="new")], ["status"])
    with pytest.raises(ValueError):
        bulk.update(Project, [project], ["id"])


@pytest.mark.django_db
def test_insert_of_a_few_rows_writes_what_bulk_create_writes(tree):
    project = _project(tree, "I-1")
    rows = [audit.entry(SYSTEM, "progress.report", project, {"cumulative_investment": "1"},
                        {"cumulative_investment": "2.50", "phone": "138"}, org_code=project.town_id)
            for _i in range(3)]
    with CaptureQueriesContext(connection) as seen:
        assert bulk.insert(AuditEntry, rows) is rows
    assert len(seen.captured_queries) == 1
    assert len({r.pk for r in rows}) == 3 and all(r.pk and not r._state.adding for r in rows)
    twins = [audit.entry(SYSTEM, "progress.report", project, {"cumulative_investment": "1"},
                         {"cumulative_investment": "2.50", "phone": "138"}, org_code=project.town_id)]
    AuditEntry.objects.bulk_create(twins)
    for row in rows:
        got, want = _values(AuditEntry.objects.get(pk=row.pk)), _values(AuditEntry.objects.get(pk=twins[0].pk))
        assert got.pop("id") != want.pop("id") and got.pop("time") and want.pop("time")
        assert got == want
    assert AuditEntry.objects.get(pk=rows[0].pk).changes == {"cumulative_investment": ["1", "2.50"],
                                                             "phone": [None, audit.CHANGED]}
    reports = [ProgressReport(project=project, period=f"2021{m:02d}", status="started", month_investment=Decimal(m))
               for m in (1, 2)]
    bulk.insert(ProgressReport, reports)
    assert [(r.period, r.month_investment, r.created is not None) for r in ProgressReport.objects.order_by("period")] \
        == [("202101", Decimal(1), True), ("202102", Decimal(2), True)]
