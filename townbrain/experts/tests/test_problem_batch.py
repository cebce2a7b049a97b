"""The problem register in the one batch shape (core/records.py): ProblemBatch checks problems in order as one
service call after another would, writes the accepted ones together, and an import costs no query per row."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from townbrain.core import bulk
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch
from townbrain.exchange.tests.conftest import as_one_call_after_another
from townbrain.experts import services
from townbrain.experts.models import ExpertActivity, ExpertProblem

from .conftest import OWN, make_activity
from .test_problems import HEADER, csv_bytes

pytestmark = pytest.mark.django_db


def _state():
    return sorted(ExpertProblem.objects.values_list("activity_id", "description", "owner", "status", "reason"))


def test_a_batch_checks_in_order_refuses_one_mid_file_and_writes_the_rest(users):
    activity = make_activity(OWN, problems_found=0, problems_solved=0)
    stored = services.create_problem(SYSTEM, activity, "污水管网雨污混接")
    batch = services.ProblemBatch(users["guali"])
    results = batch.check([
        (None, {"activity": activity, "description": "沿街店招不统一", "owner": " 镇建设办 "}),
        (None, {"activity": activity, "description": " 污水管网雨污混接"}),  # the stored problem's key
        (stored, {"status": "solved"}),
        (None, {"activity": activity, "description": "沿街店招不统一"}),  # taken by the first item
        (None, {"activity": activity, "description": "停车位不足", "status": "dismissed", "reason": "重复"}),
    ])
    assert [r[2] if isinstance(r, tuple) else type(r) for r in results] == [
        "created", ValidationError, "updated", ValidationError, "created"]
    assert "already has the problem" in results[1].messages[0] and "already has the problem" in results[3].messages[0]
    assert not ExpertProblem.objects.exclude(pk=stored.pk).exists()  # nothing written before write()
    batch.write()
    assert _state() == [(activity.pk, "停车位不足", "", "dismissed", "重复"),
                        (activity.pk, "污水管网雨污混接", "", "solved", ""),
                        (activity.pk, "沿街店招不统一", "镇建设办", "open", "")]
    activity.refresh_from_db()
    assert (activity.problems_found, activity.problems_solved) == (3, 1)  # the activity's counts follow
    actions = list(AuditEntry.objects.filter(object_type="expertproblem").order_by("pk").values_list("action", flat=True))
    assert actions == ["problem.create", "problem.create", "problem.create", "problem.solve"]  # new ones, then changes


def test_the_one_item_case_is_the_service_and_a_batch_ends_as_one_call_after_another(users):
    actor = users["guali"]
    activity = make_activity(OWN)
    later = make_activity(OWN, date(2020, 6, 2))
    stored = services.create_problem(actor, activity, "甲")
    items = [
        (None, {"activity": activity, "description": "乙", "due_date": date(2020, 7, 1)}),
        (None, {"activity": activity, "description": "丙", "due_date": date(2020, 5, 1)}),  # before the activity
        (stored, {"owner": "镇建设办", "activity": later}),
        (None, {"activity": later, "description": "甲"}),  # the key `stored` moved to
        (None, {"activity": activity, "description": "  "}),
        (stored, {"due_date": date(2020, 8, 1)}),
    ]
    outcomes = as_one_call_after_another(lambda: services.ProblemBatch(actor), items, lambda: (
        _state(), sorted(ExpertActivity.objects.values_list("pk", "problems_found"))))
    assert [o == "ok" for o in outcomes] == [True, False, True, False, False, True]
    # The services are the one-item case: create_problem() answers as bulk.one() of the batch.
    with pytest.raises(ValidationError, match="already has the problem"):
        services.create_problem(actor, later, "甲")


def _activities(n):
    town = OrgUnit.objects.get(code=OWN)
    return bulk.every(services.ActivityBatch(SYSTEM), [
        (None, {"date": date(2020, 1, 1) + timedelta(days=i), "town": town, "activity_type": "site_visit",
                "resident_planner_count": 1}) for i in range(n)])


def _rows(activities, word):
    return [HEADER, *([OWN, a.date.isoformat(), "", "", f"{word}{i}", "镇建设办", "", "已解决" if i % 2 else "", ""]
                      for i, a in enumerate(activities))]


def test_an_import_and_its_undo_cost_no_query_per_row(users):
    activities = _activities(50)
    run_import(users["guali"], csv_bytes(_rows(activities[:25], "甲")), "warm.csv", "expert_problems")
    counted = []
    for rows in (_rows(activities[25:], "乙"), _rows(activities, "丙")):
        with CaptureQueriesContext(connection) as queries:
            summary = run_import(users["guali"], csv_bytes(rows), "problems.csv", "expert_problems")
        assert summary["status"] == "applied", summary["errors"]
        counted.append(len(queries))
    assert counted[0] == counted[1], counted  # 25 rows or 50: the same queries
    assert ExpertProblem.objects.count() == 100
    # Each activity counts its problems, found and solved.
    counts = services.counts_of([a.pk for a in activities])
    assert {a.pk: (a.problems_found, a.problems_solved) for a in ExpertActivity.objects.all()} == counts
    assert counts[activities[1].pk] == (2, 2) and counts[activities[30].pk] == (2, 1)
    # Undone at once too: the 50 rows cost what the 25 rows cost (each leaves the activities it touched
    # other problems to count).
    undone = []
    for batch in ImportBatch.objects.order_by("pk")[1:]:
        with CaptureQueriesContext(connection) as queries:
            undo_batch(users["guali"], batch)
        undone.append(len(queries))
    assert undone[0] == undone[1], undone
    assert ExpertProblem.objects.count() == 25
    assert ExpertActivity.objects.get(pk=activities[1].pk).problems_solved == 1
