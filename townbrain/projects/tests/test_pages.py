"""The roll-up page and the warnings page: defaults, scope, drill-down, filters, exports."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.programmes.services import enrol_town
from townbrain.projects import services
from townbrain.projects.forms import default_period
from townbrain.projects.tests.test_projects import make_project

OWN, OTHER = "330109113", "330182107"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SEPT = {"period": "202009", "programme": "meili"}


@pytest.fixture
def ledger(users):
    """瓜沥镇: one started (reported), one not started; 城厢街道: one started; 大洋镇: one started."""
    started = make_project(OWN, name="瓜沥镇美丽街区", status="started", actual_start=date(2020, 3, 10))
    idle = make_project(OWN, name="瓜沥镇农贸市场")
    services.report_progress(SYSTEM, started, "202009", cumulative_investment=Decimal("300"),
                             progress_percent=Decimal("65"), status="started")
    chengxiang = make_project("330109001", name="城厢街道公园", status="started", actual_start=date(2020, 4, 1))
    services.report_progress(SYSTEM, chengxiang, "202009", cumulative_investment=Decimal("100"),
                             progress_percent=Decimal("60"), status="started")
    dayang = make_project(OTHER, name="大洋镇污水管网", status="started", actual_start=date(2020, 4, 1))
    return {"started": started, "idle": idle, "chengxiang": chengxiang, "dayang": dayang}


def csv_rows(response) -> list[list[str]]:
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- roll-ups -------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, users):
    for name in ("rollup-page", "warning-list"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_defaults_are_the_users_unit_the_latest_month_with_data_and_meili(client_for, ledger):
    response = client_for("guali").get(reverse("rollup-page"), **EN)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.cleaned_data["org"] == OWN and form.cleaned_data["programme"].code == "meili"
    # The ledger's reports are of September 2020: the page opens there, not on an empty last month.
    assert form.cleaned_data["period"] == "202009" != default_period()
    html = response.content.decode()
    assert 'id="rollup-town-note"' in html  # a town: no children, a link to its projects instead
    assert f"{reverse('project-list')}?town={OWN}&amp;programme=meili" in html
    assert "大洋镇" not in html


def test_town_figures_as_kpis(client_for, ledger):
    response = client_for("guali").get(reverse("rollup-page"), SEPT, **EN)
    figures = response.context["figures"]
    assert figures["planned_to_start"] == 2 and figures["started"] == 1
    html = response.content.decode()
    assert '<div class="h1 mb-1" id="kpi-start-rate">50.0%</div>' in html
    assert "300" in html and "万元" in html
    assert 'id="rollup-chart"' not in html  # a town has no children to chart


def test_scoped_other_org_404(client_for, ledger):
    client = client_for("guali")
    for org in (OTHER, "330109", "33", "330182107000"):
        response = client.get(reverse("rollup-page"), {**SEPT, "org": org})
        assert response.status_code == 404, org
        assert "大洋镇" not in response.content.decode()


def test_county_children_drill_down(client_for, ledger):
    response = client_for("xiaoshan").get(reverse("rollup-page"), SEPT, **EN)
    assert response.context["form"].cleaned_data["org"] == "330109"
    children = {c["code"]: c for c in response.context["children"]}
    assert set(children) == {"330109001", OWN}
    assert children[OWN]["planned_to_start"] == 2 and children[OWN]["started"] == 1
    assert children["330109001"]["started"] == 1
    html = response.content.decode()
    drill = f"{reverse('rollup-page')}?org={OWN}&amp;period=202009&amp;programme=meili"
    assert drill in html
    assert f"{reverse('project-list')}?town={OWN}&amp;programme=meili" in html
    assert 'id="rollup-chart"' in html and 'id="rollup-chart-data"' in html
    assert "大洋镇" not in html
    # one level down: the town
    town = client_for("xiaoshan").get(reverse("rollup-page"), {**SEPT, "org": OWN})
    assert town.status_code == 200 and town.context["figures"]["planned_to_start"] == 2


def test_province_matches_the_api(client_for, api_for, ledger):
    page = client_for("zhejiang").get(reverse("rollup-page"), {**SEPT, "org": "33"})
    api = api_for("zhejiang").get("/api/rollups/", {**SEPT, "org": "33"}).json()
    figures = page.context["figures"]
    for key in ("planned_to_start", "started", "start_rate", "investment_rate", "laggards"):
        assert figures[key] == api[key], key
    assert float(figures["investment_done"]) == pytest.approx(api["investment_done"])
    assert [c["code"] for c in page.context["children"]] == ["3301"]
    # the breadcrumb-like ancestors of a town link back up the roll-up
    town = client_for("zhejiang").get(reverse("rollup-page"), {**SEPT, "org": OWN}).content.decode()
    assert f"{reverse('rollup-page')}?org=330109&amp;period=202009&amp;programme=meili" in town


def test_live_after_a_report(client_for, ledger):
    client = client_for("xiaoshan")
    before = client.get(reverse("rollup-page"), SEPT).context["figures"]["investment_done"]
    services.report_progress(SYSTEM, ledger["started"], "202009", cumulative_investment=Decimal("500"),
                             progress_percent=Decimal("65"), status="started")
    after = client.get(reverse("rollup-page"), SEPT).context["figures"]["investment_done"]
    assert Decimal(after) - Decimal(before) == Decimal("200")


def test_role_and_category_filters(client_for, ledger):
    meili = Programme.objects.get(code="meili")
    enrol_town(SYSTEM, OrgUnit.objects.get(code=OWN), meili, year_joined=2020, role=meili.roles.get(code="yangban"))
    enrol_town(SYSTEM, OrgUnit.objects.get(code="330109001"), meili, year_joined=2020,
               role=meili.roles.get(code="dabiao"))
    client = client_for("xiaoshan")
    yangban = client.get(reverse("rollup-page"), {**SEPT, "role": "yangban"})
    assert yangban.context["figures"]["planned_to_start"] == 2
    children = {c["code"]: c["planned_to_start"] for c in yangban.context["children"]}
    assert children == {"330109001": 0, OWN: 2}
    # the drill-down keeps the filter
    assert "role=yangban" in yangban.context["children"][0]["href"]
    category = meili.categories.get(code="gongneng")
    services.update_project(SYSTEM, ledger["idle"], category=category)
    only = client.get(reverse("rollup-page"), {**SEPT, "category": "gongneng"}).context["figures"]
    assert only["planned_to_start"] == 1 and only["started"] == 0
    # a category of another programme is refused with a reason, no figures
    bad = client.get(reverse("rollup-page"), {**SEPT, "category": "guihua"}, **EN)
    assert bad.status_code == 200 and "figures" not in bad.context
    assert "is not one of this programme" in bad.content.decode()


def test_bad_period_says_why(client_for, ledger):
    response = client_for("guali").get(reverse("rollup-page"), {**SEPT, "period": "2020-13"}, **EN)
    assert response.status_code == 200 and "figures" not in response.context
    assert "YYYYMM" in response.content.decode()
    ok = client_for("guali").get(reverse("rollup-page"), {**SEPT, "period": "2020-09"})
    assert ok.context["form"].cleaned_data["period"] == "202009"


def test_exports(client_for, ledger):
    client = client_for("xiaoshan")
    rows = csv_rows(client.get(reverse("rollup-page"), {**SEPT, "export": "csv"}, **EN))
    assert rows[0][:4] == ["Division code", "Name", "Planned to start", "Started"]
    by_code = {r[0]: r for r in rows[1:]}
    assert set(by_code) == {"330109001", OWN, "330109"}  # the children and the total
    assert by_code[OWN][2:4] == ["2", "1"] and by_code["330109"][1] == "萧山区 (total)"
    # the month's reporting deadline on every row (the cycle's: the 5th moved past 国庆)
    assert rows[0][-2:] == ["Reports due", "Days left"] and {r[-2] for r in rows[1:]} == {"2020-10-09"}
    xlsx = client.get(reverse("rollup-page"), {**SEPT, "export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get(reverse("rollup-page"), {**SEPT, "export": "pdf"}).status_code == 404
    # a town user's export holds only her town
    own = csv_rows(client_for("guali").get(reverse("rollup-page"), {**SEPT, "export": "csv"}))
    assert [r[0] for r in own[1:]] == [OWN]


def test_htmx_request_gets_the_page_with_the_swappable_body(client_for, ledger):
    response = client_for("guali").get(reverse("rollup-page"), SEPT, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="rollup-body"' in html and 'hx-select="#rollup-body"' in html


def test_writes_are_refused(client_for, ledger):
    assert client_for("guali").post(reverse("rollup-page"), SEPT).status_code == 405
    assert client_for("guali").post(reverse("warning-list"), SEPT).status_code == 405


# --- warnings -------------------------------------------------------------------------------------


def test_warnings_scoped_and_linked(client_for, ledger):
    response = client_for("guali").get(reverse("warning-list"), SEPT, **EN)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert {(r["kind"], r["project"]) for r in rows} == {("not_started", ledger["idle"].pk)}
    html = response.content.decode()
    assert reverse("project-detail", args=[ledger["idle"].pk]) in html
    assert reverse("orgunit-detail", args=[OWN]) in html
    assert "大洋镇" not in html
    assert client_for("guali").get(reverse("warning-list"), {**SEPT, "org": OTHER}).status_code == 404


def test_warnings_missing_report_and_kinds(client_for, ledger):
    client = client_for("zhejiang")
    response = client.get(reverse("warning-list"), {**SEPT, "org": "33"}, **EN)
    kinds = {(r["kind"], r["town"]) for r in response.context["rows"]}
    assert ("missing_report", OTHER) in kinds  # 大洋镇 started but never reported September
    assert ("not_started", OWN) in kinds
    assert ("missing_report", OWN) not in kinds
    html = response.content.decode()
    assert 'id="count-missing_report"' in html
    only = client.get(reverse("warning-list"), {**SEPT, "org": "33", "kind": "missing_report"})
    assert {r["kind"] for r in only.context["rows"]} == {"missing_report"}
    assert reverse("orgunit-detail", args=[OTHER]) in only.content.decode()
    bad = client.get(reverse("warning-list"), {**SEPT, "org": "33", "kind": "nonsense"})
    assert "rows" not in bad.context


def test_warnings_exports(client_for, ledger):
    client = client_for("guali")
    rows = csv_rows(client.get(reverse("warning-list"), {**SEPT, "export": "csv"}, **EN))
    assert rows[0] == ["Kind", "Division code", "Town", "Project code", "Project name", "Warning", "Reports due"]
    assert [r[1] for r in rows[1:]] == [OWN]
    assert {r[6] for r in rows[1:]} == {"2020-10-09"}  # the cycle's September deadline (国庆 moves the 5th)
    assert rows[1][3] == ledger["idle"].code
    xlsx = client.get(reverse("warning-list"), {**SEPT, "export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    whole = csv_rows(client_for("zhejiang").get(reverse("warning-list"), {**SEPT, "org": "33", "export": "csv"}))
    assert OTHER in {r[1] for r in whole[1:]}
