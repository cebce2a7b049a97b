"""延期: asked by the handling office before the deadline, approved (or refused) by the office one level up."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from townbrain.core.models import AuditEntry

from .. import services
from ..models import Event, Notification, Step

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatched(report, people):
    event = report()
    services.take_step(people["guali"], event, "accept", "收到")
    services.take_step(people["guali"], event, "dispatch", "派城管", to="guali")
    return event


def _post(api, event, step, **body):
    return api.post(f"/api/events/{event.pk}/{step}/", body, format="json")


def test_the_town_asks_and_the_county_approves(api_for, dispatched, people, django_capture_on_commit_callbacks):
    event, deadline = dispatched, dispatched.deadline
    town = api_for("guali_office")
    assert _post(town, event, "extend", days=2).status_code == 400  # a reason is needed
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        data = _post(town, event, "extend", comment="需多部门协调", days=2).json()
    assert data["extension_pending"] is True and data["extension_days"] == 2 and data["extended"] == 0
    event.refresh_from_db()
    assert event.deadline == deadline and event.extended == 0 and event.extension_pending
    # The county office is told (in the app and by e-mail); the asking office may not approve itself.
    notes = Notification.objects.filter(event=event, kind="extension")
    assert {n.user.username for n in notes} == {"xiaoshan", "xiaoshan_office"}  # the county office's users
    assert all("guali_office" in n.message for n in notes)
    assert any("office@xiaoshan.example" in m.to for m in mail.outbox)
    assert "approve" not in services.available_steps(people["guali_office"], event)
    assert set(services.available_steps(people["xiaoshan_office"], event)) >= {"approve", "deny"}
    assert "extend" not in services.available_steps(people["guali_office"], event)  # one request at a time
    assert _post(town, event, "approve", comment="自己批").status_code == 403
    assert _post(town, event, "extend", comment="再来", days=1).status_code == 400
    assert _post(api_for("guali_viewer"), event, "approve", comment="x").status_code == 403
    # The county approves: the deadline moves on from the old one; the handler hears of it.
    data = _post(api_for("xiaoshan"), event, "approve", comment="同意").json()
    assert data["extension_pending"] is False and data["extended"] == 1
    event.refresh_from_db()
    assert event.deadline > deadline and event.deadline == services.deadlines.extend(deadline, days=2)
    assert Notification.objects.filter(event=event, kind="extension", user=people["guali"]).exists()
    steps = list(Step.objects.filter(event=event, step__in=["extend", "approve"]).order_by("pk"))
    assert [(s.step, s.actor_name, s.detail.get("requested"), s.detail.get("days")) for s in steps] == [
        ("extend", "guali_office", True, 2), ("approve", "xiaoshan", None, 2)]
    assert AuditEntry.objects.filter(action="event.approve", object_id=str(event.pk)).count() == 1
    assert _post(api_for("xiaoshan"), event, "approve", comment="again").status_code == 400  # nothing pending


def test_the_county_refuses_with_a_reason(api_for, dispatched, people):
    event, deadline = dispatched, dispatched.deadline
    services.take_step(people["guali"], event, "extend", "人手不足", hours=12)
    county = api_for("xiaoshan_office")
    assert _post(county, event, "deny", comment="").status_code == 400
    data = _post(county, event, "deny", comment="时限充足，按期办结").json()
    assert data["extension_pending"] is False and data["extended"] == 0
    event.refresh_from_db()
    assert event.deadline == deadline
    assert Step.objects.get(event=event, step="deny").detail["hours"] == 12
    # Refused, the town may ask again (before the deadline).
    services.take_step(people["guali"], event, "extend", "再次申请", days=1)
    assert Event.objects.get(pk=event.pk).extension_pending


def test_an_office_above_extends_at_once(dispatched, people):
    event, deadline = dispatched, dispatched.deadline
    services.take_step(people["hangzhou"], event, "extend", "市里同意延期", days=1)
    assert event.deadline == services.deadlines.extend(deadline, days=1) and event.extended == 1
    assert not event.extension_pending
    assert Step.objects.get(event=event, step="extend").detail["approved"] is True


def test_ask_before_the_deadline_return_clears_the_request(dispatched, people):
    event = dispatched
    late = event.deadline + timedelta(minutes=1)
    with pytest.raises(services.ValidationError):
        services.take_step(people["guali"], event, "extend", "太晚", days=1, at=late)
    services.take_step(people["guali"], event, "extend", "申请", days=1, at=event.deadline - timedelta(hours=1))
    services.take_step(people["guali"], event, "return", "派错部门")
    event.refresh_from_db()
    assert not event.extension_pending and event.extension_days is None
    assert "approve" not in services.available_steps(people["xiaoshan"], event)


def test_a_county_event_is_approved_by_the_city(report, people):
    event = report()
    services.take_step(people["xiaoshan"], event, "accept", "收到")
    services.take_step(people["xiaoshan"], event, "dispatch", "区里办", to="330109")
    assert services.approving_office(event) == "3301"
    services.take_step(people["xiaoshan"], event, "extend", "区里申请", days=1)
    assert event.extension_pending  # the county handles it, so the city approves
    with pytest.raises(services.PermissionDenied):
        services.take_step(people["xiaoshan"], event, "approve", "自批", at=timezone.now())
    services.take_step(people["hangzhou"], event, "approve", "同意")
    assert event.extended == 1


def test_the_event_page_shows_the_request_and_the_buttons(client_for, dispatched, people):
    services.take_step(people["guali"], dispatched, "extend", "需协调", days=2)
    page = client_for("xiaoshan_office").get(dispatched.get_absolute_url()).content.decode()
    assert 'id="extension-pending"' in page and 'value="approve"' in page and 'value="deny"' in page
    page = client_for("guali").get(dispatched.get_absolute_url()).content.decode()
    assert 'id="extension-pending"' in page and 'value="approve"' not in page
    response = client_for("xiaoshan_office").post(dispatched.get_absolute_url(), {"step": "approve", "comment": "同意"})
    assert response.status_code == 302
    assert Event.objects.get(pk=dispatched.pk).extended == 1


def test_notifications_reach_a_dingtalk_style_webhook(report, people, settings, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    """The webhook setting: a robot gets {"msgtype": "text", "text": {"content": …}} with the event's link."""
    import json

    sent = []

    class Answer:
        def close(self):
            pass

    def fake_urlopen(request, timeout):
        sent.append((request.full_url, json.loads(request.data), request.get_header("Content-type")))
        return Answer()

    monkeypatch.setattr(services.urllib.request, "urlopen", fake_urlopen)
    settings.TOWNBRAIN_EVENTS_WEBHOOK = "https://oapi.dingtalk.example/robot/send?access_token=x"
    settings.TOWNBRAIN_BASE_URL = "https://tb.example"
    event = report()
    services.take_step(people["guali"], event, "accept", "收到")
    with django_capture_on_commit_callbacks(execute=True):
        services.take_step(people["guali"], event, "dispatch", "派")
        services.take_step(people["guali"], event, "extend", "需协调", days=1)
    assert [s[0] for s in sent] == [settings.TOWNBRAIN_EVENTS_WEBHOOK] * 2
    assert all(body["msgtype"] == "text" and f"https://tb.example/events/{event.pk}/" in body["text"]["content"]
               for _url, body, _ct in sent)
    assert "延期" in sent[1][1]["text"]["content"] and sent[0][2] == "application/json"

    def broken(request, timeout):
        raise OSError("down")

    monkeypatch.setattr(services.urllib.request, "urlopen", broken)
    with django_capture_on_commit_callbacks(execute=True):
        services.take_step(people["xiaoshan"], event, "deny", "时限充足")  # a failing robot breaks nothing
    assert Step.objects.filter(event=event, step="deny").exists()
