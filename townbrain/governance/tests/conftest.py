"""Fixtures for the governance tests. Users (townbrain/conftest.py): guali (瓜沥镇 editor), guali_viewer,
xiaoshan (萧山区 editor), hangzhou (杭州市 office admin), dayang (大洋镇 editor), admin."""

import pytest
from django.utils import translation

from townbrain.core.models import OrgUnit
from townbrain.testing.users import make_user

from .. import services
from ..models import EventCategory

GUALI, DAYANG = "330109113", "330182107"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def people(users):
    users["guali_office"] = make_user("guali_office", GUALI, "office_admin", email="office@guali.example")
    users["xiaoshan_office"] = make_user("xiaoshan_office", "330109", "office_admin", email="office@xiaoshan.example")
    return users


@pytest.fixture
def category(db):
    return EventCategory.objects.get(code="zf-city-stall")  # 占道经营, 3 working days


@pytest.fixture
def urgent(db):
    return EventCategory.objects.get(code="zf-environment-sewage")  # 污水直排, 24 hours


@pytest.fixture
def report(people, category):
    """report(town_code="330109113", actor="guali", **kw) -> a reported event."""

    def make(town=GUALI, actor="guali", cat=None, **kw):
        kw.setdefault("reporter_phone", "13812341234")
        return services.report_event(people[actor], OrgUnit.objects.get(code=town), cat or category,
                                     kw.pop("description", "菜场门口占道经营"), **kw)

    return make
