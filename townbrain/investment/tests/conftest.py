from datetime import date
from decimal import Decimal

import pytest

from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.investment import services

OWN, OTHER = "330109113", "330182107"


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English (the source strings)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def make_deal(town_code, name="智能制造产业园", day=date(2020, 5, 1), actor=SYSTEM, **fields):
    fields.setdefault("signed_amount", Decimal("10000"))
    fields.setdefault("industry", "智能制造")
    return services.create_deal(actor, town=OrgUnit.objects.get(code=town_code), name=name, signed_on=day, **fields)
