import json
import subprocess
import sys
from decimal import Decimal

import pytest

from townbrain.core.scope import SYSTEM
from townbrain.exchange.pipeline import run_import
from townbrain.exchange.tests.conftest import xlsx
from townbrain.indicators import evaluation, services
from townbrain.indicators.models import DataValue
from townbrain.testing.cases import APITests

pytestmark = pytest.mark.django_db


@pytest.fixture
def sewage(db):
    treated = services.save_element(SYSTEM, "sewage_treated", name="污水处理量", unit="吨", aggregation="sum")
    total = services.save_element(SYSTEM, "sewage_total", name="污水排放量", unit="吨", aggregation="sum")
    rate = services.save_indicator(SYSTEM, "sewage_rate", name="污水处理率", unit="%", decimals=1,
                                   formula="#{sewage_treated} / #{sewage_total} * 100")
    rule = services.save_rule(SYSTEM, "treated_le_total", name="处理量不超过排放量", left="#{sewage_treated}",
                              operator="<=", right="#{sewage_total}", importance="high")
    return treated, total, rate, rule


def test_indicator_over_the_tree(tree, users, sewage):
    treated, total, rate, _rule = sewage
    for code, t, s in (("330109113", 45, 50), ("330182100", 30, 50)):
        services.set_value(users["admin"], treated, tree[code], "2020", t)
        services.set_value(users["admin"], total, tree[code], "2020", s)
    assert evaluation.indicator_value(rate, "330109113", "2020") == Decimal("90.0")
    assert evaluation.indicator_value(rate, "3301", "2020") == Decimal("75.0")  # (45+30)/(50+50)
    response = APIClient_for(users["guali"]).get("/api/indicators/sewage_rate/value/",
                                                  {"org": "330109113", "period": "2020"})
    assert response.json()["value"] == pytest.approx(90.0)
    assert APIClient_for(users["guali"]).get("/api/indicators/sewage_rate/value/",
                                             {"org": "3301", "period": "2020"}).status_code == 404


def APIClient_for(user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    return api


def test_bad_formula_is_refused_with_position(users):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.save_indicator(SYSTEM, "broken", name="坏公式", formula="#{a} + * 2")
    assert "position" in str(exc.value)


def test_value_entry_reports_violations(tree, users, sewage):
    api = APIClient_for(users["guali"])
    ok = api.post("/api/datavalues/", {"element": "sewage_total", "org_unit": "330109113", "period": "2020",
                                       "value": 50}, format="json")
    assert ok.status_code == 201 and ok.json()["violations"] == []
    bad = api.post("/api/datavalues/", {"element": "sewage_treated", "org_unit": "330109113", "period": "2020",
                                        "value": 60}, format="json")
    assert bad.status_code == 201 and bad.json()["violations"][0]["rule"] == "treated_le_total"
    listing = api.get("/api/validation/", {"org": "330109", "period": "2020"})
    assert listing.status_code == 404  # guali cannot look at the county
    county = APIClient_for(users["xiaoshan"]).get("/api/validation/", {"org": "330109", "period": "2020"}).json()
    # the town breaks the rule, and so does the county's aggregate of it
    assert {r["org_unit"] for r in county["results"]} == {"330109", "330109113"}
    other = api.post("/api/datavalues/", {"element": "sewage_total", "org_unit": "330182107", "period": "2020",
                                          "value": 1}, format="json")
    assert other.status_code == 403


def test_indicator_values_import_round_trip(tree, users, sewage):
    rows = [["指标编码", "乡镇代码", "期间", "数值", "备注"],
            ["sewage_total", "330109113", "2020", "1,000", ""],
            ["污水处理量", 330109113, "2020Q1", 200, "一季度"],
            ["sewage_total", "330109113", "2020Q5", 1, ""]]
    failed = run_import(users["guali"], xlsx(rows), "v.xlsx", "indicator_values")
    assert failed["status"] == "failed" and failed["errors"][0]["row"] == 4 and failed["errors"][0]["column"] == "期间"
    done = run_import(users["guali"], xlsx(rows[:3]), "v.xlsx", "indicator_values")
    assert done["counts"]["created"] == 2 and DataValue.objects.count() == 2
    from townbrain.exchange.exports import export

    again = run_import(users["guali"], export(users["guali"], "indicator_values", "xlsx"), "x.xlsx", "indicator_values")
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "deleted": 0}, again


class TestDataValueAPI(APITests):
    basename = "datavalue"
    supported = {"create", "delete"}

    def make(self, town_code):
        from townbrain.core.models import OrgUnit

        element = services.save_element(SYSTEM, "population", name="常住人口", unit="人", aggregation="last")
        return services.set_value(SYSTEM, element, OrgUnit.objects.get(code=town_code), "2020", 1000)

    def create_data(self, town_code):
        services.save_element(SYSTEM, "population", name="常住人口", unit="人", aggregation="last")
        return {"element": "population", "org_unit": town_code, "period": "2021", "value": 123}


def test_formula_cli_contract():
    def run(*args):
        out = subprocess.run([sys.executable, "-m", "townbrain.cli", "formula", "eval", *args],
                             capture_output=True, text=True, timeout=60)
        return out.returncode, json.loads(out.stdout)

    assert run("-3^2") == (0, {"value": -9})
    assert run("#{a} / #{b} * 100", "--var", "a=45", "--var", "b=50") == (0, {"value": 90})
    assert run("if(#{ok}, 'yes', 'no')", "--var", "ok=true") == (0, {"value": "yes"})
    code, out = run("1 + * 2")
    assert code == 1 and "position" in out["error"]
