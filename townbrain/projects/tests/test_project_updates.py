"""Many project changes at once (ProjectBatch, an import's updated rows) end as one update_project()
call after another would, with the roll-up table equal to rebuild(), for queries that do not grow."""

import random
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.projects import rollups, services
from townbrain.projects.models import Project

from .test_rollup_cells import STATUSES, Walk, cells

pytestmark = pytest.mark.django_db
FIELDS = ("code", "town_id", "programme_id", "category_id", "annual_plan", "planned_start", "actual_start",
          "planned_completion", "actual_completion", "status", "owner_unit")


def _ledger() -> tuple:
    return set(Project.objects.values_list("pk", *FIELDS)), cells()


def _changes(walk: Walk, seed: int, n: int) -> list[tuple]:
    """Random changes (moves, schedules, statuses, categories, plans, codes; some refused)."""
    rng = random.Random(seed)
    projects = list(Project.objects.order_by("pk"))
    out = []
    for _ in range(n):
        project = rng.choice(projects)
        fields = {}
        if rng.random() < 0.3:
            fields["town"] = walk.towns[rng.choice(list(walk.towns))]
        if rng.random() < 0.5:
            fields.update(walk.schedule())
        elif rng.random() < 0.4:
            fields["status"] = rng.choice(STATUSES)  # "started" without a start date: refused
        if rng.random() < 0.3:
            fields["category"] = walk.category(project.programme)
        if rng.random() < 0.3:
            fields["annual_plan"] = Decimal(rng.randrange(0, 50000)) / 100
        if rng.random() < 0.1:
            fields["code"] = rng.choice(projects).code if rng.random() < 0.5 else f"NEW{rng.randrange(5)}"
        fields["owner_unit"] = rng.choice(["镇政府", "县住建局"])
        out.append((project, fields))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_changes_at_once_end_as_one_call_after_another(tree, users, seed):
    walk = Walk(seed)
    walk.populate(projects=15, reports=15)
    changes = _changes(walk, seed, 40)
    actor = users["xiaoshan"]  # towns outside 萧山区 are refused

    def outcome(r):
        if isinstance(r, ValidationError):
            return tuple(sorted(r.message_dict))
        return type(r).__name__ if isinstance(r, Exception) else "ok"

    with transaction.atomic():
        expected = []
        for project, fields in changes:
            try:
                expected.append(services.update_project(actor, project, **fields))
            except (ValidationError, PermissionDenied) as exc:
                expected.append(exc)
        ledger = _ledger()
        transaction.set_rollback(True)
    start = set(Project.objects.values_list("pk", *FIELDS))
    audits = AuditEntry.objects.filter(action="project.update").count()
    batch = services.ProjectBatch(actor)
    results = batch.check(changes)
    batch.write()
    assert [outcome(r) for r in results] == [outcome(r) for r in expected]
    assert {"ok", "PermissionDenied"} <= {outcome(r) for r in results}
    assert _ledger() == ledger
    changed = {row[0] for row in start ^ ledger[0]}
    assert AuditEntry.objects.filter(action="project.update").count() - audits == len(changed) > 0
    kept = cells()
    rollups.rebuild()
    assert cells() == kept


def test_queries_do_not_grow_with_the_projects(tree):
    from .test_projects import make_project

    projects = [make_project("330109113") for _ in range(12)]

    def queries(some) -> int:
        with CaptureQueriesContext(connection) as seen, transaction.atomic():
            batch = services.ProjectBatch(SYSTEM)
            results = batch.check([(p, {"status": "preparing", "owner_unit": "县住建局"}) for p in some])
            assert all(r[2] == "updated" for r in results), results
            batch.write()
            transaction.set_rollback(True)
        return len(seen.captured_queries)

    assert queries(projects[:2]) == queries(projects)


def test_a_code_taken_in_the_database_or_in_the_batch_is_refused(tree):
    from .test_projects import make_project

    a, b, c = (make_project("330109113") for _ in range(3))
    batch = services.ProjectBatch(SYSTEM)
    with translation.override("zh-hans"):
        results = batch.check([(a, {"code": b.code}), (c, {"code": "X-1"}), (b, {"code": "X-1"}),
                               (b, {"code": "X-2"})])
    assert [f"refused {r.message_dict['code']}" if isinstance(r, Exception) else r[0].code for r in results] == [
        f"refused ['本计划中已有项目编号 {b.code}。']", "X-1", "refused ['本计划中已有项目编号 X-1。']", "X-2"]
    batch.write()
    assert set(Project.objects.values_list("code", flat=True)) == {a.code, "X-1", "X-2"}
