"""Articles, 定期约稿 quotas and honours: services, fulfilment, summaries, API, pages, scope, sources."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from townbrain.assessments import sources
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.publicity import demo, services
from townbrain.publicity.models import Article, Honour, Quota
from townbrain.testing.cases import APITests, ViewTests

from .conftest import OTHER, OWN

pytestmark = pytest.mark.django_db


def article(code, day=date(2020, 10, 20), level="city", outlet="杭州日报", title=None, actor=SYSTEM):
    return services.create(actor, Article, town=OrgUnit.objects.get(code=code), level=level, outlet=outlet,
                           published_on=day, title=title or f"{code} {day} {level}")


def quota(code, period="2020Q4", articles=2, min_level="city", actor=SYSTEM):
    return services.create(actor, Quota, town=OrgUnit.objects.get(code=code), period=period, articles=articles,
                           min_level=min_level)


def honour(code, kind="unit", recipient="瓜沥镇人民政府", day=date(2020, 12, 28), actor=SYSTEM):
    return services.create(actor, Honour, unit=OrgUnit.objects.get(code=code), kind=kind, recipient=recipient,
                           title="美丽城镇建设先进集体", issuer="杭州市美镇办", awarded_on=day)


class TestArticleAPI(APITests):
    basename = "article"
    update_data = {"outlet": "浙江日报", "level": "provincial"}

    def make(self, town_code):
        return Article.objects.create(town_id=town_code, level="city", outlet="杭州日报", published_on=date(2020, 10, 1),
                                      title=f"稿件{town_code}")

    def create_data(self, town_code):
        return {"town": town_code, "level": "central", "outlet": "人民日报", "published_on": "2020-11-02",
                "title": "美丽城镇的杭州样本", "link": "https://example.org/a"}


class TestQuotaAPI(APITests):
    basename = "article-quota"
    update_data = {"articles": 3}

    def make(self, town_code):
        return Quota.objects.create(town_id=town_code, period="2020Q4", articles=2, starts_on=date(2020, 10, 1),
                                    ends_on=date(2020, 12, 31), min_rank=2, min_level="city")

    def create_data(self, town_code):
        return {"town": town_code, "period": "2021Q1", "articles": 2, "min_level": "provincial"}


class TestHonourAPI(APITests):
    basename = "honour"
    update_data = {"reason": "成绩突出"}

    def make(self, town_code):
        return Honour.objects.create(unit_id=town_code, kind="person", recipient=f"某人{town_code}", title="先进个人",
                                     issuer="省政府", awarded_on=date(2018, 9, 18))

    def create_data(self, town_code):
        return {"unit": town_code, "kind": "unit", "recipient": "某镇人民政府", "title": "先进单位", "issuer": "省政府",
                "awarded_on": "2018-09-18"}


class TestArticleViews(ViewTests):
    list_url_name = "article-list"
    detail_url_name = "article-detail"
    text_of = staticmethod(lambda a: a.title)

    def make(self, town_code):
        return article(town_code, title=f"稿件{town_code}")


class TestQuotaViews(ViewTests):
    list_url_name = "quota-list"
    detail_url_name = "quota-detail"
    text_of = staticmethod(lambda q: q.town_id)

    def make(self, town_code):
        return quota(town_code)


class TestHonourViews(ViewTests):
    list_url_name = "honour-list"
    detail_url_name = "honour-detail"
    text_of = staticmethod(lambda h: h.recipient)

    def make(self, town_code):
        return honour(town_code, recipient=f"先进{town_code}")


def test_quota_fulfilment_counts_the_right_articles(users, api_for):
    q = quota(OWN, period="2020Q4", articles=3, min_level="city")
    article(OWN, day=date(2020, 10, 5), level="central")
    article(OWN, day=date(2020, 11, 5), level="city")
    article(OWN, day=date(2020, 12, 5), level="county")  # below the quota's level: not counted
    article(OWN, day=date(2021, 1, 5), level="provincial")  # outside the period
    article(OTHER, day=date(2020, 10, 5), level="central")  # another town
    assert services.with_counted(Quota.objects.filter(pk=q.pk)).get().counted == 2
    assert services.quota_summary(Quota.objects.all()) == {"quotas": 1, "owed": 3, "delivered": 2,
                                                           "fulfilment_rate": 66.7, "met": 0}
    got = api_for("guali").get("/api/articles/summary/", {"org": OWN, "year": 2020}).json()
    assert got["articles"] == 3 and got["by_level"] == {"central": 1, "provincial": 0, "city": 1, "county": 1}
    assert (got["owed"], got["delivered"], got["fulfilment_rate"]) == (3, 2, 66.7)
    detail = api_for("guali").get(f"/api/article-quotas/{q.pk}/").json()
    assert detail["counted"] == 2
    assert api_for("guali").get("/api/articles/summary/", {"org": OTHER}).status_code == 404


def test_rules_and_audit(users):
    with pytest.raises(ValidationError) as exc:
        quota(OWN, period="2020-13")
    assert "period" in exc.value.message_dict
    q = quota(OWN, period="2020q4")
    assert q.period == "2020Q4" and (q.starts_on, q.ends_on) == (date(2020, 10, 1), date(2020, 12, 31))
    with pytest.raises(ValidationError):
        quota(OWN, period="2020Q4")  # one quota per town and period
    with pytest.raises(ValidationError):
        article(OWN, title="  重复  ") and article(OWN, title="重复")
    with pytest.raises(ValidationError):
        services.create(SYSTEM, Article, town=OrgUnit.objects.get(code="330109"), level="city", outlet="x",
                        published_on=date(2020, 1, 1), title="县级稿件")
    with pytest.raises(PermissionDenied):
        article(OTHER, actor=users["guali"])
    h = honour("330109", recipient="萧山区美镇办", actor=users["xiaoshan"])  # an honour may be a county's
    services.update(users["xiaoshan"], h, reason="成绩突出")
    actions = list(AuditEntry.objects.filter(object_type="honour", object_id=str(h.pk)).values_list("action", flat=True))
    assert sorted(actions) == ["honour.create", "honour.update"]
    with pytest.raises(PermissionDenied):
        services.update(users["guali"], h, reason="越权")


def test_honour_summary_and_pages(users, client_for, api_for):
    honour(OWN, kind="unit", recipient="瓜沥镇人民政府")
    honour(OWN, kind="person", recipient="张三")
    honour(OTHER, kind="person", recipient="大洋某人")
    got = api_for("guali").get("/api/honours/summary/", {"year": 2020}).json()
    assert (got["honours"], got["units"], got["people"]) == (2, 1, 1)
    client = client_for("guali")
    page = client.get(reverse("honour-list")).content.decode()
    assert 'id="kpi-honours">2 ' in page and "张三" in page and "大洋某人" not in page
    created = client.post(reverse("article-create"), {"town": OWN, "level": "provincial", "outlet": "浙江日报",
                                                     "published_on": "2020-11-11", "title": "表单稿件",
                                                     "link": "zjol.com.cn/a"})
    assert created.status_code == 302, created.content.decode()[:3000]
    assert Article.objects.get(title="表单稿件").link == "https://zjol.com.cn/a"
    a = Article.objects.get(title="表单稿件")
    assert client.post(reverse("article-detail", args=[a.pk]), {"op": "delete"}).status_code == 302
    assert not Article.objects.filter(pk=a.pk).exists()
    quota(OWN)
    quotas = client.get(reverse("quota-list"), {"export": "csv"}).content.decode("utf-8-sig")
    assert "2020Q4" in quotas and OTHER not in quotas


def test_sources_count_per_town(users):
    quota(OWN, articles=2)
    article(OWN, day=date(2020, 10, 5), level="provincial")
    article(OWN, day=date(2020, 11, 5), level="city")
    article(OWN, day=date(2020, 11, 6), level="city")
    honour(OWN)
    keys = ["publicity.articles", "publicity.articles_high", "publicity.quota_rate", "publicity.honours"]
    got = sources.compute(keys, None, 2020, [OWN, OTHER])
    assert got["publicity.articles"] == {OWN: 3, OTHER: 0}
    assert got["publicity.articles_high"] == {OWN: 1, OTHER: 0}
    assert got["publicity.quota_rate"] == {OWN: 100.0}  # no quota, no rate for 大洋镇
    assert got["publicity.honours"] == {OWN: 1, OTHER: 0}


def test_demo_is_idempotent(users):
    summary = demo.load()
    assert summary["article_quotas"] > 0 and summary["articles"] > 0 and summary["honours"] >= 3
    assert demo.load() == {"articles": 0, "article_quotas": 0, "honours": 0}


def test_a_batch_answers_each_record_as_one_call_after_another(users):
    """PublicityBatch: a key the batch gives one record is refused to the next, a key a stored record leaves
    stays held until the batch is written (the rows go in together), and nothing is written before write()."""
    town = OrgUnit.objects.get(code=OWN)
    first, second = quota(OWN, period="2020Q3"), quota(OWN, period="2020Q4")
    audits = AuditEntry.objects.count()
    batch = services.PublicityBatch(SYSTEM, Quota)
    results = batch.check([
        (None, {"town": town, "period": "2021Q1", "articles": 3, "min_level": "city"}),
        (None, {"town": town, "period": "2021q1", "articles": 4, "min_level": "city"}),  # the key just taken
        (second, {"period": "2021Q2"}),  # 2020Q4 is left, but stays held …
        (None, {"town": town, "period": "2020Q4", "articles": 1, "min_level": "county"}),  # … against a new one
        (first, {"period": "2021Q2"}),  # taken by the move above
        (first, {"articles": 5}),
    ])
    assert [r[2] if isinstance(r, tuple) else "refused" for r in results] == [
        "created", "refused", "updated", "refused", "refused", "updated"]
    assert all("period" in results[i].message_dict for i in (1, 3, 4))
    assert Quota.objects.count() == 2 and AuditEntry.objects.count() == audits  # nothing written yet
    batch.write()
    assert sorted(Quota.objects.values_list("period", "articles")) == [("2020Q3", 5), ("2021Q1", 3), ("2021Q2", 2)]
    assert AuditEntry.objects.filter(action="quota.create").count() == 3  # the two made above and one now
    assert AuditEntry.objects.count() == audits + 3
