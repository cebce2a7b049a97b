"""招商 roll-ups beyond the summary: per org unit one level down, per year, funds over time, the deal page's
table by org unit, the cockpit panel, a scheme scoring the `deals.*` sources, and the standard's export rows."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from townbrain.assessments import engine
from townbrain.assessments import services as assessments
from townbrain.assessments.tests.conftest import enrolled, make_spec, meili  # noqa: F401 (fixtures)
from townbrain.core import exports
from townbrain.core.models import OrgUnit
from townbrain.core.panels import Context
from townbrain.core.scope import SYSTEM
from townbrain.exchange import deal_kind
from townbrain.exchange.pipeline import run_import
from townbrain.investment import panels, services
from townbrain.investment.models import Deal
from townbrain.projects.tests.test_projects import make_project

from .conftest import OTHER, OWN, make_deal

pytestmark = pytest.mark.django_db
CHENGXIANG = "330109001"


@pytest.fixture
def deals(users):
    """瓜沥镇: 10000 signed, 4000 in place (June and September 2020), started; 城厢街道: 6000, nothing yet;
    大洋镇 (建德): 5000 signed in 2019, producing with 5000 in place (2019-12)."""
    a = make_deal(OWN, name="甲", industry="智能制造", signed_amount=Decimal("10000"))
    services.add_receipt(SYSTEM, a, date=date(2020, 6, 10), amount=Decimal("1000"))
    services.add_receipt(SYSTEM, a, date=date(2020, 9, 1), amount=Decimal("3000"))
    services.update_deal(SYSTEM, a, stage="started", project=make_project(OWN, code="GL-R"), stage_on=date(2020, 10, 1))
    make_deal(CHENGXIANG, name="乙", industry="文化旅游", signed_amount=Decimal("6000"), day=date(2020, 7, 1))
    c = make_deal(OTHER, name="丙", industry="文化旅游", signed_amount=Decimal("5000"), day=date(2019, 3, 1),
                  funds_in_place=Decimal("5000"), funds_on=date(2019, 12, 5), stage="producing",
                  stage_on=date(2019, 12, 20))
    return a, c


def rows(response):
    assert response.status_code == 200, response.content
    return {r["key"]: (r["label"], r["deals"], r["signed_amount"], r["funds_rate"], r["fulfilment_rate"])
            for r in response.json()}


def test_breakdown_per_org_unit_one_level_down(deals, api_for):
    hangzhou = api_for("hangzhou")
    assert rows(hangzhou.get("/api/deals/breakdown/", {"by": "unit", "org": "3301"})) == {
        "330109": ("萧山区", 2, 16000.0, 25.0, 50.0), "330182": ("建德市", 1, 5000.0, 100.0, 100.0)}
    assert rows(hangzhou.get("/api/deals/breakdown/", {"by": "unit", "org": "330109"})) == {
        OWN: ("瓜沥镇", 1, 10000.0, 40.0, 100.0), CHENGXIANG: ("城厢街道", 1, 6000.0, 0.0, 0.0)}
    assert rows(hangzhou.get("/api/deals/breakdown/", {"by": "unit", "org": OWN})) == {
        OWN: ("瓜沥镇", 1, 10000.0, 40.0, 100.0)}  # a town's roll-up is the town
    # Without org: the units below the user's one area; only what the user may see.
    assert set(rows(api_for("xiaoshan").get("/api/deals/breakdown/", {"by": "unit"}))) == {OWN, CHENGXIANG}
    assert set(rows(api_for("admin").get("/api/deals/breakdown/", {"by": "unit"}))) == {"33"}
    assert api_for("xiaoshan").get("/api/deals/breakdown/", {"by": "unit", "org": "330182"}).status_code == 404
    by_year = rows(hangzhou.get("/api/deals/breakdown/", {"by": "year"}))
    assert by_year == {"2019": ("2019", 1, 5000.0, 100.0, 100.0), "2020": ("2020", 2, 16000.0, 25.0, 50.0)}
    assert list(by_year) == ["2019", "2020"]


def test_funds_over_time(deals, api_for):
    api = api_for("hangzhou")
    got = api.get("/api/deals/timeline/", {"org": "3301"}).json()
    assert got == [{"period": "201912", "received": 5000.0, "in_place": 5000.0},
                   {"period": "202006", "received": 1000.0, "in_place": 6000.0},
                   {"period": "202009", "received": 3000.0, "in_place": 9000.0}]
    # The filter picks the deals (signed in 2020); their funds count in the month they arrived.
    assert [r["period"] for r in api.get("/api/deals/timeline/", {"year": 2020}).json()] == ["202006", "202009"]
    assert api_for("guali").get("/api/deals/timeline/").json()[-1]["in_place"] == 4000.0  # 大洋镇 not seen
    assert api_for("guali").get("/api/deals/timeline/", {"org": OTHER}).status_code == 404


def test_stage_dates_and_project_link_are_kept(deals, api_for):
    a, c = deals
    got = api_for("guali").get(f"/api/deals/{a.pk}/").json()
    assert got["stages"] == {"signed": "2020-05-01", "funded": "2020-06-10", "started": "2020-10-01"}
    assert got["project"] == "GL-R" and got["funds_rate"] == 40.0
    assert dict(c.stages.values_list("stage", "date")) == {
        "signed": date(2019, 3, 1), "funded": date(2019, 12, 20), "started": date(2019, 12, 20),
        "producing": date(2019, 12, 20)}


def test_deal_page_lists_org_units_below_the_area(deals, client_for):
    page = client_for("xiaoshan").get(reverse("deal-list")).content.decode()
    assert 'id="deal-by-unit"' in page and f'data-key="{OWN}"' in page and f'data-key="{CHENGXIANG}"' in page
    assert 'data-key="330182"' not in page and "大洋镇" not in page
    town = client_for("guali").get(reverse("deal-list")).content.decode()
    assert 'id="deal-by-unit"' not in town  # one row (the town itself) is no table


def test_cockpit_panel(deals, users):
    hangzhou = OrgUnit.objects.get(code="3301")
    data = panels.build(Context(users["hangzhou"], hangzhou, None, "202012"))
    cards = {c.key: c.value for c in data.cards}
    assert cards["deals"] == "2" and cards["started"] == "1" and cards["producing"] == "0"
    assert cards["fulfilment_rate"].startswith("50")
    assert data.charts[0].categories == ["智能制造", "文化旅游"]
    assert panels.build(Context(users["hangzhou"], hangzhou, None, "202004")) is None  # nothing signed yet
    # Year to the month: the 2019 deal is 2019's; another town's user sees only its own.
    assert {c.key: c.value for c in panels.build(Context(users["hangzhou"], hangzhou, None, "201912")).cards}[
        "producing"] == "1"
    assert {c.key: c.value for c in panels.build(Context(users["guali"], hangzhou, None, "202012")).cards}[
        "deals"] == "1"


def test_a_scheme_naming_the_deal_sources_scores(deals, enrolled, meili):  # noqa: F811
    spec = make_spec([
        {"code": "rate", "name": "资金到位率", "system": "deals.funds_rate", "method": "linear", "points": 10,
         "zero_at": 0, "full_at": 50},
        {"code": "ahead", "name": "履约", "formula": "#{deals.started} + #{deals.producing}", "method": "bands",
         "points": 5, "bands": [{"min": 1, "points": 5}]},
    ], code="deals-scheme")
    scheme = assessments.import_scheme(SYSTEM, spec)
    results = {r.town: r.breakdown for r in engine.run(spec, 2020).results}
    assert results[OWN]["values"] == [40.0, 1.0] and results[OWN]["points"] == [8.0, 5.0]
    assert results[CHENGXIANG]["values"] == [0.0, 0.0]
    assert results[OTHER]["values"][1] == 0.0  # its deal was signed in 2019
    run = assessments.start_run(SYSTEM, scheme, 2020)
    assert run.results.get(town_id=OWN).score == Decimal("13.00")


def test_export_rows_import_back_unchanged(deals, users):
    headers = [c.header for c in deal_kind.DEALS.columns]
    book = exports.to_xlsx(headers, deal_kind.export_rows(deal_kind.export_queryset(users["hangzhou"])))
    again = run_import(users["hangzhou"], book, "deals.xlsx", "deals")
    assert again["errors"] == [] and again["counts"]["unchanged"] == 3, again
    mine = list(deal_kind.export_rows(deal_kind.export_queryset(users["guali"])))
    assert [r[2] for r in mine] == ["甲"] and mine[0][7] == "开工" and mine[0][8] == "GL-R"
    assert Deal.objects.count() == 3


def test_townbrain_export_writes_deals_that_import_back(deals, users):
    from townbrain.exchange.exports import export

    book = export(users["hangzhou"], "deals", "xlsx", org="330109")
    again = run_import(users["hangzhou"], book, "deals.xlsx", "deals")
    assert again["errors"] == [] and again["counts"]["unchanged"] == Deal.objects.filter(
        town__code__startswith="330109").count() > 0, again
