"""The command centre's map: the open events of the area, coloured by overdue, through restrict()."""

from datetime import timedelta

import pytest
from django.utils import timezone

from .. import services
from ..views import map_state
from .conftest import DAYANG

pytestmark = pytest.mark.django_db


def test_map_data_colours_open_events_and_stays_in_the_area(client_for, report, people, urgent):
    now = timezone.now()
    late = report(lat="30.2", lng="120.4", at=now - timedelta(days=30))
    services.take_step(people["guali"], late, "accept", "收到", at=now - timedelta(days=30))
    services.take_step(people["guali"], late, "dispatch", "派", at=now - timedelta(days=29))
    soon = report(cat=urgent, lat="30.21", lng="120.41")
    services.take_step(people["guali"], soon, "accept", "收到")
    services.take_step(people["guali"], soon, "dispatch", "派", at=now - timedelta(hours=2))  # 24 h: due soon
    waiting = report(lat="30.22", lng="120.42")
    report()  # no coordinates
    done = report(lat="30.23", lng="120.43")
    services.take_step(people["guali"], done, "reject", "不受理")  # not open: not drawn
    report(town=DAYANG, actor="dayang", lat="29.5", lng="119.5")  # another county
    client = client_for("xiaoshan")
    page = client.get("/events/map/")
    assert page.status_code == 200 and 'data-tb-event-map' in page.content.decode()
    data = client.get("/events/map.json").json()
    states = {p["id"]: p["state"] for p in data["points"]}
    assert states == {late.pk: "overdue", soon.pk: "due_soon", waiting.pk: "waiting"}
    assert data["counts"] == {"overdue": 1, "due_soon": 1, "running": 0, "waiting": 1}
    assert data["unlocated"] == 1 and data["more"] == 0
    assert data["unit"]["code"] == "330109" and data["focus"] == ["330109"]
    assert data["geojson"].endswith("/vendor/geo/330100.json")
    # Shown in GCJ-02 like the boundaries: shifted a few hundred metres from the stored WGS-84.
    point = next(p for p in data["points"] if p["id"] == late.pk)
    assert point["lat"] != 30.2 and abs(point["lat"] - 30.2) < 0.01 and point["url"] == late.get_absolute_url()
    # The queue's filters apply; the other county's events never appear.
    assert [p["id"] for p in client.get("/events/map.json?overdue=true").json()["points"]] == [late.pk]
    assert client_for("dayang").get("/events/map.json").json()["counts"]["waiting"] == 1
    assert all(p["id"] != late.pk for p in client_for("dayang").get("/events/map.json").json()["points"])


def test_map_state_rules(report, people):
    event = report()
    now = timezone.now()
    assert map_state(event, now) == "waiting"
    services.take_step(people["guali"], event, "accept", "收到")
    services.take_step(people["guali"], event, "dispatch", "派")
    assert map_state(event, now) == "running"
    assert map_state(event, event.deadline - timedelta(hours=3)) == "due_soon"
    assert map_state(event, event.deadline + timedelta(seconds=1)) == "overdue"
