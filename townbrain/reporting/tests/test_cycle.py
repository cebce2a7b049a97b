"""The cycle's steps and who may take them; locks on UI, API, import and indicator values; unlock audited."""

from datetime import date, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from townbrain.core.locks import Locked
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.exchange.pipeline import run_import
from townbrain.exchange.tests.conftest import xlsx
from townbrain.indicators import services as indicators
from townbrain.indicators.models import DataElement
from townbrain.projects import services as projects
from townbrain.projects.models import ProgressReport
from townbrain.reporting import services
from townbrain.reporting.models import Kind, Status, Submission

from .conftest import figures

pytestmark = pytest.mark.django_db
GUALI, DAYANG = "330109113", "330182107"


def town(code):
    return OrgUnit.objects.get(code=code)


def step(user, code, name, meili, period="202009", comment=""):
    return services.take_step(user, town(code), meili, period, name, comment)


def test_every_step_and_its_permission(users, meili, ledger):
    # Only someone who may change the town's data submits it: not its viewer, not another town.
    for who in ("guali_viewer", "dayang", "jiande"):
        with pytest.raises(PermissionDenied):
            step(users[who], GUALI, "submit", meili)
    sub = step(users["guali"], GUALI, "submit", meili)
    assert sub.status == Status.SUBMITTED and sub.submitted_at is not None
    with pytest.raises(ValidationError):
        step(users["guali"], GUALI, "submit", meili)  # already submitted
    # Approve, return, lock, unlock: only above the town — the town itself, another county, a viewer may not.
    for name in ("approve", "return", "lock", "unlock"):
        for who in ("guali", "jiande", "dayang", "guali_viewer"):
            with pytest.raises(PermissionDenied):
                step(users[who], GUALI, name, meili, comment="x")
    with pytest.raises(ValidationError):
        step(users["xiaoshan"], GUALI, "return", meili)  # a return says why
    sub = step(users["xiaoshan"], GUALI, "return", meili, comment="累计投资不衔接")
    assert sub.status == Status.RETURNED and sub.comment == "累计投资不衔接" and sub.returned_count == 1
    first = sub.submitted_at
    sub = step(users["guali"], GUALI, "submit", meili)
    assert sub.status == Status.SUBMITTED and sub.submitted_at == first  # timeliness keeps the first submission
    sub = step(users["xiaoshan"], GUALI, "approve", meili)
    assert (sub.status, sub.approved_level) == (Status.APPROVED, "county")
    with pytest.raises(ValidationError):
        step(users["xiaoshan"], GUALI, "approve", meili)  # the county approves once
    sub = step(users["hangzhou"], GUALI, "approve", meili)
    assert sub.approved_level == "city"  # the city's optional second approval
    sub = step(users["hangzhou"], GUALI, "lock", meili)
    assert sub.status == Status.LOCKED
    with pytest.raises(ValidationError):
        step(users["xiaoshan"], GUALI, "unlock", meili)  # an unlock gives its reason
    sub = step(users["xiaoshan"], GUALI, "unlock", meili, comment="省里要求更正9月投资")
    assert sub.status == Status.ENTERING
    actions = list(AuditEntry.objects.filter(object_type="submission").order_by("pk").values_list("action", "actor_name"))
    assert actions == [("submission.submit", "guali"), ("submission.return", "xiaoshan"), ("submission.submit", "guali"),
                       ("submission.approve", "xiaoshan"), ("submission.approve", "hangzhou"),
                       ("submission.lock", "hangzhou"), ("submission.unlock", "xiaoshan")]
    unlock = AuditEntry.objects.get(action="submission.unlock")
    assert unlock.org_code == GUALI and unlock.changes["comment"][1] == "省里要求更正9月投资"
    assert unlock.changes["status"] == ["locked", "entering"]


def test_bulk_approve_takes_the_good_and_reports_the_rest(users, meili, ledger):
    step(users["guali"], GUALI, "submit", meili)
    results = services.take_steps(users["xiaoshan"], [town(GUALI), town("330109001"), town(DAYANG)], meili,
                                  "202009", "approve")
    assert results[0].status == Status.APPROVED
    assert isinstance(results[1], ValidationError)  # 城厢街道 never submitted
    assert isinstance(results[2], PermissionDenied)  # 大洋镇 is not 萧山's
    assert set(Submission.objects.values_list("town_id", "status")) == {(GUALI, "approved")}


def test_a_locked_period_refuses_every_write_path(users, meili, ledger):
    project = ledger[GUALI]
    projects.report_progress(users["guali"], project, "202009", **figures("100"))
    step(users["guali"], GUALI, "submit", meili)
    # Submitted: the town may not change it; the county reviewing it may still correct a figure.
    with pytest.raises(Locked, match="submitted"):
        projects.report_progress(users["guali"], project, "202009", **figures("120"))
    projects.report_progress(users["xiaoshan"], project, "202009", **figures("110"))
    step(users["xiaoshan"], GUALI, "approve", meili)
    for who in ("guali", "xiaoshan", "admin"):
        with pytest.raises(Locked, match="瓜沥镇"):
            projects.report_progress(users[who], project, "202009", **figures("130"))
    with pytest.raises(Locked):
        projects.delete_report(users["admin"], ProgressReport.objects.get(project=project, period="202009"))
    # Other months and other towns go on.
    projects.report_progress(users["guali"], project, "202010", **figures("140"))
    projects.report_progress(users["dayang"], ledger[DAYANG], "202009", **figures("50"))
    assert ProgressReport.objects.get(project=project, period="202009").cumulative_investment == 110
    # Unlocked with a reason, the town corrects it.
    step(users["xiaoshan"], GUALI, "unlock", meili, comment="更正")
    projects.report_progress(users["guali"], project, "202009", **figures("120"))


def test_the_api_answers_409_naming_the_lock(users, meili, ledger, api_for):
    project = ledger[GUALI]
    body = {"project": project.code, "programme": "meili", "period": "202009", "month_investment": "10",
            "cumulative_investment": "100", "progress_percent": "20", "status": "started"}
    assert api_for("guali").post("/api/progress/", body, format="json").status_code == 201
    api = api_for("xiaoshan")
    assert api_for("guali").post(f"/api/reporting/{GUALI}/meili/202009/submit/").status_code == 200
    assert api.post(f"/api/reporting/{GUALI}/meili/202009/approve/").status_code == 200
    r = api_for("guali").post("/api/progress/", {**body, "cumulative_investment": "200"}, format="json")
    assert r.status_code == 409, r.content
    assert "Locked" in r.json()["detail"] and "瓜沥镇" in r.json()["detail"] and "202009" in r.json()["detail"]
    # In the default language (简体中文) the message names the lock too.
    r = api_for("guali", "zh-hans").post("/api/progress/", {**body, "cumulative_investment": "200"}, format="json")
    assert r.status_code == 409 and "已锁定" in r.json()["detail"] and "瓜沥镇" in r.json()["detail"]
    assert api.post(f"/api/reporting/{GUALI}/meili/202009/lock/").status_code == 200
    r = api_for("admin").post("/api/progress/", body, format="json")
    assert r.status_code == 409 and "locked" in r.json()["detail"].lower() and "202009" in r.json()["detail"]


def test_api_steps_permissions_and_scope(users, meili, ledger, api_for):
    url = f"/api/reporting/{GUALI}/meili/202009/"
    assert api_for("xiaoshan").post(url + "approve/").status_code == 400  # nothing submitted yet
    assert api_for("guali_viewer").post(url + "submit/").status_code == 403
    assert api_for("dayang").post(url + "submit/").status_code == 404  # outside its area: not found
    r = api_for("guali").post(url + "submit/")
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    assert api_for("guali").post(url + "approve/").status_code == 403
    assert api_for("jiande").post(url + "approve/").status_code == 404
    assert api_for("xiaoshan").post(url + "return/").status_code == 400  # no comment
    r = api_for("xiaoshan").post(url + "return/", {"comment": "请补充问题说明"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "returned" and r.json()["comment"] == "请补充问题说明"
    api_for("guali").post(url + "submit/")
    assert api_for("xiaoshan").post(url + "lock/").json()["status"] == "locked"
    assert api_for("xiaoshan").post(url + "unlock/").status_code == 400  # no reason
    r = api_for("xiaoshan").post(url + "unlock/", {"reason": "更正"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "entering"
    assert api_for("xiaoshan").post(url + "bogus/").status_code == 400


def test_the_list_api(users, meili, ledger, api_for):
    projects.report_progress(users["guali"], ledger[GUALI], "202009", **figures())
    services.take_step(users["guali"], town(GUALI), meili, "202009", "submit",
                       at=timezone.make_aware(datetime(2020, 10, 9, 10, 0)))  # on the day: on time
    r = api_for("hangzhou").get("/api/reporting/", {"org": "3301", "programme": "meili", "period": "202009"})
    assert r.status_code == 200
    data = r.json()
    by_town = {row["town"]: row for row in data["results"]}
    assert data["count"] == 3 and set(by_town) == {GUALI, "330109001", DAYANG}
    assert by_town[GUALI]["status"] == "submitted" and by_town[GUALI]["deadline"] == "2020-10-09"
    assert by_town["330109001"]["status"] == "empty"
    assert {"town", "status", "deadline", "submitted_at", "late_days"} <= set(by_town[GUALI])
    # Scoped: a town sees itself only; 大洋镇's code is 404 to 萧山.
    mine = api_for("guali").get("/api/reporting/", {"org": "3301", "programme": "meili", "period": "202009"})
    assert mine.status_code == 404
    mine = api_for("guali").get("/api/reporting/", {"org": GUALI, "programme": "meili", "period": "202009"})
    assert [row["town"] for row in mine.json()["results"]] == [GUALI]
    assert api_for("xiaoshan").get("/api/reporting/", {"org": DAYANG, "programme": "meili",
                                                       "period": "202009"}).status_code == 404
    assert api_for("xiaoshan").get("/api/reporting/", {"org": "330109", "programme": "meili"}).status_code == 400
    # Entering: a report but no submission.
    projects.report_progress(users["dayang"], ledger[DAYANG], "202009", **figures())
    rows = api_for("jiande").get("/api/reporting/", {"org": "330182", "programme": "meili", "period": "202009"}).json()
    assert [(row["town"], row["status"]) for row in rows["results"]] == [(DAYANG, "entering")]
    ranking = api_for("hangzhou").get("/api/reporting/ranking/", {"org": "3301", "programme": "meili",
                                                                   "period": "202009"}).json()
    # 萧山: 1 of 2 towns on time (50%); 建德: its one town missing (0%).
    assert [(row["code"], row["on_time_rate"], row["rank"]) for row in ranking["results"]] == [
        ("330109", 50.0, 1), ("330182", 0.0, 2)]


def test_late_submission_across_national_day(users, meili, ledger):
    at = timezone.make_aware(datetime(2020, 10, 12, 9, 0))  # Monday after the holiday; due Friday the 9th
    sub = services.take_step(users["guali"], town(GUALI), meili, "202009", "submit", at=at)
    assert sub.deadline == date(2020, 10, 9) and sub.late_days == 2
    sub = services.take_step(users["dayang"], town(DAYANG), meili, "202009", "submit",
                             at=timezone.make_aware(datetime(2020, 10, 9, 17, 0)))
    assert sub.late_days == 0


def test_a_locked_period_refuses_an_import_row(users, meili, ledger):
    project = ledger[GUALI]
    projects.report_progress(users["guali"], project, "202008", **figures("90"))
    step(users["guali"], GUALI, "submit", meili, period="202008")
    step(users["xiaoshan"], GUALI, "lock", meili, period="202008")
    rows = [["项目编号", "填报期", "本月完成投资(万元)", "累计完成投资(万元)", "形象进度(%)", "状态", "存在问题"],
            [project.code, "202009", 10, 100, 30, "开工", ""],
            [project.code, "2020年8月", 10, 95, 25, "开工", ""]]
    summary = run_import(users["xiaoshan"], xlsx(rows), "p.xlsx", "progress")
    assert summary["status"] == "failed"
    (error,) = summary["errors"]
    assert error["row"] == 3 and "Locked" in error["message"] and "202008" in error["message"]
    # Only the valid rows: September goes in, August stays as approved.
    summary = run_import(users["xiaoshan"], xlsx(rows), "p.xlsx", "progress", only_valid=True)
    assert summary["counts"]["created"] == 1
    assert ProgressReport.objects.get(project=project, period="202008").cumulative_investment == 90


def test_indicator_values_of_a_locked_period(users, meili, ledger):
    element = DataElement.objects.create(code="pop", name="常住人口")
    indicators.set_value(users["guali"], element, town(GUALI), "2020Q3", "1000")
    services.take_step(users["guali"], town(GUALI), meili, "2020Q3", "submit", kind=Kind.VALUES)
    services.take_step(users["xiaoshan"], town(GUALI), meili, "2020Q3", "approve", kind=Kind.VALUES)
    with pytest.raises(Locked):
        indicators.set_value(users["xiaoshan"], element, town(GUALI), "2020Q3", "1200")
    indicators.set_value(users["guali"], element, town(GUALI), "2020Q4", "1200")  # another period
    # The progress reports of that quarter's months are not the values' lock.
    projects.report_progress(users["guali"], ledger[GUALI], "202009", **figures())
    assert SYSTEM  # the system actor is bound by hard locks too
    with pytest.raises(Locked):
        indicators.set_value(SYSTEM, element, town(GUALI), "2020Q3", "1300")
