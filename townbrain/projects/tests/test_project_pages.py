"""The project create and edit pages: every save through the services (audited, roll-ups moved),
the services' errors beside the fields in the user's language, the scope, and a stale save refused
with what changed (optimistic locking, core/conflicts.py)."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.core.tests.test_csp import inline_code
from townbrain.programmes.models import Category, Programme
from townbrain.projects import rollups
from townbrain.projects.models import Project
from townbrain.projects.tests.test_projects import make_project

OWN, OTHER = "330109113", "330182107"  # 瓜沥镇 (guali's), 大洋镇 (dayang's)
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def as_post(form) -> dict:
    """What a browser sends for an unchanged form: each field's value as text (unticked boxes left out)."""
    data = {}
    for field in form:
        value = field.value()
        if value is False:
            continue
        data[field.html_name] = "" if value is None else ("on" if value is True else str(value))
    return data


def new_project_data(**changes) -> dict:
    data = {"code": "GL-NEW-1", "name": "瓜沥镇口袋公园", "town": OWN, "programme": "meili", "category": "",
            "owner_unit": "瓜沥镇人民政府", "status": "planned", "total_investment": "1,200",
            "annual_plan": "300", "planned_start": "2020-05-01", "planned_completion": "2020-12-31",
            "actual_start": "", "actual_completion": "", "latitude": "", "longitude": "", "crs": "wgs84"}
    data.update(changes)
    return data


@pytest.fixture
def own(users):
    return make_project(OWN, name="瓜沥镇美丽街区")


# --- create -------------------------------------------------------------------------------------------


def test_create_through_the_page(users):
    meili = Programme.objects.get(code="meili")
    town = users["guali"].memberships.get().org_unit
    before = rollups.compute(SYSTEM, town, "202009", meili)
    client = client_of(users["guali"])
    page = client.get(reverse("project-create"), **ZH)
    assert page.status_code == 200
    form = page.context["form"]
    assert [t.code for t in form.fields["town"].queryset] == [OWN]  # only the towns of the user's area
    assert form["town"].value() == OWN and form["programme"].value() == "meili"
    assert "version" not in form.fields
    assert not inline_code(page.content.decode())

    category = Category.objects.filter(programme=meili).first()
    response = client.post(reverse("project-create"), new_project_data(category=category.pk), **ZH)
    project = Project.objects.get(programme=meili, code="GL-NEW-1")
    assert response.status_code == 302 and response["Location"] == reverse("project-detail", args=[project.pk])
    assert project.town_id == OWN and project.category == category and project.total_investment == Decimal("1200")
    assert project.version == 1
    entry = AuditEntry.objects.get(action="project.create", object_id=str(project.pk))
    assert entry.actor_name == "guali" and entry.org_code == OWN and entry.source == "web"
    # The live roll-up moved in the same write (the page used the service).
    after = rollups.compute(SYSTEM, town, "202009", meili)
    assert after["planned_to_start"] == before["planned_to_start"] + 1
    assert after == rollups.compute_from_ledger(SYSTEM, town, "202009", meili)
    listed = client.get(reverse("project-list"), {"q": "口袋公园"}, **ZH)
    assert "瓜沥镇口袋公园" in listed.content.decode()


def test_list_offers_add_to_those_who_may_add(users):
    html = client_of(users["guali"]).get(reverse("project-list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{reverse("project-create")}" id="list-create">Add project</a>' in html
    html = client_of(users["guali_viewer"]).get(reverse("project-list"), **ZH).content.decode()
    assert reverse("project-create") not in html
    assert client_of(users["guali_viewer"]).get(reverse("project-create")).status_code == 403


def test_create_elsewhere_is_refused(users):
    client = client_of(users["guali"])
    response = client.post(reverse("project-create"), new_project_data(town=OTHER), **ZH)
    assert response.status_code == 200 and response.context["form"].errors["town"]
    assert not Project.objects.filter(code="GL-NEW-1").exists()
    assert "大洋镇" not in response.content.decode()
    # A county editor is offered the county's towns, not the neighbour county's.
    towns = client_of(users["xiaoshan"]).get(reverse("project-create")).context["form"].fields["town"].queryset
    assert OWN in {t.code for t in towns} and all(t.code.startswith("330109") for t in towns)


def test_create_errors_beside_the_fields_in_chinese(users, own):
    client = client_of(users["guali"])
    response = client.post(reverse("project-create"), new_project_data(
        code=own.code, status="started", total_investment="-5"), **ZH)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["actual_start"] == ["已开工的项目须填写实际开工日期。"]
    assert errors["total_investment"] == ["金额不能为负数。"]
    html = response.content.decode()
    assert '<div class="invalid-feedback d-block">已开工的项目须填写实际开工日期。</div>' in html
    # The code clash is found when the rest passes.
    response = client.post(reverse("project-create"), new_project_data(code=own.code), **ZH)
    assert "本计划中已有项目编号" in response.context["form"].errors["code"][0]
    assert Project.objects.filter(code=own.code).count() == 1


def test_annual_plan_above_total_needs_the_box(users):
    client = client_of(users["guali"])
    data = new_project_data(total_investment="100", annual_plan="300")
    response = client.post(reverse("project-create"), data, **ZH)
    assert response.status_code == 200 and "确认" in response.context["form"].errors["annual_plan"][0]
    response = client.post(reverse("project-create"), {**data, "confirm_annual_over_total": "on"}, **ZH)
    assert response.status_code == 302
    assert Project.objects.get(code="GL-NEW-1").annual_plan == Decimal("300")


# --- edit ---------------------------------------------------------------------------------------------


def test_edit_through_the_page(users, own):
    client = client_of(users["guali"])
    detail = client.get(reverse("project-detail", args=[own.pk]), **ZH).content.decode()
    assert f'href="{reverse("project-edit", args=[own.pk])}"' in detail
    page = client.get(reverse("project-edit", args=[own.pk]), **ZH)
    assert page.status_code == 200 and not inline_code(page.content.decode())
    form = page.context["form"]
    assert form["version"].value() == 1 and form["name"].value() == "瓜沥镇美丽街区"
    data = {**as_post(form), "name": "瓜沥镇美丽街区（二期）", "total_investment": "1500", "status": "started",
            "actual_start": "2020-04-02"}
    response = client.post(reverse("project-edit", args=[own.pk]), data, **ZH)
    assert response.status_code == 302 and response["Location"] == reverse("project-detail", args=[own.pk])
    own.refresh_from_db()
    assert own.name == "瓜沥镇美丽街区（二期）" and own.total_investment == Decimal("1500")
    assert own.status == "started" and own.actual_start == date(2020, 4, 2) and own.version == 2
    entry = AuditEntry.objects.get(action="project.update", object_id=str(own.pk))
    assert entry.actor_name == "guali"
    assert {"name", "total_investment", "status", "actual_start"} <= set(entry.changes)
    # Saving the unchanged form writes nothing.
    client.post(reverse("project-edit", args=[own.pk]), as_post(client.get(
        reverse("project-edit", args=[own.pk])).context["form"]))
    assert AuditEntry.objects.filter(action="project.update", object_id=str(own.pk)).count() == 1


def test_edit_errors_beside_the_fields_in_chinese(users, own):
    client = client_of(users["guali"])
    data = {**as_post(client.get(reverse("project-edit", args=[own.pk])).context["form"]),
            "planned_completion": "2019-01-01", "total_investment": "abc"}
    response = client.post(reverse("project-edit", args=[own.pk]), data, **ZH)
    assert response.status_code == 200
    assert response.context["form"].errors["total_investment"]  # read as the imports read numbers
    data["total_investment"] = "1000"
    response = client.post(reverse("project-edit", args=[own.pk]), data, **ZH)
    assert response.context["form"].errors["planned_completion"] == ["计划完工日期不能早于计划开工日期。"]
    own.refresh_from_db()
    assert own.planned_completion == date(2020, 12, 31) and own.version == 1


def test_other_towns_project_is_not_found(users):
    theirs = make_project(OTHER, name="大洋镇污水管网")
    client = client_of(users["guali"])
    url = reverse("project-edit", args=[theirs.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, new_project_data(town=OWN)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.town_id == OTHER and theirs.version == 1


def test_viewer_cannot_edit(users, own):
    client = client_of(users["guali_viewer"])
    detail = client.get(reverse("project-detail", args=[own.pk])).content.decode()
    assert reverse("project-edit", args=[own.pk]) not in detail
    url = reverse("project-edit", args=[own.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, new_project_data(code=own.code)).status_code == 403
    own.refresh_from_db()
    assert own.version == 1 and own.name == "瓜沥镇美丽街区"


def test_a_stale_save_is_refused_naming_what_changed(users, own):
    url = reverse("project-edit", args=[own.pk])
    first, second = client_of(users["guali"]), client_of(users["xiaoshan"])
    first_data = as_post(first.get(url).context["form"])
    second_data = as_post(second.get(url).context["form"])
    assert first_data["version"] == second_data["version"] == "1"

    assert first.post(url, {**first_data, "name": "瓜沥镇美丽街区（改名）"}).status_code == 302
    response = second.post(url, {**second_data, "total_investment": "9999", "owner_unit": "萧山区建设局"}, **ZH)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="conflict"' in html and "他人已先保存" in html
    conflict = response.context["conflict"]
    assert conflict.changed_fields == ["name"] and "项目名称" in conflict.messages[0] and "guali" in html
    assert "瓜沥镇美丽街区（改名）" in html  # the other person's value
    own.refresh_from_db()
    assert own.name == "瓜沥镇美丽街区（改名）" and own.total_investment == Decimal("1000")
    assert own.owner_unit == "" and own.version == 2  # nothing of the second editor's input
    # The form kept the second editor's values and now carries the current version: saving again
    # (having seen the change) puts them over it.
    form = response.context["form"]
    assert form["version"].value() == 2 and form["total_investment"].value() == "9999"
    assert second.post(url, as_post(form)).status_code == 302
    own.refresh_from_db()
    assert own.total_investment == Decimal("9999") and own.owner_unit == "萧山区建设局" and own.version == 3
    assert own.name == "瓜沥镇美丽街区"  # the name as that form held it


def test_location_in_another_system_is_stored_as_wgs84(users):
    client = client_of(users["guali"])
    data = new_project_data(latitude="30.2300", longitude="120.4700", crs="gcj02")
    assert client.post(reverse("project-create"), data).status_code == 302
    project = Project.objects.get(code="GL-NEW-1")
    # GCJ-02 (Amap) sits a few hundred metres off WGS-84 in China: the page stored the converted point.
    assert project.latitude != Decimal("30.230000") and abs(project.latitude - Decimal("30.23")) < Decimal("0.01")
    assert abs(project.longitude - Decimal("120.47")) < Decimal("0.01")
