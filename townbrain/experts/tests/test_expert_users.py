"""Experts as users (issue 13 item 4): an expert's login sees the towns of the expert's current assignments
and nothing else, records their own activities and problems there (pages and API), and reads other
experts' contact details masked; offices keep theirs; an office administrator gives the login."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from townbrain.access import services as access_services
from townbrain.access.scoping import restrict_users
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM, scope_prefixes
from townbrain.experts import services
from townbrain.experts.models import ExpertActivity, ExpertProblem
from townbrain.programmes.models import Programme
from townbrain.projects import services as project_services
from townbrain.testing.users import PASSWORD
from townbrain.tests import test_layout_browser as layout

from .conftest import OTHER, OWN, make_activity, make_expert

pytestmark = pytest.mark.django_db

PHONE, MASKED = "13812345678", "138****5678"


def web(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def token_api(username: str) -> APIClient:
    """An API client that logs in like a phone app does: POST /api/auth/token/, then the token header."""
    response = APIClient().post("/api/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return api


def make_project(town_code: str, code: str, name: str):
    programme, _ = Programme.objects.get_or_create(code="meili", defaults={"name": "美丽城镇"})
    return project_services.create_project(
        SYSTEM, code=code, name=name, town=OrgUnit.objects.get(code=town_code), programme=programme,
        total_investment=Decimal("800"), annual_plan=Decimal("300"), planned_start=date(2020, 3, 1),
        planned_completion=date(2021, 6, 30))


def expert_with_login(name, username, towns=(OWN,), since=date(2020, 1, 1), until=None, **fields):
    """An expert kept by 杭州市 (3301), assigned to `towns`, with a login made the way an office makes it."""
    expert = make_expert(name, "3301", **fields)
    for code in towns:
        services.assign_expert(SYSTEM, expert, OrgUnit.objects.get(code=code), since=since, until=until)
    services.create_login(SYSTEM, expert, username, PASSWORD)
    expert.refresh_from_db()
    return expert


@pytest.fixture
def wang(users):
    """王建国, resident planner of 瓜沥镇 since 2020, logging in as `wang`."""
    return expert_with_login("王建国", "wang", phone=PHONE, email="wang@example.org")


@pytest.fixture
def world(users):
    return {"own_project": make_project(OWN, "GL-001", "瓜沥镇美丽街区"),
            "other_project": make_project(OTHER, "DY-001", "大洋镇污水管网改造"),
            "other_activity": make_activity(OTHER, expert_names="大洋专家")}


# --- scope -----------------------------------------------------------------------------------------------

def test_an_expert_sees_the_towns_of_current_assignments_and_nothing_else(wang, world):
    user = wang.user
    assert scope_prefixes(user, "view") == {OWN}
    assert scope_prefixes(user, "record") == {OWN}
    # No office right anywhere: nothing to add, change or manage, no contact details.
    assert all(scope_prefixes(user, a) == set() for a in ("add", "change", "delete", "manage", "contact"))
    client = web(user)
    assert client.get(reverse("orgunit-detail", args=[OWN])).status_code == 200
    assert client.get(reverse("orgunit-detail", args=[OTHER])).status_code == 404
    assert client.get(reverse("orgunit-detail", args=["3301"])).status_code == 404  # no roll-up of the city
    # The town's projects, read-only; the other town's are not found.
    assert client.get(reverse("project-detail", args=[world["own_project"].pk])).status_code == 200
    assert client.post(reverse("project-detail", args=[world["own_project"].pk]), {"period": "202405"}
                       ).status_code == 403  # no monthly report: the projects are read-only to an expert
    assert client.get(reverse("project-detail", args=[world["other_project"].pk])).status_code == 404
    listed = client.get(reverse("project-list")).content.decode()
    assert "瓜沥镇美丽街区" in listed and "大洋镇" not in listed
    # The API answers alike, with a token: 404 outside.
    api = token_api("wang")
    assert api.get(f"/api/projects/{world['own_project'].pk}/").status_code == 200
    assert api.get(f"/api/projects/{world['other_project'].pk}/").status_code == 404
    assert api.get(f"/api/expert-activities/{world['other_activity'].pk}/").status_code == 404
    assert api.get("/api/rollups/", {"org": "3301", "programme": "meili", "period": "202405"}).status_code == 404
    assert api.get("/api/rollups/", {"org": OWN, "programme": "meili", "period": "202405"}).status_code == 200


def test_no_user_lists_and_no_admin_pages_for_an_expert(wang, users):
    client = web(wang.user)
    assert client.get(reverse("user-list")).status_code == 403
    assert client.get(reverse("programme-list")).status_code in (403, 404)
    api = token_api("wang")
    # guali holds a role in 瓜沥镇, the expert's town: still not listed — accounts are offices' business.
    assert [u["username"] for u in api.get("/api/users/").json()["results"]] == ["wang"]
    assert api.get("/api/memberships/").json()["results"] == []


@pytest.mark.parametrize("since, until", [
    (date(2020, 1, 1), "yesterday"),  # the assignment ended
    ("tomorrow", None),  # it has not begun
])
def test_outside_the_assignment_period_the_login_sees_nothing(users, world, since, until):
    today = timezone.localdate()
    days = {"yesterday": today - timedelta(days=1), "tomorrow": today + timedelta(days=1)}
    expert = expert_with_login("李明", "li", since=days.get(since, since), until=days.get(until, until))
    activity = make_activity(OWN, expert_names="李明")
    assert scope_prefixes(expert.user, "view") == set()
    client = web(expert.user)
    assert client.get(reverse("orgunit-detail", args=[OWN])).status_code == 404
    assert client.get(reverse("expert-activity-edit", args=[activity.pk])).status_code == 404
    assert "no current assignment" in client.get(reverse("expert-home")).content.decode()
    api = token_api("li")
    assert api.get(f"/api/projects/{world['own_project'].pk}/").status_code == 404
    assert api.post("/api/expert-activities/", {"town": OWN, "date": "2020-06-18", "activity_type": "site_visit"},
                    format="json").status_code == 403


def test_ending_the_assignment_or_retiring_the_expert_ends_access(wang):
    assignment = wang.assignments.get()
    services.unassign_expert(SYSTEM, assignment, until=timezone.localdate() - timedelta(days=1))
    wang.user.refresh_from_db()
    assert scope_prefixes(wang.user, "view") == set()
    services.assign_expert(SYSTEM, wang, OrgUnit.objects.get(code=OWN), since=date(2021, 1, 1))
    user = get_user_model().objects.get(pk=wang.user_id)  # a fresh request: the scope is read again
    assert scope_prefixes(user, "view") == {OWN}
    services.update_expert(SYSTEM, wang, active=False)  # left the pool
    user = get_user_model().objects.get(pk=wang.user_id)
    assert scope_prefixes(user, "view") == set()


# --- recording their own activities and problems ------------------------------------------------------------

def test_an_expert_records_an_activity_and_a_problem_on_the_pages(wang):
    client = web(wang.user)
    form = client.get(reverse("expert-activity-create"))
    # On a phone: the town is a choice of the expert's towns, their own name and one 人次 are filled in.
    html = form.content.decode()
    assert f'<option value="{OWN}"' in html and OTHER not in html and 'value="王建国"' in html
    response = client.post(reverse("expert-activity-create"), {
        "date": "2024-05-06", "town": OWN, "activity_type": "site_visit", "chief_designer_count": 0,
        "resident_planner_count": 1, "adviser_count": 0, "problems_found": 0, "problems_solved": 0,
        "expert_names": "王建国", "note": "现场踏勘"})
    assert response.status_code == 302 and response["Location"] == reverse("expert-home")
    activity = ExpertActivity.objects.get(town_id=OWN, date=date(2024, 5, 6))
    assert activity.recorded_by == wang
    response = client.post(reverse("expert-problem-create", args=[activity.pk]), {
        "activity": activity.pk, "description": "污水管网雨污混接", "owner": "镇建设办", "due_date": "2024-06-30"})
    assert response.status_code == 302
    problem = ExpertProblem.objects.get(activity=activity)
    # Their own activity and problem stay theirs to change: edit, then a status step.
    response = client.post(reverse("expert-activity-edit", args=[activity.pk]), {
        "date": "2024-05-06", "town": OWN, "activity_type": "review", "chief_designer_count": 0,
        "resident_planner_count": 1, "adviser_count": 0, "expert_names": "王建国", "note": "方案评审"})
    assert response.status_code == 302
    assert client.post(reverse("expert-problem-edit", args=[problem.pk]), {"op": "step", "step": "start"}
                       ).status_code == 302
    problem.refresh_from_db()
    assert problem.status == "in_progress"
    # The audit trail names the expert's login, filed in the town.
    rows = AuditEntry.objects.filter(actor=wang.user).order_by("pk")
    assert [(r.action, r.org_code) for r in rows] == [
        ("activity.create", OWN), ("problem.create", OWN), ("activity.update", OWN), ("activity.update", OWN),
        ("problem.start", OWN)]
    assert rows[0].changes["recorded_by"] == [None, wang.pk]
    home = client.get(reverse("expert-home")).content.decode()
    assert "瓜沥镇" in home and "污水管网雨污混接" in home and 'id="record-activity"' in home


def test_an_expert_records_through_the_api_with_a_token(wang, world):
    api = token_api("wang")
    created = api.post("/api/expert-activities/", {"town": OWN, "date": "2024-05-07", "activity_type": "training",
                                                   "adviser_count": 0, "resident_planner_count": 1,
                                                   "expert_names": "王建国"}, format="json")
    assert created.status_code == 201, created.content
    activity_id = created.json()["id"]
    assert ExpertActivity.objects.get(pk=activity_id).recorded_by == wang
    problem = api.post("/api/expert-problems/", {"activity": activity_id, "description": "游步道照明不足"},
                       format="json")
    assert problem.status_code == 201, problem.content
    assert api.patch(f"/api/expert-activities/{activity_id}/", {"note": "补记"}, format="json").status_code == 200
    assert api.post(f"/api/expert-problems/{problem.json()['id']}/step/", {"step": "solve"},
                    format="json").status_code == 200
    # Outside the towns: 403 to record (the town is known to exist), 404 to read.
    assert api.post("/api/expert-activities/", {"town": OTHER, "date": "2024-05-07", "activity_type": "training"},
                    format="json").status_code == 403
    assert api.patch(f"/api/expert-activities/{world['other_activity'].pk}/", {"note": "x"},
                     format="json").status_code == 404
    assert AuditEntry.objects.filter(actor=wang.user, action="problem.solve", org_code=OWN).exists()


def test_an_expert_cannot_change_another_experts_activity(wang, users):
    zhao = expert_with_login("赵丽华", "zhao", kind="development_adviser")
    theirs = services.create_activity(zhao.user, date=date(2024, 5, 8), town=OrgUnit.objects.get(code=OWN),
                                      activity_type="review", adviser_count=1, expert_names="赵丽华")
    by_office = make_activity(OWN, actor=users["guali"], expert_names="王建国")  # names wang, recorded by the town
    for activity in (theirs, by_office):
        with pytest.raises(PermissionDenied, match="recorded themselves"):
            services.update_activity(wang.user, activity, note="改")
        with pytest.raises(PermissionDenied):
            services.create_problem(wang.user, activity, "不是我的活动")
        client = web(wang.user)
        page = client.get(reverse("expert-activity-edit", args=[activity.pk]))
        assert page.status_code == 200 and "You may view this activity but not change it." in page.content.decode()
        assert client.post(reverse("expert-activity-edit", args=[activity.pk]), {"op": "delete"}).status_code == 403
        assert client.get(reverse("expert-problem-create", args=[activity.pk])).status_code == 403
        assert token_api("wang").patch(f"/api/expert-activities/{activity.pk}/", {"note": "改"},
                                       format="json").status_code == 403
    assert ExpertActivity.objects.filter(note="改").count() == 0
    # The town's office still changes any of them.
    services.update_activity(users["guali"], theirs, note="镇里核实")


# --- contact details --------------------------------------------------------------------------------------

def test_contact_details_are_masked_for_an_expert_and_shown_to_offices(wang, users):
    # An expert whose record 瓜沥镇 keeps: the expert of 瓜沥镇 sees the record, as do the town's offices.
    colleague = make_expert("钱晓燕", OWN, phone="13911112222", email="qian@guali.example")
    masked = {"phone": "139****2222", "email": "q***@guali.example"}
    as_expert = web(wang.user).get(reverse("expert-detail", args=[colleague.pk])).content.decode()
    assert masked["phone"] in as_expert and masked["email"] in as_expert and "13911112222" not in as_expert
    got = token_api("wang").get(f"/api/experts/{colleague.pk}/").json()
    assert {"phone": got["phone"], "email": got["email"]} == masked and got["login"] is None
    # Exports leave contacts out; asking for them is for offices only (docs/security.md).
    export = web(wang.user).get(reverse("expert-list"), {"export": "csv"}).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(export)))
    assert [r["Name"] for r in rows] == ["钱晓燕"] and "Phone" not in rows[0] and "E-mail" not in rows[0]
    assert web(wang.user).get(reverse("expert-list"), {"export": "csv", "personal": "1"}).status_code == 403
    for office in ("guali", "guali_viewer"):
        page = web(users[office]).get(reverse("expert-detail", args=[colleague.pk])).content.decode()
        assert "13911112222" in page and "qian@guali.example" in page
        data = APIClient()
        data.force_authenticate(users[office])
        got = data.get(f"/api/experts/{colleague.pk}/").json()
        assert (got["phone"], got["email"]) == ("13911112222", "qian@guali.example")
    # An expert reads their own details in full on their page.
    assert PHONE in web(wang.user).get(reverse("expert-home")).content.decode()


# --- the login: given by an office administrator ---------------------------------------------------------

def test_an_office_admin_creates_and_links_a_login_on_the_expert_page(users):
    expert = make_expert("孙志强", "3301", email="sun@example.org")
    services.assign_expert(SYSTEM, expert, OrgUnit.objects.get(code=OWN), since=date(2020, 1, 1))
    office = web(users["hangzhou"])
    url = reverse("expert-detail", args=[expert.pk])
    assert 'id="expert-login-card"' in office.get(url).content.decode()
    response = office.post(url, {"op": "login-create", "username": "sun", "password": "Qiantang-tide-2024-xq"})
    assert response.status_code == 302
    expert.refresh_from_db()
    login = expert.user
    assert (login.username, login.first_name, login.email) == ("sun", "孙志强", "sun@example.org")
    assert not login.memberships.exists()  # no role of its own: its scope is the assignments
    assert list(AuditEntry.objects.filter(actor=users["hangzhou"]).order_by("pk")
                .values_list("action", "org_code")) == [("user.create", "3301"), ("expert.link", "3301")]
    assert AuditEntry.objects.get(action="expert.link").changes == {"login": [None, "sun"]}
    # The login is the office's to manage (placed at the expert's office), never a town's.
    assert restrict_users(users["hangzhou"], "manage").filter(pk=login.pk).exists()
    assert not restrict_users(users["guali"], "manage").filter(pk=login.pk).exists()
    access_services.set_password(users["hangzhou"], login, "Xin-an-river-2024-kq")
    with pytest.raises(PermissionDenied):
        access_services.set_password(users["guali_viewer"], login, "Xin-an-river-2024-kq")
    # Unlinking deactivates an account left without any role; linking an existing account the office manages.
    assert office.post(url, {"op": "login-unlink"}).status_code == 302
    login.refresh_from_db()
    expert.refresh_from_db()
    assert expert.user is None and not login.is_active
    clerk = access_services.create_user(users["hangzhou"], "clerk", "Fuchun-river-2024-zz",
                                        OrgUnit.objects.get(code="330109"), "viewer")
    assert office.post(url, {"op": "login-link", "username": "clerk"}).status_code == 302
    expert.refresh_from_db()
    assert expert.user == clerk
    api = APIClient()
    api.force_authenticate(users["hangzhou"])
    assert api.get(f"/api/experts/{expert.pk}/login/").json() == {"expert": expert.pk, "login": "clerk"}


def test_a_town_editor_cannot_give_a_login_to_an_expert_outside_the_area(users):
    expert = make_expert("周海峰", "3301")
    with pytest.raises(PermissionDenied):
        services.create_login(users["guali"], expert, "zhou", "Qiantang-tide-2024-xq")
    # The city's record is outside 瓜沥镇: not found on the page or in the API, for the town's office too.
    assert web(users["guali"]).post(reverse("expert-detail", args=[expert.pk]), {
        "op": "login-create", "username": "zhou", "password": "Qiantang-tide-2024-xq"}).status_code == 404
    api = APIClient()
    api.force_authenticate(users["guali"])
    assert api.post(f"/api/experts/{expert.pk}/login/", {"username": "zhou", "password": "Qiantang-tide-2024-xq"},
                    format="json").status_code == 404
    # Inside the area an editor still may not: giving logins is managing users.
    own = make_expert("吴静", OWN)
    response = web(users["guali"]).post(reverse("expert-detail", args=[own.pk]), {
        "op": "login-create", "username": "wu", "password": "Qiantang-tide-2024-xq"})
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username__in=["zhou", "wu"]).exists()
    assert not AuditEntry.objects.filter(action="expert.link").exists()
    # The API's way for an office administrator of the expert's office.
    api.force_authenticate(users["hangzhou"])
    response = api.post(f"/api/experts/{expert.pk}/login/", {"username": "zhou", "password": "Qiantang-tide-2024-xq"},
                        format="json")
    assert response.status_code == 200 and response.json()["login"] == "zhou"


# --- landing and navigation ---------------------------------------------------------------------------------

def test_an_expert_lands_on_their_page_and_the_menu_shows_what_they_use(wang, users):
    client = web(wang.user)
    assert client.get(reverse("home"))["Location"] == reverse("expert-home")
    page = client.get(reverse("expert-home")).content.decode()
    assert 'id="nav-expert-home"' in page and 'id="nav-system"' not in page and 'id="nav-cockpit"' not in page
    assert 'id="my-towns"' in page and "瓜沥镇" in page
    # Offices keep their cockpit and their menu.
    office = web(users["guali"])
    assert office.get(reverse("home"))["Location"] == reverse("cockpit", args=[OWN])
    assert 'id="nav-system"' in office.get(reverse("expert-activity-list")).content.decode()


# --- on a phone (headless Chromium, as tests/test_layout_browser.py drives it) -----------------------------------

# That module's fixtures and checks, shared: Chromium on the live server, its ledger, its screenshots.
browser, ledger, shots = layout.browser, layout.ledger, layout.shots
assert_fits, assert_one_line = layout.assert_fits, layout.assert_one_line

@pytest.fixture
def phone_expert(ledger):
    """王建国 with a login, made before Chromium starts (Django refuses the ORM under Playwright's loop)."""
    return expert_with_login("王建国", "wang", phone=PHONE)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server reads what the test wrote
def test_an_expert_records_an_activity_on_a_phone(phone_expert, browser, live_server, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "wang")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    assert page.url == f"{live_server.url}{reverse('expert-home')}"  # the login lands on the expert's page
    assert_fits(page, shots, "phone-expert-home")
    assert "瓜沥镇" in page.inner_text("#my-towns")
    page.click(".navbar-toggler")
    page.wait_for_selector("#navbar-menu.show")
    assert page.locator("#navbar-menu .nav-link").count() == 4 and page.locator("#nav-system").count() == 0
    assert_one_line(page, "#navbar-menu .nav-link", "navigation items")
    page.click(".navbar-toggler")
    with page.expect_navigation():
        page.click("#record-activity")
    assert_fits(page, shots, "phone-expert-activity-form")
    # Everything an expert must give is filled in: today, the one town, their name, one 人次 of their kind.
    assert page.input_value("#id_town") == OWN and page.input_value("#id_expert_names") == "王建国"
    page.fill("#id_note", "现场踏勘，手机填报")
    with page.expect_navigation():
        page.click("#activity-form button[type=submit]")
    assert page.url.endswith(reverse("expert-home"))
    activities = page.inner_text("#my-activities")
    assert "瓜沥镇" in activities and "现场指导" in activities  # the type the form offered first
    assert_fits(page, shots, "phone-expert-home-after")
    context.close()


def test_expert_exports_with_contacts_for_offices_only_audited(wang, users):
    rows = list(csv.DictReader(io.StringIO(web(users["hangzhou"]).get(
        reverse("expert-list"), {"export": "csv"}).content.decode("utf-8-sig"))))
    assert "Phone" not in rows[0] and "E-mail" not in rows[0]
    response = web(users["hangzhou"]).get(reverse("expert-list"), {"export": "csv", "personal": "1"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["Phone"], r["E-mail"]) for r in rows] == [(PHONE, "wang@example.org")]
    entry = AuditEntry.objects.get(action="personal.export")
    assert (entry.actor, entry.object_type) == (users["hangzhou"], "expert") and PHONE not in str(entry.changes)
