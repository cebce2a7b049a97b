"""Work plans: progress worked out by hand on a small ledger, the live refresh, scope (pages, API, services), the
audit trail, the API's shape, the pages, the headings as data, the cockpit panel and the demo."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from townbrain.core import codes
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects import services as project_services
from townbrain.projects.tests.test_projects import make_project
from townbrain.testing.cases import APITests, ViewTests
from townbrain.workplans import demo, headings, progress, services
from townbrain.workplans.models import WorkPlan, WorkPlanItem

pytestmark = pytest.mark.django_db

GUALI, DAYANG, XIAOSHAN = "330109113", "330182107", "330109"
PAST, FUTURE = date(2020, 12, 31), date(2099, 12, 31)


def make_plan(code, title=None, kind="town", actor=SYSTEM, **fields):
    return services.create_plan(actor, org_unit=OrgUnit.objects.get(code=code), kind=kind,
                                title=title or f"{code} 美丽城镇建设行动方案", **fields)


@pytest.fixture
def ledger(users):
    """Four projects of 瓜沥镇 (万元): A started (total 1000, annual 400, done 300), B completed (500, 500, 500),
    C planned (2000, 0, 0), D cancelled (100, 100, 0)."""
    a = make_project(GUALI, code="A", total_investment=Decimal(1000), annual_plan=Decimal(400), status="started",
                     actual_start=date(2020, 3, 5))
    project_services.report_progress(SYSTEM, a, "202006", month_investment=Decimal(300),
                                     cumulative_investment=Decimal(300), progress_percent=Decimal(30),
                                     status="started")
    b = make_project(GUALI, code="B", total_investment=Decimal(500), annual_plan=Decimal(500), status="started",
                     actual_start=date(2020, 3, 1))
    project_services.report_progress(SYSTEM, b, "202010", month_investment=Decimal(500),
                                     cumulative_investment=Decimal(500), progress_percent=Decimal(100),
                                     status="completed")
    c = make_project(GUALI, code="C", total_investment=Decimal(2000), annual_plan=Decimal(0))
    d = make_project(GUALI, code="D", total_investment=Decimal(100), annual_plan=Decimal(100), status="cancelled")
    return {p.code: p for p in (a, b, c, d)}


@pytest.fixture
def plan(ledger):
    """瓜沥镇's plan: item 1 (环境美, due 2020-12-31) links A and B; item 2 (产业美, due 2099) links B, C and D."""
    plan = make_plan(GUALI, title="瓜沥镇美丽城镇建设行动方案", start_year=2020, end_year=2022)
    services.add_item(SYSTEM, plan, heading="环境美", goal="污水零直排", deadline=PAST, owner="镇城建办",
                      projects=["A", "B"])
    services.add_item(SYSTEM, plan, heading="产业美", goal="产业园提升", deadline=FUTURE, projects=["B", "C", "D"])
    return plan


# --- progress: computed, never typed ------------------------------------------------------------------

def test_progress_by_hand(plan, ledger):
    items = list(plan.items.select_related("heading").prefetch_related(progress.linked_projects()))
    progress.attach_items(plan, items)
    one, two = (i.figures for i in items)
    # Item 1: A and B both started (100%); done 300 + 500 = 800 of the annual 900 (88.9%) and of the total 1,500
    # (53.3%); due in 2020 with A not completed: overdue.
    assert (one.projects, one.counted, one.started, one.completed) == (2, 2, 2, 1)
    assert (one.start_rate, one.investment_rate, one.progress) == (100.0, 88.9, 53.3)
    assert one.investment_total == Decimal(1500) and one.overdue and not one.done
    # Item 2: D is cancelled and counts for nothing; of B and C one started (50%); 500 of the annual 500 (100%)
    # and of the total 2,500 (20%); due in 2099: not overdue.
    assert (two.projects, two.counted, two.started, two.completed) == (3, 2, 1, 1)
    assert (two.start_rate, two.completion_rate, two.investment_rate, two.progress) == (50.0, 50.0, 100.0, 20.0)
    assert not two.overdue
    # The plan counts B once: A, B, C counted (D cancelled), two started (66.7%); 800 of the annual 900 (88.9%)
    # and of the total 3,500 (22.9%); one of two items overdue.
    f = plan.figures
    assert (f.projects, f.counted, f.started, f.completed) == (4, 3, 2, 1)
    assert (f.start_rate, f.investment_rate, f.progress) == (66.7, 88.9, 22.9)
    assert (f.items, f.done_items, f.overdue_items) == (2, 0, 1)
    # The list's batch computation gives the same figures.
    listed = WorkPlan.objects.filter(pk=plan.pk).with_progress()[0]
    assert listed.figures == f


def test_progress_follows_the_ledger_live(plan, ledger, api_for, client_for):
    api = api_for("guali")
    assert api.get(f"/api/work-plans/{plan.pk}/").json()["progress"]["started"] == 2
    page = client_for("guali").get(reverse("workplan-detail", args=[plan.pk]))
    fingerprint = page.context["fingerprint"]
    live = reverse("workplan-progress", args=[plan.pk])
    assert client_for("guali").get(live, {"since": fingerprint}).status_code == 204  # nothing new: nothing sent
    # C starts and reports 200 万元: the plan's figures move with no one touching the plan.
    c = project_services.update_project(SYSTEM, ledger["C"], status="started", actual_start=date(2020, 7, 1))
    project_services.report_progress(SYSTEM, c, "202007", month_investment=Decimal(200),
                                     cumulative_investment=Decimal(200), progress_percent=Decimal(10),
                                     status="started")
    got = api.get(f"/api/work-plans/{plan.pk}/").json()["progress"]
    assert (got["started"], got["start_rate"], got["investment_done"], got["progress"]) == (3, 100.0, 1000.0, 28.6)
    fresh = client_for("guali").get(live, {"since": fingerprint})
    assert fresh.status_code == 200 and fresh.context["fingerprint"] != fingerprint
    assert 'hx-trigger="every 10s"' in fresh.content.decode()


def test_an_item_without_projects_by_its_deadline_is_overdue(users):
    plan = make_plan(GUALI)
    services.add_item(SYSTEM, plan, heading="治理美", goal="建成乡村小脑", deadline=PAST)
    services.add_item(SYSTEM, plan, heading="治理美", goal="完善四平台")  # no deadline: never overdue
    assert (plan.figures.items, plan.figures.overdue_items, plan.figures.start_rate) == (2, 1, None)


# --- scope ----------------------------------------------------------------------------------------------

def test_a_town_sees_its_own_plans_only(plan, users, api_for, client_for):
    other = make_plan(DAYANG, title="大洋镇方案")
    county = make_plan(XIAOSHAN, title="萧山区十个统筹", kind="county")
    api = api_for("guali")
    assert [r["title"] for r in api.get("/api/work-plans/").json()["results"]] == ["瓜沥镇美丽城镇建设行动方案"]
    assert api.get(f"/api/work-plans/{other.pk}/").status_code == 404
    assert api.get(f"/api/work-plans/{county.pk}/").status_code == 404  # the county's plan is above the town
    assert api.get("/api/work-plans/", {"org": DAYANG}).json()["results"] == []
    item = services.add_item(SYSTEM, other, heading="环境美", goal="大洋镇的目标")
    assert api.get(f"/api/work-plan-items/{item.pk}/").status_code == 404
    assert api.post(f"/api/work-plan-items/{item.pk}/link/", {"projects": ["A"]}, format="json").status_code == 404
    client = client_for("guali")
    assert client.get(reverse("workplan-detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("workplan-progress", args=[other.pk])).status_code == 404
    assert client.get(reverse("workplan-item-edit", args=[item.pk])).status_code == 404
    # The county office sees both of its area, the town's and its own.
    titles = {r["title"] for r in api_for("xiaoshan").get("/api/work-plans/", {"org": XIAOSHAN}).json()["results"]}
    assert titles == {"瓜沥镇美丽城镇建设行动方案", "萧山区十个统筹"}


def test_viewers_read_but_do_not_change(plan, users, api_for, client_for):
    assert api_for("guali_viewer").patch(f"/api/work-plans/{plan.pk}/", {"title": "改"}, format="json").status_code == 403
    item = plan.items.first()
    assert api_for("guali_viewer").post(f"/api/work-plan-items/{item.pk}/unlink/", {"projects": ["A"]},
                                        format="json").status_code == 403
    client = client_for("guali_viewer")
    page = client.get(reverse("workplan-detail", args=[plan.pk]))
    assert page.status_code == 200 and 'id="item-form"' not in page.content.decode()
    assert client.post(reverse("workplan-detail", args=[plan.pk]), {"op": "item"}).status_code == 403
    assert client.post(reverse("workplan-item-edit", args=[item.pk]), {"op": "edit"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.update_item(users["dayang"], item, goal="越权")


def test_rules(ledger, users):
    make_project(DAYANG, code="DY")
    with pytest.raises(ValidationError) as exc:
        make_plan(XIAOSHAN, kind="town")
    assert "org_unit" in exc.value.message_dict  # 一镇一方案 belongs to a town
    with pytest.raises(ValidationError) as exc:
        make_plan(GUALI, start_year=2022, end_year=2020)
    assert "end_year" in exc.value.message_dict
    plan = make_plan(GUALI, title="同名")
    with pytest.raises(ValidationError):
        make_plan(GUALI, title="同名")
    with pytest.raises(ValidationError) as exc:
        services.add_item(SYSTEM, plan, heading="基础设施", goal="x")  # a 统筹 heading, not one of 美丽城镇's
    assert "heading" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.add_item(SYSTEM, plan, heading="环境美", goal="x", projects=["DY", "NOPE"])
    assert exc.value.message_dict["projects"] == ["瓜沥镇 has no project with code DY.",
                                                  "瓜沥镇 has no project with code NOPE."]
    services.add_item(SYSTEM, plan, heading="环境美", goal="一个目标")
    with pytest.raises(ValidationError):
        services.add_item(SYSTEM, plan, heading="gongneng", goal="一个目标")  # the same item twice
    services.add_item(SYSTEM, plan, heading="生活美", goal="一个目标")  # the same goal under another heading
    with pytest.raises(ValidationError) as exc:
        services.update_plan(SYSTEM, plan, programme="tongchou")
    assert "programme" in exc.value.message_dict


def test_headings_are_the_programmes_categories():
    meili = Programme.objects.get(code="meili")
    tongchou = Programme.objects.get(code="tongchou")
    # The ten 统筹 of 余杭's work plans, in their order (programmes' data, brought there by workplans 0002).
    assert [c.name for c in headings.headings_of(tongchou)] == [
        "统筹管理体制机制", "统筹基础设施", "统筹就业和社会保障", "统筹生态文明", "统筹城乡规划", "统筹资源要素配置",
        "统筹产业发展", "统筹社会事业", "统筹土地利用和管理", "统筹农村新型集体经济"]
    words = {"环境美": "gongneng", "生活美": "gongxiang", "产业美": "xingye", "人文美": "renwen", "治理美": "shanzhi",
             "功能便民环境美": "gongneng", "gongneng": "gongneng", "体制机制": "ronghe"}
    assert {w: headings.find(meili, w).code for w in words} == words
    words = {"体制机制": "tizhi", "城乡基础设施建设": "jichu", "就业与社会保障": "jiuye", "生态文明建设": "shengtai",
             "生态环境": "shengtai", "城乡各类规划": "guihua", "资源要素配置": "ziyuan", "产业发展": "chanye",
             "社会事业发展": "shehuishiye", "城乡土地利用和管理": "tudi", "农村新型集体经济发展": "jiti"}
    assert {w: headings.find(tongchou, w).code for w in words} == words
    with pytest.raises(ValidationError, match="several headings"):
        headings.find(tongchou, "管理")  # 管理体制机制 or 土地利用和管理


# --- audit ----------------------------------------------------------------------------------------------

def test_every_write_is_audited_under_the_plans_unit(ledger, users):
    actor = users["guali"]
    plan = make_plan(GUALI, actor=actor)
    services.update_plan(actor, plan, status="approved")
    services.update_plan(actor, plan, status="approved")  # no change, no row
    item = services.add_item(actor, plan, heading="环境美", goal="污水零直排", projects=["A"])
    services.link_projects(actor, item, ["B", "A"])
    services.link_projects(actor, item, ["B"])  # already linked: no row
    services.unlink_projects(actor, item, ["A"])
    services.update_item(actor, item, deadline=PAST, projects=["C"])
    services.delete_item(actor, item)
    services.delete_plan(actor, plan)
    rows = list(AuditEntry.objects.filter(action__startswith="workplan").order_by("pk"))
    assert [r.action for r in rows] == ["workplan.create", "workplan.update", "workplanitem.create",
                                        "workplanitem.link", "workplanitem.unlink", "workplanitem.update",
                                        "workplanitem.delete", "workplan.delete"]
    assert {r.org_code for r in rows} == {GUALI} and {r.actor for r in rows} == {actor}
    assert rows[1].changes == {"status": ["draft", "approved"]}
    assert rows[2].changes["projects"] == [None, "A"]
    assert rows[3].changes == {"projects": ["A", "A、B"]}
    assert rows[4].changes == {"projects": ["A、B", "B"]}
    assert rows[5].changes == {"deadline": [None, "2020-12-31"], "projects": ["B", "C"]}
    assert not WorkPlan.objects.exists() and not WorkPlanItem.objects.exists()


# --- API ------------------------------------------------------------------------------------------------

def test_api_list_and_detail_shape(plan, api_for, django_assert_max_num_queries):
    api = api_for("guali")
    make_plan(GUALI, title="第二个方案")
    with django_assert_max_num_queries(8):  # plans and their progress in a fixed number of queries
        data = api.get("/api/work-plans/", {"org": GUALI}).json()
    assert data["count"] == 2
    row = next(r for r in data["results"] if r["id"] == plan.pk)
    assert {k: row[k] for k in ("org_unit", "org_unit_name", "kind", "programme", "start_year", "end_year",
                                "status")} == {"org_unit": GUALI, "org_unit_name": "瓜沥镇", "kind": "town",
                                               "programme": "meili", "start_year": 2020, "end_year": 2022,
                                               "status": "draft"}
    assert row["progress"]["start_rate"] == 66.7 and row["progress"]["overdue_items"] == 1
    detail = api.get(f"/api/work-plans/{plan.pk}/").json()
    assert [(i["heading"], i["heading_name"], i["goal"], i["projects"]) for i in detail["items"]] == [
        ("gongneng", "功能便民环境美", "污水零直排", ["A", "B"]), ("xingye", "兴业富民产业美", "产业园提升", ["B", "C", "D"])]
    first = detail["items"][0]
    assert first["deadline"] == "2020-12-31" and first["owner"] == "镇城建办"
    assert first["progress"]["overdue"] is True and first["progress"]["progress"] == 53.3
    assert first["project_details"][0] == {"id": first["project_details"][0]["id"], "code": "A",
                                           "name": f"项目 {GUALI}", "town": GUALI, "status": "started"}
    assert [(h["code"], h["progress"]["projects"]) for h in detail["headings"]] == [("gongneng", 2), ("xingye", 3)]


def test_api_writes_go_through_the_services(ledger, api_for):
    api = api_for("guali")
    response = api.post("/api/work-plans/", {"org_unit": GUALI, "kind": "town", "title": "新方案"}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["programme"] == "meili"  # a town's plan: 美丽城镇 by default
    item = api.post("/api/work-plan-items/", {"plan": pk, "heading": "人文美", "goal": "文化礼堂",
                                              "deadline": "2021-06-30", "projects": ["A"]}, format="json")
    assert item.status_code == 201, item.content
    assert item.json()["heading"] == "renwen" and item.json()["projects"] == ["A"]
    linked = api.post(f"/api/work-plan-items/{item.json()['id']}/link/", {"projects": ["B"]}, format="json")
    assert linked.status_code == 200 and linked.json()["projects"] == ["A", "B"]
    bad = api.post(f"/api/work-plan-items/{item.json()['id']}/link/", {"projects": ["ZZ"]}, format="json")
    assert bad.status_code == 400 and "ZZ" in str(bad.json())
    patched = api.patch(f"/api/work-plan-items/{item.json()['id']}/", {"projects": ["C"], "owner": "镇文化站"},
                        format="json")
    assert patched.status_code == 200 and patched.json()["projects"] == ["C"]
    assert api.patch(f"/api/work-plans/{pk}/", {"kind": "county"}, format="json").status_code == 400
    assert AuditEntry.objects.filter(object_type="workplanitem", object_id=str(item.json()["id"])).count() == 3


class TestWorkPlanAPI(APITests):
    basename = "workplan"
    update_data = {"title": "改过的方案名称"}

    def make(self, town_code):
        return make_plan(town_code)

    def create_data(self, town_code):
        return {"org_unit": town_code, "kind": "town", "title": "新建方案", "start_year": 2020, "end_year": 2022}


class TestWorkPlanItemAPI(APITests):
    basename = "workplanitem"
    update_data = {"goal": "改过的目标"}

    def make(self, town_code):
        return services.add_item(SYSTEM, make_plan(town_code), heading="环境美", goal=f"目标 {town_code}")

    def create_data(self, town_code):
        plan = WorkPlan.objects.filter(org_unit_id=town_code).first() or make_plan(town_code)
        return {"plan": plan.pk, "heading": "生活美", "goal": "新目标"}


# --- pages ----------------------------------------------------------------------------------------------

class TestWorkPlanViews(ViewTests):
    list_url_name = "workplan-list"
    detail_url_name = "workplan-detail"
    text_of = staticmethod(lambda p: p.title)

    def make(self, town_code):
        return make_plan(town_code)


def test_pages_render_for_an_office_user(plan, client_for, django_assert_max_num_queries):
    client = client_for("hangzhou")
    with django_assert_max_num_queries(20):
        listing = client.get(reverse("workplan-list"))
    assert listing.status_code == 200 and "瓜沥镇美丽城镇建设行动方案" in listing.content.decode()
    page = client.get(reverse("workplan-detail", args=[plan.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    for fragment in ("workplan-live", "heading-gongneng", "heading-renwen", "污水零直排", "data-overdue",
                     reverse("project-detail", args=[plan.items.first().projects.first().pk]), 'id="item-form"'):
        assert fragment in text, fragment
    assert client.get(reverse("workplan-create")).status_code == 200
    item = plan.items.first()
    assert client.get(reverse("workplan-item-edit", args=[item.pk])).status_code == 200
    assert client.get(reverse("workplan-list"), {"export": "csv"}).content.decode("utf-8-sig").count("瓜沥镇") >= 1


def test_forms_add_edit_and_link(ledger, client_for):
    client = client_for("guali")
    response = client.post(reverse("workplan-create"), {"org_unit": GUALI, "kind": "town", "title": "页面方案",
                                                         "status": "draft"})
    plan = WorkPlan.objects.get(title="页面方案")
    assert response.status_code == 302 and response["Location"] == plan.get_absolute_url()
    heading = Programme.objects.get(code="meili").categories.get(code="xingye")
    response = client.post(plan.get_absolute_url(), {"op": "item", "heading": heading.pk, "goal": "产业园配套",
                                                     "deadline": "2021-12-31", "projects": [ledger["A"].pk]})
    assert response.status_code == 302
    item = plan.items.get()
    assert [p.code for p in item.projects.all()] == ["A"]
    response = client.post(reverse("workplan-item-edit", args=[item.pk]), {
        "op": "edit", "heading": heading.pk, "goal": "产业园配套", "owner": "镇经发办",
        "projects": [ledger["B"].pk, ledger["C"].pk]})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.owner == "镇经发办" and sorted(p.code for p in item.projects.all()) == ["B", "C"]
    # A project of another town is not a choice of the form.
    other = make_project(DAYANG, code="DY")
    response = client.post(reverse("workplan-item-edit", args=[item.pk]), {
        "op": "edit", "heading": heading.pk, "goal": "产业园配套", "projects": [other.pk]})
    assert response.status_code == 200 and response.context["form"].errors["projects"]
    client.post(reverse("workplan-item-edit", args=[item.pk]), {"op": "delete"})
    assert not plan.items.exists()


# --- cockpit and demo -----------------------------------------------------------------------------------

def test_cockpit_panel(plan, users):
    from townbrain.cockpit import figures

    programme = Programme.objects.get(code="meili")
    cockpit = figures.build(users["xiaoshan"], OrgUnit.objects.get(code=XIAOSHAN), programme, "202006")
    data = {p.key: d for p, d in cockpit.sections}["workplans"]
    assert {c.key: c.value for c in data.cards} == {"plans": "1", "items": "2", "overdue": "1", "progress": "22.9%"}
    assert data.tables[0].rows == [["瓜沥镇美丽城镇建设行动方案", "瓜沥镇", "One plan per town (一镇一方案)", 2, 1, 66.7, 22.9]]
    assert data.tables[0].links == [plan.get_absolute_url()]
    other = figures.build(users["dayang"], OrgUnit.objects.get(code=DAYANG), programme, "202006")
    assert "workplans" not in {p.key for p, _d in other.sections}


DEMO_UNITS = {"330110": "余杭区", "330110100": "径山镇", "330109101": "河上镇"}


def test_demo_plans_link_the_ledger_and_load_once(users):
    OrgUnit.objects.bulk_create([OrgUnit(code=c, name=n, level=codes.level_of(c), parent_id=codes.parent_of(c),
                                         town_kind=codes.town_kind(c)) for c, n in sorted(DEMO_UNITS.items())])
    make_project(GUALI, code="HZ-1", name="瓜沥镇污水管网改造")
    make_project(GUALI, code="HZ-2", name="瓜沥镇文化礼堂建设")
    make_project("330110100", code="HZ-3", name="径山镇道路提升")
    assert demo.load() == {"work_plans": 3}  # 瓜沥镇, 河上镇 and 余杭区 (昌化镇 is not in the test tree)
    assert demo.load() == {"work_plans": 3}  # idempotent: nothing made twice
    assert AuditEntry.objects.filter(action="workplan.create").count() == 3
    guali = WorkPlan.objects.get(org_unit_id=GUALI)
    linked = {i.heading.code: [p.code for p in i.projects.all()] for i in guali.items.all() if i.projects.exists()}
    assert linked == {"gongneng": ["HZ-1"], "renwen": ["HZ-2"]}
    county = WorkPlan.objects.get(org_unit_id="330110")
    assert county.kind == "county" and county.programme.code == "tongchou" and county.items.count() == 10
    assert [p.code for p in county.items.get(heading__code="jichu").projects.all()] == ["HZ-3"]
