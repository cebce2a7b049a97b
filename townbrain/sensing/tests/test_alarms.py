import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied

from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.governance.models import Event, Notification
from townbrain.sensing import alarms, ingest, services
from townbrain.sensing.models import Alarm

from .conftest import T0, items


def rule(sensor=None, **kw):
    kw.setdefault("op", ">")
    kw.setdefault("value", 50)
    kw.setdefault("clear_value", 40)
    kw.setdefault("severity", "minor")  # below the default event severities unless a test asks
    return services.create_alarm_rule(SYSTEM, sensor=sensor, org=None if sensor else "330109", **kw)


def test_flapping_at_the_line_makes_one_alarm(sensor):
    rule(sensor)
    # up and down across 50 many times, never below the clear value 40
    ingest.ingest(sensor, items([45, 51, 49, 52, 48, 60, 49, 51, 47, 55, 42]))
    assert Alarm.objects.count() == 1
    a = Alarm.objects.get()
    assert a.status == "active_unack" and a.peak == 60
    assert a.start == T0 + dt.timedelta(minutes=1) and a.end == T0 + dt.timedelta(minutes=10)
    ingest.ingest(sensor, items([39], start=T0 + dt.timedelta(minutes=20)))
    a.refresh_from_db()
    assert a.status == "cleared_unack" and a.cleared_by == "system"
    # a new crossing later is a new alarm
    ingest.ingest(sensor, items([70], start=T0 + dt.timedelta(minutes=30)))
    assert Alarm.objects.filter(cleared=False).count() == 1 and Alarm.objects.count() == 2
    assert AuditEntry.objects.filter(action="alarm.raise").count() == 2
    assert AuditEntry.objects.filter(action="alarm.clear").count() == 1


def test_duration_and_repeat(sensor):
    rule(sensor, duration_s=300, repeat=3)
    ingest.ingest(sensor, items([60, 60, 30, 60, 60, 60]))  # a dip resets the run; 3 in a row but only 2 min
    assert not Alarm.objects.exists()
    ingest.ingest(sensor, items([60, 60, 60], start=T0 + dt.timedelta(minutes=6)))  # the run lasts 5 min now
    a = Alarm.objects.get()
    assert a.start == T0 + dt.timedelta(minutes=3)


def test_below_rule_for_a_kind_and_late_readings(sensor):
    rule(kind="cod", op="<", value=10, clear_value=12)
    ingest.ingest(sensor, items([20, 9, 11], start=T0))
    a = Alarm.objects.get()
    assert a.peak == 9 and not a.cleared
    ingest.ingest(sensor, items([2], start=T0 - dt.timedelta(hours=1)))  # late: history, no new peak
    a.refresh_from_db()
    assert a.peak == 9
    ingest.ingest(sensor, items([13], start=T0 + dt.timedelta(minutes=5)))
    a.refresh_from_db()
    assert a.cleared


def test_severity_escalates_while_the_alarm_lasts(sensor):
    rule(sensor, critical_value=100)
    ingest.ingest(sensor, items([60, 80, 120]))
    a = Alarm.objects.get()
    assert a.severity == "critical" and a.peak == 120
    assert AuditEntry.objects.filter(action="alarm.severity").count() == 1


def test_ack_and_clear_are_audited_and_scoped(sensor, users):
    rule(sensor)
    ingest.ingest(sensor, items([60]))
    a = Alarm.objects.get()
    with pytest.raises(PermissionDenied):
        alarms.acknowledge(users["dayang"], a)
    with pytest.raises(PermissionDenied):
        alarms.acknowledge(users["guali_viewer"], a)
    alarms.acknowledge(users["guali"], a)
    a.refresh_from_db()
    assert a.status == "active_ack" and a.acked_by == "guali"
    alarms.clear(users["xiaoshan"], a)
    a.refresh_from_db()
    assert a.status == "cleared_ack"
    assert list(AuditEntry.objects.filter(action__in=["alarm.ack", "alarm.clear"]).values_list(
        "actor_name", flat=True).order_by("time")) == ["guali", "xiaoshan"]


def test_counts_propagate_up_the_tree_once(sensor, other_sensor, users):
    rule(sensor, severity="warning")
    services.create_alarm_rule(SYSTEM, org="33", kind="cod", op=">", value=50, clear_value=40, severity="minor")
    ingest.ingest(sensor, items([60]))
    ingest.ingest(other_sensor, items([60]))
    # 瓜沥: two rules → two alarms; 大洋: the province's kind rule → one
    for code, expected in [("330109113", 2), ("330109", 2), ("3301", 3), ("33", 3), ("330182", 1)]:
        c = alarms.counts(users["admin"], code)
        assert c["active"] == expected, code
    assert alarms.counts(users["admin"], "33")["by_severity"] == {"critical": 0, "major": 0, "minor": 2, "warning": 1}
    # a county user sees only its own area's alarms even when asking for the province
    assert alarms.counts(users["xiaoshan"], "33")["active"] == 2


def test_event_opened_for_chosen_severities_and_escalation(sensor, users, settings):
    settings.TOWNBRAIN_ALARM_EVENT_SEVERITIES = ["critical"]
    settings.TOWNBRAIN_ALARM_ESCALATE_MINUTES = 30
    rule(sensor, severity="major")
    ingest.ingest(sensor, items([60]))
    a = Alarm.objects.get()
    assert a.event_id is None and not Event.objects.exists()
    # unacknowledged for longer than the setting: the offices are told, once
    result = alarms.escalate(now=a.start + dt.timedelta(minutes=31))
    assert result == {"escalated": 1}
    assert alarms.escalate(now=a.start + dt.timedelta(minutes=60)) == {"escalated": 0}
    a.refresh_from_db()
    assert a.escalated_at and a.event_id
    told = set(Notification.objects.values_list("user__username", flat=True))
    assert {"guali", "xiaoshan"} <= told and "dayang" not in told
    ev = Event.objects.get()
    assert ev.source == "sensor" and ev.town_id == "330109113"


def test_critical_alarm_opens_event(sensor, settings):
    settings.TOWNBRAIN_ALARM_EVENT_SEVERITIES = ["critical"]
    rule(sensor, severity="critical")
    ingest.ingest(sensor, items([60]))
    a = Alarm.objects.get()
    assert a.event_id == Event.objects.get().pk


def test_inactivity(sensor):
    ingest.ingest(sensor, items([1.0]), now=T0)
    assert alarms.check_inactivity(now=T0 + dt.timedelta(minutes=30)) == {"inactivity_raised": 0}
    assert alarms.check_inactivity(now=T0 + dt.timedelta(hours=2)) == {"inactivity_raised": 1}
    assert alarms.check_inactivity(now=T0 + dt.timedelta(hours=3)) == {"inactivity_raised": 0}
    a = Alarm.objects.get(key="inactivity")
    assert a.type == "inactivity" and not a.cleared
    ingest.ingest(sensor, items([2.0], start=T0 + dt.timedelta(hours=3)), now=T0 + dt.timedelta(hours=3))
    a.refresh_from_db()
    assert a.cleared


def test_api_rules_and_alarm_list(sensor, users, client):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(users["guali"])
    r = api.post("/api/alarm-rules/", {"sensor": sensor.code, "op": ">", "value": 50, "clear_value": 40,
                                       "repeat": 2, "severity": "minor"}, format="json")
    assert r.status_code == 201, r.content
    bad = api.post("/api/alarm-rules/", {"sensor": sensor.code, "op": ">", "value": 50, "clear_value": 60},
                   format="json")
    assert bad.status_code == 400 and "clear_value" in bad.json()
    kind_rule = api.post("/api/alarm-rules/", {"kind": "cod", "op": ">", "value": 80, "severity": "warning"},
                         format="json")
    assert kind_rule.status_code == 201 and kind_rule.json()["org"] == "330109113"
    ingest.ingest(sensor, items([55, 56, 90, 91]))
    r = api.get("/api/alarms/", {"org": "330109", "status": "active"})
    assert r.status_code == 200
    rows = r.json()["results"]
    assert {(x["sensor"], x["severity"], x["status"]) for x in rows} == {
        (sensor.code, "minor", "active_unack"), (sensor.code, "warning", "active_unack")}
    assert {"rule", "start", "end", "peak"} <= set(rows[0])
    pk = rows[0]["id"]
    assert api.post(f"/api/alarms/{pk}/ack/").json()["status"] == "active_ack"
    assert len(api.get("/api/alarms/", {"org": "330109", "status": "active_unack"}).json()["results"]) == 1
    other = APIClient()
    other.force_authenticate(users["dayang"])
    assert other.post(f"/api/alarms/{pk}/clear/").status_code == 404
    assert other.get("/api/alarms/", {"status": "active"}).json()["count"] == 0
    counts = api.get("/api/alarms/counts/", {"org": "330109113"}).json()
    assert counts["active"] == 2 and counts["unacknowledged"] == 1
    page = client
    page.force_login(users["guali"])
    html = page.get("/alarms/?status=active").content.decode()
    assert sensor.code in html and "/clear/" in html
    assert page.post(f"/alarms/{pk}/clear/").status_code == 302
    assert json.loads(json.dumps(api.get(f"/api/alarms/{pk}/").json()))["status"] == "cleared_ack"
