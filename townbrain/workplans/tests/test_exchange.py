"""The exchange kind `work_plan_items`: Chinese headers and the words offices use, the same file twice, a changed
file and its undo, errors at their row and column, and the export importing back unchanged (also by the CLI)."""

import json
import os
import subprocess
import sys
from datetime import date

import pytest

from townbrain.core.models import AuditEntry
from townbrain.exchange.exports import export
from townbrain.exchange.kinds import KINDS
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch
from townbrain.exchange.tests.conftest import xlsx
from townbrain.projects.tests.test_projects import make_project
from townbrain.workplans.models import WorkPlan, WorkPlanItem

GUALI, DAYANG, XIAOSHAN = "330109113", "330182107", "330109"
HEADER = ["单位代码", "方案类型", "方案名称", "分类", "目标", "完成时限", "关联项目编号", "责任单位"]
TOWN_PLAN = "瓜沥镇美丽城镇建设行动方案"
COUNTY_PLAN = "萧山区十个统筹工作方案"
ROWS = [
    [GUALI, "一镇一方案", TOWN_PLAN, "环境美", "污水零直排", "2021-06-30", "GL-1、GL-2", "镇城建办"],
    [330109113, "", TOWN_PLAN, "兴业富民产业美", "产业园提升", "2021/12/31", "GL-3", ""],
    [XIAOSHAN, "十个统筹", COUNTY_PLAN, "城乡基础设施建设", "镇际道路提升", "2022年12月31日", "GL-1; GL-3", "区交通局"],
    [XIAOSHAN, "十个统筹", COUNTY_PLAN, "农村新型集体经济发展", "集体经济增收", "", "", "区农业农村局"],
]


@pytest.fixture
def ledger(users):
    for code in ("GL-1", "GL-2", "GL-3"):
        make_project(GUALI, code=code)
    make_project(DAYANG, code="DY-1")


def test_kind_is_registered_with_the_standard_headers():
    assert [c.header for c in KINDS["work_plan_items"].columns] == HEADER


def test_import_twice_then_a_change_then_undo(ledger, users):
    xiaoshan = users["xiaoshan"]
    first = run_import(xiaoshan, xlsx([HEADER, *ROWS]), "plans.xlsx", "work_plan_items")
    assert first["status"] == "applied", first["errors"]
    assert first["counts"]["created"] == 4
    town = WorkPlan.objects.get(title=TOWN_PLAN)
    county = WorkPlan.objects.get(title=COUNTY_PLAN)
    assert (town.kind, town.programme.code, county.kind, county.programme.code) == (
        "town", "meili", "county", "tongchou")  # the empty 方案类型 read from the unit's level
    got = {(i.plan.title, i.heading.code, i.goal): (i.deadline, sorted(p.code for p in i.projects.all()), i.owner)
           for i in WorkPlanItem.objects.select_related("plan", "heading")}
    assert got == {
        (TOWN_PLAN, "gongneng", "污水零直排"): (date(2021, 6, 30), ["GL-1", "GL-2"], "镇城建办"),
        (TOWN_PLAN, "xingye", "产业园提升"): (date(2021, 12, 31), ["GL-3"], ""),
        (COUNTY_PLAN, "jichu", "镇际道路提升"): (date(2022, 12, 31), ["GL-1", "GL-3"], "区交通局"),
        (COUNTY_PLAN, "jiti", "集体经济增收"): (None, [], "区农业农村局"),
    }
    # The same file again changes nothing and writes no audit row.
    audit_rows = AuditEntry.objects.count()
    again = run_import(xiaoshan, xlsx([HEADER, *ROWS]), "plans.xlsx", "work_plan_items")
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 4, "deleted": 0} and again["id"] is None
    assert AuditEntry.objects.count() == audit_rows
    # A later sheet moves a deadline and relinks projects; undoing it puts them back.
    later = [HEADER, [GUALI, "一镇一方案", TOWN_PLAN, "gongneng", "污水零直排", "2022-06-30", "GL-3", "镇城建办"]]
    third = run_import(xiaoshan, xlsx(later), "later.xlsx", "work_plan_items")
    assert third["counts"]["updated"] == 1, third["errors"]
    item = WorkPlanItem.objects.get(goal="污水零直排")
    assert item.deadline == date(2022, 6, 30) and [p.code for p in item.projects.all()] == ["GL-3"]
    undo_batch(xiaoshan, ImportBatch.objects.get(pk=third["id"]))
    item.refresh_from_db()
    assert item.deadline == date(2021, 6, 30) and sorted(p.code for p in item.projects.all()) == ["GL-1", "GL-2"]
    # Undoing the first import removes its items and the plans it made.
    undo_batch(xiaoshan, ImportBatch.objects.get(pk=first["id"]))
    assert not WorkPlanItem.objects.exists() and not WorkPlan.objects.exists()


def test_a_column_left_out_leaves_the_values_alone(ledger, users):
    run_import(users["guali"], xlsx([HEADER, ROWS[0]]), "plans.xlsx", "work_plan_items")
    short = [["单位代码", "方案名称", "分类", "目标"], [GUALI, TOWN_PLAN, "环境美", "污水零直排"]]
    done = run_import(users["guali"], xlsx(short), "short.xlsx", "work_plan_items")
    assert done["counts"]["unchanged"] == 1, done["errors"]
    item = WorkPlanItem.objects.get()
    assert item.owner == "镇城建办" and item.projects.count() == 2


def test_bad_rows_are_reported_at_row_and_column_and_nothing_is_written(ledger, users):
    rows = [HEADER,
            [GUALI, "一镇一方案", TOWN_PLAN, "环境美", "好的一行", "2021-06-30", "GL-1", ""],
            [GUALI, "一镇一方案", TOWN_PLAN, "基础设施", "坏分类", "", "", ""],
            [GUALI, "一镇一方案", TOWN_PLAN, "环境美", "坏项目", "", "GL-1、DY-1", ""],
            [GUALI, "一镇一方案", TOWN_PLAN, "环境美", "坏日期", "明年", "", ""],
            [XIAOSHAN, "一镇一方案", TOWN_PLAN, "环境美", "县级一镇一方案", "", "", ""],
            [DAYANG, "一镇一方案", "大洋镇方案", "环境美", "越权", "", "", ""],
            [GUALI, "一镇二方案", TOWN_PLAN, "环境美", "坏类型", "", "", ""],
            [GUALI, "一镇一方案", TOWN_PLAN, "环境美", "", "", "", ""]]
    result = run_import(users["guali"], xlsx(rows), "bad.xlsx", "work_plan_items")
    assert result["status"] == "failed"
    by_row = {e["row"]: e for e in result["errors"]}
    assert set(by_row) == {3, 4, 5, 6, 7, 8, 9}
    assert by_row[3]["column"] == "分类" and "not a heading of 美丽城镇" in by_row[3]["message"]
    assert by_row[4]["column"] == "关联项目编号" and "no project with code DY-1" in by_row[4]["message"]
    assert by_row[5]["column"] == "完成时限" and by_row[5]["value"] == "明年"
    assert by_row[6]["column"] == "单位代码" and "county" in by_row[6]["message"]
    assert by_row[7]["column"] == "单位代码" and "outside your area" in by_row[7]["message"]
    assert by_row[8]["column"] == "方案类型"
    assert by_row[9]["column"] == "目标" and "required" in by_row[9]["message"]
    assert not WorkPlan.objects.exists() and not WorkPlanItem.objects.exists()


def test_export_imports_back_unchanged(ledger, users):
    run_import(users["xiaoshan"], xlsx([HEADER, *ROWS]), "plans.xlsx", "work_plan_items")
    data = export(users["xiaoshan"], "work_plan_items", "xlsx")
    again = run_import(users["xiaoshan"], data, "export.xlsx", "work_plan_items")
    assert again["errors"] == [] and again["counts"]["unchanged"] == 4, again
    # The town sees (and exports) its own plan's items only.
    text = export(users["guali"], "work_plan_items", "csv").decode("utf-8-sig")
    assert TOWN_PLAN in text and COUNTY_PLAN not in text
    assert "GL-1、GL-2" in text and "一镇一方案" in text


def _cli(*args, home):
    env = {**os.environ, "TOWNBRAIN_HOME": str(home)}
    env.pop("TOWNBRAIN_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "townbrain.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_cli_import_and_export_round_trip(tmp_path, divisions_home):
    home = divisions_home
    book = tmp_path / "plans.xlsx"
    book.write_bytes(xlsx([HEADER, *(row[:6] + ["", row[7]] for row in ROWS)]))
    done = _cli("import", str(book), "--kind", "work_plan_items", "--json", home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["counts"]["created"] == 4
    out = tmp_path / "export.xlsx"
    assert _cli("export", "--kind", "work_plan_items", "-o", str(out), home=home).returncode == 0
    again = _cli("import", str(out), "--kind", "work_plan_items", "--json", home=home)
    assert json.loads(again.stdout)["counts"]["unchanged"] == 4, again.stdout


def test_the_standard_publishes_the_kind(users, api_for):
    api = api_for("guali")
    kind = api.get("/api/standard/work_plan_items/")
    assert kind.status_code == 200 and "关联项目编号" in json.dumps(kind.json(), ensure_ascii=False)
    template = api.get("/api/standard/work_plan_items/template.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"
