"""Work-plan items in the one batch shape (core/records.py): WorkPlanItemBatch checks items in order as one
service call after another would, writes the accepted ones (and the plans they need) together, and an import
costs no query per row."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch
from townbrain.exchange.tests.conftest import as_one_call_after_another, xlsx
from townbrain.projects.tests.test_projects import make_project
from townbrain.workplans import services
from townbrain.workplans.models import WorkPlan, WorkPlanItem

from .test_exchange import HEADER

pytestmark = pytest.mark.django_db

GUALI, DAYANG = "330109113", "330182107"


@pytest.fixture
def projects(users):
    return {code: make_project(GUALI, code=code) for code in ("GL-1", "GL-2", "GL-3")}


@pytest.fixture
def plan(users):
    return services.create_plan(users["guali"], org_unit=OrgUnit.objects.get(code=GUALI), kind="town", title="方案")


def _state():
    return sorted((i.plan.title, i.heading.code, i.goal, i.owner, sorted(p.code for p in i.projects.all()))
                  for i in WorkPlanItem.objects.select_related("plan", "heading"))


def test_a_batch_checks_in_order_refuses_one_mid_file_and_writes_the_rest(users, projects, plan):
    stored = services.add_item(users["guali"], plan, heading="环境美", goal="污水零直排", projects=["GL-1"])
    batch = services.WorkPlanItemBatch(users["guali"])
    results = batch.check([
        (None, {"plan": plan, "heading": "产业美", "goal": "产业园提升", "projects": ["GL-2", "GL-3"]}),
        (None, {"plan": plan, "heading": "gongneng", "goal": " 污水零直排 "}),  # the stored item's key
        (stored, {"projects": ["GL-3"], "owner": "镇城建办"}),
        (None, {"plan": plan, "heading": "不存在的分类", "goal": "坏分类"}),
        (None, {"plan": plan, "heading": "生活美", "goal": "污水零直排"}),  # the same goal under another heading
    ])
    assert [r[2] if isinstance(r, tuple) else type(r) for r in results] == [
        "created", ValidationError, "updated", ValidationError, "created"]
    assert results[1].message_dict == {"goal": ["The plan already has this goal under “功能便民环境美”."]}
    assert "heading" in results[3].message_dict
    assert WorkPlanItem.objects.count() == 1  # nothing written before write()
    batch.write()
    assert _state() == [("方案", "gongneng", "污水零直排", "镇城建办", ["GL-3"]),
                        ("方案", "gongxiang", "污水零直排", "", []),
                        ("方案", "xingye", "产业园提升", "", ["GL-2", "GL-3"])]
    rows = AuditEntry.objects.filter(object_type="workplanitem").order_by("pk")
    assert [(r.action, r.changes.get("projects")) for r in rows] == [
        ("workplanitem.create", [None, "GL-1"]), ("workplanitem.create", [None, "GL-2、GL-3"]),
        ("workplanitem.create", [None, ""]), ("workplanitem.update", ["GL-1", "GL-3"])]


def test_the_one_item_case_is_the_service_and_a_batch_ends_as_one_call_after_another(users, projects, plan):
    actor = users["guali"]
    stored = services.add_item(actor, plan, heading="环境美", goal="甲")
    items = [
        (None, {"plan": plan, "heading": "产业美", "goal": "乙", "projects": ["GL-1"]}),
        (None, {"plan": plan, "heading": "产业美", "goal": "丙", "projects": ["NOPE"]}),
        (stored, {"heading": "产业美", "owner": "镇城建办"}),
        (None, {"plan": plan, "heading": "产业美", "goal": "甲"}),  # the key `stored` moved to
        (stored, {"deadline": date(2021, 6, 30), "projects": ["GL-2"]}),
        (stored, {"plan": plan}),  # an item stays in its plan
    ]
    outcomes = as_one_call_after_another(lambda: services.WorkPlanItemBatch(actor), items, _state)
    assert [o == "ok" for o in outcomes] == [True, False, True, False, True, False]
    # The services are the one-item case of the batch, with its refusals.
    with pytest.raises(ValidationError, match="already has this goal"):
        services.add_item(actor, plan, heading="xingye", goal="甲")
    with pytest.raises(PermissionDenied):
        services.update_item(users["dayang"], stored, owner="越权")


def _rows(count, word):
    return [HEADER, *([GUALI, "一镇一方案", f"{word}方案", "环境美", f"{word}{i}", "2021-06-30", "GL-1、GL-2", "镇城建办"]
                      for i in range(count))]


def test_an_import_and_its_undo_cost_no_query_per_row(users, projects):
    run_import(users["guali"], xlsx(_rows(25, "甲")), "warm.xlsx", "work_plan_items")
    counted = []
    for rows in (_rows(25, "乙"), _rows(50, "丙")):
        with CaptureQueriesContext(connection) as queries:
            summary = run_import(users["guali"], xlsx(rows), "plans.xlsx", "work_plan_items")
        assert summary["status"] == "applied", summary["errors"]
        counted.append(len(queries))
    assert counted[0] == counted[1], counted  # 25 rows or 50: the same queries
    assert WorkPlanItem.objects.count() == 100 and WorkPlan.objects.count() == 3
    assert WorkPlanItem.objects.get(goal="丙7").projects.count() == 2
    made = AuditEntry.objects.get(action="workplan.create", object_repr="丙方案")
    assert made.import_batch == ImportBatch.objects.latest("pk").pk and made.import_row == 2  # its first item's row
    # Undone at once too (the items, then the plan made for them): the 50 rows cost what the 25 rows cost.
    undone = []
    for batch in ImportBatch.objects.order_by("-pk")[:2]:
        with CaptureQueriesContext(connection) as queries:
            undo_batch(users["guali"], batch)
        undone.append(len(queries))
    assert undone[0] == undone[1], undone
    assert list(WorkPlan.objects.values_list("title", flat=True)) == ["甲方案"]
    assert WorkPlanItem.objects.count() == 25
