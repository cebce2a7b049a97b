"""The cockpit: every user's home page, their area's figures for the latest month with data, live."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from townbrain.cockpit import figures
from townbrain.cockpit.views import home_code
from townbrain.core import panels
from townbrain.core.models import OrgUnit
from townbrain.core.numbers import amount, percent
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects import services, trends
from townbrain.projects.tests.test_projects import make_project

OWN, OTHER = "330109113", "330182107"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def ledger(users):
    """瓜沥镇: two started in spring (reported in June and September), one planned for November;
    城厢街道 (萧山区): one started; 大洋镇 (建德市): one started, reported in August."""
    gongneng = Programme.objects.get(code="meili").categories.get(code="gongneng")
    a = make_project(OWN, name="瓜沥镇美丽街区", status="started", actual_start=date(2020, 3, 10), category=gongneng)
    b = make_project(OWN, name="瓜沥镇农贸市场", planned_start=date(2020, 4, 1), status="started",
                     actual_start=date(2020, 5, 2))
    make_project(OWN, name="瓜沥镇文化礼堂", planned_start=date(2020, 11, 1))
    services.report_progress(SYSTEM, a, "202006", cumulative_investment=Decimal("120"),
                             progress_percent=Decimal("30"), status="started")
    services.report_progress(SYSTEM, a, "202009", cumulative_investment=Decimal("300"),
                             progress_percent=Decimal("65"), status="started")
    services.report_progress(SYSTEM, b, "202009", cumulative_investment=Decimal("50"),
                             progress_percent=Decimal("20"), status="started")
    c = make_project("330109001", name="城厢街道公园", status="started", actual_start=date(2020, 4, 1),
                     category=gongneng)
    services.report_progress(SYSTEM, c, "202009", cumulative_investment=Decimal("100"),
                             progress_percent=Decimal("60"), status="started")
    d = make_project(OTHER, name="大洋镇污水管网", status="started", actual_start=date(2020, 4, 1))
    services.report_progress(SYSTEM, d, "202008", cumulative_investment=Decimal("80"),
                             progress_percent=Decimal("30"), status="started")
    return {"a": a, "b": b, "c": c, "d": d}


def card(cockpit, panel_key, card_key):
    for panel, data in cockpit.sections:
        if panel.key == panel_key:
            return next(c for c in data.cards if c.key == card_key)
    raise AssertionError(f"no panel {panel_key}")


@pytest.mark.parametrize("name, code", [("admin", "33"), ("zhejiang", "33"), ("hangzhou", "3301"),
                                        ("xiaoshan", "330109"), ("guali", OWN), ("guizhou", "52")])
def test_home_is_the_cockpit_of_the_users_own_area(client_for, ledger, name, code):
    response = client_for(name).get("/")
    assert response.status_code == 302 and response["Location"] == reverse("cockpit", args=[code])


def test_a_user_of_two_counties_opens_what_they_share(users, tree):
    from townbrain.access.services import grant_membership

    user = users["xiaoshan"]
    grant_membership(SYSTEM, user, OrgUnit.objects.get(code="330182"), "editor")
    assert home_code(user) == "3301"


def test_the_cockpit_opens_on_the_latest_month_with_data(client_for, ledger):
    response = client_for("xiaoshan").get(reverse("cockpit", args=["330109"]), **EN)
    assert response.status_code == 200
    cockpit = response.context["cockpit"]
    assert cockpit.period == "202009" and cockpit.programme.code == "meili"
    # 萧山区 in September: 瓜沥镇 a, b and 城厢街道 c planned and started (the November one not yet due).
    assert cockpit.rollup["planned_to_start"] == 3 and cockpit.rollup["started"] == 3
    assert card(cockpit, "projects", "start_rate").value == "100.0%"
    html = response.content.decode()
    assert 'data-card="projects.start_rate"' in html and "100.0%" in html
    assert "大洋镇" not in html


def test_cockpit_figures_equal_the_rollups_api(client_for, api_for, ledger):
    for name, code in (("hangzhou", "3301"), ("xiaoshan", "330109"), ("guali", OWN)):
        for period in ("202006", "202009", "202011"):
            api = api_for(name).get("/api/rollups/", {"org": code, "period": period, "programme": "meili"}).json()
            page = client_for(name).get(reverse("cockpit", args=[code]), {"programme": "meili", "period": period})
            cockpit = page.context["cockpit"]
            assert card(cockpit, "projects", "planned_to_start").value == amount(api["planned_to_start"])
            assert card(cockpit, "projects", "started").value == amount(api["started"])
            assert card(cockpit, "projects", "start_rate").value == percent(api["start_rate"])
            assert card(cockpit, "projects", "investment_done").value == amount(api["investment_done"])
            assert card(cockpit, "projects", "laggards").value == amount(api["laggards"])


def test_outside_the_area_is_404(client_for, ledger):
    assert client_for("guali").get(reverse("cockpit", args=[OTHER])).status_code == 404
    assert client_for("guali").get(reverse("cockpit-panels", args=["3301"])).status_code == 404
    assert client_for("guali").get(reverse("cockpit-screen", args=["330182"])).status_code == 404
    assert client_for("guizhou").get(reverse("cockpit", args=["33"])).status_code == 404


def test_bad_programme_or_period_is_404_not_an_error(client_for, ledger):
    c = client_for("hangzhou")
    assert c.get(reverse("cockpit", args=["3301"]), {"programme": "nope"}).status_code == 404
    assert c.get(reverse("cockpit", args=["3301"]), {"period": "202013"}).status_code == 404
    assert c.get(reverse("cockpit", args=["3301"]), {"period": "2020-09"}).context["cockpit"].period == "202009"


def test_the_child_table_drills_down_one_level(client_for, ledger):
    response = client_for("hangzhou").get(reverse("cockpit", args=["3301"]), {"programme": "meili",
                                                                              "period": "202009"})
    html = response.content.decode()
    # Both counties are rows that lead to their own cockpit, keeping the programme and month.
    for code in ("330109", "330182"):
        assert f'data-href="{reverse("cockpit", args=[code])}?programme=meili&amp;period=202009"' in html
    county = client_for("hangzhou").get(reverse("cockpit", args=["330109"]), {"programme": "meili",
                                                                              "period": "202009"})
    assert f'{reverse("cockpit", args=[OWN])}?programme=meili' in county.content.decode()
    town = client_for("hangzhou").get(reverse("cockpit", args=[OWN]), {"programme": "meili", "period": "202009"})
    html = town.content.decode()
    # A town lists its projects, each a link to the project's page.
    assert reverse("project-detail", args=[ledger["a"].pk]) in html and "瓜沥镇美丽街区" in html


def test_trend_months_equal_compute(users, ledger):
    from townbrain.projects import rollups

    meili = Programme.objects.get(code="meili")
    for name, code in (("hangzhou", "3301"), ("guali", OWN), ("xiaoshan", "330109")):
        org = OrgUnit.objects.get(code=code)
        months = trends.monthly(users[name], org, meili, "202012")
        assert [m["period"] for m in months] == [f"2020{m:02d}" for m in range(1, 13)]
        for row in months:
            expected = rollups.compute(users[name], org, row["period"], meili)
            assert {k: expected[k] for k in row if k != "period"} == {k: v for k, v in row.items() if k != "period"}
        rows = trends.by_category(users[name], org, meili, "202009")
        # Every project counts once: in its category, or in the row of projects without one (code "").
        assert sum(r["started"] for r in rows) == rollups.compute(users[name], org, "202009", meili)["started"]
        assert any(r["code"] == "gongneng" and r["started"] for r in rows)
        for row in (r for r in rows if r["code"]):
            category = meili.categories.get(code=row["code"])
            expected = rollups.compute(users[name], org, "202009", meili, category=category)
            assert row["started"] == expected["started"] and row["investment_done"] == expected["investment_done"]


def test_no_empty_month_and_no_empty_page(client_for, ledger, users):
    # A month of another year holds nothing: the page says so and links to the latest month with data.
    response = client_for("xiaoshan").get(reverse("cockpit", args=["330109"]), {"programme": "meili",
                                                                                "period": "202103"}, **EN)
    html = response.content.decode()
    assert 'id="cockpit-empty"' in html and "period=202009" in html
    # Guizhou has no project at all: the area panel still shows its units.
    response = client_for("guizhou").get(reverse("cockpit", args=["52"]), **EN)
    assert response.status_code == 200
    keys = [panel.key for panel, _data in response.context["cockpit"].sections]
    assert keys[0] == "area" and "projects" not in keys


def test_the_live_refresh_answers_204_until_a_figure_changes(client_for, ledger, users):
    c = client_for("xiaoshan")
    url = reverse("cockpit-panels", args=["330109"])
    params = {"programme": "meili", "period": "202009"}
    page = c.get(reverse("cockpit", args=["330109"]), params)
    with translation.override("zh-hans"):  # the page's language: the fingerprint covers the labels too
        shown = page.context["cockpit"].fingerprint()
    assert re.search(rf'hx-get="[^"]*since={shown}"', page.content.decode())
    assert c.get(url, {**params, "since": shown}).status_code == 204
    # The town saves a report: the county's open page gets the new figures on its next poll.
    services.report_progress(users["guali"], ledger["b"], "202009", cumulative_investment=Decimal("90"),
                             progress_percent=Decimal("35"), status="started")
    fresh = c.get(url, {**params, "since": shown})
    assert fresh.status_code == 200
    cockpit = fresh.context["cockpit"]
    with translation.override("zh-hans"):
        assert cockpit.fingerprint() != shown
    assert card(cockpit, "projects", "investment_done").value == amount(Decimal("490"))
    assert 'id="tb-panels"' in fresh.content.decode()


def test_a_panel_an_app_registers_is_shown_and_left_out_when_empty(client_for, ledger):
    def build(ctx):
        if ctx.org.code != "330109":
            return None
        return panels.PanelData(cards=[panels.Card("events", "事件", "7", "件")])

    panels.register(panels.Panel("test-events", "Test events", 99, build))
    try:
        county = client_for("xiaoshan").get(reverse("cockpit", args=["330109"])).content.decode()
        town = client_for("xiaoshan").get(reverse("cockpit", args=[OWN])).content.decode()
    finally:
        panels._PANELS.pop("test-events")
    assert 'id="panel-test-events"' in county and 'data-card="test-events.events"' in county
    assert 'id="panel-test-events"' not in town


def test_a_table_cell_without_a_value_reads_a_dash(client_for, ledger):
    def build(ctx):
        return panels.PanelData(tables=[panels.Table("rates", "满意率", ["单位", "满意率（%）"],
                                                     [["蜀山街道", None], ["瓜沥镇", 100.0]])])

    panels.register(panels.Panel("test-rates", "Test rates", 99, build))
    try:
        page = client_for("xiaoshan").get(reverse("cockpit", args=["330109"])).content.decode()
    finally:
        panels._PANELS.pop("test-rates")
    table = page[page.index('id="panel-test-rates"'):]
    assert "None" not in table[:table.index("</table>")] and "—" in table[:table.index("</table>")]


def test_charts_are_json_data_not_inline_code(client_for, ledger):
    html = client_for("hangzhou").get(reverse("cockpit", args=["3301"])).content.decode()
    assert 'id="chart-projects-trend"' in html and 'id="chart-projects-ranking"' in html
    for script in re.findall(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", html, re.S):
        attrs, body = script
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs


def test_big_screen(client_for, ledger):
    response = client_for("hangzhou").get(reverse("cockpit-screen", args=["3301"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-theme="dark"' in html and 'data-rotate="' in html and "tb-slide" in html


def test_cockpit_query_count_does_not_grow_with_the_ledger(client_for, ledger, django_assert_max_num_queries):
    def count():
        c = client_for("hangzhou")
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(reverse("cockpit", args=["3301"])).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for i in range(5):
        make_project(OWN, name=f"追加项目{i}", status="started", actual_start=date(2020, 3, 2))
    assert count() == before
    assert before <= 40


def test_figures_build_defaults_for_a_user_who_sees_part_of_the_area(users, ledger):
    from townbrain.access.services import grant_membership

    user = users["xiaoshan"]
    grant_membership(SYSTEM, user, OrgUnit.objects.get(code=OTHER), "viewer")
    cockpit = figures.build(user, OrgUnit.objects.get(code="3301"))
    # 萧山区 (3 started) and 大洋镇 (1 started) — nothing else of 杭州市 is visible to this user.
    assert cockpit.rollup["started"] == 4 and cockpit.period == "202009"
