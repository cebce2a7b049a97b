"""The import pipeline end to end: plan, apply, idempotency, undo, scope, messy and hostile files."""

import csv
import io
import json
import zipfile
from decimal import Decimal

import pytest

from townbrain.core.models import AuditEntry
from townbrain.exchange.exports import export
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch
from townbrain.projects.models import ProgressReport, Project

from .conftest import HEADER, xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # These tests read the English wording; test_hostile checks the Chinese messages.
    from django.utils import translation

    with translation.override("en"):
        yield


def test_dry_run_plans_and_writes_nothing(users, project_rows):
    summary = run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects", dry_run=True)
    assert summary["status"] == "dry_run" and summary["counts"]["created"] == 2 and summary["errors"] == []
    assert not Project.objects.exists() and not ImportBatch.objects.exists()


def test_apply_normalises_messy_cells_then_second_import_changes_nothing(users, project_rows):
    data = xlsx(project_rows)
    first = run_import(users["guali"], data, "p.xlsx", "projects")
    assert first["status"] == "applied" and first["counts"]["created"] == 2 and first["id"]
    p2 = Project.objects.get(code="GL-002")
    assert p2.town_id == "330109113"  # a numeric code cell
    assert p2.total_investment == Decimal("1500") and p2.annual_plan == Decimal("500")  # "1,500", full-width
    assert p2.category.code == "gongneng" and p2.programme.code == "meili" and p2.status == "preparing"
    assert str(p2.planned_start) == "2020-04-01"
    audits = AuditEntry.objects.count()
    second = run_import(users["guali"], data, "p.xlsx", "projects")
    assert second["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "deleted": 0}
    assert AuditEntry.objects.count() == audits  # nothing changed, not even the log


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_export_then_import_round_trips(users, project_rows, fmt):
    run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects")
    data = export(users["guali"], "projects", fmt)
    summary = run_import(users["guali"], data, f"export.{fmt}", "projects")
    assert summary["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "deleted": 0}, summary


def test_any_error_and_nothing_is_written_unless_only_valid(users, project_rows):
    rows = project_rows + [["GL-003", "坏行", "330109113", "meili", "", "-5", "1", "2020-13-01", "开工"]]
    summary = run_import(users["guali"], xlsx(rows), "p.xlsx", "projects")
    assert summary["status"] == "failed" and not Project.objects.exists()
    errors = {(e["row"], e["column"]) for e in summary["errors"]}
    assert (4, "总投资(万元)") in errors and (4, "计划开工日期") in errors
    bad = next(e for e in summary["errors"] if e["column"] == "总投资(万元)")
    assert bad["value"] == "-5" and bad["message"]
    partial = run_import(users["guali"], xlsx(rows), "p.xlsx", "projects", only_valid=True)
    assert partial["status"] == "partial" and partial["counts"]["created"] == 2
    assert Project.objects.count() == 2


def test_service_rules_surface_as_row_errors(users):
    rows = [HEADER + ["实际开工日期"],
            ["GL-009", "开工无日期", "330109113", "meili", "", 100, 50, "2020-03-01", "开工", None]]
    summary = run_import(users["guali"], xlsx(rows), "p.xlsx", "projects")
    assert summary["status"] == "failed"
    assert summary["errors"][0]["row"] == 2 and summary["errors"][0]["column"] == "实际开工日期"


def test_rows_outside_the_importers_area_are_errors(users, project_rows):
    rows = project_rows + [["DY-001", "大洋镇项目", "330182107", "meili", "", 100, 50, "2020-03-01", "谋划"]]
    summary = run_import(users["guali"], xlsx(rows), "p.xlsx", "projects")
    assert summary["status"] == "failed"
    assert [e["row"] for e in summary["errors"]] == [4]
    assert not Project.objects.exists()


def test_duplicate_rows_in_one_file(users, project_rows):
    rows = project_rows + [project_rows[1]]
    summary = run_import(users["guali"], xlsx(rows), "p.xlsx", "projects")
    assert summary["status"] == "failed" and summary["errors"][0]["row"] == 4


def test_undo_restores_what_the_batch_changed(users, project_rows):
    run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects")
    changed = [row[:] for row in project_rows]
    changed[1][1] = "改名后的项目"
    changed.append(["GL-010", "新项目", "330109113", "meili", "", 10, 5, "2020-05-01", "谋划"])
    summary = run_import(users["guali"], xlsx(changed), "p2.xlsx", "projects")
    assert summary["counts"] == {"created": 1, "updated": 1, "unchanged": 1, "deleted": 0}
    batch = ImportBatch.objects.get(pk=summary["id"])
    undo_batch(users["guali"], batch)
    assert Project.objects.get(code="GL-001").name == "瓜沥镇污水管网"
    assert not Project.objects.filter(code="GL-010").exists()
    assert AuditEntry.objects.filter(action="import.undo").count() == 1
    batch.refresh_from_db()
    assert batch.state == "undone"


def test_progress_import_and_undo(users, project_rows):
    run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects")
    Project.objects.filter(code="GL-001").update(status="started", actual_start="2020-03-05")
    rows = [["项目编号", "填报期", "本月完成投资(万元)", "累计完成投资(万元)", "形象进度(%)", "状态", "存在问题"],
            ["GL-001", "2020年9月", 20, 300, "55%", "开工", "征地"],
            ["GL-001", 202010, 10, 310, 60, "开工", ""]]
    summary = run_import(users["guali"], xlsx(rows), "g.xlsx", "progress")
    assert summary["counts"]["created"] == 2, summary
    project = Project.objects.get(code="GL-001")
    assert project.last_period == "202010" and project.cumulative_investment == Decimal("310")
    undo_batch(users["guali"], ImportBatch.objects.get(pk=summary["id"]))
    assert not ProgressReport.objects.exists()
    project.refresh_from_db()
    assert project.last_period == "" and project.cumulative_investment == 0


def test_header_in_row_three_extra_columns_and_trailing_blank_rows(users, project_rows):
    rows = [["瓜沥镇2020年项目表"], [], *project_rows, ["备注", None], [None] * 3, [None] * 3]
    rows[2] = rows[2] + ["备注"]
    rows = rows[:5]
    summary = run_import(users["guali"], xlsx(rows), "p.xlsx", "projects", dry_run=True)
    assert summary["counts"]["created"] == 2 and summary["errors"] == []
    assert summary["warnings"][0]["row"] == 3 and summary["warnings"][0]["value"] == "备注"
    assert "备注" in summary["warnings"][0]["message"]


@pytest.mark.parametrize(("data", "name", "words"), [
    (b"", "e.xlsx", "empty"),
    (b"%PDF-1.7 binary\x00\x01", "x.pdf", "not a spreadsheet"),
    (b"PK\x03\x04truncated", "t.xlsx", "damaged"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600 + "EncryptedPackage".encode("utf-16-le"), "e.xlsx",
     "password"),
    (b'[{"a": 1', "x.json", "JSON"),
    ("名称,数量\n甲,1\n".encode(), "x.csv", "header row"),
])
def test_unreadable_files_say_why(users, data, name, words):
    summary = run_import(users["guali"], data, name, "projects")
    assert summary["status"] == "unreadable"
    assert words.lower() in summary["errors"][0]["message"].lower() or words in summary["errors"][0]["message"]


def test_merged_header_cells_are_refused(users, project_rows):
    data = xlsx(project_rows, merge=(0, 0, 0, 1, "项目编号"))
    summary = run_import(users["guali"], data, "m.xlsx", "projects")
    assert summary["status"] == "unreadable" and "merged" in summary["errors"][0]["message"]


def test_gbk_csv_and_zip_bomb(users, project_rows, settings):
    buf = io.StringIO()
    csv.writer(buf).writerows(project_rows)
    summary = run_import(users["guali"], buf.getvalue().encode("gbk"), "gbk.csv", "projects", dry_run=True)
    assert summary["counts"]["created"] == 2, summary
    settings.IMPORT_MAX_UNZIPPED_BYTES = 1024 * 1024
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<x/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (5 * 1024 * 1024))
    summary = run_import(users["guali"], buf.getvalue(), "bomb.xlsx", "projects")
    assert summary["status"] == "unreadable" and "zip bomb" in summary["errors"][0]["message"]


def test_row_and_size_limits(users, project_rows, settings):
    settings.IMPORT_MAX_ROWS = 1
    summary = run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects")
    assert summary["status"] == "unreadable" and "rows" in summary["errors"][0]["message"]
    settings.IMPORT_MAX_BYTES = 100
    summary = run_import(users["guali"], json.dumps([{"项目编号": "x" * 200}]).encode(), "p.json", "projects")
    assert summary["status"] == "unreadable" and "MB" in summary["errors"][0]["message"]


def test_cells_read_once_per_value_keep_their_own_answers(users):
    """Each column remembers what a cell read as: a repeated cell, an unhashable JSON value and a
    bad cell that repeats all get the answer a first reading gives."""
    rows = [{"项目编号": f"JS-{i}", "项目名称": "同名项目", "乡镇代码": "330109113", "所属计划": "meili",
             "总投资(万元)": 100, "年度计划投资(万元)": 50, "状态": "谋划"} for i in range(4)]
    rows[1]["建设单位"] = ["镇政府", "村委"]  # a list where text belongs: read as its text, no crash
    rows[2]["总投资(万元)"] = rows[3]["总投资(万元)"] = "一百"  # the same bad cell twice: both rows refused
    summary = run_import(users["guali"], json.dumps(rows, ensure_ascii=False).encode(), "p.json", "projects",
                         dry_run=True)
    assert [(e["row"], e["column"]) for e in summary["errors"]] == [(4, "总投资(万元)"), (5, "总投资(万元)")]
    assert summary["counts"]["created"] == 2


def test_progress_names_each_stage_up_to_the_end(users, project_rows):
    heard = []
    run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects",
               progress=lambda stage, done, total: heard.append((stage, done, total)))
    assert heard == [("checking", 2, 2), ("applying", 2, 2), ("writing", 0, 1), ("writing", 1, 1)]
    heard.clear()
    run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects", dry_run=True,
               progress=lambda stage, done, total: heard.append((stage, done, total)))
    assert [stage for stage, _d, _t in heard] == ["checking", "applying"]  # a dry run writes nothing


def test_undoing_a_progress_import_reads_the_reporting_locks_once(users, project_rows, monkeypatch):
    """Every town × period the undo touches is asked of the reporting cycle in one query, not one each."""
    from townbrain.core import locks

    run_import(users["guali"], xlsx(project_rows), "p.xlsx", "projects")
    rows = [["项目编号", "填报期", "本月完成投资(万元)", "累计完成投资(万元)", "形象进度(%)", "状态"],
            *[[code, period, 10, 10 * n, 10 * n, "前期"] for code in ("GL-001", "GL-002")
              for n, period in enumerate(("202009", "202010", "202011"), start=1)]]
    summary = run_import(users["guali"], xlsx(rows), "g.xlsx", "progress")
    assert summary["counts"]["created"] == 6, summary
    asked = []
    provider = locks._PROVIDERS["progress"]
    monkeypatch.setitem(locks._PROVIDERS, "progress", lambda keys: asked.append(set(keys)) or provider(keys))
    undo_batch(users["guali"], ImportBatch.objects.get(pk=summary["id"]))
    assert not ProgressReport.objects.exists()
    assert len(asked) == 1 and {period for _town, _programme, period in asked[0]} == {"202009", "202010", "202011"}
