"""Fixtures: 美丽城镇 with 瓜沥镇 and 城厢街道 (萧山区) and 大洋镇 (建德市) enrolled, one started project each."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment, Programme
from townbrain.projects import services as projects

TOWNS = ("330109113", "330109001", "330182107")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def client_for(client, users, settings):
    """The root fixture's client, in English: these tests read the English texts (the catalogue is Chinese)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    def login(name):
        client.force_login(users[name])
        return client

    return login


@pytest.fixture
def api_for(users):
    """The root fixture's API client, asking for English (Accept-Language)."""
    from rest_framework.test import APIClient

    def login(name, language="en"):
        api = APIClient()
        api.force_authenticate(users[name])
        api.credentials(HTTP_ACCEPT_LANGUAGE=language)
        return api

    return login


@pytest.fixture
def meili(db):
    return Programme.objects.get(code="meili")


@pytest.fixture
def ledger(users, meili):
    """{town code: project} — each town enrolled, one project started in March 2020."""
    made = {}
    for i, code in enumerate(TOWNS):
        Enrolment.objects.create(town_id=code, programme=meili, year_joined=2020)
        made[code] = projects.create_project(
            SYSTEM, code=f"P{i}", name=f"项目{i}", town=OrgUnit.objects.get(code=code), programme=meili,
            total_investment=Decimal("1000"), annual_plan=Decimal("500"), planned_start=date(2020, 3, 1),
            planned_completion=date(2021, 12, 31), actual_start=date(2020, 3, 5), status="started")
    return made


def figures(cumulative="100"):
    return {"month_investment": Decimal("10"), "cumulative_investment": Decimal(cumulative),
            "progress_percent": Decimal("20"), "status": "started"}
