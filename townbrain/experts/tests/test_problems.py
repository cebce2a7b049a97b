"""The problem register (问题清单): status steps, counts, overdue, scope, import/export, audit."""

import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from python_calamine import CalamineWorkbook

from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.exchange import quality
from townbrain.exchange.exports import export
from townbrain.exchange.kinds import KINDS
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import get_kind, run_import, undo_batch
from townbrain.exchange.tests.conftest import xlsx
from townbrain.experts import services
from townbrain.experts.models import ExpertActivity, ExpertProblem

from .conftest import OTHER, OWN, make_activity

pytestmark = pytest.mark.django_db

HEADER = ["乡镇代码", "活动日期", "活动类型", "专家姓名", "问题描述", "责任人", "整改期限", "状态", "不予处理理由"]


def csv_bytes(rows) -> bytes:
    return ("\n".join(",".join(str(c) for c in row) for row in rows) + "\n").encode("utf-8")


def _problem(activity, text="污水管网雨污混接", actor=SYSTEM, **fields):
    return services.create_problem(actor, activity, text, **fields)


def test_steps_and_refusals(users):
    activity = make_activity(OWN)
    problem = _problem(activity, owner="镇建设办", due_date=date(2020, 7, 1), actor=users["guali"])
    assert problem.status == "open" and problem.town_id == OWN
    problem = services.step_problem(users["guali"], problem, "start")
    assert problem.status == "in_progress"
    with pytest.raises(ValidationError, match="cannot be moved"):
        services.step_problem(users["guali"], problem, "start")
    with pytest.raises(ValidationError, match="needs the reason"):
        services.step_problem(users["guali"], problem, "dismiss")
    with pytest.raises(ValidationError, match="Unknown step"):
        services.step_problem(users["guali"], problem, "fly")
    problem = services.step_problem(users["guali"], problem, "dismiss", reason="  属县级职责 ")
    assert (problem.status, problem.reason, problem.closed_on is not None) == ("dismissed", "属县级职责", True)
    with pytest.raises(ValidationError, match="cannot be moved"):
        services.step_problem(users["guali"], problem, "solve")
    problem = services.step_problem(users["guali"], problem, "reopen")
    assert (problem.status, problem.reason, problem.closed_on) == ("open", "", None)
    problem = services.step_problem(users["guali"], problem, "solve")
    assert problem.status == "solved" and services.allowed_steps(problem) == ["reopen"]
    # A viewer may not move it; another town's editor may not either.
    with pytest.raises(PermissionDenied):
        services.step_problem(users["guali_viewer"], problem, "reopen")
    with pytest.raises(PermissionDenied):
        services.step_problem(users["dayang"], problem, "reopen")
    with pytest.raises(PermissionDenied):
        _problem(activity, "另一个问题", actor=users["dayang"])
    # Refusals of the record itself.
    with pytest.raises(ValidationError, match="already has the problem"):
        _problem(activity, " 污水管网雨污混接 ")
    with pytest.raises(ValidationError, match="cannot be before the activity"):
        _problem(activity, "早于活动", due_date=date(2020, 5, 1))
    with pytest.raises(ValidationError, match="Describe the problem"):
        _problem(activity, "  ")
    with pytest.raises(ValidationError, match="needs the reason"):
        _problem(activity, "不予处理无理由", status="dismissed")


def test_audit_rows(users):
    activity = make_activity(OWN, problems_found=0, problems_solved=0)
    problem = _problem(activity, actor=users["guali"])
    services.update_problem(users["guali"], problem, owner="镇综合执法队")
    services.step_problem(users["guali"], problem, "start")
    services.step_problem(users["guali"], problem, "dismiss", reason="重复")
    services.step_problem(users["guali"], problem, "reopen")
    services.step_problem(users["guali"], problem, "solve")
    pk = problem.pk
    services.delete_problem(users["guali"], problem)
    rows = AuditEntry.objects.filter(object_type="expertproblem", object_id=str(pk)).order_by("pk")
    assert [r.action for r in rows] == ["problem.create", "problem.update", "problem.start", "problem.dismiss",
                                        "problem.reopen", "problem.solve", "problem.delete"]
    assert all(r.org_code == OWN and r.actor == users["guali"] for r in rows)
    assert rows[1].changes == {"owner": ["", "镇综合执法队"]}
    assert rows[3].changes["status"] == ["in_progress", "dismissed"] and rows[3].changes["reason"] == ["", "重复"]
    # The activity's counts moved with the problems, audited as activity.update.
    assert AuditEntry.objects.filter(action="activity.update", object_id=str(activity.pk)).exists()


def test_counts_come_from_problems(users, api_for):
    activity = make_activity(OWN, problems_found=5, problems_solved=3)
    first = _problem(activity, "问题一")
    activity.refresh_from_db()
    assert (activity.problems_found, activity.problems_solved) == (1, 0)
    _problem(activity, "问题二", status="solved")
    services.step_problem(SYSTEM, first, "dismiss", reason="不属实")
    activity.refresh_from_db()
    assert (activity.problems_found, activity.problems_solved) == (2, 1)  # a dismissed problem was found too
    summary = api_for("guali").get("/api/expert-activities/summary/", {"org": OWN}).json()
    assert (summary["problems_found"], summary["problems_solved"]) == (2, 1)
    # Figures other than the problems' are refused; the same figures (a form re-posted) pass.
    with pytest.raises(ValidationError, match="counted from them"):
        services.update_activity(SYSTEM, activity, problems_found=5)
    services.update_activity(SYSTEM, activity, problems_found=2, problems_solved=1, note="ok")
    with pytest.raises(ValidationError, match="cannot move to another town"):
        services.update_activity(SYSTEM, activity, town=activity.town.parent.children.exclude(code=OWN).first())
    with pytest.raises(ValidationError, match="delete them first"):
        services.delete_activity(SYSTEM, activity)
    # An activity without problems keeps its own figures.
    plain = make_activity(OWN, date(2020, 6, 2), problems_found=4, problems_solved=2)
    plain.refresh_from_db()
    assert (plain.problems_found, plain.problems_solved) == (4, 2)


def test_overdue(users, client_for, api_for):
    activity = make_activity(OWN)
    today = date.today()
    late = _problem(activity, "逾期问题", due_date=today - timedelta(days=1))
    _problem(activity, "未到期问题", due_date=today + timedelta(days=30))
    done = _problem(activity, "逾期但已解决", due_date=today - timedelta(days=3), status="solved")
    assert late.overdue and not done.overdue
    ids = set(ExpertProblem.objects.filter(pk__in=[late.pk, done.pk]).values_list("pk", flat=True))
    assert len(ids) == 2
    client = client_for("guali")
    page = client.get("/experts/problems/", {"overdue": "true"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "逾期问题" in body and "未到期问题" not in body and "逾期但已解决" not in body
    assert page.context["figures"]["overdue"] == 1
    full = client.get("/experts/problems/").context["figures"]
    assert (full["total"], full["overdue"], full["solved"], full["open"]) == (3, 1, 1, 2)
    got = api_for("guali").get("/api/expert-problems/", {"overdue": "true"}).json()
    assert [r["description"] for r in got["results"]] == ["逾期问题"] and got["results"][0]["overdue"] is True
    # Overdue problems are warnings of the data-quality register (/quality/ and its API).
    assert [r.code for r, _v in quality.row_warnings("expertproblem", late)] == ["problem_overdue"]
    assert quality.row_warnings("expertproblem", done) == []
    quality_page = client.get("/quality/", {"org": OWN})
    assert quality_page.status_code == 200 and "逾期问题" in quality_page.content.decode()
    warnings = api_for("guali").get("/api/data-warnings/", {"org": OWN}).json()["results"]
    assert [w["rule"] for w in warnings if w["object_type"] == "expertproblem"] == ["problem_overdue"]
    # Solving it resolves the warning.
    services.step_problem(SYSTEM, late, "solve")
    client.get("/quality/", {"org": OWN})
    warnings = api_for("guali").get("/api/data-warnings/", {"org": OWN, "open": "true"}).json()["results"]
    assert not [w for w in warnings if w["object_type"] == "expertproblem" and w.get("resolved_at") is None]


def test_scoping_another_towns_problem_is_404(users, client_for, api_for):
    own = _problem(make_activity(OWN), "瓜沥镇问题")
    other_activity = make_activity(OTHER)
    other = _problem(other_activity, "大洋镇问题")
    client = client_for("guali")
    assert client.get(f"/experts/problems/{other.pk}/").status_code == 404
    assert client.post(f"/experts/problems/{other.pk}/", {"op": "step", "step": "solve"}).status_code == 404
    assert client.get(f"/experts/activities/{other_activity.pk}/problems/new/").status_code == 404
    listing = client.get("/experts/problems/").content.decode()
    assert "瓜沥镇问题" in listing and "大洋镇问题" not in listing
    assert "大洋镇问题".encode() not in client.get("/experts/problems/", {"export": "csv"}).content
    api = api_for("guali")
    assert api.get(f"/api/expert-problems/{other.pk}/").status_code == 404
    assert api.post(f"/api/expert-problems/{other.pk}/step/", {"step": "solve"}).status_code == 404
    assert api.post("/api/expert-problems/", {"activity": other_activity.pk, "description": "x"}).status_code == 400
    assert [r["id"] for r in api.get("/api/expert-problems/").json()["results"]] == [own.pk]
    other.refresh_from_db()
    assert other.status == "open"
    # The viewer sees the own town's problem read-only and may not step it.
    viewer = client_for("guali_viewer")
    assert viewer.get(f"/experts/problems/{own.pk}/").status_code == 200
    assert viewer.post(f"/experts/problems/{own.pk}/", {"op": "step", "step": "solve"}).status_code == 403


def test_pages_and_api_write_through_the_services(users, client_for, api_for):
    activity = make_activity(OWN)
    client = client_for("guali")
    page = client.get(f"/experts/activities/{activity.pk}/")
    assert page.status_code == 200 and f"/experts/activities/{activity.pk}/problems/new/" in page.content.decode()
    created = client.post(f"/experts/activities/{activity.pk}/problems/new/", {
        "activity": activity.pk, "description": "立面改造进度滞后", "owner": "镇建设办", "due_date": "2020-08-01"})
    assert created.status_code == 302
    problem = ExpertProblem.objects.get(description="立面改造进度滞后")
    assert "立面改造进度滞后" in client.get(f"/experts/activities/{activity.pk}/").content.decode()
    refused = client.post(f"/experts/problems/{problem.pk}/", {"op": "step", "step": "dismiss", "reason": ""},
                          HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "needs the reason" in refused.content.decode()
    assert client.post(f"/experts/problems/{problem.pk}/", {"op": "step", "step": "start"}).status_code == 302
    problem.refresh_from_db()
    assert problem.status == "in_progress"
    api = api_for("guali")
    made = api.post("/api/expert-problems/", {"activity": activity.pk, "description": "API 问题",
                                              "due_date": "2020-09-01"})
    assert made.status_code == 201, made.json()
    assert made.json()["town"] == OWN and made.json()["status"] == "open"
    pk = made.json()["id"]
    bad = api.post(f"/api/expert-problems/{pk}/step/", {"step": "dismiss"})
    assert bad.status_code == 400
    ok = api.post(f"/api/expert-problems/{pk}/step/", {"step": "dismiss", "reason": "重复记录"})
    assert ok.status_code == 200 and ok.json()["status"] == "dismissed"
    assert api.patch(f"/api/expert-problems/{pk}/", {"owner": "镇文化站"}).json()["owner"] == "镇文化站"
    assert api.delete(f"/api/expert-problems/{pk}/").status_code == 204
    assert AuditEntry.objects.filter(action="problem.delete", object_id=str(pk), source="api").exists()


# --- import and export ------------------------------------------------------------------------------------


def _activities():
    a = make_activity(OWN, date(2020, 6, 18), expert_names="王建国、李明")
    b = make_activity(OWN, date(2020, 7, 2), activity_type="review", expert_names="赵静")
    c = make_activity(OWN, date(2020, 7, 2), activity_type="review", expert_names="陈晓燕")
    return a, b, c


def test_kind_is_registered():
    assert get_kind("expert_problems") is KINDS["expert_problems"]
    assert [c.header for c in KINDS["expert_problems"].columns] == HEADER


def test_import_good_rows_error_rows_and_reimport(users):
    a, b, c = _activities()
    rows = [
        HEADER,
        [OWN, "2020-06-18", "", "", "污水管网雨污混接", "镇建设办", "2020-09-30", "待解决", ""],
        [OWN, "2020/6/18", "现场指导", "王建国、李明", "沿街店招不统一", "", "", "整改中", ""],
        [OWN, "2020年7月2日", "评审", "赵静", "停车位不足", "镇综合执法队", "2020-12-31", "已解决", ""],
        [OWN, "2020-07-02", "评审", "陈晓燕", "重复反映", "", "", "不予处理", "与上条重复"],
    ]
    first = run_import(users["guali"], csv_bytes(rows), "problems.csv", "expert_problems")
    assert first["status"] == "applied", first["errors"]
    assert first["counts"] == {"created": 4, "updated": 0, "unchanged": 0, "deleted": 0}
    assert ExpertProblem.objects.get(description="沿街店招不统一").status == "in_progress"
    assert ExpertProblem.objects.get(description="停车位不足").activity == b
    assert ExpertProblem.objects.get(description="重复反映").reason == "与上条重复"
    a.refresh_from_db()
    assert (a.problems_found, a.problems_solved) == (2, 0)
    again = run_import(users["guali"], csv_bytes(rows), "problems.csv", "expert_problems")
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 4, "deleted": 0} and again["id"] is None
    # A changed status and owner update the same problem; the undo puts them back.
    changed = [r[:] for r in rows]
    changed[1][7], changed[1][5] = "已解决", "镇农业农村办"
    changed[4][7], changed[4][8] = "待解决", ""
    third = run_import(users["guali"], csv_bytes(changed), "problems.csv", "expert_problems")
    assert third["counts"]["updated"] == 2, third["errors"]
    fixed = ExpertProblem.objects.get(description="污水管网雨污混接")
    assert (fixed.status, fixed.owner) == ("solved", "镇农业农村办")
    undo_batch(users["guali"], ImportBatch.objects.get(pk=third["id"]))
    fixed.refresh_from_db()
    assert (fixed.status, fixed.owner) == ("open", "镇建设办")
    restored = ExpertProblem.objects.get(description="重复反映")
    assert (restored.status, restored.reason) == ("dismissed", "与上条重复")
    undo_batch(users["guali"], ImportBatch.objects.get(pk=first["id"]))
    assert not ExpertProblem.objects.exists()


def test_error_rows_are_reported_by_row_and_column(users):
    _activities()
    make_activity(OTHER, date(2020, 6, 18))
    rows = [
        HEADER,
        [OWN, "2020-06-18", "", "", "好的一行", "", "", "", ""],
        [OTHER, "2020-06-18", "", "", "别的镇", "", "", "", ""],  # outside 瓜沥镇's area
        [OWN, "2020-06-19", "", "", "没有活动", "", "", "", ""],  # no activity that day
        [OWN, "2020-07-02", "评审", "", "两个活动", "", "", "", ""],  # two reviews that day
        [OWN, "2020-06-18", "", "", "不予处理无理由", "", "", "不予处理", ""],
        [OWN, "2020-06-18", "", "", "状态不明", "", "", "搁置", ""],
        [OWN, "2020-06-18", "", "", "期限早于活动", "", "2020-01-01", "", ""],
        [OWN, "2020-06-18", "", "", "", "", "", "", ""],  # no description
        [OWN, "2020-06-18", "", "", "好的一行", "", "", "", ""],  # the same problem twice
    ]
    summary = run_import(users["guali"], xlsx(rows), "bad.xlsx", "expert_problems")
    assert summary["status"] == "failed"
    by_row = {e["row"]: e for e in summary["errors"]}
    assert 2 not in by_row
    assert by_row[3]["column"] == "乡镇代码" and "outside your area" in by_row[3]["message"]
    assert by_row[4]["column"] == "活动日期" and "no expert activity" in by_row[4]["message"]
    assert by_row[5]["column"] == "活动日期" and "has 2 expert activities" in by_row[5]["message"]
    assert by_row[6]["column"] == "不予处理理由" and "needs the reason" in by_row[6]["message"]
    assert by_row[7]["column"] == "状态" and "not a status" in by_row[7]["message"]
    assert by_row[8]["column"] == "整改期限" and "cannot be before" in by_row[8]["message"]
    assert by_row[9]["column"] == "问题描述"
    assert "Same record as row 2" in by_row[10]["message"]
    assert not ExpertProblem.objects.exists()


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_list_export_round_trip(users, client_for, fmt):
    a, b, c = _activities()
    _problem(a, "=公式注入？", owner="镇建设办", due_date=date(2020, 9, 1))
    _problem(b, "停车位不足", status="solved")
    _problem(c, "重复反映", status="dismissed", reason="与上条重复")
    _problem(make_activity(OTHER), "大洋镇问题")
    client = client_for("guali")
    exported = client.get("/experts/problems/", {"export": fmt}).content
    if fmt != "xlsx":
        assert "大洋镇问题".encode() not in exported
    again = run_import(users["guali"], exported, f"export.{fmt}", "expert_problems")
    assert again["status"] == "applied", again["errors"]
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "deleted": 0}
    if fmt == "xlsx":
        table = CalamineWorkbook.from_filelike(io.BytesIO(exported)).get_sheet_by_index(0).to_python()
        assert table[0] == HEADER and {row[7] for row in table[1:]} == {"待解决", "已解决", "不予处理"}
    # The standard's export (townbrain export) writes the same and imports back unchanged too.
    data = export(users["guali"], "expert_problems", fmt)
    back = run_import(users["guali"], data, f"standard.{fmt}", "expert_problems")
    assert back["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "deleted": 0}, back["errors"]


def test_template_imports(users, api_for):
    make_activity(OWN, date(2020, 6, 18), expert_names="王建国、李明、陈晓燕")
    template = api_for("guali").get("/api/standard/expert_problems/template.xlsx")
    assert template.status_code == 200
    summary = run_import(users["guali"], template.content, "template.xlsx", "expert_problems", dry_run=True)
    assert summary["status"] == "dry_run" and summary["counts"]["created"] == 1, summary["errors"]
    assert ExpertActivity.objects.count() == 1 and not ExpertProblem.objects.exists()


def test_doctor_compares_an_activitys_counts_with_its_problems(users):
    from townbrain.core import doctor

    activity = make_activity(OWN, problems_found=5, problems_solved=1)  # no problems: its figures stand
    run = doctor.run_all(doctor.Options(full=True), only=["expert_problem_counts"])
    assert run[0]["status"] == "ok" and run[0]["checked"] == 0
    first = _problem(activity)
    _problem(activity, "垃圾分类未落实")
    services.step_problem(SYSTEM, first, "solve")
    activity.refresh_from_db()
    assert (activity.problems_found, activity.problems_solved) == (2, 1)
    run = doctor.run_all(doctor.Options(full=True), only=["expert_problem_counts"])
    assert run[0]["status"] == "ok" and run[0]["checked"] == 1
    ExpertActivity.objects.filter(pk=activity.pk).update(problems_solved=2)  # a write behind the services' back
    run = doctor.run_all(doctor.Options(full=True), only=["expert_problem_counts"])
    assert run[0]["status"] == "drift" and f"#{activity.pk}" in run[0]["problems"][0]
