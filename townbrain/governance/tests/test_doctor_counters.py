"""`townbrain doctor`'s `event_counters` (governance/doctor.py): an event's 重办 and 延期 counters equal its steps
when the services kept them (a dissatisfied review reopens, an imported one does not; an extension granted at
once or approved counts, one asked and not yet approved does not), and a raw UPDATE of either is drift."""

import json

import pytest
from click.testing import CliRunner
from django.db import connection

from townbrain.cli import main
from townbrain.core import doctor
from townbrain.core.models import OrgUnit

from .. import services
from ..models import Event
from .test_stats import at, fixtures  # noqa: F401 - the fixture (e8 reopened by a dissatisfied review)

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted(fixtures, people, category):  # noqa: F811 - the fixture imported above
    e3 = fixtures["e3"]  # dispatched in 瓜沥镇's county: the county office grants its own extension at once
    services.take_step(people["xiaoshan_office"], e3, "extend", "需协调", at=at(2020, 10, 12, 10), days=2)
    e1 = fixtures["e1"]
    imported = services.import_event(people["xiaoshan_office"], OrgUnit.objects.get(code="330109113"), category,
                                     "历史事件", external_id="H-9", reported_at=at(2020, 3, 2, 9),
                                     accepted_at=at(2020, 3, 2, 10), dispatched_at=at(2020, 3, 2, 11),
                                     closed_at=at(2020, 3, 3, 11), verdict="dissatisfied")
    for event in (e3, fixtures["e8"], imported):
        event.refresh_from_db()
    assert (e3.extended, fixtures["e8"].reopened, imported.reopened) == (1, 1, 0)
    return {"e1": e1, "e3": e3, "e8": fixtures["e8"]}


def _run():
    [result] = doctor.run_all(doctor.Options(full=True), only=["event_counters"])
    return result


def test_counters_kept_by_the_services_have_no_drift(counted):
    result = _run()
    assert result["status"] == "ok" and result["checked"] == Event.objects.count(), result


def test_a_tampered_counter_is_drift(counted):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE governance_event SET extended = 0 WHERE id = %s", [counted["e3"].pk])
        cursor.execute("UPDATE governance_event SET reopened = 2 WHERE id = %s", [counted["e1"].pk])
    result = CliRunner().invoke(main, ["doctor", "--json", "--only", "event_counters"])
    assert result.exit_code == 1, result.output
    [check] = json.loads(result.output)["checks"]
    assert check["drift"] == 2, check
    e1, e3 = counted["e1"].pk, counted["e3"].pk
    assert check["problems"] == sorted(check["problems"], key=lambda p: int(p.split("#")[1].split()[0]))
    assert any(f"event #{e3} counts 0 times reopened and 0 extended, its steps 0 and 1" in p for p in check["problems"])
    assert any(f"event #{e1} counts 2 times reopened and 0 extended, its steps 0 and 0" in p for p in check["problems"])
