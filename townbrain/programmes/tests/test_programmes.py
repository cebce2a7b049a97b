"""Targets, enrolments and programme administration: API, pages, services."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes import services
from townbrain.programmes.models import Enrolment, Programme, Target
from townbrain.projects import services as project_services
from townbrain.testing.cases import OTHER, OWN, APITests, ViewTests

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def meili():
    return Programme.objects.get(code="meili")


def make_target(town_code, measure="investment", **fields):
    values = {"label": f"投资目标 {town_code}", "target_value": Decimal("1000000"), "unit": "万元"}
    values.update(fields)
    return services.set_target(SYSTEM, OrgUnit.objects.get(code=town_code), meili(), 2020, measure, **values)


def make_enrolment(town_code, **fields):
    programme = meili()
    values = {"year_joined": 2020, "role": programme.roles.get(code="yangban"),
              "batch": programme.batches.get(code="2020")}
    values.update(fields)
    return services.enrol_town(SYSTEM, OrgUnit.objects.get(code=town_code), programme, **values)


# --- targets --------------------------------------------------------------------------------------


class TestTargetAPI(APITests):
    basename = "target"
    supported = {"create", "update"}
    update_data = {"actual_value": 250000}

    def make(self, town_code):
        return make_target(town_code)

    def create_data(self, town_code):
        return {"org_unit": town_code, "programme": "meili", "year": 2021, "measure": "output", "label": "产出",
                "target_value": 1000000, "unit": "万元"}


class TestTargetViews(ViewTests):
    list_url_name = "target-list"
    detail_url_name = "target-detail"
    text_of = staticmethod(lambda t: t.label)

    def make(self, town_code):
        return make_target(town_code)


@pytest.mark.django_db
class TestTargetAPIDetails:
    def test_gap_and_codes(self, api_for, users):
        target = make_target(OWN, actual_value=Decimal("400000"))
        data = api_for("guali").get(reverse("api:target-detail", args=[target.pk])).json()
        assert data["org_unit"] == OWN and data["programme"] == "meili" and data["org_unit_name"] == "瓜沥镇"
        assert data["gap"] == pytest.approx(600000) and data["target_value"] == pytest.approx(1000000)
        reached = api_for("guali").patch(reverse("api:target-detail", args=[target.pk]),
                                         {"actual_value": 1200000}, format="json").json()
        assert reached["gap"] == 0

    def test_named_target_without_value(self, api_for, users):
        response = api_for("guali").post(reverse("api:target-list"), {
            "org_unit": OWN, "programme": "meili", "year": 2022, "measure": "named", "label": "命名",
            "target_text": "省级样板镇"}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["gap"] is None and response.json()["target_text"] == "省级样板镇"

    def test_post_again_replaces(self, api_for, users):
        body = {"org_unit": OWN, "programme": "meili", "year": 2021, "measure": "sales", "label": "销售",
                "target_value": 100}
        api = api_for("guali")
        first = api.post(reverse("api:target-list"), body, format="json").json()
        second = api.post(reverse("api:target-list"), {**body, "target_value": 200}, format="json").json()
        assert first["id"] == second["id"] and second["target_value"] == pytest.approx(200)
        assert Target.objects.filter(org_unit_id=OWN, measure="sales").count() == 1

    def test_keys_cannot_change(self, api_for, users):
        target = make_target(OWN)
        response = api_for("guali").patch(reverse("api:target-detail", args=[target.pk]), {"year": 2030},
                                          format="json")
        assert response.status_code == 400 and "year" in response.json()

    def test_county_sees_its_towns_targets(self, api_for, users):
        make_target(OWN)
        make_target(OTHER)
        codes = {r["org_unit"] for r in api_for("xiaoshan").get(reverse("api:target-list")).json()["results"]}
        assert codes == {OWN}
        under = api_for("zhejiang").get(reverse("api:target-list"), {"under": "330182"}).json()["results"]
        assert {r["org_unit"] for r in under} == {OTHER}

    def test_audited_with_org_code(self, api_for, users):
        target = make_target(OWN)
        api_for("guali").patch(reverse("api:target-detail", args=[target.pk]), {"label": "新标签"}, format="json")
        entry = AuditEntry.objects.filter(action="target.save", object_id=str(target.pk)).latest("time")
        assert entry.org_code == OWN and entry.changes["label"] == [f"投资目标 {OWN}", "新标签"]


@pytest.mark.django_db
class TestOrgUnitTargetsPage:
    def test_actual_against_target_with_roll_up_for_investment(self, client_for, users):
        town = OrgUnit.objects.get(code=OWN)
        project = project_services.create_project(
            SYSTEM, code="T-1", name="瓜沥镇项目", town=town, programme=meili(), total_investment=Decimal("1000"),
            annual_plan=Decimal("500"), planned_start=date(2020, 3, 1), planned_completion=date(2020, 12, 31),
            status="started", actual_start=date(2020, 3, 1))
        project_services.report_progress(SYSTEM, project, "202012", cumulative_investment=Decimal("30000"),
                                         progress_percent=Decimal("100"), status="started")
        make_target(OWN, unit="亿元", target_value=Decimal("100"), label="固定资产投资")  # 100亿元, actual from roll-up
        make_target(OWN, measure="output", label="工业产出", target_value=Decimal("500"), actual_value=Decimal("200"),
                    unit="亿元")
        make_target(OWN, measure="named", label="命名", target_value=None, unit="", target_text="样板镇",
                    actual_text="样板镇")
        html = client_for("guali").get(reverse("orgunit-targets", args=[OWN])).content.decode()
        assert "固定资产投资" in html and "工业产出" in html
        # 30,000 万元 = 3 亿元 from the roll-up of December 2020; the gap to 100 亿元 is 97 亿元
        assert "roll-up 202012" in html or "202012" in html
        assert "3.00" in html and "97.00" in html
        assert "300.00" in html  # output: 500 − 200
        assert 'id="targets-note"' in html

    def test_entered_actual_wins(self, client_for, users):
        make_target(OWN, actual_value=Decimal("123456"))
        html = client_for("guali").get(reverse("orgunit-targets", args=[OWN])).content.decode()
        assert "123,456.00" in html and "876,544.00" in html

    def test_scoped_and_editable(self, client_for, users):
        make_target(OTHER)
        client = client_for("guali")
        assert client.get(reverse("orgunit-targets", args=[OTHER])).status_code == 404
        response = client.post(reverse("orgunit-targets", args=[OWN]), {
            "programme": meili().pk, "year": 2021, "measure": "investment", "label": "2021 投资",
            "target_value": "5000", "unit": "万元"})
        assert response.status_code == 302
        assert Target.objects.get(org_unit_id=OWN, year=2021).target_value == Decimal("5000")
        bad = client.post(reverse("orgunit-targets", args=[OWN]), {"programme": meili().pk, "year": 2021,
                                                                   "measure": "投资", "label": "x"})
        assert bad.status_code == 200 and Target.objects.filter(org_unit_id=OWN).count() == 1
        viewer = client_for("guali_viewer").post(reverse("orgunit-targets", args=[OWN]), {
            "programme": meili().pk, "year": 2022, "measure": "investment", "label": "x"})
        assert viewer.status_code == 403

    def test_roll_up_page_links_here(self, client_for, users):
        html = client_for("guali").get(reverse("rollup-page")).content.decode()
        assert reverse("orgunit-targets", args=[OWN]) in html

    def test_target_detail_edit(self, client_for, users):
        target = make_target(OWN)
        url = reverse("target-detail", args=[target.pk])
        client = client_for("guali")
        response = client.post(url, {"label": "改名", "target_value": "2000000", "unit": "万元"})
        assert response.status_code == 302
        target.refresh_from_db()
        assert target.label == "改名" and target.target_value == Decimal("2000000")
        assert reverse("object-history", args=["target", target.pk]) in client.get(url).content.decode()
        assert client_for("guali_viewer").post(url, {"label": "x"}).status_code == 403


# --- enrolments -----------------------------------------------------------------------------------


class TestEnrolmentAPI(APITests):
    basename = "enrolment"
    supported = {"create", "update"}
    update_data = {"role": "dabiao"}

    def make(self, town_code):
        return make_enrolment(town_code)

    def create_data(self, town_code):
        return {"town": town_code, "programme": "tese", "role": "chuangjian", "year_joined": 2019}


class TestEnrolmentViews(ViewTests):
    list_url_name = "enrolment-list"
    detail_url_name = "enrolment-detail"
    text_of = staticmethod(lambda e: e.town.name)

    def make(self, town_code):
        return make_enrolment(town_code)


@pytest.mark.django_db
class TestEnrolmentDetails:
    def test_codes_in_and_out(self, api_for, users):
        api = api_for("guali")
        response = api.post(reverse("api:enrolment-list"), {
            "town": OWN, "programme": "meili", "batch": "2020", "role": "dabiao", "year_joined": 2020}, format="json")
        assert response.status_code == 201, response.content
        data = response.json()
        assert (data["town"], data["programme"], data["batch"], data["role"]) == (OWN, "meili", "2020", "dabiao")
        assert data["town_name"] == "瓜沥镇"
        enrolment = Enrolment.objects.get(pk=data["id"])
        assert enrolment.role.code == "dabiao" and enrolment.batch.year == 2020

    def test_unknown_role_and_exit_before_join(self, api_for, users):
        api = api_for("guali")
        wrong = api.post(reverse("api:enrolment-list"), {"town": OWN, "programme": "meili", "role": "chuangjian",
                                                         "year_joined": 2020}, format="json")
        assert wrong.status_code == 400 and "role" in wrong.json()
        early = api.post(reverse("api:enrolment-list"), {"town": OWN, "programme": "meili", "year_joined": 2020,
                                                         "exit_year": 2019}, format="json")
        assert early.status_code == 400 and "exit_year" in early.json()

    def test_county_cannot_be_enrolled(self, api_for, users):
        response = api_for("xiaoshan").post(reverse("api:enrolment-list"), {
            "town": "330109", "programme": "meili", "year_joined": 2020}, format="json")
        assert response.status_code == 400 and "town" in response.json()

    def test_patch_keeps_other_fields(self, api_for, users):
        enrolment = make_enrolment(OWN)
        response = api_for("guali").patch(reverse("api:enrolment-detail", args=[enrolment.pk]), {"exit_year": 2022},
                                          format="json")
        assert response.status_code == 200, response.content
        enrolment.refresh_from_db()
        assert enrolment.exit_year == 2022 and enrolment.role.code == "yangban" and enrolment.batch.code == "2020"
        moved = api_for("guali").patch(reverse("api:enrolment-detail", args=[enrolment.pk]), {"programme": "tese"},
                                       format="json")
        assert moved.status_code == 400

    def test_filters(self, api_for, users):
        make_enrolment(OWN)
        make_enrolment("330109001", role=meili().roles.get(code="dabiao"), exit_year=2021)
        api = api_for("xiaoshan")

        def towns(**params):
            return {r["town"] for r in api.get(reverse("api:enrolment-list"), params).json()["results"]}

        assert towns(role="yangban") == {OWN}
        assert towns(active_in=2022) == {OWN}
        assert towns(programme="tese") == set()
        assert towns(under="330109") == {OWN, "330109001"}
        assert api.get(reverse("api:enrolment-list"), {"town": "33x"}).status_code == 400

    def test_create_page(self, client_for, users):
        programme = meili()
        client = client_for("guali")
        assert client.get(reverse("enrolment-create")).status_code == 200
        response = client.post(reverse("enrolment-create"), {
            "town": OWN, "programme": programme.pk, "role": programme.roles.get(code="yangban").pk,
            "batch": programme.batches.get(code="2020").pk, "year_joined": 2020})
        assert response.status_code == 302, response.content.decode()
        assert Enrolment.objects.get(town_id=OWN, programme=programme).role.code == "yangban"
        # another programme's role is refused with the service's reason
        other_role = Programme.objects.get(code="tese").roles.first()
        bad = client.post(reverse("enrolment-create"), {"town": OWN, "programme": programme.pk,
                                                        "role": other_role.pk, "year_joined": 2020}, **EN)
        assert bad.status_code == 200 and "does not belong" in bad.content.decode()
        # another town: not in the area
        before = Enrolment.objects.count()
        outside = client.post(reverse("enrolment-create"), {"town": OTHER, "programme": programme.pk,
                                                            "year_joined": 2020})
        assert outside.status_code == 200 and Enrolment.objects.count() == before
        assert client_for("guali_viewer").get(reverse("enrolment-create")).status_code == 403

    def test_detail_edit(self, client_for, users):
        enrolment = make_enrolment(OWN)
        url = reverse("enrolment-detail", args=[enrolment.pk])
        dabiao = meili().roles.get(code="dabiao")
        response = client_for("guali").post(url, {"role": dabiao.pk, "year_joined": 2021})
        assert response.status_code == 302
        enrolment.refresh_from_db()
        assert enrolment.role == dabiao and enrolment.year_joined == 2021 and enrolment.batch is None


# --- programmes -----------------------------------------------------------------------------------


@pytest.mark.django_db
class TestProgrammeAdministration:
    def test_services_need_a_system_admin(self, users):
        with pytest.raises(PermissionDenied):
            services.create_programme(users["zhejiang"], "shuzi", "数字乡村")
        programme = services.create_programme(
            users["admin"], "shuzi", "数字乡村", categories=[{"code": "jichu", "name": "数字基础设施"}],
            roles=[{"code": "shidian", "name": "试点"}], batches=[{"code": "p1", "name": "第一批", "year": 2023}])
        assert [c.code for c in programme.categories.all()] == ["jichu"]
        assert programme.batches.get().year == 2023
        assert AuditEntry.objects.filter(action__in=["programme.create", "category.add", "role.add", "batch.add"],
                                         actor=users["admin"]).count() == 4
        with pytest.raises(ValidationError):
            services.create_programme(users["admin"], "shuzi", "again")
        with pytest.raises(ValidationError):
            services.add_category(users["admin"], programme, "jichu", "重复")
        second = services.add_category(users["admin"], programme, "zhili", "数字治理")
        assert second.order == 2
        services.update_programme(users["admin"], programme, name="数字乡村建设", active=False)
        programme.refresh_from_db()
        assert programme.name == "数字乡村建设" and not programme.active
        with pytest.raises(PermissionDenied):
            services.add_role(users["guali"], programme, "x", "x")

    def test_pages(self, client_for, users):
        admin = client_for("admin")
        assert "meili" in admin.get(reverse("programme-list")).content.decode()
        response = admin.post(reverse("programme-create"), {
            "code": "shuzi", "name": "数字乡村", "description": "", "active": "on",
            "categories": "jichu 数字基础设施\nzhili、数字治理", "roles": "shidian 试点", "batches": "p1 第一批 2023"})
        assert response.status_code == 302, response.content.decode()
        programme = Programme.objects.get(code="shuzi")
        assert {c.code: c.name for c in programme.categories.all()} == {"jichu": "数字基础设施", "zhili": "数字治理"}
        assert programme.batches.get().year == 2023
        url = reverse("programme-detail", args=["shuzi"])
        assert admin.post(url, {"op": "role", "role-code": "yangban", "role-name": "样板"}).status_code == 302
        assert programme.roles.filter(code="yangban").exists()
        dup = admin.post(url, {"op": "role", "role-code": "yangban", "role-name": "again"})
        assert dup.status_code == 200 and programme.roles.count() == 2
        bad = admin.post(reverse("programme-create"), {"code": "x y", "name": "坏", "categories": "onlyone"})
        assert bad.status_code == 200 and not Programme.objects.filter(name="坏").exists()
        # nobody else
        for name in ("zhejiang", "guali"):
            client = client_for(name)
            assert client.get(reverse("programme-list")).status_code == 403
            assert client.get(url).status_code == 403
            assert client.post(reverse("programme-create"), {"code": "z", "name": "z"}).status_code == 403

    def test_navigation_shows_programmes_to_system_admins_only(self, client_for, users):
        assert reverse("programme-list") in client_for("admin").get(reverse("rollup-page")).content.decode()
        html = client_for("zhejiang").get(reverse("rollup-page")).content.decode()
        assert reverse("programme-list") not in html
        for name in ("project-list", "rollup-page", "warning-list"):
            assert reverse(name) in html

    def test_api_post_for_system_admins_only(self, api_for, users):
        body = {"code": "shuzi", "name": "数字乡村", "categories": [{"code": "jichu", "name": "数字基础设施"}],
                "roles": [{"code": "shidian", "name": "试点"}], "batches": [{"code": "p1", "name": "第一批"}]}
        assert api_for("zhejiang").post(reverse("api:programme-list"), body, format="json").status_code == 403
        response = api_for("admin").post(reverse("api:programme-list"), body, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["categories"] == [{"code": "jichu", "name": "数字基础设施"}]
        again = api_for("admin").post(reverse("api:programme-list"), body, format="json")
        assert again.status_code == 400 and "code" in again.json()
        assert api_for("admin").patch(reverse("api:programme-detail", args=["shuzi"]), {"name": "x"},
                                      format="json").status_code == 405
