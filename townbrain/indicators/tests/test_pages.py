"""The indicator pages: the entry form (填报) of an org unit and period, data elements, indicators, validation."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.indicators import services
from townbrain.indicators.models import DataValue

pytestmark = pytest.mark.django_db

GUALI, CHENGXIANG, XIAOSHAN, DAYANG = "330109113", "330109001", "330109", "330182107"


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, so messages can be asserted as written (one test checks the Chinese)."""
    client.cookies["django_language"] = "en"


@pytest.fixture
def data(tree, users):
    e = {
        "treated": services.save_element(SYSTEM, "sewage_treated", name="污水处理量", unit="吨", aggregation="sum"),
        "total": services.save_element(SYSTEM, "sewage_total", name="污水排放量", unit="吨", aggregation="sum"),
        "coverage": services.save_element(SYSTEM, "toilet_rate", name="公厕达标率", value_type="percent", unit="%",
                                          aggregation="average"),
        "station": services.save_element(SYSTEM, "has_station", name="污水处理设施", value_type="boolean",
                                         aggregation="last"),
        "note": services.save_element(SYSTEM, "work_note", name="工作说明", value_type="text"),
    }
    services.save_indicator(SYSTEM, "sewage_rate", name="污水处理率", unit="%", decimals=1,
                            formula="#{sewage_treated} / #{sewage_total} * 100")
    services.save_rule(SYSTEM, "treated_le_total", name="处理量不超过排放量", left="#{sewage_treated}",
                       operator="<=", right="#{sewage_total}", importance="high")
    for code, treated, total in ((GUALI, 45, 50), (CHENGXIANG, 30, 50), (DAYANG, 10, 20)):
        services.set_value(SYSTEM, e["treated"], tree[code], "2020", treated)
        services.set_value(SYSTEM, e["total"], tree[code], "2020", total, "年报")
    services.set_value(SYSTEM, e["station"], tree[GUALI], "2020", "是")
    return e


def entry_url(code=GUALI, period="2020"):
    return reverse("datavalue-entry", args=[code, period])


def form_data(**changes):
    """The entry form as the browser posts it unchanged (瓜沥镇, 2020), with some fields changed."""
    data = {"v_sewage_treated": "45", "c_sewage_treated": "", "v_sewage_total": "50", "c_sewage_total": "年报",
            "v_toilet_rate": "", "c_toilet_rate": "", "v_has_station": "1", "c_has_station": "",
            "v_work_note": "", "c_work_note": ""}
    data.update(changes)
    return data


def value(code, element="sewage_treated", period="2020"):
    v = DataValue.objects.filter(org_unit_id=code, element__code=element, period=period).first()
    return None if v is None else v.value


def audit_rows(**kw):
    return AuditEntry.objects.filter(object_type="datavalue", **kw).count()


# --- the entry form -------------------------------------------------------------------------------


def test_entry_form_for_an_editor(client_for, data):
    response = client_for("guali").get(entry_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="entry-form"' in html
    assert 'name="v_sewage_treated"' in html and 'value="45"' in html  # 45.000000 stored, shown as written
    assert 'name="c_sewage_total"' in html and 'value="年报"' in html
    assert '<option value="1" selected>' in html  # has_station: 是
    assert "吨" in html and "公厕达标率" in html and "工作说明" in html
    assert "From the units below" not in html  # a town has no units below with values of their own


def test_entry_form_is_read_only_for_a_viewer(client_for, data):
    client = client_for("guali_viewer")
    html = client.get(entry_url()).content.decode()
    assert 'id="entry-form"' not in html and 'name="v_sewage_treated"' not in html
    assert "45" in html and "年报" in html
    before = audit_rows()
    assert client.post(entry_url(), form_data(v_sewage_treated="40")).status_code == 403
    assert value(GUALI) == Decimal(45) and audit_rows() == before


def test_saving_writes_only_the_changed_values(client_for, data):
    client = client_for("guali")
    before = audit_rows(action="datavalue.save")
    response = client.post(entry_url(), form_data(v_sewage_treated="40", v_toilet_rate="95.5%",
                                                  v_work_note="已完成管网改造", c_work_note="见附件"))
    assert response.status_code == 302 and response["Location"] == entry_url()
    # three values changed or new, one audit row each; sewage_total and has_station were not rewritten
    assert audit_rows(action="datavalue.save") == before + 3
    assert audit_rows(action="datavalue.save", changes__has_key="number", org_code=GUALI) >= 1
    assert value(GUALI) == Decimal(40)
    assert value(GUALI, "toilet_rate") == Decimal("95.5")
    assert value(GUALI, "work_note") == "已完成管网改造"
    total = DataValue.objects.get(org_unit_id=GUALI, element__code="sewage_total", period="2020")
    assert total.comment == "年报" and not AuditEntry.objects.filter(object_id=str(total.pk),
                                                                    actor__username="guali").exists()
    entry = AuditEntry.objects.filter(action="datavalue.save", actor__username="guali",
                                      object_repr__startswith="sewage_treated").get()
    assert Decimal(entry.changes["number"][0]) == 45 and Decimal(entry.changes["number"][1]) == 40
    assert entry.source == "web"
    page = client.get(entry_url()).content.decode()
    assert "3 values saved." in page and 'id="no-violations"' in page

    again = audit_rows()
    client.post(entry_url(), form_data(v_sewage_treated="40.0", v_toilet_rate="95.5", v_work_note="已完成管网改造",
                                       c_work_note="见附件"))
    assert audit_rows() == again  # the same figures again: nothing written
    assert "Nothing changed." in client.get(entry_url()).content.decode()


def test_a_partial_post_leaves_the_other_values_alone(client_for, data):
    response = client_for("guali").post(entry_url(), {"v_sewage_treated": "44"})
    assert response.status_code == 302
    assert value(GUALI) == Decimal(44) and value(GUALI, "sewage_total") == Decimal(50)
    assert DataValue.objects.get(org_unit_id=GUALI, element__code="sewage_total", period="2020").comment == "年报"


def test_clearing_a_value_deletes_it(client_for, data):
    response = client_for("guali").post(entry_url(), form_data(v_has_station="", v_sewage_treated=""))
    assert response.status_code == 302
    assert value(GUALI, "has_station") is None and value(GUALI) is None
    assert audit_rows(action="datavalue.delete", org_code=GUALI) == 2


def test_invalid_values_are_reported_and_nothing_is_written(client_for, data):
    client = client_for("guali")
    before = (audit_rows(), list(DataValue.objects.values_list("pk", "number", "text", "comment")))
    response = client.post(entry_url(), form_data(
        v_sewage_treated="四十五", v_toilet_rate="120", v_has_station="maybe", v_sewage_total="60",
        c_work_note="没有数值的备注"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "“四十五” is not a number." in html
    assert "A percentage lies between 0 and 100; got 120." in html
    assert "“maybe” is not yes/no (是/否)." in html
    assert "Enter a value for this comment, or clear the comment too." in html
    assert "Nothing was saved" in html
    # what the user typed is still there, the valid change (60) included
    assert 'value="四十五"' in html and 'value="120"' in html and 'value="60"' in html
    assert (audit_rows(), list(DataValue.objects.values_list("pk", "number", "text", "comment"))) == before


def test_errors_speak_the_users_language(client_for, data):
    client = client_for("guali")
    client.cookies["django_language"] = "zh-hans"
    html = client.post(entry_url(), form_data(v_sewage_treated="四十五", v_has_station="maybe")).content.decode()
    assert "“四十五”不是数字。" in html and "“maybe”不是是/否。" in html
    assert value(GUALI) == Decimal(45)


def test_too_large_a_number_is_refused(client_for, data):
    response = client_for("guali").post(entry_url(), form_data(v_sewage_treated="1e20"))
    assert response.status_code == 200 and value(GUALI) == Decimal(45)
    assert "too large" in response.content.decode()


def test_saving_is_all_or_nothing(client_for, data, monkeypatch):
    calls = []
    real = services.parse_value

    def flaky(element, raw):
        calls.append(element.code)
        if element.code == "sewage_total":  # the second of the two changed values
            raise ValidationError({"value": "数据库拒绝了第二个数值"})
        return real(element, raw)

    monkeypatch.setattr(services, "parse_value", flaky)
    before = audit_rows()
    response = client_for("guali").post(entry_url(), form_data(v_sewage_treated="40", v_sewage_total="55"))
    assert response.status_code == 200 and calls.index("sewage_treated") < calls.index("sewage_total")
    assert "数据库拒绝了第二个数值" in response.content.decode()
    assert value(GUALI) == Decimal(45) and value(GUALI, "sewage_total") == Decimal(50)  # the first write rolled back
    assert audit_rows() == before


def test_violations_are_shown_after_saving(client_for, data):
    client = client_for("guali")
    response = client.post(entry_url(), form_data(v_sewage_treated="60"), follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and "1 value saved." in html
    assert 'data-rule="treated_le_total"' in html and "处理量不超过排放量" in html
    assert "60 &lt;= 50" in html or "(60 <= 50)" in html


def test_other_town_is_out_of_reach(client_for, data):
    client = client_for("guali")
    assert client.get(entry_url(DAYANG)).status_code == 404
    before = audit_rows()
    assert client.post(entry_url(DAYANG), form_data(v_sewage_treated="1")).status_code == 404
    assert value(DAYANG) == Decimal(10) and audit_rows() == before
    assert client.get(entry_url(XIAOSHAN)).status_code == 404  # the county above is not guali's either


def test_period_ids(client_for, data):
    client = client_for("guali")
    bad = client.get(entry_url(period="2020Q5"))
    assert bad.status_code == 404
    assert "is not a period; write 2024, 2024S1, 2024Q3 or 202409" in bad.content.decode()
    assert client.post(entry_url(period="13"), form_data()).status_code == 404
    moved = client.get(entry_url(period="2020q3") + "?q=污水")
    assert moved.status_code == 302 and moved["Location"].startswith(entry_url(period="2020Q3") + "?q=")
    padded = client.get(reverse("datavalue-entry", args=[GUALI + "000", "2020"]))
    assert padded.status_code == 302 and padded["Location"] == entry_url()
    quarter = client.get(entry_url(period="2020Q4")).content.decode()
    assert 'id="period-prev"' in quarter and entry_url(period="2020Q3") in quarter
    assert entry_url(period="2021Q1") in quarter
    default = client.get(reverse("datavalue-entry-default", args=[GUALI]))
    assert default.status_code == 200 and 'name="v_sewage_treated"' in default.content.decode()


def test_picker_goes_to_another_unit_and_period_in_scope(client_for, data):
    client = client_for("xiaoshan")
    go = client.get(entry_url(XIAOSHAN), {"go": 1, "org": GUALI + "000", "period": "2020s1"})
    assert go.status_code == 302 and go["Location"] == entry_url(GUALI, "2020S1")
    away = client.get(entry_url(XIAOSHAN), {"go": 1, "org": DAYANG, "period": "2020"}, follow=True)
    assert f"There is no org unit {DAYANG} in your area." in away.content.decode()


def test_county_form_shows_the_towns_sum_beside_its_own(client_for, data):
    response = client_for("xiaoshan").get(entry_url(XIAOSHAN))
    html = response.content.decode()
    assert response.status_code == 200 and "From the units below" in html
    assert ">75 吨<" in html  # 45 (瓜沥镇) + 30 (城厢街道)
    assert ">100 吨<" in html
    assert "1 unit below: yes" in html  # has_station: 瓜沥镇 answered 是
    assert "瓜沥镇" in html and entry_url(GUALI) in html  # the units below, to step into


def test_element_filter(client_for, data):
    html = client_for("guali").get(entry_url(), {"elements": "sewage_total,has_station"}).content.decode()
    assert 'name="v_sewage_total"' in html and 'name="v_has_station"' in html
    assert 'name="v_sewage_treated"' not in html
    html = client_for("guali").get(entry_url(), {"q": "公厕"}).content.decode()
    assert 'name="v_toilet_rate"' in html and 'name="v_sewage_total"' not in html


def test_links_to_the_entry_form(client_for, data):
    html = client_for("guali").get(reverse("orgunit-detail", args=[GUALI])).content.decode()
    assert reverse("datavalue-entry-default", args=[GUALI]) in html
    assert reverse("indicator-list") in html  # the navigation
    html = client_for("guali_viewer").get(reverse("orgunit-detail", args=[GUALI])).content.decode()
    assert reverse("datavalue-entry-default", args=[GUALI]) not in html


def test_anonymous_is_sent_to_login(client, data):
    for url in (entry_url(), reverse("indicator-list"), reverse("dataelement-list"),
                reverse("indicator-validation"), reverse("indicator-page", args=["sewage_rate"]),
                reverse("dataelement-page", args=["sewage_total"])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


# --- data elements ---------------------------------------------------------------------------------


def csv_rows(response):
    text = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_element_list_and_export(client_for, data):
    client = client_for("guali")
    html = client.get(reverse("dataelement-list")).content.decode()
    assert "污水处理量" in html and "公厕达标率" in html and reverse("dataelement-page", args=["toilet_rate"]) in html
    rows = csv_rows(client.get(reverse("dataelement-list"), {"export": "csv", "value_type": "percent"}))
    assert len(rows) == 2 and rows[1][:2] == ["toilet_rate", "公厕达标率"] and rows[1][3] == "%"


def test_element_detail_shows_values_across_periods(client_for, data, tree):
    services.set_value(SYSTEM, data["treated"], tree[GUALI], "2021Q1", 10)
    services.set_value(SYSTEM, data["treated"], tree[GUALI], "2021Q2", 12)
    client = client_for("xiaoshan")
    response = client.get(reverse("dataelement-page", args=["sewage_treated"]), {"org": GUALI})
    assert response.status_code == 200
    html = response.content.decode()
    ctx = {r["period"]: r["value"] for r in response.context["rows"]}
    assert ctx == {"2020": Decimal(45), "2021": Decimal(22), "2021Q1": Decimal(10), "2021Q2": Decimal(12)}
    assert response.context["chart"]["values"] == [45.0, 22.0]  # the years, in the chart
    assert 'id="element-chart"' in html
    county = client.get(reverse("dataelement-page", args=["sewage_treated"]), {"org": XIAOSHAN})
    assert {r["period"]: r["value"] for r in county.context["rows"]}["2020"] == Decimal(75)
    guali = client_for("guali")
    assert guali.get(reverse("dataelement-page", args=["sewage_treated"]), {"org": DAYANG}).status_code == 404
    assert guali.get(reverse("dataelement-page", args=["sewage_treated"]), {"org": XIAOSHAN}).status_code == 404
    own = guali.get(reverse("dataelement-page", args=["sewage_treated"]))  # defaults to guali's town
    assert own.status_code == 200 and own.context["org"].code == GUALI
    assert guali.get(reverse("dataelement-page", args=["nothing_here"])).status_code == 404


# --- indicators --------------------------------------------------------------------------------------


def test_indicator_list(client_for, data):
    html = client_for("guali").get(reverse("indicator-list")).content.decode()
    assert "污水处理率" in html and "#{sewage_treated} / #{sewage_total} * 100" in html
    rows = csv_rows(client_for("guali").get(reverse("indicator-list"), {"export": "csv"}))
    assert rows[1][:2] == ["sewage_rate", "污水处理率"]


def test_indicator_value_for_a_unit_and_its_children(client_for, data):
    client = client_for("xiaoshan")
    url = reverse("indicator-page", args=["sewage_rate"])
    response = client.get(url, {"org": XIAOSHAN, "period": "2020"})
    assert response.status_code == 200
    assert response.context["total"] == Decimal("75.0")  # (45 + 30) / (50 + 50)
    rows = {r["code"]: (r["rank"], r["value"]) for r in response.context["rows"]}
    assert rows == {GUALI: (1, Decimal("90.0")), CHENGXIANG: (2, Decimal("60.0"))}
    html = response.content.decode()
    assert "75.0 %" in html and "#{sewage_treated} / #{sewage_total} * 100" in html
    by_name = client.get(url, {"org": XIAOSHAN, "period": "2020", "sort": "-rank"})
    assert [r["code"] for r in by_name.context["rows"]] == [CHENGXIANG, GUALI]
    rows = csv_rows(client.get(url, {"org": XIAOSHAN, "period": "2020", "export": "csv"}))
    assert rows[1][:4] == ["1", GUALI, "瓜沥镇", "90.0"] and rows[2][:4] == ["2", CHENGXIANG, "城厢街道", "60.0"]
    assert rows[3][1:4] == [XIAOSHAN, "萧山区 (total)", "75.0"]
    xlsx = client.get(url, {"org": XIAOSHAN, "period": "2020", "export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK" and "spreadsheetml" in xlsx["Content-Type"]
    assert client.get(url, {"org": XIAOSHAN, "period": "2020", "export": "pdf"}).status_code == 404
    # out of scope: another county, or above one's own unit
    assert client.get(url, {"org": DAYANG, "period": "2020"}).status_code == 404
    assert client_for("guali").get(url, {"org": XIAOSHAN, "period": "2020"}).status_code == 404
    bad = client.get(url, {"org": XIAOSHAN, "period": "2020H1"})
    assert bad.status_code == 200 and "is not a period" in bad.content.decode()


def test_jiande_sees_its_own_towns_only(client_for, data):
    response = client_for("jiande").get(reverse("indicator-page", args=["sewage_rate"]),
                                        {"org": "330182", "period": "2020"})
    assert response.context["total"] == Decimal("50.0")
    assert {r["code"] for r in response.context["rows"]} == {DAYANG, "330182100"}
    assert "瓜沥镇" not in response.content.decode()


# --- validation ---------------------------------------------------------------------------------------


def test_validation_page(client_for, data, tree):
    services.set_value(SYSTEM, data["treated"], tree[GUALI], "2020", 60)  # 60 treated of 50
    client = client_for("xiaoshan")
    url = reverse("indicator-validation")
    response = client.get(url, {"org": XIAOSHAN, "period": "2020"})
    assert response.status_code == 200
    found = {(v["org_unit"], v["rule"], v["left"], v["right"]) for v in response.context["violations"]}
    # the town breaks the rule, and so does the county's aggregate (60 + 30 > 50 + 50? no: 90 <= 100 holds)
    assert found == {(GUALI, "treated_le_total", Decimal(60), Decimal(50))}
    html = response.content.decode()
    assert "处理量不超过排放量" in html and entry_url(GUALI) in html and "瓜沥镇" in html
    rows = csv_rows(client.get(url, {"org": XIAOSHAN, "period": "2020", "export": "csv"}))
    assert rows[1][:8] == ["treated_le_total", "处理量不超过排放量", GUALI, "瓜沥镇", "2020", "60", "<=", "50"]
    only = client.get(url, {"org": XIAOSHAN, "period": "2020", "scope": "unit"})
    assert only.context["violations"] == []
    assert client_for("guali").get(url, {"org": XIAOSHAN, "period": "2020"}).status_code == 404
    assert client_for("guali").get(url, {"org": DAYANG, "period": "2020"}).status_code == 404
    own = client_for("guali").get(url, {"period": "2020"})  # defaults to guali's own town
    assert own.status_code == 200 and len(own.context["violations"]) == 1
