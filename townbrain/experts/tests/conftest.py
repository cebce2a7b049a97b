from datetime import date

import pytest

from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.experts import services

OWN, OTHER = "330109113", "330182107"


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English (the source strings)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def make_activity(town_code, day=date(2020, 6, 1), actor=SYSTEM, **fields):
    fields.setdefault("activity_type", "site_visit")
    fields.setdefault("resident_planner_count", 1)
    return services.create_activity(actor, date=day, town=OrgUnit.objects.get(code=town_code), **fields)


def make_expert(name, home_code, kind="resident_planner", actor=SYSTEM, **fields):
    return services.create_expert(actor, name=name, kind=kind, home=OrgUnit.objects.get(code=home_code), **fields)
