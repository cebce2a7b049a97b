"""`townbrain doctor`'s sensing checks (sensing/doctor.py): clean after ingest through the services, drift
when a kept figure — a sensor's counter or last reading, an aggregate, an alarm's or a rule state's — is
changed by a raw UPDATE behind the services' back; `townbrain doctor` then exits 1."""

import datetime as dt
import json

from click.testing import CliRunner
from django.db import connection
from django.test import override_settings

from townbrain.cli import main
from townbrain.core import doctor
from townbrain.sensing import ingest
from townbrain.sensing.models import Aggregate, Alarm, RuleState, Sensor

from .conftest import T0, items
from .test_alarms import rule

CHECKS = ["sensor_counters", "sensor_aggregates", "alarm_states"]


def _run(name):
    [result] = doctor.run_all(doctor.Options(full=True), only=[name])
    return result


def _cli(name):
    result = CliRunner().invoke(main, ["doctor", "--json", "--only", name])
    return result.exit_code, json.loads(result.output)


def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _load(sensor, other_sensor):
    rule(sensor)
    # two hours and two local days (T0 is 08:00 +08:00: the second batch crosses midnight)
    ingest.ingest(sensor, items([45, 51, 49, 60, 52], step=1800))
    ingest.ingest(sensor, items([30, 55, 58], start=T0 + dt.timedelta(hours=16), step=600))
    ingest.ingest(sensor, items([12.5], start=T0 - dt.timedelta(hours=3)))  # late: history
    ingest.ingest(sensor, items([45, 51]))  # exact duplicates: not stored again
    ingest.ingest(other_sensor, items([1.25, 2.5, 3.75]))


def test_consistent_readings_and_alarms_have_no_drift(sensor, other_sensor):
    _load(sensor, other_sensor)
    assert Alarm.objects.filter(cleared=False).count() == 1 and RuleState.objects.filter(streak__gt=0).exists()
    for name in CHECKS:
        result = _run(name)
        assert result["status"] == "ok" and result["checked"] > 0, result
    code, report = _cli("sensor_aggregates")
    assert code == 0 and report["drift"] is False


def test_a_tampered_counter_or_last_reading_is_drift(sensor, other_sensor):
    _load(sensor, other_sensor)
    Sensor.objects.filter(pk=sensor.pk).update(readings_stored=100)
    _raw("UPDATE sensing_sensor SET last_value = last_value + 1 WHERE id = %s", [other_sensor.pk])
    code, report = _cli("sensor_counters")
    assert code == 1 and report["drift"] is True
    [check] = report["checks"]
    assert check["drift"] == 2, check
    assert "gl-cod-1" in check["problems"][0] and "100 readings stored" in check["problems"][0]
    assert "dy-cod-1" in check["problems"][1] and "4.75" in check["problems"][1]


def test_a_tampered_aggregate_or_a_lost_reading_is_drift(sensor, other_sensor):
    _load(sensor, other_sensor)
    hour = Aggregate.objects.filter(sensor=sensor, grain="h").order_by("bucket").first()
    _raw('UPDATE sensing_aggregate SET "max" = "max" + 1, "sum" = "sum" + 0.5 WHERE id = %s', [hour.pk])
    _raw("DELETE FROM sensing_reading WHERE sensor_id = %s", [other_sensor.pk])  # its aggregates outlive it
    code, report = _cli("sensor_aggregates")
    assert code == 1
    [check] = report["checks"]
    problems = check["problems"]
    assert check["drift"] == 3, problems  # the tampered hour; the other sensor's hour and day
    assert any("gl-cod-1" in p and "max" in p and "sum" in p for p in problems), problems
    assert sum("dy-cod-1" in p and "no readings" in p for p in problems) == 2, problems


@override_settings(TOWNBRAIN_READINGS_RETENTION_DAYS=1)
def test_buckets_before_the_retention_cut_off_are_not_compared(sensor):
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    ingest.ingest(sensor, items([1, 2, 3], start=now - dt.timedelta(hours=1), step=60), now=now)
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    Aggregate.objects.create(sensor=sensor, grain="h", bucket=old, count=5, sum=5, min=1, max=1, last_ts=old, last=1)
    assert _run("sensor_aggregates")["status"] == "ok"


def test_a_tampered_alarm_or_rule_state_is_drift(sensor, other_sensor):
    _load(sensor, other_sensor)
    alarm = Alarm.objects.get(cleared=False)
    _raw("UPDATE sensing_alarm SET town_id = %s, acknowledged = %s WHERE id = %s", ["330182107", True, alarm.pk])
    _raw("UPDATE sensing_rulestate SET streak = 0 WHERE sensor_id = %s", [sensor.pk])
    code, report = _cli("alarm_states")
    assert code == 1
    [check] = report["checks"]
    problems = check["problems"]
    assert check["drift"] == 4, problems  # town, acknowledgement; the run's start and peak, the active alarm
    assert any(f"alarm #{alarm.pk}" in p and "330182107" in p for p in problems), problems
    assert any(f"alarm #{alarm.pk}" in p and "acknowledged" in p for p in problems), problems
    assert sum("rule state" in p for p in problems) == 2, problems


def test_many_differences_are_counted_but_listed_up_to_the_limit(sensor):
    ingest.ingest(sensor, items(list(range(doctor.MAX_PROBLEMS + 20)), step=3600))
    _raw('UPDATE sensing_aggregate SET "min" = -1 WHERE grain = %s', ["h"])
    result = _run("sensor_aggregates")
    assert result["drift"] == doctor.MAX_PROBLEMS + 20 and len(result["problems"]) == doctor.MAX_PROBLEMS
    assert "sensor_aggregates: … and 20 more" in doctor.render_table([result])
