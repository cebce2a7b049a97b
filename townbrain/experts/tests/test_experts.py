"""The expert pool, assignments and activities: services, API, pages (一库三师)."""

import csv
import io
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.experts import services
from townbrain.experts.models import Expert, ExpertActivity, ExpertAssignment
from townbrain.testing.cases import APITests, ViewTests

from .conftest import OTHER, OWN, make_activity, make_expert

pytestmark = pytest.mark.django_db


# --- the generic cases ----------------------------------------------------------------------------

class TestExpertAPI(APITests):
    basename = "expert"
    update_data = {"employer": "浙江大学建筑设计研究院"}

    def make(self, town_code):
        return Expert.objects.create(name=f"专家{town_code}", kind="resident_planner", home_id=town_code)

    def create_data(self, town_code):
        return {"name": "王建国", "kind": "chief_designer", "home": town_code, "employer": "浙江省城乡规划设计研究院"}


class TestActivityAPI(APITests):
    basename = "expert-activity"
    update_data = {"problems_found": 5, "problems_solved": 2}

    def make(self, town_code):
        return ExpertActivity.objects.create(town_id=town_code, date=date(2020, 5, 1), activity_type_id="review",
                                             chief_designer_count=1, expert_names=f"专家{town_code}")

    def create_data(self, town_code):
        return {"town": town_code, "date": "2020-06-18", "activity_type": "site_visit", "resident_planner_count": 2,
                "problems_found": 3, "problems_solved": 1, "expert_names": "王建国、李明"}


class TestAssignmentAPI(APITests):
    basename = "expert-assignment"
    supported = {"create", "delete"}

    def make(self, town_code):
        expert = Expert.objects.create(name=f"专家{town_code}", kind="resident_planner", home_id=town_code)
        return ExpertAssignment.objects.create(expert=expert, town_id=town_code, role="resident_planner")

    def create_data(self, town_code):
        expert = Expert.objects.create(name="李明", kind="development_adviser", home_id=OWN)
        return {"expert": expert.pk, "town": town_code, "since": "2020-01-01"}


class TestExpertViews(ViewTests):
    list_url_name = "expert-list"
    detail_url_name = "expert-detail"
    text_of = staticmethod(lambda e: e.name)

    def make(self, town_code):
        return Expert.objects.create(name=f"专家{town_code}", kind="chief_designer", home_id=town_code)


class TestActivityViews(ViewTests):
    list_url_name = "expert-activity-list"
    detail_url_name = "expert-activity-edit"
    text_of = staticmethod(lambda a: a.expert_names)

    def make(self, town_code):
        return ExpertActivity.objects.create(town_id=town_code, date=date(2020, 5, 1), activity_type_id="training",
                                             adviser_count=2, expert_names=f"专家{town_code}")


# --- services -------------------------------------------------------------------------------------

def test_create_activity_audited_and_linked_to_unique_names(users):
    make_expert("王建国", "3301", kind="chief_designer")
    make_expert("李明", "330109", kind="resident_planner")
    make_expert("李明", "3301", kind="development_adviser")  # two 李明: not linked
    make_expert("王建国", "5201", kind="chief_designer")  # another province's pool does not count
    activity = make_activity(OWN, actor=users["guali"], chief_designer_count=1, resident_planner_count=1,
                             expert_names=" 王建国，李明 、 王建国 ")
    assert activity.expert_names == "王建国、李明"
    assert [e.name for e in activity.experts.all()] == ["王建国"]
    assert activity.person_times == 2
    entry = AuditEntry.objects.get(action="activity.create", object_id=str(activity.pk))
    assert entry.org_code == OWN and entry.actor == users["guali"]
    assert entry.changes["expert_names"] == [None, "王建国、李明"]
    # An expert added later with a name the activity names is linked then.
    make_expert("赵静", "3301")
    services.update_activity(users["guali"], activity, expert_names="王建国、赵静")
    assert {e.name for e in activity.experts.all()} == {"王建国", "赵静"}


def test_solved_above_found_is_refused_and_nothing_written(users):
    with pytest.raises(ValidationError) as exc:
        make_activity(OWN, actor=users["guali"], problems_found=2, problems_solved=3)
    assert exc.value.message_dict["problems_solved"] == [
        "Problems solved (3) cannot be more than problems found (2)."]
    assert not ExpertActivity.objects.exists() and not AuditEntry.objects.exists()


def test_natural_key_unknown_fields_and_negative_counts(users):
    make_activity(OWN, expert_names="王建国")
    with pytest.raises(ValidationError) as exc:
        make_activity(OWN, expert_names="王建国", chief_designer_count=3)
    assert "already has a 现场指导 activity on 2020-06-01 with the same experts (王建国)" in \
        exc.value.message_dict["expert_names"][0]
    make_activity(OWN, expert_names="王建国", activity_type="review")  # another type: another activity
    with pytest.raises(ValidationError) as exc:
        make_activity(OWN, colour="red")
    assert list(exc.value.message_dict) == ["colour"]
    with pytest.raises(ValidationError) as exc:
        make_activity(OWN, expert_names="x", adviser_count=-1)
    assert "cannot be negative" in exc.value.message_dict["adviser_count"][0]
    with pytest.raises(ValidationError) as exc:
        make_activity("330109", expert_names="y")
    assert "belongs to a town" in exc.value.message_dict["town"][0]
    assert ExpertActivity.objects.count() == 2


def test_scope_of_writes(users):
    activity = make_activity(OWN)
    with pytest.raises(PermissionDenied):
        make_activity(OWN, actor=users["dayang"], expert_names="大洋")
    with pytest.raises(PermissionDenied):
        services.update_activity(users["dayang"], activity, problems_found=3)
    with pytest.raises(PermissionDenied):
        services.update_activity(users["guali"], activity, town=OrgUnit.objects.get(code=OTHER))
    with pytest.raises(PermissionDenied):
        services.delete_activity(users["guali_viewer"], activity)
    with pytest.raises(PermissionDenied):
        make_expert("王建国", OTHER, actor=users["guali"])
    assert ExpertActivity.objects.get().town_id == OWN and not Expert.objects.exists()


def test_assign_unassign_and_delete_expert(users):
    expert = make_expert("陈晓燕", "330109", actor=users["xiaoshan"])
    town = OrgUnit.objects.get(code=OWN)
    assignment = services.assign_expert(users["xiaoshan"], expert, town, since=date(2020, 1, 1))
    assert assignment.role == "resident_planner"
    with pytest.raises(ValidationError, match="already assigned"):
        services.assign_expert(users["xiaoshan"], expert, town)
    with pytest.raises(ValidationError) as exc:
        services.assign_expert(users["xiaoshan"], expert, OrgUnit.objects.get(code="330109"))
    assert "assigned to a town" in exc.value.message_dict["town"][0]
    with pytest.raises(PermissionDenied):
        services.assign_expert(users["xiaoshan"], expert, OrgUnit.objects.get(code=OTHER))
    with pytest.raises(ValidationError, match="mark the expert inactive"):
        services.delete_expert(users["xiaoshan"], expert)
    ended = services.unassign_expert(users["guali"], assignment, until=date(2020, 12, 31))
    assert ended.until == date(2020, 12, 31)
    services.unassign_expert(users["guali"], assignment)
    assert not ExpertAssignment.objects.exists()
    services.delete_expert(users["xiaoshan"], expert)
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["expert.create", "assignment.create", "assignment.end", "assignment.delete", "expert.delete"]


def test_update_without_change_writes_no_audit_row(users):
    activity = make_activity(OWN, problems_found=2)
    before = AuditEntry.objects.count()
    services.update_activity(users["guali"], activity, problems_found=2)
    assert AuditEntry.objects.count() == before
    services.update_activity(users["guali"], activity, problems_found=4, problems_solved=4)
    entry = AuditEntry.objects.latest("id")
    assert entry.action == "activity.update" and entry.changes == {"problems_found": [2, 4], "problems_solved": [0, 4]}


# --- API --------------------------------------------------------------------------------------------

@pytest.fixture
def activities(users):
    make_activity(OWN, date(2020, 3, 1), chief_designer_count=2, resident_planner_count=1, adviser_count=0,
                  problems_found=5, problems_solved=4, expert_names="甲、乙、丙")
    make_activity("330109001", date(2020, 9, 1), activity_type="training", chief_designer_count=0,
                  resident_planner_count=3, adviser_count=2, problems_found=1, problems_solved=1)
    make_activity(OTHER, date(2020, 5, 1), chief_designer_count=1, resident_planner_count=1, adviser_count=1,
                  problems_found=2, problems_solved=2)
    make_activity(OWN, date(2019, 12, 31), chief_designer_count=1, problems_found=9, problems_solved=9)


def test_summary_for_a_subtree_and_year(api_for, activities):
    api = api_for("hangzhou")
    got = api.get("/api/expert-activities/summary/", {"org": "3301", "year": 2020}).json()
    assert got == {"org": "3301", "activities": 3,
                   "person_times": {"chief_designer": 3, "resident_planner": 5, "development_adviser": 3,
                                    "total": 11},
                   "problems_found": 8, "problems_solved": 7}
    xiaoshan = api.get("/api/expert-activities/summary/", {"org": "330109", "date_from": "2020-01-01",
                                                           "date_to": "2020-12-31", "type": "training"}).json()
    assert xiaoshan["activities"] == 1 and xiaoshan["person_times"]["total"] == 5
    advisers = api.get("/api/expert-activities/summary/", {"org": "3301", "kind": "development_adviser"}).json()
    assert advisers["activities"] == 2
    # 瓜沥镇 sees its own town only; 建德 is not found; a bad year is a 400 that says why.
    guali = api_for("guali")
    assert guali.get("/api/expert-activities/summary/", {"year": 2020}).json()["activities"] == 1
    assert guali.get("/api/expert-activities/summary/", {"org": "330182"}).status_code == 404
    bad = guali.get("/api/expert-activities/summary/", {"year": "twenty"})
    assert bad.status_code == 400 and "year" in bad.json()


def test_api_list_filters_and_validation(api_for, activities):
    api = api_for("hangzhou")
    rows = api.get("/api/expert-activities/", {"org": "330109", "year": 2020}).json()["results"]
    assert {r["town"] for r in rows} == {OWN, "330109001"}
    assert rows[0]["person_times"] == 5 and "town_name" in rows[0]
    refused = api_for("guali").post("/api/expert-activities/", {
        "town": OWN, "date": "2020-07-01", "activity_type": "review", "problems_found": 1, "problems_solved": 2},
        format="json")
    assert refused.status_code == 400
    assert refused.json()["problems_solved"] == ["解决问题数（2）不能多于发现问题数（1）。"]
    negative = api_for("guali").post("/api/expert-activities/", {
        "town": OWN, "date": "2020-07-01", "activity_type": "review", "adviser_count": -1}, format="json")
    assert negative.status_code == 400 and "adviser_count" in negative.json()
    schema = api.get("/api/schema/", {"format": "json"}).json()
    assert "/api/expert-activities/summary/" in schema["paths"]


# --- pages --------------------------------------------------------------------------------------------

def test_activity_page_kpis_and_standard_export(client_for, activities):
    client = client_for("hangzhou")
    html = client.get(reverse("expert-activity-list"), {"year": 2020}).content.decode()
    assert 'id="kpi-activities">3<' in html and 'id="kpi-person-times">11 ' in html
    assert 'id="kpi-problems-solved">7<' in html
    body = client.get(reverse("expert-activity-list"), {"export": "csv", "org": "330109", "sort": "date"}).content
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["活动日期", "乡镇代码", "活动类型", "首席设计师人次", "驻镇规划师人次", "发展师人次", "发现问题数",
                       "解决问题数", "专家姓名"]
    assert rows[1] == ["2019-12-31", OWN, "现场指导", "1", "1", "0", "9", "9", ""]
    assert rows[3][2] == "专题培训"


def test_activity_form_create_edit_delete(client_for, users):
    client = client_for("guali")
    assert client.get(reverse("expert-activity-create")).status_code == 200
    data = {"date": "2020-08-08", "town": OWN, "activity_type": "review", "chief_designer_count": 1,
            "resident_planner_count": 2, "adviser_count": 0, "problems_found": 3, "problems_solved": 4,
            "expert_names": "王建国"}
    bad = client.post(reverse("expert-activity-create"), data)
    assert bad.status_code == 200 and "不能多于发现问题数" in bad.content.decode()
    outside = client.post(reverse("expert-activity-create"), {**data, "problems_solved": 1, "town": OTHER})
    assert outside.status_code == 200 and not ExpertActivity.objects.exists()
    done = client.post(reverse("expert-activity-create"), {**data, "problems_solved": 1})
    assert done.status_code == 302
    activity = ExpertActivity.objects.get()
    edit = reverse("expert-activity-edit", args=[activity.pk])
    assert client.post(edit, {**data, "problems_solved": 3}).status_code == 302
    assert ExpertActivity.objects.get().problems_solved == 3
    viewer = client_for("guali_viewer")
    assert viewer.get(edit).status_code == 200
    assert viewer.post(edit, {**data, "problems_solved": 0}).status_code == 403
    assert viewer.post(edit, {"op": "delete"}).status_code == 403
    assert client_for("dayang").get(edit).status_code == 404
    assert client_for("guali").post(edit, {"op": "delete"}).status_code == 302
    assert not ExpertActivity.objects.exists()
    assert AuditEntry.objects.filter(action__startswith="activity.").count() == 3


def test_expert_pages_create_assign_unassign(client_for, users):
    client = client_for("xiaoshan")
    response = client.post(reverse("expert-create"), {"name": "陈晓燕", "kind": "development_adviser",
                                                      "home": "330109", "active": "on"})
    assert response.status_code == 302
    expert = Expert.objects.get()
    detail = reverse("expert-detail", args=[expert.pk])
    assert client.post(detail, {"op": "assign", "town": OTHER}).status_code == 200  # outside: error on the form
    assert client.post(detail, {"op": "assign", "town": OWN, "since": "2020-01-01"}).status_code == 302
    make_activity(OWN, expert_names="陈晓燕")
    html = client.get(detail).content.decode()
    assert "瓜沥镇" in html and "发展师" in html and 'id="expert-activities"' in html
    assert expert.activities.count() == 1
    assignment = ExpertAssignment.objects.get()
    assert client.post(detail, {"op": "unassign", "assignment": assignment.pk}).status_code == 302
    assert not ExpertAssignment.objects.exists()
    edit = reverse("expert-edit", args=[expert.pk])
    assert client.post(edit, {"name": "陈晓燕", "kind": "development_adviser", "home": "330109",
                              "employer": "浙江农林大学"}).status_code == 302
    expert.refresh_from_db()
    assert expert.employer == "浙江农林大学" and expert.active is False
    assert client_for("guali").get(edit).status_code == 404  # kept by 萧山区: not in 瓜沥镇's area
    pool = client_for("hangzhou").get(reverse("expert-list"), {"export": "json"}).json()
    assert pool[0]["name"] == "陈晓燕"
