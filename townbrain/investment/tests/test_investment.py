"""招商 deals: services (stages, funds over time, audit), figures, API (summary), pages, scope."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.investment import services
from townbrain.investment.models import Deal, FundsReceipt
from townbrain.projects.tests.test_projects import make_project
from townbrain.testing.cases import APITests, ViewTests

from .conftest import OTHER, OWN, make_deal

pytestmark = pytest.mark.django_db


class TestDealAPI(APITests):
    basename = "deal"
    update_data = {"investor": "杭州萧山投资集团", "funds_in_place": "2500"}

    def make(self, town_code):
        return Deal.objects.create(town_id=town_code, name=f"签约项目{town_code}", signed_on=date(2020, 5, 1),
                                   signed_amount=Decimal("1000"))

    def create_data(self, town_code):
        return {"town": town_code, "name": "瓜沥镇智能制造园", "investor": "浙江某集团", "industry": "智能制造",
                "signed_amount": "30000", "signed_on": "2020-09-18", "funds_in_place": "5000", "stage": "funded"}


class TestDealViews(ViewTests):
    list_url_name = "deal-list"
    detail_url_name = "deal-detail"
    text_of = staticmethod(lambda d: d.name)

    def make(self, town_code):
        return Deal.objects.create(town_id=town_code, name=f"签约项目{town_code}", signed_on=date(2020, 5, 1),
                                   signed_amount=Decimal("1000"))


def test_stages_and_funds_over_time_are_kept_and_audited(users):
    deal = make_deal(OWN, actor=users["guali"])
    assert deal.stage == "signed" and [s.stage for s in deal.stages.all()] == ["signed"]
    services.add_receipt(users["guali"], deal, date=date(2020, 6, 1), amount=Decimal("2000"))
    services.add_receipt(users["guali"], deal, date=date(2020, 8, 1), amount=Decimal("1500"))
    deal.refresh_from_db()
    assert deal.funds_in_place == Decimal("3500") and deal.stage == "funded"  # funds moved it on
    assert deal.funds_rate == Decimal("35")
    project = make_project(OWN, code="GL-DEAL")
    deal = services.update_deal(users["guali"], deal, stage="started", project=project, stage_on=date(2020, 9, 1))
    assert dict(deal.stages.values_list("stage", "date")) == {
        "signed": date(2020, 5, 1), "funded": date(2020, 6, 1), "started": date(2020, 9, 1)}
    # A new total through the edit path is kept as a receipt of the difference.
    deal = services.update_deal(users["guali"], deal, funds_in_place=Decimal("5000"), funds_on=date(2020, 10, 1))
    assert list(deal.receipts.values_list("date", "amount")) == [
        (date(2020, 6, 1), Decimal("2000")), (date(2020, 8, 1), Decimal("1500")), (date(2020, 10, 1), Decimal("1500"))]
    actions = list(AuditEntry.objects.filter(object_type="deal", object_id=str(deal.pk)).values_list("action", flat=True))
    assert actions.count("deal.funds") == 2 and "deal.create" in actions and actions.count("deal.update") == 2
    # Back to 签约 (a correction) drops the later stages from the history.
    services.update_deal(users["guali"], deal, stage="funded")
    assert set(deal.stages.values_list("stage", flat=True)) == {"signed", "funded"}


def test_rules_refuse_with_reasons(users):
    town = OrgUnit.objects.get(code=OWN)
    with pytest.raises(ValidationError) as exc:
        services.create_deal(users["guali"], town=town, name="无资金", signed_on=date(2020, 5, 1),
                             signed_amount=Decimal("100"), stage="funded")
    assert "funds_in_place" in exc.value.message_dict
    other_project = make_project(OTHER, code="DY-9")
    with pytest.raises(ValidationError) as exc:
        services.create_deal(users["admin"], town=town, name="错镇项目", signed_on=date(2020, 5, 1),
                             project=other_project)
    assert "another town" in exc.value.message_dict["project"][0]
    with pytest.raises(ValidationError):
        services.create_deal(users["admin"], town=OrgUnit.objects.get(code="330109"), name="县级",
                             signed_on=date(2020, 5, 1))
    make_deal(OWN, name="同名")
    with pytest.raises(ValidationError):
        make_deal(OWN, name="同名")
    with pytest.raises(PermissionDenied):
        make_deal(OTHER, actor=users["guali"])
    deal = make_deal(OWN, name="回退")
    with pytest.raises(ValidationError):
        services.add_receipt(users["guali"], deal, date=date(2020, 4, 1), amount=Decimal("5"))


def test_summary_and_breakdown_are_live_and_scoped(users, api_for):
    a = make_deal(OWN, name="甲", industry="智能制造", signed_amount=Decimal("10000"))
    services.add_receipt(users["guali"], a, date=date(2020, 7, 1), amount=Decimal("4000"))
    b = make_deal(OWN, name="乙", industry="文化旅游", signed_amount=Decimal("6000"), day=date(2020, 8, 1))
    services.update_deal(users["guali"], b, stage="producing")
    make_deal(OWN, name="丙", industry="文化旅游", signed_amount=Decimal("4000"), day=date(2019, 3, 1))
    make_deal(OTHER, name="大洋", signed_amount=Decimal("99999"))
    api = api_for("guali")
    got = api.get("/api/deals/summary/", {"org": OWN, "year": 2020}).json()
    assert {k: got[k] for k in ("deals", "signed_amount", "funds_in_place", "funds_rate", "started", "producing")} == {
        "deals": 2, "signed_amount": 16000.0, "funds_in_place": 4000.0, "funds_rate": 25.0, "started": 1,
        "producing": 1}
    assert got["fulfilment_rate"] == 100.0  # one with funds, one producing
    assert api.get("/api/deals/summary/", {"org": OTHER, "year": 2020}).status_code == 404
    everything = api.get("/api/deals/summary/").json()
    assert everything["deals"] == 3  # 大洋镇's deal is not summed for 瓜沥镇
    rows = api.get("/api/deals/breakdown/", {"by": "industry", "year": 2020}).json()
    assert [(r["label"], r["deals"], r["signed_amount"]) for r in rows] == [("智能制造", 1, 10000.0), ("文化旅游", 1, 6000.0)]
    months = api.get("/api/deals/breakdown/", {"by": "month"}).json()
    assert [r["key"] for r in months] == ["201903", "202005", "202008"]
    assert api.get("/api/deals/breakdown/", {"by": "nonsense"}).status_code == 400


def test_receipts_api_scoped(users, api_for):
    own, other = make_deal(OWN), make_deal(OTHER)
    api = api_for("guali")
    created = api.post("/api/deal-funds/", {"deal": own.pk, "date": "2020-06-01", "amount": "300"}, format="json")
    assert created.status_code == 201, created.content
    assert Deal.objects.get(pk=own.pk).funds_in_place == Decimal("300")
    refused = api.post("/api/deal-funds/", {"deal": other.pk, "date": "2020-06-01", "amount": "300"}, format="json")
    assert refused.status_code == 400 and not FundsReceipt.objects.filter(deal=other).exists()
    assert api.delete(f"/api/deal-funds/{created.json()['id']}/").status_code == 204
    assert Deal.objects.get(pk=own.pk).funds_in_place == 0


def test_api_links_project_by_code_within_the_town(users, api_for):
    make_project(OWN, code="GL-LINK")
    make_project(OTHER, code="DY-LINK")
    api = api_for("guali")
    data = {"town": OWN, "name": "链接", "signed_on": "2020-05-01", "signed_amount": "100", "stage": "started"}
    ok = api.post("/api/deals/", {**data, "project": "GL-LINK"}, format="json")
    assert ok.status_code == 201, ok.content and ok.json()["project"] == "GL-LINK"
    bad = api.post("/api/deals/", {**data, "name": "链接2", "project": "DY-LINK"}, format="json")
    assert bad.status_code == 400 and "project" in bad.json()


def test_pages_show_figures_and_write_through_services(users, client_for):
    deal = make_deal(OWN, name="页面项目", signed_amount=Decimal("8000"))
    client = client_for("guali")
    page = client.get(reverse("deal-list"), {"year": 2020}).content.decode()
    assert 'id="kpi-deals">1 ' in page and "8,000" in page and "页面项目" in page
    detail = reverse("deal-detail", args=[deal.pk])
    response = client.post(detail, {"op": "receipt", "date": "2020-06-01", "amount": "2000"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.funds_in_place == Decimal("2000") and deal.stage == "funded"
    form = {"op": "edit", "signed_on": "2020-05-01", "town": OWN, "name": "页面项目", "investor": "新投资方",
            "industry": "智能制造", "signed_amount": "8000", "funds_in_place": "2000", "stage": "funded"}
    assert client.post(detail, form).status_code == 302
    assert Deal.objects.get(pk=deal.pk).investor == "新投资方"
    create = client.post(reverse("deal-create"), {**form, "name": "新签约", "op": ""})
    assert create.status_code == 302 and Deal.objects.filter(name="新签约").exists()
    export = client.get(reverse("deal-list"), {"export": "csv"}).content.decode("utf-8-sig")
    assert export.splitlines()[0].startswith("签约日期,乡镇代码,项目名称,投资方,产业,签约金额(万元),到位资金(万元),阶段,关联项目编号")
    assert client_for("guali_viewer").post(detail, form).status_code == 403


def test_sources_per_town(users):
    from townbrain.assessments import sources

    a = make_deal(OWN, name="甲", signed_amount=Decimal("10000"))
    services.add_receipt(users["guali"], a, date=date(2020, 7, 1), amount=Decimal("2500"))
    make_deal(OWN, name="乙", signed_amount=Decimal("10000"))
    make_deal(OWN, name="旧", signed_amount=Decimal("5000"), day=date(2019, 5, 1))
    keys = [k for k in sources.SOURCES if k.startswith("deals.")]
    got = sources.compute(keys, None, 2020, [OWN, OTHER])
    assert got["deals.count"] == {OWN: 2, OTHER: 0}
    assert got["deals.signed_amount"] == {OWN: 20000.0, OTHER: 0}
    assert got["deals.funds_rate"] == {OWN: 12.5}  # 大洋镇 signed nothing: no rate
    assert got["deals.fulfilment_rate"] == {OWN: 50.0}
    assert got["deals.started"] == {OWN: 0, OTHER: 0}


def test_demo_is_idempotent_and_reads_like_a_ceremony(users):
    from townbrain.investment import demo
    from townbrain.testing.tree import build_tree

    build_tree({"522723": "贵定县", "522723109": "盘江镇", "522723110": "沿山镇", "522723111": "昌明镇",
                "5227": "黔南布依族苗族自治州"})
    assert demo.load() == {"deals": 5}
    deals = Deal.objects.filter(event=demo.EVENT)
    assert {d.stage for d in deals} == {"signed", "funded", "started", "producing"}
    assert all(r.date > demo.SIGNED_ON for d in deals for r in d.receipts.all())
    assert demo.load() == {"deals": 0}
