"""The exchange kind expert_activities: CSV, xlsx, the CLI; idempotent, undoable, scoped, round trip."""

import io
import json
import os
import subprocess
import sys
from datetime import date

import pytest
from python_calamine import CalamineWorkbook

from townbrain.core.models import AuditEntry
from townbrain.exchange.kinds import KINDS, PLANNED_KINDS
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import get_kind, run_import, undo_batch
from townbrain.exchange.tests.conftest import xlsx
from townbrain.experts.models import ExpertActivity

from .conftest import OTHER, OWN, make_activity, make_expert

pytestmark = pytest.mark.django_db

HEADER = ["活动日期", "乡镇代码", "活动类型", "首席设计师人次", "驻镇规划师人次", "发展师人次", "发现问题数", "解决问题数",
          "专家姓名"]
ROWS = [
    ["2020-06-18", "330109113", "现场指导", 1, 2, 0, 5, 3, "王建国、李明、陈晓燕"],
    ["2020/7/2", 330109113, "评审", "1", "", "２", "4", "4", "王建国，赵静"],
    ["2020年8月9日", "330109001", "调研", 0, 1, 0, 0, 0, ""],
    ["2020-09-30", "330109113", "training", 0, 1, 3, 2, 1, "李明"],
]


def csv_bytes(rows) -> bytes:
    lines = [",".join(str(c) for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_kind_is_registered():
    assert get_kind("expert_activities") is KINDS["expert_activities"]
    assert "expert_activities" not in PLANNED_KINDS
    assert [c.header for c in KINDS["expert_activities"].columns] == HEADER


def test_csv_import_twice_then_undo(users):
    make_expert("王建国", "3301", kind="chief_designer")
    data = csv_bytes([HEADER, *ROWS])
    first = run_import(users["xiaoshan"], data, "activities.csv", "expert_activities")
    assert first["status"] == "applied", first["errors"]
    assert first["counts"] == {"created": 4, "updated": 0, "unchanged": 0, "deleted": 0}
    review = ExpertActivity.objects.get(date=date(2020, 7, 2))
    assert (review.activity_type_id, review.chief_designer_count, review.resident_planner_count, review.adviser_count) \
        == ("review", 1, 0, 2)
    assert review.expert_names == "王建国、赵静" and [e.name for e in review.experts.all()] == ["王建国"]
    assert ExpertActivity.objects.get(date=date(2020, 8, 9)).activity_type_id == "survey"  # 调研: a synonym of 调研走访
    assert ExpertActivity.objects.get(date=date(2020, 9, 30)).activity_type_id == "training"
    assert first["warnings"] == []
    again = run_import(users["xiaoshan"], data, "activities.csv", "expert_activities")
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 4, "deleted": 0} and again["id"] is None
    # A corrected figure updates the same activity (matched on town, date, type and names).
    changed = [row[:] for row in ROWS]
    changed[0][7] = 5
    third = run_import(users["xiaoshan"], csv_bytes([HEADER, *changed]), "activities.csv", "expert_activities")
    assert third["counts"]["updated"] == 1 and third["counts"]["unchanged"] == 3
    assert ExpertActivity.objects.get(date=date(2020, 6, 18)).problems_solved == 5
    undo_batch(users["xiaoshan"], ImportBatch.objects.get(pk=third["id"]))
    assert ExpertActivity.objects.get(date=date(2020, 6, 18)).problems_solved == 3
    undo_batch(users["xiaoshan"], ImportBatch.objects.get(pk=first["id"]))
    assert not ExpertActivity.objects.exists()
    assert AuditEntry.objects.filter(action="activity.delete").count() == 4


def test_row_errors_say_why_and_write_nothing(users):
    rows = [
        HEADER,
        ["2020-06-18", OTHER, "现场指导", 1, 0, 0, 1, 1, "大洋"],  # 大洋镇: outside 瓜沥镇's area
        ["2020-06-19", OWN, "开会", 1, 0, 0, 1, 1, ""],  # not a type: 其他 with a warning, not an error
        ["2020-06-20", OWN, "评审", 1, 0, 0, 1, 2, ""],  # solved > found
        ["2020-06-21", OWN, "评审", 1.5, 0, 0, 1, 1, ""],  # half a person
        ["2020-06-22", OWN, "评审", 1, 0, 0, 1, 1, "甲"],
        ["2020-06-22", OWN, "评审", 1, 0, 0, 1, 1, "甲"],  # the same activity twice
    ]
    summary = run_import(users["guali"], xlsx(rows), "bad.xlsx", "expert_activities")
    assert summary["status"] == "failed"
    by_row = {e["row"]: e for e in summary["errors"]}
    assert "outside your area" in by_row[2]["message"] and by_row[2]["column"] == "乡镇代码"
    assert 3 not in by_row
    assert [(w["row"], w["column"], w["value"]) for w in summary["warnings"]] == [(3, "活动类型", "开会")]
    assert "not an activity type" in summary["warnings"][0]["message"]
    assert by_row[4]["column"] == "解决问题数" and "cannot be more than problems found" in by_row[4]["message"]
    assert "not a whole number" in by_row[5]["message"]
    assert "Same record as row 6" in by_row[7]["message"]
    assert not ExpertActivity.objects.exists()
    partial = run_import(users["guali"], xlsx(rows), "bad.xlsx", "expert_activities", only_valid=True)
    assert partial["status"] == "partial" and partial["counts"]["created"] == 2
    kept = ExpertActivity.objects.get(date=date(2020, 6, 19))
    assert (kept.activity_type_id, kept.type_word, kept.type_label) == ("other", "开会", "其他（开会）")


def test_xlsx_import_and_round_trip_with_the_list_export(users, client_for):
    make_activity(OWN, date(2020, 3, 1), chief_designer_count=2, problems_found=5, problems_solved=4,
                  expert_names="=甲、乙")
    make_activity("330109001", date(2020, 4, 1), activity_type="other", adviser_count=2)
    rows = [HEADER, [date(2020, 5, 5), OWN, "培训", 0, 1, 1, 0, 0, "丙"]]
    summary = run_import(users["xiaoshan"], xlsx(rows), "a.xlsx", "expert_activities")
    assert summary["counts"]["created"] == 1, summary["errors"]
    client = client_for("xiaoshan")
    for fmt in ("xlsx", "csv", "json"):
        exported = client.get("/experts/activities/", {"export": fmt}).content
        again = run_import(users["xiaoshan"], exported, f"export.{fmt}", "expert_activities")
        assert again["status"] == "applied", (fmt, again["errors"])
        assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "deleted": 0}, fmt
    # The exported xlsx has the standard's headers and Chinese activity types.
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(client.get("/experts/activities/", {"export": "xlsx"}).content))
    table = sheet.get_sheet_by_index(0).to_python()
    assert table[0] == HEADER and {row[2] for row in table[1:]} == {"现场指导", "其他", "专题培训"}


def test_standard_schema_and_template(api_for, users):
    api = api_for("guali")
    schema = api.get("/api/standard/expert_activities/").json()
    assert schema["required"] == ["活动日期", "乡镇代码", "活动类型"]
    assert "site_visit" not in json.dumps(schema) and "现场指导" in schema["properties"]["活动类型"]["examples"]
    template = api.get("/api/standard/expert_activities/template.xlsx")
    assert template.status_code == 200
    table = CalamineWorkbook.from_filelike(io.BytesIO(template.content)).get_sheet_by_index(0).to_python()
    assert table[0] == HEADER
    # The template's example row imports as it is.
    summary = run_import(users["guali"], template.content, "template.xlsx", "expert_activities", dry_run=True)
    assert summary["status"] == "dry_run" and summary["counts"]["created"] == 1, summary["errors"]


def _cli(*args, home):
    env = {**os.environ, "TOWNBRAIN_HOME": str(home)}
    env.pop("TOWNBRAIN_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "townbrain.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_cli_import_json(tmp_path, divisions_home):
    home = divisions_home
    good = tmp_path / "activities.csv"
    good.write_bytes(csv_bytes([HEADER, *ROWS]))
    done = _cli("import", str(good), "--kind", "expert_activities", "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["created"] == 4
    again = _cli("import", str(good), "--kind", "expert_activities", "--json", home=home)
    assert json.loads(again.stdout)["counts"] == {"created": 0, "updated": 0, "unchanged": 4, "deleted": 0}
    book = tmp_path / "activities.xlsx"
    book.write_bytes(xlsx([HEADER, ["2020-10-01", "330182107", "其它", 1, 1, 1, 3, 2, "王建国"]]))
    xl = _cli("import", str(book), "--kind", "expert_activities", "--json", home=home)
    assert xl.returncode == 0 and json.loads(xl.stdout)["counts"]["created"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([HEADER, ["2020-10-02", "330182107", "评审", 0, 0, 0, 1, 2, ""]]))
    out = _cli("import", str(bad), "--kind", "expert_activities", "--json", home=home)
    assert out.returncode == 1 and json.loads(out.stdout)["errors"][0]["column"] == "解决问题数"
    exported = tmp_path / "export.xlsx"
    assert _cli("export", "--kind", "expert_activities", "--org", "3301", "--format", "xlsx", "--output",
                str(exported), home=home).returncode == 0
    back = _cli("import", str(exported), "--kind", "expert_activities", "--json", home=home)
    assert json.loads(back.stdout)["counts"] == {"created": 0, "updated": 0, "unchanged": 5, "deleted": 0}


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_standard_export_round_trips_and_keeps_to_the_area(users, fmt):
    from townbrain.exchange.exports import export

    make_activity(OWN, date(2020, 3, 1), chief_designer_count=2, problems_found=5, problems_solved=4,
                  expert_names="甲、乙")
    make_activity(OTHER, date(2020, 4, 1), activity_type="review", adviser_count=2)
    data = export(users["xiaoshan"], "expert_activities", fmt)
    if fmt != "xlsx":  # (an xlsx is compressed: its rows are checked by importing it back)
        assert OWN.encode() in data and OTHER.encode() not in data
    again = run_import(users["xiaoshan"], data, f"export.{fmt}", "expert_activities")
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 1, "deleted": 0}, again["errors"]
