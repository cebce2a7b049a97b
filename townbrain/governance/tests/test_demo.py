"""The demo: a year of events in 萧山区 and 建德市 through the services, every kind of case, idempotent."""

import pytest

from townbrain.core.models import AuditEntry

from .. import demo, stats
from ..models import CLOCK_RUNNING, Event, Notification, Step

pytestmark = pytest.mark.django_db


def test_demo_events(people, api_for):
    summary = demo.load()
    assert summary["events"] == Event.objects.count() > 100
    for county in ("330109", "330182"):
        events = Event.objects.filter(town__code__startswith=county)
        assert set(events.values_list("platform", flat=True)) == {"zongzhi", "shichang", "zhifa", "bianmin"}
        assert events.filter(closed_on_time=True).exists()  # on time
        assert events.filter(closed_on_time=False).exists()  # late
        assert events.filter(reopened__gt=0).exists()  # 重办
        assert events.filter(status__in=CLOCK_RUNNING).exists()  # still open
        assert events.filter(status="rejected").exists()
    assert not Event.objects.exclude(reported_at__year=2020).exists()
    # Through the services: every step has its audit row, and the phone never reaches the audit.
    assert AuditEntry.objects.filter(action__startswith="event.").exclude(
        action__in=["event.remind", "event.supervise"]).count() == Step.objects.exclude(
        step__in=["remind", "supervise"]).count()
    assert not AuditEntry.objects.filter(changes__icontains="13").filter(action="event.report").filter(
        changes__reporter_phone__0__startswith="1").exists()
    # The year's figures are honest: open work past its deadline pulls 按期办结率 below 100 %.
    year = stats.for_area(Event.objects.all(), "330109", "2020")
    assert 0 < year["on_time_rate"] < 100 and year["open_overdue"] > 0
    assert api_for("guali").get("/api/events/?page_size=1000").json()["count"] == Event.objects.filter(
        town_id="330109113").count()
    assert Notification.objects.filter(user__username="guali", kind="remind").exists()
    assert demo.load() == {"events": 0}  # idempotent
