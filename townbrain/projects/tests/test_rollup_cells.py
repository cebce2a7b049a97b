"""The roll-up table answers exactly what the plain GROUP BY over the ledger answers.

A seeded random walk of service calls (create, update moving town/dates/status/category,
delete, report, re-report, correction, report removal, enrolment changes; refused calls too)
is checked against `compute_from_ledger()` for several orgs, months and filters along the
way, and the table kept by the write path must equal the one `rebuild()` makes from scratch.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.programmes.services import enrol_town
from townbrain.projects import rollups, services
from townbrain.projects.models import ProgressReport, Project, RollupCell

TOWNS = ["330109001", "330109113", "330182107", "330182100", "520111100"]
ORGS = ["33", "3301", "330109", "330182", "330109113", "330182100", "52", "520111", "520111100", "330109113201"]
MONTHS = [f"{y}{m:02d}" for y in (2019, 2020, 2021) for m in range(1, 13)]
STATUSES = ["planned", "preparing", "started", "completed", "suspended", "cancelled"]


def cells() -> set[tuple]:
    return set(RollupCell.objects.values_list("programme_id", "org", "month", "kind", "category", "role", "batch",
                                              "n", "cents"))


class Walk:
    """Random service calls on a small ledger; every refused call must leave the table as it was."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.towns = {c: OrgUnit.objects.get(code=c) for c in TOWNS}
        self.meili = Programme.objects.get(code="meili")
        self.tese = Programme.objects.get(code="tese")
        self.seq = 0

    # --- random values ---
    def day(self, lo=date(2019, 1, 1), span=1000) -> date:
        return lo + timedelta(days=self.rng.randrange(span))

    def schedule(self) -> dict:
        rng = self.rng
        planned = self.day() if rng.random() < 0.9 else None
        completion = (planned + timedelta(days=rng.randrange(0, 700))) if planned and rng.random() < 0.85 else None
        status = rng.choice(STATUSES)
        actual = None
        if status in ("started", "completed", "suspended") or rng.random() < 0.2:
            actual = (planned or self.day()) + timedelta(days=rng.randrange(-120, 400))
        fields = {"planned_start": planned, "planned_completion": completion, "actual_start": actual,
                  "status": status, "actual_completion": None}
        if status == "completed":
            fields["actual_completion"] = actual + timedelta(days=rng.randrange(0, 400))
        return fields

    def category(self, programme):
        cats = list(programme.categories.all())
        return self.rng.choice(cats) if self.rng.random() < 0.85 else None

    def project(self):
        ids = list(Project.objects.values_list("pk", flat=True))
        return Project.objects.get(pk=self.rng.choice(ids)) if ids else None

    def populate(self, projects: int, reports: int) -> None:
        """A ledger to start from: `projects` new projects, then `reports` reports (refused ones skipped)."""
        for _ in range(projects):
            self.create()
        for _ in range(reports):
            try:
                self.report()
            except ValidationError:
                pass

    # --- operations ---
    def create(self):
        self.seq += 1
        programme = self.meili if self.rng.random() < 0.8 else self.tese
        total = Decimal(self.rng.randrange(0, 100000)) / 10
        services.create_project(
            SYSTEM, code=f"W{self.seq}", name="随机项目", town=self.towns[self.rng.choice(TOWNS)],
            programme=programme, category=self.category(programme), total_investment=total,
            annual_plan=(total * Decimal(self.rng.randrange(0, 120)) / 100).quantize(Decimal("0.01")),
            confirm_annual_over_total=True, **self.schedule())

    def update(self):
        project = self.project()
        if project is None:
            return
        rng, changes = self.rng, {}
        if rng.random() < 0.4:
            changes["town"] = self.towns[rng.choice(TOWNS)]
        if rng.random() < 0.5:
            changes.update(self.schedule())
        elif rng.random() < 0.3:
            changes["status"] = rng.choice(["cancelled", "planned", "preparing"])
        if rng.random() < 0.3:
            changes["category"] = self.category(project.programme)
        if rng.random() < 0.3:
            changes["annual_plan"] = Decimal(rng.randrange(0, 50000)) / 100
        services.update_project(SYSTEM, project, confirm_annual_over_total=True, **changes)

    def delete(self):
        project = self.project()
        if project is not None:
            services.delete_project(SYSTEM, project)

    def report(self):
        project = self.project()
        if project is None:
            return
        rng = self.rng
        existing = list(project.reports.values_list("period", flat=True))
        period = rng.choice(existing) if existing and rng.random() < 0.3 else rng.choice(MONTHS)
        earlier = (project.reports.filter(period__lt=period).order_by("-period")
                   .values_list("cumulative_investment", flat=True).first()) or Decimal(0)
        figures = {"cumulative_investment": earlier + Decimal(rng.randrange(0, 5000)) / 10,
                   "progress_percent": Decimal(rng.randrange(0, 1001)) / 10,
                   "month_investment": Decimal(rng.randrange(0, 1000))}
        if rng.random() < 0.15 and earlier > 0:  # a correction downwards
            figures["cumulative_investment"] = (earlier * Decimal("0.8")).quantize(Decimal("0.01"))
            figures["correction_reason"] = "多报了" if rng.random() < 0.8 else ""
        figures["status"] = project.status if rng.random() < 0.7 else rng.choice(STATUSES)
        services.report_progress(SYSTEM, project, period, **figures)

    def delete_report(self):
        ids = list(ProgressReport.objects.values_list("pk", flat=True))
        if ids and hasattr(services, "delete_report"):
            services.delete_report(SYSTEM, ProgressReport.objects.get(pk=self.rng.choice(ids)))

    def enrol(self):
        rng = self.rng
        programme = self.meili if rng.random() < 0.8 else self.tese
        roles = [None, *programme.roles.all()]
        batches = [None, *programme.batches.all()]
        enrol_town(SYSTEM, self.towns[rng.choice(TOWNS)], programme, year_joined=2019, role=rng.choice(roles),
                   batch=rng.choice(batches))

    def refused(self):
        project = self.project()
        if project is None:
            return
        choice = self.rng.randrange(3)
        if choice == 0:
            services.report_progress(SYSTEM, project, self.rng.choice(MONTHS), month_investment=Decimal(-1))
        elif choice == 1:
            services.update_project(SYSTEM, project, planned_start=date(2020, 5, 1),
                                    planned_completion=date(2020, 4, 1))
        else:
            services.update_project(SYSTEM, project, status="started", actual_start=None)

    OPERATIONS = [("create", 6), ("update", 3), ("delete", 1), ("report", 9), ("delete_report", 1), ("enrol", 1),
                  ("refused", 1)]

    def step(self):
        names = [n for n, w in self.OPERATIONS for _ in range(w)]
        before = cells()
        try:
            getattr(self, self.rng.choice(names))()
        except ValidationError:
            assert cells() == before, "a refused call changed the roll-up table"

    # --- checks ---
    def dims(self):
        rng, programme = self.rng, self.meili
        options = [{}, {"category": rng.choice(list(programme.categories.all()))},
                   {"role": rng.choice(list(programme.roles.all()))},
                   {"batch": rng.choice(list(programme.batches.all()))},
                   {"category": rng.choice(list(programme.categories.all())),
                    "role": rng.choice(list(programme.roles.all()))},
                   {"category": rng.choice(list(programme.categories.all())),
                    "role": rng.choice(list(programme.roles.all())),
                    "batch": rng.choice(list(programme.batches.all()))}]
        return rng.sample(options, 3)

    def check(self, users=None, n_orgs=5):
        for code in self.rng.sample(ORGS, n_orgs):
            org = OrgUnit.objects.get(code=code)
            for period in self.rng.sample(MONTHS, 2):
                for programme, dims in [*((self.meili, d) for d in self.dims()), (self.tese, {})]:
                    expected = rollups.compute_from_ledger(SYSTEM, org, period, programme, **dims)
                    assert rollups.compute(SYSTEM, org, period, programme, **dims) == expected, (code, period, dims)
        for name in users or {}:
            org = OrgUnit.objects.get(code=self.rng.choice(["33", "3301", "330109", "52"]))
            period = self.rng.choice(MONTHS)
            expected = rollups.compute_from_ledger(users[name], org, period, self.meili)
            assert rollups.compute(users[name], org, period, self.meili) == expected, (name, org.code, period)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(6))
def test_random_service_calls_keep_the_table_equal_to_the_ledger(tree, users, seed):
    walk = Walk(seed)
    for i in range(150):
        walk.step()
        if i % 50 == 49:
            walk.check(users={n: users[n] for n in ("xiaoshan", "guali", "hangzhou", "guizhou")})
    assert Project.objects.exists() and ProgressReport.objects.exists()
    kept = cells()
    assert all(n or c for *_key, n, c in kept), "cells that fell to zero are removed"
    rollups.rebuild()
    assert cells() == kept
    walk.check(n_orgs=len(ORGS))


@pytest.mark.django_db
def test_rebuild_of_one_programme_leaves_the_others(tree):
    walk = Walk(99)
    for _ in range(40):
        walk.step()
    kept = cells()
    RollupCell.objects.filter(programme=walk.meili).update(n=0)  # damage one programme
    rollups.rebuild(walk.meili)
    assert cells() == kept


def _make(town, **extra):
    from townbrain.projects.tests.test_projects import make_project

    return make_project(town, **extra)


@pytest.mark.django_db
def test_laggard_steps_follow_the_schedule_rule(tree):
    # planned Mar–Dec 2020, started in March: linear plan expects 70 % by September
    project = _make("330109113", status="started", actual_start=date(2020, 3, 10))
    meili, org = project.programme, tree["330109"]

    def lag(period):
        return rollups.compute(SYSTEM, org, period, meili)["laggards"]

    services.report_progress(SYSTEM, project, "202006", progress_percent=Decimal(5), status="started")
    assert [lag(p) for p in ("202005", "202006", "202009", "203001")] == [0, 1, 1, 1]
    services.report_progress(SYSTEM, project, "202009", progress_percent=Decimal(65), status="started")
    assert [lag(p) for p in ("202006", "202008", "202009", "202012", "203001")] == [1, 1, 0, 1, 1]
    services.report_progress(SYSTEM, project, "202012", progress_percent=Decimal(95), status="started")
    assert [lag(p) for p in ("202009", "202011", "202012", "203001")] == [0, 1, 0, 0]
    # not started at all: late from the planned start on, forever
    idle = _make("330182107", planned_start=date(2020, 5, 20))
    assert rollups.compute(SYSTEM, tree["33"], "202004", meili)["laggards"] == 0
    assert rollups.compute(SYSTEM, tree["33"], "202105", meili)["laggards"] == 1
    services.delete_project(SYSTEM, idle)
    assert rollups.compute(SYSTEM, tree["33"], "202105", meili)["laggards"] == 0


@pytest.mark.django_db
def test_enrolment_change_moves_the_town_between_roles(tree):
    project = _make("330109113", status="started", actual_start=date(2020, 3, 10))
    meili = project.programme
    yangban, dabiao = meili.roles.get(code="yangban"), meili.roles.get(code="dabiao")
    enrol_town(SYSTEM, tree["330109113"], meili, year_joined=2020, role=yangban)
    assert rollups.compute(SYSTEM, tree["33"], "202009", meili, role=yangban)["started"] == 1
    enrol_town(SYSTEM, tree["330109113"], meili, year_joined=2020, role=dabiao)
    assert rollups.compute(SYSTEM, tree["33"], "202009", meili, role=yangban)["started"] == 0
    assert rollups.compute(SYSTEM, tree["3301"], "202009", meili, role=dabiao)["started"] == 1
    assert rollups.compute(SYSTEM, tree["3301"], "202009", meili)["started"] == 1


@pytest.mark.django_db
def test_a_report_touches_a_handful_of_cells_in_one_statement(tree):
    project = _make("330109113", status="started", actual_start=date(2020, 3, 10))
    services.report_progress(SYSTEM, project, "202004", cumulative_investment=Decimal(50), status="started")
    with CaptureQueriesContext(connection) as queries:
        services.report_progress(SYSTEM, project, "202005", cumulative_investment=Decimal(80),
                                 progress_percent=Decimal(30), status="started")
    upserts = [q["sql"] for q in queries.captured_queries if "ON CONFLICT" in q["sql"]]
    assert len(upserts) == 1
    reads = rollups.compute(SYSTEM, tree["33"], "202005", project.programme)
    assert reads["investment_done"] == Decimal(80) and reads["children"][0]["investment_done"] == Decimal(80)


@pytest.mark.django_db
def test_reads_are_one_query_for_the_cells(tree, django_assert_max_num_queries):
    _make("330109113", status="started", actual_start=date(2020, 3, 10))
    meili = Programme.objects.get(code="meili")
    with django_assert_max_num_queries(2):  # the children's names, then the cells
        rollups.compute(SYSTEM, tree["33"], "202009", meili)


@pytest.mark.django_db
def test_cli_rebuild(tree, capsys):
    from click.testing import CliRunner

    from townbrain.cli import main

    _make("330109113", status="started", actual_start=date(2020, 3, 10))
    kept = cells()
    RollupCell.objects.all().delete()
    result = CliRunner().invoke(main, ["rollups", "rebuild", "--programme", "meili"])
    assert result.exit_code == 0, result.output
    assert cells() == kept
    bad = CliRunner().invoke(main, ["rollups", "rebuild", "--programme", "nope"])
    assert bad.exit_code == 1 and "nope" in bad.output


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer at a time")
@pytest.mark.usefixtures("shipped_data")  # a transactional database with the migrations' programmes
def test_a_role_change_waits_for_project_writes_in_the_town(tree):
    import threading

    from django.db import OperationalError, transaction
    from django.db import connection as this_threads

    meili = Programme.objects.get(code="meili")
    outcome = {}

    def change_role():
        try:
            with transaction.atomic():
                with this_threads.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '300ms'")
                rollups.move_town("330109113", meili.pk, 0, 0)
            outcome["moved"] = True
        except OperationalError:
            outcome["waited"] = True
        finally:
            this_threads.close()

    with transaction.atomic():
        rollups.enrolment_dims("330109113", meili.pk)  # a project write in the town is under way
        thread = threading.Thread(target=change_role)
        thread.start()
        thread.join()
    assert outcome == {"waited": True}
    thread = threading.Thread(target=change_role)  # and once it is done, the change goes through
    thread.start()
    thread.join()
    assert outcome == {"waited": True, "moved": True}
