"""`townbrain mqtt`: the MQTT subscriber that feeds readings through the same ingest path as HTTP.

    townbrain mqtt [--host 127.0.0.1] [--port 1883]

Topic `townbrain/<town code>/<sensor code>`, QoS 1; payload JSON `{"ts": "<ISO 8601 with offset>",
"value": <number>}` or a list of those. paho's network thread only puts messages on a queue; the
thread that called `run()` takes them off in batches — up to `batch_size` messages or about
`batch_readings` readings, and never more than `batch_seconds` after the first one, so a reading that
crosses an alarm line waits at most that long plus one write — groups them by sensor and writes them
with `ingest.ingest_many` — one code path with `POST /api/ingest/`: duplicates dropped, late readings
kept, alarm rules run, bad items counted on the sensor.

A message for a sensor nobody registered, or for a sensor under another town than the topic names,
is counted and logged; a payload that is not JSON (or not an object or a list) is counted on the
sensor (`ingest.count_bad_payload`) and shown on its page. Nothing a device sends stops the loop.

The session is persistent (`clean_session=False`, a fixed client id): while the subscriber is away
— the broker restarted, the network dropped, the service was restarted — the broker keeps the QoS 1
messages for it and hands them over when it is back; paho reconnects by itself (1 s, doubling up to
`MAX_RECONNECT_DELAY`). A message is acknowledged (PUBACK) only once its batch is written and
committed — or found to be no reading at all — so a subscriber killed with SIGKILL, or a connection
lost mid-batch, leaves the broker holding what it had not yet stored, and the broker sends it again
(exact duplicates are dropped by (sensor, ts)). A message received on an earlier connection is not
acknowledged on a later one: the broker resends it under the same session. SIGTERM and SIGINT stop it
cleanly (write and acknowledge what was received, then disconnect).

Every `upkeep_seconds` (and once at the start) the loop also runs what `townbrain sensing check`
runs once: the inactivity check, the escalation of unacknowledged alarms and the partitions'
upkeep (retention).
"""

import json
import logging
import queue
import signal
import threading
import time
from dataclasses import dataclass, field

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils.translation import gettext as _

from . import alarms, ingest, storage
from .models import Sensor

log = logging.getLogger(__name__)

TOPIC = "townbrain/+/+"
QOS = 1
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 1883
DEFAULT_CLIENT_ID = "townbrain-ingest"
MAX_RECONNECT_DELAY = 30
UNKNOWN_RECHECK_S = 30  # an unknown sensor code is looked up again after this long


@dataclass
class Stats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0  # readings rejected by ingest (counted on their sensor)
    bad_payloads: int = 0  # messages that were not JSON readings at all (counted on their sensor)
    unknown: int = 0  # messages for no known sensor (bad topic, unknown code, town mismatch)
    batches: int = 0
    connects: int = 0
    errors: int = 0  # batches the database refused (logged)
    upkeeps: int = 0
    pending: int = 0  # on the queue, not yet written
    subscribed: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "subscribed"}


def sensing_check(now=None) -> dict:
    """Inactivity alarms, escalation of unacknowledged alarms, partitions and retention — once."""
    out = {}
    out.update(alarms.check_inactivity(now))
    out.update(alarms.escalate(now))
    out.update(storage.maintain(now))
    return out


def parse_payload(raw: bytes):
    """The list of reading items in a payload, or ValueError with the reason."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(_("The payload is not JSON: %(error)s") % {"error": str(exc)[:120]}) from exc
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise ValueError(_("The payload is neither a reading nor a list of readings."))


class Runner:
    """One subscriber: `run()` blocks until `stop` is set (or `until(stats)` is true, or `max_seconds`)."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, client_id: str = DEFAULT_CLIENT_ID,
                 batch_size: int = 1000, batch_readings: int = 20000, batch_seconds: float = 0.1,
                 upkeep_seconds: float = 60, keepalive: int = 30):
        self.host, self.port, self.client_id = host, port, client_id
        self.batch_size, self.batch_seconds, self.upkeep_seconds = batch_size, batch_seconds, upkeep_seconds
        self.batch_readings = batch_readings
        self.keepalive = keepalive
        self._connection = 0  # which connection a message came on: acknowledged only on that one
        self.stats = Stats()
        self.queue: queue.Queue = queue.Queue()
        self._sensors: dict[str, Sensor] = {}
        self._unknown: dict[str, float] = {}
        self.client = None

    # --- paho's network thread: only queue and log ------------------------------------------------

    def _client(self):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False,
                             manual_ack=True)
        client.reconnect_delay_set(min_delay=1, max_delay=MAX_RECONNECT_DELAY)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("mqtt: %s:%s refused the connection: %s", self.host, self.port, reason_code)
            return
        self.stats.connects += 1
        self._connection += 1
        log.info("mqtt: connected to %s:%s (session present: %s)", self.host, self.port, flags.session_present)
        client.subscribe(TOPIC, qos=QOS)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if any(rc.is_failure for rc in reason_codes):
            log.error("mqtt: subscription to %s refused: %s", TOPIC, reason_codes)
            return
        self.stats.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.stats.subscribed.clear()
        if reason_code.is_failure:
            log.warning("mqtt: disconnected from %s:%s (%s); reconnecting", self.host, self.port, reason_code)

    def _on_message(self, client, userdata, message):
        self.queue.put((message.topic, message.payload, message.mid, message.qos, self._connection))

    # --- the caller's thread: batches into the database -----------------------------------------

    def run(self, stop: threading.Event | None = None, *, until=None, max_seconds: float | None = None) -> Stats:
        stop = stop or threading.Event()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        self.client = self._client()
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()
        log.info("mqtt: subscribing to %s on %s:%s as %s", TOPIC, self.host, self.port, self.client_id)
        next_upkeep = time.monotonic()
        try:
            while not stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if time.monotonic() >= next_upkeep:
                    self.upkeep()
                    next_upkeep = time.monotonic() + self.upkeep_seconds
                batch = self._collect(stop)
                if batch:
                    self.write(batch)
                    self._ack(batch)
                self.stats.pending = self.queue.qsize()
                if until is not None and until(self.stats):
                    break
        finally:
            try:
                rest = self._drain()  # what came before the stop: written and acknowledged, then goodbye
                if rest:
                    self.write(rest)
                    self._ack(rest)
            finally:
                self.client.disconnect()  # what is not acknowledged stays with the session on the broker
                self.client.loop_stop()
                self.stats.pending = 0
                log.info("mqtt: stopped: %s", self.stats.as_dict())
        return self.stats

    def _collect(self, stop) -> list:
        """Messages until the batch is full (`batch_size` messages, about `batch_readings` readings) or
        `batch_seconds` after the first one (0.2 s idle ticks)."""
        try:
            first = self.queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        readings = _readings_in(first[1])
        until = time.monotonic() + self.batch_seconds
        while len(batch) < self.batch_size and readings < self.batch_readings and not stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self.queue.get(timeout=left))
            except queue.Empty:
                break
            readings += _readings_in(batch[-1][1])
        return batch

    def _ack(self, batch) -> None:
        """PUBACK the batch's messages, now that they are stored (or counted as no readings at all) — those
        that came on the present connection; the broker resends the others itself."""
        for _topic, _payload, mid, qos, conn in batch:
            if qos and conn == self._connection:
                self.client.ack(mid, qos)

    def _drain(self) -> list:
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                return out

    def sensor(self, code: str) -> Sensor | None:
        sensor = self._sensors.get(code)
        if sensor is not None:
            return sensor
        if time.monotonic() < self._unknown.get(code, 0):
            return None
        sensor = Sensor.objects.filter(code=code).only("pk", "code", "town_id", "kind").first()
        if sensor is None:
            self._unknown[code] = time.monotonic() + UNKNOWN_RECHECK_S
            return None
        self._sensors[code] = sensor
        return sensor

    def write(self, batch: list) -> None:
        """Group a batch's messages by sensor and hand them to `ingest.ingest_many` in one transaction.
        A failure is logged and counted, sensor by sensor, and the loop goes on: the messages are
        acknowledged after this returns, so one that failed every time would otherwise come back after
        each restart and stop the subscriber again."""
        self.stats.received += len(batch)
        self.stats.batches += 1
        grouped = {}
        try:
            grouped = self._group(batch)
            if grouped:
                self._ingest(grouped)
        except Exception:  # noqa: BLE001 - see above; DatabaseError above all
            log.exception("mqtt: a batch of %s messages could not be written; trying sensor by sensor", len(batch))
            self._reset_connection()
            if not grouped:
                self.stats.errors += 1
            for one in grouped.items():
                try:
                    self._ingest(dict([one]))
                except Exception:  # noqa: BLE001
                    self.stats.errors += 1
                    log.exception("mqtt: the readings of sensor %s could not be written", one[1][0].code)
                    self._reset_connection()

    def _group(self, batch) -> dict:
        grouped: dict[int, tuple[Sensor, list]] = {}
        for topic, payload, *_how in batch:
            parts = topic.split("/")
            if len(parts) != 3:
                self._unknown_message(topic, "bad topic")
                continue
            _prefix, town, code = parts
            sensor = self.sensor(code)
            if sensor is None:
                self._unknown_message(topic, "unknown sensor")
                continue
            if sensor.town_id != town:
                self._unknown_message(topic, f"sensor {code} belongs to town {sensor.town_id}")
                continue
            try:
                items = parse_payload(payload)
            except ValueError as exc:
                self.stats.bad_payloads += 1
                log.warning("mqtt: %s: bad payload: %s", topic, exc)
                ingest.count_bad_payload(sensor, str(exc))
                continue
            grouped.setdefault(sensor.pk, (sensor, []))[1].extend(items)
        return grouped

    def _unknown_message(self, topic: str, why: str) -> None:
        self.stats.unknown += 1
        if self.stats.unknown <= 10 or self.stats.unknown % 1000 == 0:
            log.warning("mqtt: %s: %s (%s such messages so far)", topic, why, self.stats.unknown)

    def _ingest(self, grouped: dict) -> None:
        batches = list(grouped.values())
        try:
            results = ingest.ingest_many(batches)
        except (OperationalError, InterfaceError):
            # the database went away (restart, network): one more try on a fresh connection
            log.warning("mqtt: database connection lost; retrying the batch once")
            self._reset_connection()
            results = ingest.ingest_many(batches)
        for (sensor, _items), result in zip(batches, results, strict=True):
            self.stats.stored += result.stored
            self.stats.duplicates += result.duplicates
            self.stats.rejected += len(result.rejected)
            if result.rejected:
                log.warning("mqtt: sensor %s: %s readings rejected, e.g. %s", sensor.code, len(result.rejected),
                            result.rejected[0]["message"])

    def _reset_connection(self) -> None:
        if not connection.in_atomic_block:
            connection.close()

    def _refresh_sensors(self) -> None:
        """The known sensors read again in one query (not one by one in the next batch): a sensor moved to
        another town is seen there, a deleted one is forgotten."""
        if self._sensors:
            self._sensors = {s.code: s for s in Sensor.objects.filter(code__in=list(self._sensors)).only(
                "pk", "code", "town_id", "kind")}

    def upkeep(self) -> None:
        self.stats.upkeeps += 1
        self._unknown.clear()
        try:
            self._refresh_sensors()
            result = sensing_check()
        except DatabaseError:
            log.exception("mqtt: upkeep failed")
            self._reset_connection()
            return
        if result.get("inactivity_raised") or result.get("escalated") or result.get("dropped_partitions"):
            log.info("mqtt: upkeep: %s", result)


def _readings_in(payload: bytes) -> int:
    """About how many readings a payload holds (one JSON object each), without parsing it."""
    return max(1, payload.count(b"{"))


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, client_id: str = DEFAULT_CLIENT_ID) -> Stats:
    """`townbrain mqtt`: run until SIGTERM or SIGINT."""
    stop = threading.Event()

    def _stop(signum, frame):
        log.info("mqtt: signal %s: stopping", signum)
        stop.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return Runner(host, port, client_id=client_id).run(stop)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
