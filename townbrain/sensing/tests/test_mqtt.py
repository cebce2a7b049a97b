"""`townbrain mqtt` against a real Mosquitto (scripts/install-system-deps.sh installs it).

Each test starts its own broker on a free port (persistence in tmp_path, so a restart keeps what
the broker held). The subscriber runs in the test's thread (the database is used from one thread,
which SQLite's test database needs); the readings are published from another thread once the
subscriber holds its subscription.
"""

import datetime as dt
import json
import os
import shutil
import subprocess
import threading
import time
import uuid

import pytest
from django.db import connection

from townbrain.core.scope import SYSTEM
from townbrain.sensing import mqtt, services
from townbrain.sensing.models import Alarm, Reading, Sensor
from townbrain.testing.local import free_port, listening, unavailable

from .conftest import T0, items

MOSQUITTO = os.environ.get("TOWNBRAIN_MOSQUITTO", "/usr/sbin/mosquitto")
TOWN = "330109113"


def _unavailable(reason: str):
    unavailable("MQTT tests", reason)


class Broker:
    def __init__(self, folder, port):
        self.folder, self.port, self.process = folder, port, None
        self.config = folder / "mosquitto.conf"
        lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence true",
                 f"persistence_location {folder}/", f"log_dest file {folder}/mosquitto.log"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to the user mosquitto, who cannot write tmp_path
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def start(self):
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not listening(self.port):
            if self.process.poll() is not None:
                _unavailable(f"mosquitto did not start: {self.process.stderr.read().decode()[-300:]}")
            if time.monotonic() > deadline:
                self.stop()
                _unavailable("mosquitto did not listen within 10 s")
            time.sleep(0.05)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: mosquitto saves its database (the persistent sessions)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self):
        self.stop()
        self.start()


@pytest.fixture
def broker(tmp_path):
    if not (os.path.exists(MOSQUITTO) or shutil.which("mosquitto")):
        _unavailable(f"{MOSQUITTO} is missing; run scripts/install-system-deps.sh")
    b = Broker(tmp_path, free_port())
    b.start()
    yield b
    b.stop()


@pytest.fixture
def mqtt_sensor(shipped_data, tree, users, sensor):
    """The sensor of conftest on a transactional database; the raw readings (an unmanaged table the
    flush does not empty) are removed after the test."""
    yield sensor
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sensing_reading")


def publish(port: int, messages, client_id: str = ""):
    """Publish [(topic, payload)] at QoS 1 and wait for the broker's acknowledgements."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"pub-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = []
        for topic, payload in messages:
            if not isinstance(payload, bytes | str):
                payload = json.dumps(payload)
            infos.append(client.publish(topic, payload, qos=1))
        for info in infos:
            info.wait_for_publish(5)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def run(runner, feed, until, max_seconds=15):
    """Run the subscriber here; `feed()` in a thread once it has subscribed."""
    failures = []

    def _feed():
        if not runner.stats.subscribed.wait(10):
            failures.append("the subscriber did not subscribe within 10 s")
            return
        try:
            feed()
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failures.append(repr(exc))

    thread = threading.Thread(target=_feed, daemon=True)
    thread.start()
    stats = runner.run(until=until, max_seconds=max_seconds)
    thread.join(15)
    assert not failures, failures
    return stats


def topic(code, town=TOWN):
    return f"townbrain/{town}/{code}"


def runner_for(broker):
    return mqtt.Runner("127.0.0.1", broker.port, client_id=f"tb-test-{uuid.uuid4().hex[:8]}", batch_seconds=0.2)


def values(sensor):
    return sorted(Reading.objects.filter(sensor_id=sensor.pk).values_list("value", flat=True))


def test_readings_duplicates_bad_payloads_and_an_alarm(broker, mqtt_sensor):
    sensor = mqtt_sensor
    services.create_alarm_rule(SYSTEM, sensor=sensor, op=">", value=50, clear_value=40, severity="minor")
    t = topic(sensor.code)
    messages = [
        (t, items([10, 20, 30])),  # a list
        (t, items([10])[0]),  # one reading, an exact duplicate of the first
        (t, b"not json {"),  # a bad payload: counted on the sensor
        (t, [{"ts": "yesterday", "value": 1}]),  # a bad reading: rejected, counted on the sensor
        (topic("no-such-sensor"), items([1])),  # nobody's sensor: counted, logged
        (topic(sensor.code, town="330182107"), items([2])),  # the wrong town
        (t, items([60], start=T0 + dt.timedelta(minutes=3))),  # crosses the rule's line
        (t, items([5], start=T0 - dt.timedelta(hours=1))),  # late, out of order: stored
    ]
    stats = run(runner_for(broker), lambda: publish(broker.port, messages),
                until=lambda s: s.received >= len(messages) and s.pending == 0)
    assert stats.received == len(messages)
    assert values(sensor) == [5, 10, 20, 30, 60]
    assert (stats.stored, stats.duplicates, stats.rejected, stats.bad_payloads, stats.unknown) == (5, 1, 1, 1, 2)
    sensor.refresh_from_db()
    assert sensor.readings_stored == 5 and sensor.bad_payloads == 2
    assert sensor.last_value == 60 and sensor.last_ts == T0 + dt.timedelta(minutes=3)
    alarm = Alarm.objects.get(sensor=sensor)
    assert alarm.status == "active_unack" and alarm.peak == 60 and alarm.start == T0 + dt.timedelta(minutes=3)


def test_nothing_lost_across_a_broker_restart(broker, mqtt_sensor):
    sensor = mqtt_sensor
    t = topic(sensor.code)
    at = lambda minute: T0 + dt.timedelta(minutes=minute)  # noqa: E731
    client_id = f"tb-test-{uuid.uuid4().hex[:8]}"

    # 1. the subscriber's first run makes its persistent session on the broker
    first = mqtt.Runner("127.0.0.1", broker.port, client_id=client_id, batch_seconds=0.2)
    run(first, lambda: publish(broker.port, [(t, items([1], start=at(0)))]), until=lambda s: s.stored >= 1)
    # 2. while it is away, readings arrive; the broker keeps them for the session, across its restart
    publish(broker.port, [(t, items([2, 3, 4], start=at(1)))])
    broker.restart()

    # 3. back again: what the broker kept arrives; then the broker restarts under the running subscriber,
    #    which reconnects by itself and gets what was published while it was disconnected
    second = mqtt.Runner("127.0.0.1", broker.port, client_id=client_id, batch_seconds=0.2)

    def feed():
        publish(broker.port, [(t, items([5, 6], start=at(4)))])
        deadline = time.monotonic() + 10
        while second.stats.stored < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        broker.restart()
        publish(broker.port, [(t, items([7, 8], start=at(6)))])

    stats = run(second, feed, until=lambda s: s.stored >= 7)
    assert values(sensor) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert stats.stored == 7 and stats.connects >= 2
    assert Sensor.objects.get(pk=sensor.pk).readings_stored == 8


def test_what_was_not_written_is_sent_again(broker, mqtt_sensor):
    """A message is acknowledged only once its batch is stored: a subscriber that dies in the middle of a
    batch leaves it with the broker, which sends it again to the next run of the same session."""
    sensor = mqtt_sensor
    t = topic(sensor.code)
    client_id = f"tb-test-{uuid.uuid4().hex[:8]}"

    class Dies(mqtt.Runner):
        def write(self, batch):
            self.seen = getattr(self, "seen", 0) + len(batch)
            raise RuntimeError("killed before the commit")

    first = Dies("127.0.0.1", broker.port, client_id=client_id, batch_seconds=0.2)

    def feed():
        first.stats.subscribed.wait(10)
        publish(broker.port, [(t, items([1, 2])), (t, items([3], start=T0 + dt.timedelta(minutes=5)))])

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    with pytest.raises(RuntimeError):
        first.run(max_seconds=15)
    thread.join(15)
    assert first.seen >= 1 and values(sensor) == []

    second = mqtt.Runner("127.0.0.1", broker.port, client_id=client_id, batch_seconds=0.2)
    stats = run(second, lambda: None, until=lambda s: s.stored >= 3)
    assert values(sensor) == [1, 2, 3] and stats.stored == 3


def test_a_batch_is_bounded_by_messages_readings_and_time():
    runner = mqtt.Runner(batch_size=3, batch_readings=25, batch_seconds=0.05)
    one = json.dumps(items([1] * 10)).encode()
    for i in range(5):
        runner.queue.put(("townbrain/x/y", one, i + 1, 1, 1))
    stop = threading.Event()
    assert [m[2] for m in runner._collect(stop)] == [1, 2, 3]  # 30 readings: the third one passes 25
    runner.batch_readings = 1000
    runner.queue.put(("townbrain/x/y", one, 6, 1, 1))
    assert [m[2] for m in runner._collect(stop)] == [4, 5, 6]  # 3 messages
    started = time.monotonic()
    runner.queue.put(("townbrain/x/y", one, 7, 1, 1))
    assert [m[2] for m in runner._collect(stop)] == [7]  # nothing more came within batch_seconds
    assert time.monotonic() - started < 1


def test_upkeep_reads_the_known_sensors_again_in_one_query(sensor, other_sensor, django_assert_max_num_queries):
    runner = mqtt.Runner()
    assert runner.sensor(sensor.code).town_id == TOWN and runner.sensor(other_sensor.code) is not None
    Sensor.objects.filter(pk=sensor.pk).update(town_id="330182107")  # moved to another town
    Sensor.objects.filter(pk=other_sensor.pk).delete()
    with django_assert_max_num_queries(1):
        runner._refresh_sensors()
    with django_assert_max_num_queries(0):
        assert runner.sensor(sensor.code).town_id == "330182107"
    assert runner.sensor(other_sensor.code) is None  # forgotten, and looked up (in vain) again
    runner.upkeep()
    assert runner.stats.upkeeps == 1


def test_a_batch_that_fails_is_counted_and_the_rest_written(sensor, other_sensor, monkeypatch):
    """Messages are acknowledged after `write`: a failure must not escape it (it would come back after
    every restart). The batch is retried sensor by sensor; what fails again is logged and counted."""
    from townbrain.sensing import ingest

    real = ingest.ingest_many

    def fails_for_sensor(batches, **kw):
        if any(s.pk == sensor.pk for s, _items in batches):
            raise ArithmeticError("a bug met by this sensor's readings")
        return real(batches, **kw)

    monkeypatch.setattr(ingest, "ingest_many", fails_for_sensor)
    runner = mqtt.Runner()
    runner.write([(topic(sensor.code), json.dumps(items([1, 2])).encode(), 1, 1, 1),
                  (topic(other_sensor.code, town="330182107"), json.dumps(items([3])).encode(), 2, 1, 1)])
    assert runner.stats.errors == 1 and runner.stats.stored == 1
    assert values(other_sensor) == [3] and values(sensor) == []
