"""The events API: reporting, every workflow step, scoping (404 outside the area), the phone mask."""

from decimal import Decimal

import pytest

from townbrain.core.models import AuditEntry

from ..models import Event, EventCategory, Notification, Status, Step
from .conftest import DAYANG, GUALI

pytestmark = pytest.mark.django_db

BODY = {"town": GUALI, "platform": "zhifa", "category": "zf-city-stall", "description": "菜场门口占道经营",
        "reporter_phone": "13812341234"}


def test_categories_cover_all_four_platforms(api_for, people):
    response = api_for("guali").get("/api/event-categories/")
    assert response.status_code == 200
    rows = response.json()
    assert {r["platform"] for r in rows} == {"zongzhi", "shichang", "zhifa", "bianmin"}
    leaves = [r for r in rows if r["parent"]]
    # Every 小类 carries exactly one kind of deadline; the 大类 none.
    assert all((r["deadline_days"] is None) != (r["deadline_hours"] is None) for r in leaves)
    assert all(r["deadline_days"] is None and r["deadline_hours"] is None for r in rows if not r["parent"])
    stall = next(r for r in rows if r["code"] == "zf-city-stall")
    assert stall == {"code": "zf-city-stall", "name": "占道经营", "platform": "zhifa", "parent": "zf-city",
                     "deadline_days": 3, "deadline_hours": None}


def test_report_through_the_api_converts_gcj02_and_audits_without_the_phone(api_for, people):
    body = {**BODY, "lat": "30.250000", "lng": "120.450000", "crs": "gcj02"}
    response = api_for("guali").post("/api/events/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "reported"
    assert data["reporter_phone"] == "13812341234"  # guali is the handling office (change on the town)
    assert [s["step"] for s in data["steps"]] == ["report"]
    event = Event.objects.get(pk=data["id"])
    # GCJ-02 is offset from WGS-84 by a few hundred metres in China; stored as WGS-84.
    assert event.lat != Decimal("30.25") and abs(event.lat - Decimal("30.25")) < Decimal("0.01")
    assert abs(event.lng - Decimal("120.45")) < Decimal("0.01")
    row = AuditEntry.objects.get(action="event.report", object_id=str(event.pk))
    assert row.org_code == GUALI
    assert "13812341234" not in str(row.changes)
    assert row.changes["reporter_phone"] == [None, "(changed)"]


def test_report_refuses_other_towns_and_wrong_platform(api_for, people):
    response = api_for("guali").post("/api/events/", {**BODY, "town": DAYANG}, format="json")
    assert response.status_code == 403
    response = api_for("guali").post("/api/events/", {**BODY, "platform": "bianmin"}, format="json")
    assert response.status_code == 400 and "category" in response.json()
    response = api_for("guali").post("/api/events/", {**BODY, "category": "zf-city"}, format="json")
    assert response.status_code == 400 and "category" in response.json()  # a 大类 has no deadline
    response = api_for("guali_viewer").post("/api/events/", BODY, format="json")
    assert response.status_code == 403
    assert not Event.objects.exists()


def test_other_towns_event_is_404_and_the_phone_is_masked_for_viewers(api_for, report):
    event = report()
    other = report(town=DAYANG, actor="dayang")
    assert api_for("guali").get(f"/api/events/{other.pk}/").status_code == 404
    assert api_for("guali").post(f"/api/events/{other.pk}/accept/", {"comment": "x"}).status_code == 404
    assert api_for("guali").get(f"/api/events/{event.pk}/").json()["reporter_phone"] == "13812341234"
    assert api_for("guali_viewer").get(f"/api/events/{event.pk}/").json()["reporter_phone"] == "138****1234"
    listed = api_for("guali_viewer").get("/api/events/").json()["results"]
    assert [e["id"] for e in listed] == [event.pk]
    assert listed[0]["reporter_phone"] == "138****1234"
    # A viewer may see but not act: 403 with the reason.
    assert api_for("guali_viewer").post(f"/api/events/{event.pk}/accept/", {"comment": "x"}).status_code == 403


def _step(api, event, step, **body):
    response = api.post(f"/api/events/{event.pk}/{step}/", {"comment": f"{step} 说明", **body}, format="json")
    assert response.status_code == 200, (step, response.content)
    return response.json()


def test_every_step_through_the_whole_workflow(api_for, report, people):
    api = api_for("guali_office")
    event = report()
    assert _step(api, event, "accept")["status"] == "accepted"
    data = _step(api, event, "dispatch")
    assert data["status"] == "dispatched" and data["office"] == GUALI and data["deadline"]
    assert Notification.objects.filter(event=event, kind="dispatch", user=people["guali"]).exists()
    data = _step(api, event, "return")  # wrong department: back to be dispatched again, clock stopped
    assert data["status"] == "accepted" and data["deadline"] is None
    data = _step(api, event, "dispatch", to="guali")
    assert data["handler"] == "guali"
    deadline = data["deadline"]
    data = _step(api, event, "extend", days=2)  # asked by the town's office: waits for the county
    assert data["deadline"] == deadline and data["extended"] == 0 and data["extension_pending"] is True
    data = _step(api_for("xiaoshan_office"), event, "approve")
    assert data["deadline"] > deadline and data["extended"] == 1 and data["extension_pending"] is False
    for step, status in [("handle", "handled"), ("feedback", "fed_back"), ("verify", "verified"),
                         ("close", "closed")]:
        assert _step(api, event, step)["status"] == status
    data = _step(api, event, "review", verdict="dissatisfied")  # 重办
    assert data["status"] == "dispatched" and data["reopened"] == 1 and data["closed_at"] is None
    for step in ("handle", "feedback", "verify", "close"):
        _step(api, event, step)
    data = _step(api, event, "review", verdict="satisfied")
    assert data["status"] == "reviewed" and data["verdict"] == "satisfied" and data["closed_on_time"] is True
    assert [s["step"] for s in data["steps"]] == [
        "report", "accept", "dispatch", "return", "dispatch", "extend", "approve", "handle", "feedback", "verify",
        "close", "review", "handle", "feedback", "verify", "close", "review"]
    assert all(s["actor"] == ("xiaoshan_office" if s["step"] == "approve" else "guali_office") and s["comment"]
               for s in data["steps"][1:])
    assert set(data["steps"][0]) >= {"step", "actor", "time", "comment"}
    actions = AuditEntry.objects.filter(object_type="event", object_id=str(event.pk)).values_list("action", flat=True)
    assert list(actions.order_by("pk")) == [f"event.{s['step']}" for s in data["steps"]]


def test_reject_needs_a_reason_and_ends_the_event(api_for, report):
    api, event = api_for("guali"), report()
    assert api.post(f"/api/events/{event.pk}/reject/", {"comment": ""}).status_code == 400
    assert _step(api, event, "reject")["status"] == "rejected"
    response = api.post(f"/api/events/{event.pk}/accept/", {"comment": "x"})
    assert response.status_code == 400  # a rejected event takes no more steps
    assert Step.objects.filter(event=event).count() == 2


def test_steps_out_of_order_are_refused(api_for, report):
    api, event = api_for("guali"), report()
    for step in ("dispatch", "handle", "close", "review", "extend", "return", "approve", "deny"):
        assert api.post(f"/api/events/{event.pk}/{step}/", {"comment": "x"}).status_code == 400, step
    assert Event.objects.get(pk=event.pk).status == Status.REPORTED


def test_an_office_above_may_take_every_step(api_for, report):
    event = report()
    api = api_for("hangzhou")  # office admin of 杭州市, over the town
    for step in ("accept", "dispatch", "handle", "feedback", "verify", "close"):
        _step(api, event, step)
    assert _step(api, event, "review", verdict="basically_satisfied")["status"] == "reviewed"


def test_dispatch_to_a_department_or_a_user_outside_the_town(api_for, report, people):
    api, event = api_for("guali"), report()
    _step(api, event, "accept")
    response = api.post(f"/api/events/{event.pk}/dispatch/", {"comment": "x", "to": "dayang"})
    assert response.status_code == 400 and "to" in response.json()  # dayang cannot handle 瓜沥镇's events
    data = _step(api, event, "dispatch", to="城管中队")
    assert data["department"] == "城管中队" and data["office"] == GUALI


def test_review_needs_a_verdict(api_for, report):
    api, event = api_for("guali"), report()
    for step in ("accept", "dispatch", "handle", "feedback", "verify", "close"):
        _step(api, event, step)
    assert api.post(f"/api/events/{event.pk}/review/", {"comment": "x"}).status_code == 400


def test_anonymous_gets_401(client, report):
    event = report()
    assert client.get("/api/events/").status_code in (401, 403)
    assert client.get(f"/api/events/{event.pk}/").status_code in (401, 403)
    assert EventCategory.objects.exists()
