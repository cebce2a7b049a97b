"""Pages: the queue (scoped, soonest deadline first), the event page and its step buttons, the report forms."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db.models import F
from django.test import Client

from .. import services
from ..models import OPEN, Event, EventCategory, Source
from .conftest import DAYANG

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def dispatched(report, people, when, **kw):
    event = report(**kw)
    services.take_step(people["guali"], event, "accept", "", at=when)
    services.take_step(people["guali"], event, "dispatch", "", at=when)
    return event


def test_queue_is_scoped_and_sorted_by_deadline(client_for, report, people):
    late = dispatched(report, people, datetime(2020, 10, 20, 9, tzinfo=SH), description="晚的")
    soon = dispatched(report, people, datetime(2020, 9, 30, 9, tzinfo=SH), description="早的")
    waiting = report(description="还没派遣")
    report(town=DAYANG, actor="dayang", description="大洋镇的事件")
    page = client_for("guali").get("/events/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "大洋镇的事件" not in text
    assert text.index("早的") < text.index("晚的") < text.index("还没派遣")
    assert {soon.pk, late.pk, waiting.pk} == set(Event.objects.filter(town_id="330109113").values_list("pk", flat=True))
    export = client_for("guali").get("/events/?open=true&export=csv").content.decode("utf-8-sig")
    assert "大洋镇" not in export and "早的" in export


def test_deeper_queue_pages_are_the_plain_query_s_rows(client_for, report):
    """Pages after the first are read ids first, rows second (views.LatePageRows): the same rows, in the
    same order, as the plain ORDER BY … OFFSET gives — ties on the deadline and undispatched events too."""
    first = report(description="模板")
    base = {f.attname: getattr(first, f.attname) for f in Event._meta.concrete_fields if not f.primary_key}
    deadlines = [datetime(2020, 10, 1 + i % 7, 17, tzinfo=SH) for i in range(40)] + [None] * 15
    Event.objects.bulk_create([Event(**{**base, "status": "dispatched" if when else "reported", "deadline": when,
                                        "description": f"事件{i}"}) for i, when in enumerate(deadlines)])
    Event.objects.create(**{**base, "status": "closed", "description": "已结案"})
    plain = list(Event.objects.filter(status__in=OPEN, town__code__startswith="330109113")
                 .order_by(F("deadline").asc(nulls_last=True), "pk").values_list("pk", flat=True))
    assert len(plain) == 56
    client = client_for("guali")
    shown = []
    for number in (1, 2, 3):
        page = client.get(f"/events/?open=true&per_page=25&page={number}").context["page"]
        shown += [event.pk for event in page.object_list]
    assert shown == plain
    by_town = client.get("/events/?open=true&per_page=25&page=2&sort=-town__name").context["page"]
    assert [e.pk for e in by_town.object_list] == list(
        Event.objects.filter(status__in=OPEN, town__code__startswith="330109113")
        .order_by("-town__name", "pk").values_list("pk", flat=True)[25:50])


def test_event_page_timeline_steps_and_scope(client_for, report, people):
    event = report()
    other = report(town=DAYANG, actor="dayang")
    client = client_for("guali")
    assert client.get(f"/events/{other.pk}/").status_code == 404
    assert client.post(f"/events/{other.pk}/", {"step": "accept"}).status_code == 404
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert 'value="accept"' in page and 'value="reject"' in page and "13812341234" in page
    response = client.post(f"/events/{event.pk}/", {"step": "accept", "comment": "收到，马上处理"})
    assert response.status_code == 302
    response = client.post(f"/events/{event.pk}/", {"step": "dispatch", "to": "城管中队", "comment": "派"})
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert "收到，马上处理" in page and "城管中队" in page and 'value="handle"' in page
    # A step that needs a reason shows the service's message on the page.
    page = client.post(f"/events/{event.pk}/", {"step": "return", "comment": ""}).content.decode()
    assert "alert-danger" in page and Event.objects.get(pk=event.pk).status == "dispatched"
    viewer = client_for("guali_viewer").get(f"/events/{event.pk}/").content.decode()
    assert 'name="step"' not in viewer and "138****1234" in viewer and "13812341234" not in viewer


def test_grid_worker_reports_from_the_form(client_for, people):
    client = client_for("guali")
    assert client.get("/events/new/").status_code == 200
    category = EventCategory.objects.get(code="zz-dispute-neighbour")
    response = client.post("/events/new/", {"town": "330109113", "category": category.pk, "description": "邻居漏水纠纷",
                                            "lat": "30.2", "lng": "120.4", "crs": "wgs84",
                                            "reporter_phone": "13512345678"})
    assert response.status_code == 302
    event = Event.objects.get()
    assert (event.platform, event.source, str(event.lat)) == ("zongzhi", Source.GRID, "30.200000")
    response = client.post("/events/new/", {"town": DAYANG, "category": category.pk, "description": "x"})
    assert response.status_code == 200 and Event.objects.count() == 1  # 大洋镇 is not a choice for guali


def _public_post(client, **extra):
    page = client.get("/report/?county=330109")
    assert page.status_code == 200
    a, b = client.session["report_challenge"]
    category = EventCategory.objects.get(code="bm-help-streetlight")
    body = {"county": "330109", "town": "330109113", "category": category.pk, "description": "路灯坏了",
            "reporter_phone": "13612345678", "answer": a + b, "website": ""}
    body.update(extra)
    return client.post("/report/", body)


def test_public_report_without_login(tree, settings):
    cache.clear()
    client = Client()
    response = _public_post(client)
    assert response.status_code == 200 and 'id="report-done"' in response.content.decode()
    event = Event.objects.get()
    assert (event.source, event.town_id, event.status) == (Source.CITIZEN, "330109113", "reported")
    assert event.steps.get().actor_name == "public"
    # The wrong sum and the honeypot are refused.
    assert 'id="report-done"' not in _public_post(client, answer=999).content.decode()
    assert 'id="report-done"' not in _public_post(client, website="http://spam").content.decode()
    # Replaying without a fresh sum from the session is refused too.
    fresh = Client()
    category = EventCategory.objects.get(code="bm-help-streetlight")
    response = fresh.post("/report/", {"county": "330109", "town": "330109113", "category": category.pk,
                                       "description": "x", "reporter_phone": "13612345678", "answer": 2})
    assert 'id="report-done"' not in response.content.decode()
    assert Event.objects.count() == 1


def test_public_report_is_rate_limited(tree, settings):
    cache.clear()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public-report": (2, 3600)}
    client = Client()
    assert _public_post(client).status_code == 200
    assert _public_post(client).status_code == 200
    limited = _public_post(client)
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert Event.objects.count() == 2
