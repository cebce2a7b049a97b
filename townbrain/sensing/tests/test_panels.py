from townbrain.core import panels
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.sensing import alarms, facilities, ingest, services
from townbrain.sensing.models import Alarm

from .conftest import items


def build(user, code):
    panel = next(p for p in panels.panels() if p.key == "sensing")
    assert panel.timeless
    return panel.build(panels.Context(user, OrgUnit.objects.get(code=code), None, "202603"))


def test_cockpit_panel(users, sensor):
    services.create_sensor(SYSTEM, "330109113", code="gl-cod-2", kind="cod")  # never heard from: silent
    for code, kind in (("gl-ws", "sewage-plant"), ("gl-lj", "garbage-treatment")):
        services.create_facility(SYSTEM, "330109113", code=code, name=code, kind=kind, status="operating")
    services.create_alarm_rule(SYSTEM, sensor=sensor, op=">", value=50, clear_value=40, severity="major")
    ingest.ingest(sensor, items([30, 60]))

    data = build(users["xiaoshan"], "330109")
    cards = {c.key: c for c in data.cards}
    assert {k: cards[f"alarms_{k}"].value for k in ("critical", "major", "minor", "warning")} == {
        "critical": "0", "major": "1", "minor": "0", "warning": "0"}
    assert cards["alarms_major"].tone == "bad" and "severity=major" in cards["alarms_major"].url
    assert cards["alarms_unacknowledged"].value == "1" and "status=active_unack" in cards["alarms_unacknowledged"].url
    assert (cards["sensors_reporting"].value, cards["sensors_silent"].value) == ("1", "1")
    cover = facilities.coverage(users["xiaoshan"], OrgUnit.objects.get(code="330109"))
    assert cover["with_both"] == 1
    assert cards["facility_coverage"].value == f"{float(cover['both_share']):.1f}%"
    assert data.charts[0].series[0].data == [0, 1, 0, 0]

    alarms.acknowledge(users["guali"], Alarm.objects.get())
    cards = {c.key: c for c in build(users["xiaoshan"], "330109").cards}
    assert cards["alarms_unacknowledged"].value == "0" and cards["alarms_major"].value == "1"
    # the town's own view counts the same alarm; the province's too (each alarm once up the tree)
    assert {c.key: c.value for c in build(users["guali"], "330109113").cards}["alarms_major"] == "1"
    assert {c.key: c.value for c in build(users["zhejiang"], "33").cards}["alarms_major"] == "1"


def test_no_panel_without_sensors_or_facilities(users, sensor):
    assert build(users["jiande"], "330182") is None  # an area with neither
    assert build(users["jiande"], "33") is None  # 萧山区's sensor is outside the user's area
    services.create_facility(SYSTEM, "330182107", code="dy-ws", name="dy", kind="sewage-plant", status="building")
    data = build(users["jiande"], "330182")
    keys = {c.key for c in data.cards}
    assert "sensors_reporting" not in keys and "facility_coverage" in keys and not data.charts
