"""Fixtures for the assessment tests: four enrolled Zhejiang towns and helpers for schemes and values.

| town | code | city | batch | role |
|---|---|---|---|---|
| 瓜沥镇 | 330109113 | 杭州 3301 | 2019 | yangban |
| 城厢街道 | 330109001 | 杭州 3301 | 2019 | dabiao |
| 大洋镇 | 330182107 | 杭州 3301 (建德 330182) | 2020 | dabiao |
| 梅城镇 | 330182100 | 杭州 3301 (建德 330182) | 2020 | yangban |
"""

from decimal import Decimal

import pytest

from townbrain.indicators.models import DataElement, DataValue
from townbrain.programmes.models import Enrolment, Programme

from .. import spec as specs

TOWNS = {
    "330109113": ("2019", "yangban"),
    "330109001": ("2019", "dabiao"),
    "330182107": ("2020", "dabiao"),
    "330182100": ("2020", "yangban"),
}
GRADES = [{"name": "优秀", "min": 90, "en": "Excellent"}, {"name": "合格", "min": 60, "en": "Qualified"},
          {"name": "不合格", "en": "Failed"}]


@pytest.fixture(autouse=True)
def _english():
    """Sentences are checked in English (the source strings); pages pick their language per request."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def meili(db):
    return Programme.objects.get(code="meili")


@pytest.fixture
def enrolled(tree, meili):
    for code, (batch, role) in TOWNS.items():
        Enrolment.objects.create(town_id=code, programme=meili, year_joined=2019,
                                 batch=meili.batches.get(code=batch), role=meili.roles.get(code=role))
    return sorted(TOWNS)


@pytest.fixture
def element(db):
    """element("code", aggregation="sum", value_type="number") -> DataElement (set-up writes the model)."""

    def make(code, aggregation="sum", value_type="number"):
        return DataElement.objects.get_or_create(code=code, defaults={"name": code, "aggregation": aggregation,
                                                                      "value_type": value_type})[0]
    return make


@pytest.fixture
def values(element):
    """values("x", {"330109113": 95, ...}, period="2020") stores numbers for an element."""

    def put(code, by_town: dict, period="2020", **kwargs):
        e = element(code, **kwargs)
        for town, number in by_town.items():
            DataValue.objects.update_or_create(element=e, org_unit_id=town, period=period,
                                               defaults={"number": None if number is None else Decimal(str(number))})
        return e
    return put


def make_spec(criteria, grades=GRADES, **extra) -> dict:
    """A validated scheme of the meili programme with one group holding `criteria`."""
    data = {"code": extra.pop("code", "test-scheme"), "name": "测试考核办法", "programme": "meili", "grades": grades,
            "groups": [{"code": "g", "name": "指标", "criteria": criteria}], **extra}
    return specs.validate(data)


@pytest.fixture
def spec_of():
    return make_spec
