"""Filters as choices (issue 12, "every page fits"): selects instead of free text, yes/no as
全部 / 是 / 否, an org-unit picker scoped to the user's area — and the API's parameters unchanged.
Plus the period fields that open on the latest period with data."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from townbrain.acceptance import services as acceptance_services
from townbrain.acceptance.models import Acceptance
from townbrain.assessments import services as assessment_services
from townbrain.core.scope import SYSTEM
from townbrain.indicators import services as indicator_services
from townbrain.indicators.models import DataElement
from townbrain.indicators.views import latest_value_period
from townbrain.programmes.models import Enrolment, Programme
from townbrain.projects import services
from townbrain.projects.forms import default_period
from townbrain.projects.tests.test_projects import make_project

OWN, OTHER = "330109113", "330182107"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def options(html: str, name: str) -> list[tuple[str, str]]:
    """(value, text) of the options of the <select name=…> in a page."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no <select name={name}> in the page"
    return [(v, t.strip()) for v, t in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))]


@pytest.fixture
def ledger(users):
    started = make_project(OWN, name="瓜沥镇美丽街区", status="started", actual_start=date(2020, 3, 10),
                           category=Programme.objects.get(code="meili").categories.get(code="gongneng"))
    services.report_progress(SYSTEM, started, "202009", cumulative_investment=Decimal("300"),
                             progress_percent=Decimal("65"), status="started")
    make_project(OTHER, name="大洋镇污水管网", status="started", actual_start=date(2020, 4, 1))
    return started


# --- yes/no ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "name"), [("/users/", "is_active"), ("/experts/", "active"),
                                            ("/assessments/", "frozen")])
def test_yes_no_filters_say_all_yes_no_never_unknown(client_for, path, name):
    client = client_for("hangzhou")
    assert options(client.get(path, **EN).content.decode(), name) == [("", "All"), ("true", "Yes"), ("false", "No")]
    zh = client.get(path, **ZH).content.decode()
    assert "未知" not in zh and "Unknown" not in zh
    with translation.override("zh-hans"):
        assert [t for _v, t in options(zh, name)] == [str(translation.gettext(w)) for w in ("All", "Yes", "No")]


def test_yes_no_filter_still_takes_the_apis_values(api_for, users):
    api = api_for("hangzhou")
    everyone = {u["username"] for u in api.get("/api/users/").json()["results"]}
    users["xiaoshan"].is_active = False
    users["xiaoshan"].save()
    active = {u["username"] for u in api.get("/api/users/", {"is_active": "true"}).json()["results"]}
    inactive = {u["username"] for u in api.get("/api/users/", {"is_active": "false"}).json()["results"]}
    assert "xiaoshan" in everyone and "xiaoshan" in inactive and "xiaoshan" not in active
    assert active | inactive == everyone
    # "All" is the empty value: the same as no filter at all.
    assert {u["username"] for u in api.get("/api/users/", {"is_active": ""}).json()["results"]} == everyone


# --- programme, category, role, batch ------------------------------------------------------------------


def test_project_filters_are_selects_by_code(client_for, ledger):
    html = client_for("guali").get("/projects/", **EN).content.decode()
    programmes = options(html, "programme")
    assert programmes[0] == ("", "All")
    assert {v for v, _t in programmes} >= {"meili", "xiaochengshi", "tese", "shifan", "tongchou"}
    assert ("meili", Programme.objects.get(code="meili").name) in programmes
    # No programme chosen: every programme's categories, each code once (chanye is in four programmes).
    codes = [v for v, _t in options(html, "category")]
    assert "gongneng" in codes and codes.count("chanye") == 1
    # A programme chosen: only its categories, roles and batches.
    meili = Programme.objects.get(code="meili")
    html = client_for("guali").get("/projects/", {"programme": "meili"}, **EN).content.decode()
    assert [v for v, _t in options(html, "category")] == ["", *meili.categories.order_by("id").values_list("code", flat=True)]
    assert [v for v, _t in options(html, "role")] == ["", *meili.roles.order_by("id").values_list("code", flat=True)]
    assert [v for v, _t in options(html, "batch")] == ["", *meili.batches.order_by("id").values_list("code", flat=True)]


def test_project_api_takes_the_same_codes_as_before(api_for, client_for, ledger):
    api = api_for("guali")
    assert [p["name"] for p in api.get("/api/projects/", {"programme": "meili"}).json()["results"]] == ["瓜沥镇美丽街区"]
    assert api.get("/api/projects/", {"programme": "tese"}).json()["count"] == 0
    assert api.get("/api/projects/", {"category": "gongneng"}).json()["count"] == 1
    # A code of another programme's category is still a valid filter value (it matches nothing here).
    assert api.get("/api/projects/", {"category": "guihua"}).json()["count"] == 0
    assert api.get("/api/projects/", {"programme": "meili", "category": "chanye"}).status_code == 200
    # The list page and its export read the same parameters.
    page = client_for("guali").get("/projects/", {"programme": "meili", "category": "gongneng", "export": "csv"})
    assert "瓜沥镇美丽街区" in page.content.decode("utf-8-sig")


def test_the_town_and_under_boxes_are_org_pickers(client_for, ledger):
    html = client_for("guali").get("/projects/", **EN).content.decode()
    for name in ("town", "under"):
        box = re.search(rf'<input type="text" name="{name}"[^>]*>', html).group(0)
        assert "data-org-picker" in box
    assert f'data-org-picker-url="{reverse("org-picker")}"' in html
    assert "townbrain/org-picker" in html


# --- the org-unit picker: name or code, only the user's area --------------------------------------


def test_org_picker_finds_by_name_and_by_code_inside_the_users_area(client_for, users):
    guali = client_for("guali")
    by_name = guali.get(reverse("org-picker"), {"q": "瓜沥"}).json()["results"]
    assert [r["code"] for r in by_name] == [OWN] and by_name[0]["label"].startswith("瓜沥镇")
    assert [r["code"] for r in guali.get(reverse("org-picker"), {"q": "３３０１０９１"}).json()["results"]] == [OWN]
    # Outside her area nothing, by name or by code.
    assert guali.get(reverse("org-picker"), {"q": "大洋"}).json()["results"] == []
    assert guali.get(reverse("org-picker"), {"q": "330182"}).json()["results"] == []
    # A city office sees the county before its towns; villages are left out.
    found = [r["code"] for r in client_for("hangzhou").get(reverse("org-picker"), {"q": "3301"}).json()["results"]]
    assert found[0] == "3301" and found.index("330109") < found.index(OWN) and all(len(c) <= 9 for c in found)
    assert "330182107" in found or len(found) == 20


def test_org_picker_needs_a_login(client, users):
    response = client.get(reverse("org-picker"), {"q": "瓜沥"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- values from the user's own rows (grade, outcome) ----------------------------------------------


def test_outcome_select_lists_what_the_users_rows_hold_and_the_api_still_takes_any(client_for, api_for, users,
                                                                                      tree):
    meili = Programme.objects.get(code="meili")
    text = (assessment_services.FIXTURES / "meili.yaml").read_text(encoding="utf-8")
    assessment_services.import_scheme(SYSTEM, text)
    for code in (OWN, OTHER):
        Enrolment.objects.create(town_id=code, programme=meili, year_joined=2019,
                                 role=meili.roles.get(code="yangban"), batch=meili.batches.get(code="2019"))
    own = acceptance_services.open_acceptance(SYSTEM, meili, tree[OWN], 2022)
    other = acceptance_services.open_acceptance(SYSTEM, meili, tree[OTHER], 2022)
    # Test set-up of an end state (the chain itself is tested in acceptance/tests).
    Acceptance.objects.filter(pk=own.pk).update(outcome="样板")
    Acceptance.objects.filter(pk=other.pk).update(outcome="基本达标")
    html = client_for("guali").get("/acceptance/", **EN).content.decode()
    assert options(html, "outcome") == [("", "All"), ("样板", "样板")]  # not 大洋镇's outcome
    api = api_for("guali")
    assert api.get("/api/acceptances/", {"outcome": "样板"}).json()["count"] == 1
    assert api.get("/api/acceptances/", {"outcome": "基本达标"}).json()["count"] == 0  # valid, nothing of hers


# --- periods that open where the data is ---------------------------------------------------------------


def test_rollups_and_warnings_open_on_the_latest_month_with_data(client_for, ledger):
    for name in ("rollup-page", "warning-list"):
        response = client_for("guali").get(reverse(name), **EN)
        form = response.context["form"]
        assert form.cleaned_data["period"] == "202009" != default_period(), name
        assert form.cleaned_data["programme"].code == "meili"
    figures = client_for("guali").get(reverse("rollup-page")).context["figures"]
    assert figures["started"] == 1 and figures["planned_to_start"] == 1  # not an empty month
    # A period the user chose stays chosen; so does an org of theirs further down.
    chosen = client_for("guali").get(reverse("rollup-page"), {"period": "202003"}).context["form"]
    assert chosen.cleaned_data["period"] == "202003"
    county = client_for("xiaoshan").get(reverse("rollup-page"), {"org": OWN}).context["form"]
    assert county.cleaned_data["org"] == OWN and county.cleaned_data["period"] == "202009"


def test_latest_month_is_read_in_the_users_area(client_for, ledger, users):
    """大洋镇 reports for December: 瓜沥镇's page does not move there, 建德's does."""
    dayang = make_project(OTHER, name="大洋镇道路", status="started", actual_start=date(2020, 2, 1))
    services.report_progress(SYSTEM, dayang, "202012", cumulative_investment=Decimal("10"),
                             progress_percent=Decimal("5"), status="started")
    assert client_for("guali").get(reverse("rollup-page")).context["form"].cleaned_data["period"] == "202009"
    assert client_for("jiande").get(reverse("rollup-page")).context["form"].cleaned_data["period"] == "202012"


def test_indicator_pages_open_on_the_latest_period_with_values(client_for, users, tree):
    element = DataElement.objects.create(code="pop", name="常住人口", value_type="number", aggregation="sum")
    indicator_services.set_value(SYSTEM, element, tree[OWN], "2020", "181234")
    indicator_services.set_value(SYSTEM, element, tree[OWN], "202012", "181000")
    indicator_services.set_value(SYSTEM, element, tree[OWN], "2019", "180000")
    indicator_services.set_value(SYSTEM, element, tree[OTHER], "2022", "5000")
    assert latest_value_period(users["guali"], OWN) == "2020"
    assert latest_value_period(users["jiande"], "330182") == "2022"
    assert latest_value_period(users["guali"], "330109113201") is None  # a village without values
    response = client_for("guali").get(reverse("indicator-validation"))
    assert response.context["form"].cleaned_data["period"] == "2020"
    entry = client_for("guali").get(reverse("datavalue-entry-default", args=[OWN]))
    assert entry.status_code == 200 and entry.context["period"] == "2020"
