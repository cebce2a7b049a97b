from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects import services
from townbrain.testing.cases import APITests, ViewTests

_seq = iter(range(1, 10**6))


def make_project(town_code, programme="meili", **extra):
    fields = {
        "code": f"P{next(_seq):05d}", "name": f"项目 {town_code}", "town": OrgUnit.objects.get(code=town_code),
        "programme": Programme.objects.get(code=programme), "total_investment": Decimal("1000"),
        "annual_plan": Decimal("400"), "planned_start": date(2020, 3, 1), "planned_completion": date(2020, 12, 31),
    }
    fields.update(extra)
    return services.create_project(SYSTEM, **fields)


class TestProjectAPI(APITests):
    basename = "project"
    update_data = {"name": "改过的名称"}

    def make(self, town_code):
        return make_project(town_code)

    def create_data(self, town_code):
        return {"code": f"N{next(_seq)}", "name": "污水管网改造", "town": town_code, "programme": "meili",
                "category": "gongneng", "total_investment": 1200.5, "annual_plan": 600,
                "planned_start": "2020-03-01", "planned_completion": "2021-06-30", "status": "planned"}


def test_programmes_ship_with_stable_codes(api_for, users):
    data = api_for("guali").get("/api/programmes/").json()
    assert {p["code"] for p in data["results"]} >= {"meili", "xiaochengshi", "tese", "shifan", "tongchou"}
    meili = next(p for p in data["results"] if p["code"] == "meili")
    assert len(meili["categories"]) == 6 and {r["code"] for r in meili["roles"]} == {"yangban", "dabiao"}


@pytest.mark.django_db
class TestLifecycleRules:
    def test_started_needs_actual_start(self, tree):
        with pytest.raises(ValidationError) as exc:
            make_project("330109113", status="started")
        assert "actual_start" in exc.value.message_dict

    def test_completion_not_before_start(self, tree):
        with pytest.raises(ValidationError) as exc:
            make_project("330109113", planned_start=date(2020, 5, 1), planned_completion=date(2020, 4, 1))
        assert "planned_completion" in exc.value.message_dict

    def test_negative_money_refused(self, tree):
        with pytest.raises(ValidationError) as exc:
            make_project("330109113", total_investment=Decimal("-1"))
        assert "total_investment" in exc.value.message_dict

    def test_annual_plan_above_total_needs_confirmation(self, tree):
        with pytest.raises(ValidationError) as exc:
            make_project("330109113", annual_plan=Decimal("2000"))
        assert "annual_plan" in exc.value.message_dict
        project = make_project("330109113", annual_plan=Decimal("2000"), confirm_annual_over_total=True)
        assert project.annual_plan == Decimal("2000")

    def test_code_unique_within_programme(self, tree):
        make_project("330109113", code="X1")
        with pytest.raises(ValidationError):
            make_project("330109113", code="X1")
        make_project("330109113", code="X1", programme="tese")  # another programme: fine

    def test_project_must_sit_in_a_town(self, tree):
        with pytest.raises(ValidationError) as exc:
            make_project("330109")
        assert "town" in exc.value.message_dict


@pytest.mark.django_db
class TestProgress:
    def test_report_updates_project_and_audits(self, tree, users):
        project = make_project("330109113", status="started", actual_start=date(2020, 3, 5))
        services.report_progress(users["guali"], project, "202004", month_investment=Decimal("50"),
                                 cumulative_investment=Decimal("50"), progress_percent=Decimal("10"),
                                 status="started")
        project.refresh_from_db()
        assert project.cumulative_investment == Decimal("50") and project.last_period == "202004"
        assert AuditEntry.objects.filter(action="progress.report", org_code="330109113").count() == 1

    def test_cumulative_cannot_fall_without_reason(self, tree, users):
        project = make_project("330109113", status="started", actual_start=date(2020, 3, 5))
        services.report_progress(users["guali"], project, "202004", cumulative_investment=Decimal("80"),
                                 status="started")
        with pytest.raises(ValidationError) as exc:
            services.report_progress(users["guali"], project, "202005", cumulative_investment=Decimal("70"),
                                     status="started")
        assert "cumulative_investment" in exc.value.message_dict
        services.report_progress(users["guali"], project, "202005", cumulative_investment=Decimal("70"),
                                 status="started", correction_reason="4月多报了10万元")

    def test_bad_period_and_other_town(self, tree, users):
        project = make_project("330182107")
        with pytest.raises(ValidationError):
            services.report_progress(users["dayang"], project, "2020-13")
        from django.core.exceptions import PermissionDenied

        with pytest.raises(PermissionDenied):
            services.report_progress(users["guali"], project, "202004")

    def test_api_by_code_and_programme(self, api_for, tree, users):
        project = make_project("330109113", status="started", actual_start=date(2020, 3, 5))
        response = api_for("guali").post("/api/progress/", {
            "project": project.code, "programme": "meili", "period": "202009", "month_investment": 20,
            "cumulative_investment": 300, "progress_percent": 55, "status": "started"}, format="json")
        assert response.status_code == 201, response.content
        other = make_project("330182107")
        refused = api_for("guali").post("/api/progress/", {
            "project": other.pk, "period": "202009", "status": "planned"}, format="json")
        assert refused.status_code == 400


@pytest.mark.django_db
def test_rollup_is_live_up_the_tree(api_for, tree, users):
    started = make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    make_project("330109113")  # planned in March, not started: a laggard
    make_project("330182107", status="started", actual_start=date(2020, 4, 1))
    make_project("330109113", status="cancelled")  # leaves every rate
    api = api_for("zhejiang")
    params = {"org": "33", "period": "202009", "programme": "meili"}
    before = api.get("/api/rollups/", params).json()
    assert before["planned_to_start"] == 3 and before["started"] == 2
    assert before["start_rate"] == pytest.approx(66.7)
    assert before["laggards"] == 1
    assert before["investment_plan"] == pytest.approx(1200)
    assert [c["code"] for c in before["children"]] == ["3301"]
    # a town saves a report: the province sees it on the very next request
    # 65 % in September is on time (linear plan Mar–Dec expects 70 %, tolerance 10 points)
    services.report_progress(users["guali"], started, "202009", cumulative_investment=Decimal("300"),
                             progress_percent=Decimal("65"), status="started")
    after = api.get("/api/rollups/", params).json()
    assert after["investment_done"] == pytest.approx(300)
    assert after["investment_rate"] == pytest.approx(25.0)
    county = api.get("/api/rollups/", {**params, "org": "330109"}).json()
    guali = next(c for c in county["children"] if c["code"] == "330109113")
    assert guali["planned_to_start"] == 2 and guali["started"] == 1 and guali["laggards"] == 1
    # 40 % in September is late against the same plan
    services.report_progress(users["guali"], started, "202009", cumulative_investment=Decimal("300"),
                             progress_percent=Decimal("40"), status="started")
    assert api.get("/api/rollups/", params).json()["laggards"] == 2
    # an earlier month does not see later starts
    march = api.get("/api/rollups/", {**params, "period": "202003"}).json()
    assert march["planned_to_start"] == 3 and march["started"] == 1
    # a town user cannot read the province
    assert api_for("guali").get("/api/rollups/", params).status_code == 404
    assert api.get("/api/rollups/", {**params, "period": "2020-9x"}).status_code == 400


@pytest.mark.django_db
def test_warnings(api_for, tree, users, settings):
    from townbrain.projects import warnings

    settings.REPORT_DEADLINE_DAY = 5
    late = make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    idle = make_project("330109113")  # planned March, never started
    reported = make_project("330182107", status="started", actual_start=date(2020, 3, 2))
    services.report_progress(users["dayang"], reported, "202009", progress_percent=Decimal("70"), status="started")
    services.report_progress(users["guali"], late, "202008", progress_percent=Decimal("5"), status="started")
    # The reporting cycle's deadline (core/due.py): the 5th, moved past 国庆 to the next working day.
    assert warnings.report_deadline("202009", late.programme) == date(2020, 10, 9)
    assert warnings.report_deadline("202012", late.programme) == date(2021, 1, 5)
    rows = api_for("zhejiang").get("/api/warnings/", {"org": "33", "period": "202009", "programme": "meili"}).json()
    kinds = {(r["kind"], r["town"], r["project"]) for r in rows["results"]}
    assert ("missing_report", "330109113", None) in kinds  # guali did not report September
    assert ("missing_report", "330182107", None) not in kinds
    assert ("not_started", "330109113", idle.pk) in kinds
    assert ("laggard", "330109113", late.pk) in kinds  # 5 % in September against a 70 % plan
    assert rows["count"] == 3
    # before the deadline nobody is chased yet — 8 October is after the 5th but before the cycle's 9th
    early = warnings.compute(users["zhejiang"], tree["33"], "202009", late.programme, today=date(2020, 10, 8))
    assert "missing_report" not in {r["kind"] for r in early}
    with translation.override("en"):
        due = warnings.compute(users["zhejiang"], tree["33"], "202009", late.programme, today=date(2020, 10, 10))
    assert [r["message"] for r in due if r["kind"] == "missing_report"] == [
        "No progress report for 202009 (due 2020-10-09)."]
    only = api_for("guali").get("/api/warnings/", {"org": "330109113", "period": "202009", "programme": "meili",
                                                   "kind": "not_started"}).json()
    assert [r["project"] for r in only["results"]] == [idle.pk]
    assert api_for("guali").get("/api/warnings/", {"org": "330182107", "period": "202009",
                                                   "programme": "meili"}).status_code == 404


class TestProjectViews(ViewTests):
    list_url_name = "project-list"
    detail_url_name = "project-detail"
    text_of = staticmethod(lambda p: p.code)

    def make(self, town_code):
        return make_project(town_code)


@pytest.mark.django_db
def test_report_form_saves_through_service(client_for, tree, users):
    project = make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    client = client_for("guali")
    url = f"/projects/{project.pk}/"
    bad = client.post(url, {"period": "2020-9", "month_investment": "1", "cumulative_investment": "1",
                            "progress_percent": "10", "status": "started"})
    assert bad.status_code == 200 and "YYYYMM" in bad.content.decode()
    ok = client.post(url, {"period": "202009", "month_investment": "10", "cumulative_investment": "100",
                           "progress_percent": "40", "status": "started"})
    assert ok.status_code == 302
    project.refresh_from_db()
    assert project.last_period == "202009" and project.cumulative_investment == Decimal("100")
    assert AuditEntry.objects.filter(action="progress.report", object_id__isnull=False).exists()
    page = client.get(url).content.decode()
    assert "progress-chart" in page and "202009" in page
    viewer = client_for("guali_viewer").post(url, {"period": "202010", "status": "started"})
    assert viewer.status_code == 403


@pytest.mark.django_db
def test_a_report_reads_its_project_and_plan_curve_once(tree):
    """Saving a report costs round trips: the locked project is read once, its plan curve once,
    whether the report is new or replaces one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    project = make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    for cumulative in (Decimal(10), Decimal(20)):  # a new report, then the same month replaced
        with CaptureQueriesContext(connection) as seen:
            services.report_progress(SYSTEM, project, "202009", cumulative_investment=cumulative,
                                     progress_percent=Decimal(30), status="started")
        selects = [q["sql"] for q in seen.captured_queries if q["sql"].lstrip().startswith("SELECT")]
        assert sum('FROM "projects_project"' in sql for sql in selects) == 1, selects
        assert sum('FROM "projects_monthlyplan"' in sql for sql in selects) == 1, selects


@pytest.mark.django_db
def test_a_report_is_a_pinned_number_of_statements(tree):
    """Saving one monthly report, new or replacing one, is this many round trips and no more (issue 17
    item 7): the locked project, its reports, the plan curve, the submission's lock, the report
    written, the project's figures, its audit rows (one INSERT), the town's enrolment (on PostgreSQL
    with the roll-ups' shared advisory lock, in the same statement) and one roll-up upsert. A new
    query here is a slower save for every town."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    expected = 9
    project = make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    for cumulative in (Decimal(10), Decimal(20)):
        with CaptureQueriesContext(connection) as seen:
            services.report_progress(SYSTEM, project, "202009", cumulative_investment=cumulative,
                                     progress_percent=Decimal(30), status="started")
        statements = [q["sql"] for q in seen.captured_queries if "SAVEPOINT" not in q["sql"]]
        assert len(statements) == expected, "\n".join(sql[:120] for sql in statements)
