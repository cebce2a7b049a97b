"""Publicity counted per org unit and period: the breakdowns of articles, 定期约稿 quotas and honours, the
cockpit panel, and a scheme scoring the `publicity.*` sources."""

from datetime import date
from decimal import Decimal

import pytest

from townbrain.assessments import engine
from townbrain.assessments import services as assessments
from townbrain.assessments.tests.conftest import enrolled, make_spec, meili  # noqa: F401 (fixtures)
from townbrain.core.models import OrgUnit
from townbrain.core.panels import Context
from townbrain.core.scope import SYSTEM
from townbrain.publicity import panels

from .conftest import OTHER, OWN
from .test_publicity import article, honour, quota

pytestmark = pytest.mark.django_db
CHENGXIANG = "330109001"


@pytest.fixture
def records(users):
    quota(OWN, period="2020Q4", articles=2, min_level="city")
    quota(CHENGXIANG, period="2020Q4", articles=2, min_level="")
    quota(OWN, period="2021Q1", articles=1, min_level="")
    article(OWN, day=date(2020, 10, 5), level="central")
    article(OWN, day=date(2020, 11, 5), level="county")  # below 瓜沥镇's quota level
    article(CHENGXIANG, day=date(2020, 11, 9), level="county")
    article(OTHER, day=date(2020, 12, 1), level="provincial")
    article(OTHER, day=date(2021, 1, 3), level="city")
    honour(OWN, kind="unit", recipient="瓜沥镇人民政府")
    honour(OWN, kind="person", recipient="张三")
    honour("330109", kind="unit", recipient="萧山区美镇办")  # a county's own honour
    honour(OTHER, kind="person", recipient="李四", day=date(2021, 3, 1))


def table(response, *fields):
    assert response.status_code == 200, response.content
    return {r["key"]: tuple(r[f] for f in fields) for r in response.json()}


def test_articles_per_org_unit_and_period(records, api_for):
    api = api_for("hangzhou")
    assert table(api.get("/api/articles/breakdown/", {"org": "3301", "year": 2020}), "label", "articles") == {
        "330109": ("萧山区", 3), "330182": ("建德市", 1)}
    by_town = api.get("/api/articles/breakdown/", {"by": "town", "org": "330109"}).json()
    assert [(r["key"], r["articles"], r["by_level"]["central"]) for r in by_town] == [(OWN, 2, 1), (CHENGXIANG, 1, 0)]
    assert table(api.get("/api/articles/breakdown/", {"by": "month"}), "articles") == {
        "202010": (1,), "202011": (2,), "202012": (1,), "202101": (1,)}
    assert table(api.get("/api/articles/breakdown/", {"by": "level", "year": 2020}), "articles") == {
        "central": (1,), "provincial": (1,), "county": (2,)}
    # Without org: the units below the user's area; another area is 404; an unknown `by` is 400.
    assert set(table(api_for("xiaoshan").get("/api/articles/breakdown/"), "articles")) == {OWN, CHENGXIANG}
    assert api_for("xiaoshan").get("/api/articles/breakdown/", {"org": "330182"}).status_code == 404
    assert api.get("/api/articles/breakdown/", {"by": "outlet"}).status_code == 400


def test_quota_fulfilment_per_org_unit_and_period(records, api_for):
    api = api_for("hangzhou")
    fields = ("quotas", "owed", "delivered", "fulfilment_rate", "met")
    assert table(api.get("/api/article-quotas/breakdown/", {"org": "330109", "year": 2020}), *fields) == {
        OWN: (1, 2, 1, 50.0, 0), CHENGXIANG: (1, 2, 1, 50.0, 0)}
    assert table(api.get("/api/article-quotas/breakdown/", {"by": "period"}), *fields) == {
        "2020Q4": (2, 4, 2, 50.0, 0), "2021Q1": (1, 1, 0, 0.0, 0)}
    assert table(api_for("dayang").get("/api/article-quotas/breakdown/"), *fields) == {}


def test_honours_per_org_unit_and_period(records, api_for):
    api = api_for("hangzhou")
    fields = ("label", "honours", "units", "people")
    assert table(api.get("/api/honours/breakdown/", {"org": "3301"}), *fields) == {
        "330109": ("萧山区", 3, 2, 1), "330182": ("建德市", 1, 0, 1)}
    # Below a county: its towns, and the county's own honour at the county.
    assert table(api.get("/api/honours/breakdown/", {"org": "330109"}), *fields) == {
        OWN: ("瓜沥镇", 2, 1, 1), "330109": ("萧山区", 1, 1, 0)}
    assert table(api.get("/api/honours/breakdown/", {"by": "year"}), "honours") == {"2020": (3,), "2021": (1,)}
    assert table(api.get("/api/honours/breakdown/", {"by": "kind", "year": 2020}), "honours") == {
        "unit": (2,), "person": (1,)}
    assert table(api_for("guali").get("/api/honours/breakdown/"), "honours") == {OWN: (2,)}


def test_cockpit_panel(records, users):
    hangzhou = OrgUnit.objects.get(code="3301")
    data = panels.build(Context(users["hangzhou"], hangzhou, None, "202012"))
    cards = {c.key: (c.value, c.note) for c in data.cards}
    assert cards["articles"][0] == "4" and cards["honours"][0] == "3"
    assert cards["quota_fulfilment"][0].startswith("50")
    assert data.charts[0].series[0].data == [1, 1, 0, 2]  # 中央, 省级, 市级, 县级
    assert panels.build(Context(users["guali"], hangzhou, None, "202012")).charts[0].series[0].data == [1, 0, 0, 1]
    assert panels.build(Context(users["hangzhou"], hangzhou, None, "201912")) is None


def test_a_scheme_naming_the_publicity_sources_scores(records, enrolled, meili):  # noqa: F811
    spec = make_spec([
        {"code": "quota", "name": "约稿完成率", "system": "publicity.quota_rate", "method": "linear", "points": 10,
         "zero_at": 0, "full_at": 100},
        {"code": "voice", "name": "宣传与表彰", "formula": "#{publicity.articles_high} * 2 + #{publicity.honours}",
         "method": "linear", "points": 5, "zero_at": 0, "full_at": 5},
    ], code="publicity-scheme")
    scheme = assessments.import_scheme(SYSTEM, spec)
    results = {r.town: r.breakdown for r in engine.run(spec, 2020).results}
    assert results[OWN]["values"] == [50.0, 4.0] and results[OWN]["points"] == [5.0, 4.0]
    assert results[OTHER]["values"][1] == 2.0  # one provincial article in 2020; the 2021 honour is not 2020's
    run = assessments.start_run(SYSTEM, scheme, 2020)
    assert run.results.get(town_id=OWN).score == Decimal("9.00")
