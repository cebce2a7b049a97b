"""`townbrain bench ingest` runs (tiny numbers, MQTT only, against a real Mosquitto): every reading
published is stored and the crossing raises its alarm. Not a timing: the figures are not checked."""

import os
import shutil

import pytest

from townbrain.bench import ingest as bench

pytestmark = pytest.mark.django_db


def test_the_bench_runs_and_loses_nothing(users):
    if not (os.path.exists(bench.MOSQUITTO) or shutil.which("mosquitto")):
        pytest.skip("mosquitto is missing")
    try:
        figures = bench.run(seconds=2, rate=400, sensors=4, alarm_sensors=1, per_message=20, publishers=1,
                            modes=("mqtt",), echo=lambda m: None)
    finally:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM sensing_reading")
    m = figures["raw"]["mqtt"]
    assert m["published"] == m["stored"] == 800 and m["duplicates"] == m["rejected"] == 0
    assert m["crossings"] >= 1 and m["alarms_missing"] == 0 and m["alarms_raised"] == m["crossings"]
    assert "mqtt: readings published" in " ".join(label for label, _v in figures["rows"])
