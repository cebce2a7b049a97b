from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from townbrain.core import periods
from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.indicators import services
from townbrain.indicators.models import DataValue
from townbrain.indicators.values import value_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def elements(db):
    return {
        "invest": services.save_element(SYSTEM, "invest", name="完成投资", value_type="number", unit="万元",
                                        aggregation="sum"),
        "sewage_rate": services.save_element(SYSTEM, "sewage_rate", name="污水处理率", value_type="percent",
                                             unit="%", aggregation="average"),
        "population": services.save_element(SYSTEM, "population", name="常住人口", value_type="number", unit="人",
                                            aggregation="last"),
        "has_station": services.save_element(SYSTEM, "has_station", name="有综合文化站", value_type="boolean"),
        "note": services.save_element(SYSTEM, "note", name="备注", value_type="text"),
    }


def test_period_ids():
    assert periods.parse("2024Q3") == ("quarter", 2024, 3)
    assert periods.canonical("2024s1") == "2024S1"
    assert periods.months_of("2024Q2") == ["202404", "202405", "202406"]
    assert periods.sub_periods("2024") == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert periods.sub_periods("2024S2") == ["2024Q3", "2024Q4"]
    for bad in ("2024Q5", "202413", "24", "2024S3", "abc"):
        with pytest.raises(periods.InvalidPeriod):
            periods.parse(bad)


def test_set_value_types_scope_and_audit(tree, users, elements):
    guali = tree["330109113"]
    v = services.set_value(users["guali"], elements["sewage_rate"], guali, "2020", "92.5%")
    assert v.number == Decimal("92.5")
    assert services.set_value(users["guali"], elements["has_station"], guali, "2020", "是").value is True
    assert services.set_value(users["guali"], elements["note"], guali, "2020", "正在建设").value == "正在建设"
    with pytest.raises(ValidationError):
        services.set_value(users["guali"], elements["sewage_rate"], guali, "2020", "120")
    with pytest.raises(ValidationError):
        services.set_value(users["guali"], elements["invest"], guali, "2020", "很多")
    with pytest.raises(ValidationError):
        services.set_value(users["guali"], elements["invest"], guali, "2020Q5", "1")
    with pytest.raises(PermissionDenied):
        services.set_value(users["guali"], elements["invest"], tree["330182107"], "2020", "1")
    rows = AuditEntry.objects.filter(action="datavalue.save").count()
    services.set_value(users["guali"], elements["sewage_rate"], guali, "2020", "92.5")  # same value again
    assert AuditEntry.objects.filter(action="datavalue.save").count() == rows


def test_aggregation_over_time_and_tree(tree, users, elements):
    admin = users["admin"]
    guali, meicheng = tree["330109113"], tree["330182100"]
    for month, amount in (("202001", 10), ("202002", 20), ("202004", 5)):
        services.set_value(admin, elements["invest"], guali, month, amount)
    services.set_value(admin, elements["invest"], meicheng, "2020Q1", 100)
    assert value_of(elements["invest"], "330109113", "2020Q1") == Decimal(30)
    assert value_of(elements["invest"], "330109113", "2020") == Decimal(35)
    assert value_of(elements["invest"], "330109", "2020") == Decimal(35)
    assert value_of(elements["invest"], "3301", "2020Q1") == Decimal(130)  # 萧山区 + 建德市 summed
    # average element: mean over the tree
    services.set_value(admin, elements["sewage_rate"], guali, "2020", 90)
    services.set_value(admin, elements["sewage_rate"], meicheng, "2020", 70)
    assert value_of(elements["sewage_rate"], "33", "2020") == Decimal(80)
    # last over time, sum over the tree
    services.set_value(admin, elements["population"], guali, "2020Q1", 180000)
    services.set_value(admin, elements["population"], guali, "2020Q3", 186000)
    services.set_value(admin, elements["population"], meicheng, "2020Q2", 30000)
    assert value_of(elements["population"], "330109113", "2020") == Decimal(186000)
    assert value_of(elements["population"], "33", "2020") == Decimal(216000)
    # a stored value wins over aggregation
    services.set_value(admin, elements["invest"], tree["3301"], "2020", 999)
    assert value_of(elements["invest"], "3301", "2020") == Decimal(999)
    assert value_of(elements["invest"], "52", "2020") is None


def test_reference_data_needs_a_system_administrator(users):
    with pytest.raises(PermissionDenied):
        services.save_element(users["zhejiang"], "x", name="x")
    assert not DataValue.objects.exists()
