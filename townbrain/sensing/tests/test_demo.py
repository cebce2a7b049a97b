"""The demo: facilities, a few dozen sensors in 萧山区, a week of readings and exactly two alarms."""

import pytest

from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.testing.tree import build_tree

from .. import alarms, demo, facilities
from ..models import Alarm, Facility, Reading, Sensor

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_towns(users):
    """The demo's 萧山区 towns the test tree lacks (the real demo loads every town of Zhejiang)."""
    have = set(OrgUnit.objects.values_list("code", flat=True))
    build_tree({code: f"{slug}镇" for code, slug in demo.TOWNS.items() if code not in have})


def test_demo_sensing(demo_towns, users):
    summary = demo.load()
    assert summary["facilities"] == Facility.objects.count() == 2 * len(demo.TOWNS)
    assert summary["sensors"] == Sensor.objects.count() >= 24
    assert summary["readings"] == Reading.objects.count() == Sensor.objects.count() * demo.HOURS
    # Through the services: an audit row for every facility and sensor.
    assert AuditEntry.objects.filter(action="facility.create").count() == Facility.objects.count()
    assert AuditEntry.objects.filter(action="sensor.create").count() == Sensor.objects.count()
    # Two crossings, two alarms: the flapping river level is one alarm, not six.
    raised = {a.sensor.town_id: a for a in Alarm.objects.select_related("sensor")}
    assert set(raised) == {"330109113", "330109106"}
    cod = raised["330109113"]
    assert cod.sensor.kind == "cod" and cod.peak > 50 and cod.status == "active_unack"
    level = raised["330109106"]
    assert level.sensor.kind == "water_level" and level.peak == max(demo.FLAP)
    assert sum(1 for v in demo.FLAP if v > 2.5) >= 5 and level.status == "cleared_unack"
    # Counts up the tree, as the cockpit shows them: the active one, in the city and in the county.
    for code in ("3301", "330109"):
        assert alarms.counts(users["hangzhou"], code) == {
            "by_severity": {**dict.fromkeys(alarms.SEVERITY_RANK, 0), "major": 1}, "active": 1, "unacknowledged": 1}
    # Coverage is not a flat 100 %: 党湾镇's sewage plant is still being built.
    cover = facilities.coverage(users["xiaoshan"], OrgUnit.objects.get(code="330109"))
    assert cover["with_garbage"] == 8 and cover["with_both"] == 7 and "330109120" in cover["missing"]
    assert demo.load() == {"facilities": 0, "sensors": 0, "readings": 0}  # idempotent
