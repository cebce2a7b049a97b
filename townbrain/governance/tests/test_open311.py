"""Open311 GeoReport v2: the shapes of services, service definitions and requests; keys; jurisdiction scope."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from .. import services
from ..models import Event, Source
from .conftest import DAYANG, GUALI

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")

SERVICE_KEYS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_KEYS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                "agency_responsible", "service_notice", "address_id", "requested_datetime", "updated_datetime",
                "expected_datetime", "address", "zipcode", "lat", "long", "media_url"}


@pytest.fixture
def key(people):
    return Token.objects.create(user=people["xiaoshan"]).key


def get(path, **params):
    return Client().get(f"/open311/v2/{path}", params)


def test_anonymous_and_bad_keys_get_401(people):
    # The service list is public, as in every GeoReport server: categories, nothing of any place.
    public = get("services.json")
    assert public.status_code == 200 and {r["service_code"] for r in public.json()} >= {"zf-city-stall"}
    assert get("services.json", jurisdiction_id="330109").status_code == 401  # naming a place needs a key
    for path in ("requests.json", "services/zf-city-stall.json", "requests/1.json"):
        response = get(path)
        assert response.status_code == 401
        assert response.json()[0]["code"] == 401
    assert get("services.json", api_key="nope").status_code == 401


def test_services_list_and_definition(key):
    rows = get("services.json", api_key=key, jurisdiction_id="330109").json()
    assert all(set(r) == SERVICE_KEYS for r in rows)
    stall = next(r for r in rows if r["service_code"] == "zf-city-stall")
    assert stall == {"service_code": "zf-city-stall", "service_name": "占道经营", "description": "市容环境 · 占道经营",
                     "metadata": True, "type": "realtime", "keywords": "zhifa", "group": "市容环境"}
    definition = get("services/zf-city-stall.json", api_key=key, jurisdiction_id="330109").json()
    town = definition["attributes"][0]
    assert definition["service_code"] == "zf-city-stall" and town["code"] == "town" and town["required"]
    assert {v["key"] for v in town["values"]} == {"330109001", "330109113"}
    assert get("services/nope.json", api_key=key).status_code == 404


def test_requests_shapes_filters_and_scope(key, report, people):
    mine = report(at=datetime(2020, 9, 29, 10, 0, tzinfo=SH), address="瓜沥镇菜场", lat="30.2", lng="120.4")
    services.take_step(people["guali"], mine, "accept", "已受理", at=datetime(2020, 9, 30, 10, 0, tzinfo=SH))
    services.take_step(people["guali"], mine, "dispatch", "派城管中队", to="城管中队",
                       at=datetime(2020, 9, 30, 16, 0, tzinfo=SH))
    report(town=DAYANG, actor="dayang", at=datetime(2020, 9, 29, 10, 0, tzinfo=SH))
    rows = get("requests.json", api_key=key, jurisdiction_id="330109", start_date="2020-09-01T00:00:00+08:00").json()
    assert [r["service_request_id"] for r in rows] == [str(mine.pk)]
    row = rows[0]
    assert set(row) == REQUEST_KEYS
    assert row["status"] == "open" and row["status_notes"] == "派城管中队"
    assert row["agency_responsible"] == "城管中队" and row["service_code"] == "zf-city-stall"
    assert row["expected_datetime"] == "2020-10-12T23:59:59+08:00"  # 3 working days from 30 Sep over 国庆
    assert row["requested_datetime"] == "2020-09-29T10:00:00+08:00"
    assert row["lat"] == 30.2 and row["long"] == 120.4 and row["address"] == "瓜沥镇菜场"
    assert "13812341234" not in str(rows)
    # The default window is the last 90 days: these 2020 events are older.
    assert get("requests.json", api_key=key, jurisdiction_id="330109").json() == []
    closed = get("requests.json", api_key=key, jurisdiction_id="330109", status="closed",
                 start_date="2020-01-01T00:00:00+08:00").json()
    assert closed == []
    by_id = get("requests.json", api_key=key, service_request_id=f"{mine.pk},999999").json()
    assert [r["service_request_id"] for r in by_id] == [str(mine.pk)]
    assert get(f"requests/{mine.pk}.json", api_key=key).json()[0]["service_request_id"] == str(mine.pk)
    # Another county: its jurisdiction and its requests are not found.
    assert get("requests.json", api_key=key, jurisdiction_id="330182").status_code == 404
    other = Event.objects.get(town_id=DAYANG)
    assert get(f"requests/{other.pk}.json", api_key=key).status_code == 404
    assert get("requests.json", api_key=key, start_date="yesterday").status_code == 400


def test_post_a_request_with_an_api_key(key, people):
    body = {"api_key": key, "jurisdiction_id": "330109", "service_code": "bm-help-streetlight",
            "attribute[town]": GUALI, "description": "村口路灯不亮", "lat": "30.21", "long": "120.45",
            "address_string": "示例村村口", "phone": "13900001111", "first_name": "明", "last_name": "王"}
    response = Client().post("/open311/v2/requests.json", body)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer[0]) == {"service_request_id", "service_notice", "account_id"}
    event = Event.objects.get(pk=int(answer[0]["service_request_id"]))
    assert (event.town_id, event.source, event.reporter_name, event.reporter_phone) == (
        GUALI, Source.OPEN311, "王明", "13900001111")
    # No key: refused even for a logged-in session; a town outside the jurisdiction: 400.
    client = Client()
    client.force_login(people["xiaoshan"])
    assert client.post("/open311/v2/requests.json", {**body, "api_key": ""}).status_code == 401
    response = Client().post("/open311/v2/requests.json", {**body, "attribute[town]": DAYANG})
    assert response.status_code == 400
    assert Event.objects.count() == 1
