"""Benchmark: sustained ingest of sensor readings over MQTT and HTTP (issue 15), `townbrain bench ingest`.

Runs against the configured database (TOWNBRAIN_DATABASE_URL; the figures in docs/performance.md are
from PostgreSQL). Its sensors are `bench-m-…` (MQTT) and `bench-h-…` (HTTP) in town 330109113, all of
kind `flow`, under one kind rule (`> 500`, clearing `< 400`, minor: no governance event) so every
batch runs the alarm rules as in production; the previous run's bench sensors, their readings,
aggregates and alarms are removed first.

MQTT: a private Mosquitto on a free port (as the MQTT tests start it), the subscriber — `mqtt.Runner`,
the very code of `townbrain mqtt` — in this process, and `--publishers` separate publisher processes
(paho-mqtt, QoS 1, each message a JSON list of `--per-message` readings of one sensor, the sensors
round-robin) pacing themselves to `--rate` readings/s for `--seconds`. The subscriber's persistent
session is made before anything is published, so the broker keeps every message for it.

HTTP: `townbrain serve` (gunicorn) on 127.0.0.1 and `--clients` client processes posting batches of
`--per-request` readings (default 1,000: a gateway forwarding its devices' readings, well under the
API's 10,000 a request) to `POST /api/ingest/` with the sensors' device tokens, keep-alive, paced the
same way.

Counted: readings published (acknowledged by the broker / answered 200) against readings stored
(rows in `sensing_reading` after the run: nothing may be lost), readings/s stored while publishing and
overall (until the last one was stored). Alarm latency: a few sensors send a reading beyond the line
every few seconds (the next message clears it); latency = the alarm's `created` − the time the
message was handed to paho / the request was sent; the target is p95 < 1 s.
"""

import datetime as dt
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from townbrain.testing.local import free_port

TOWN = "330109113"
KIND = "flow"
LINE, CLEAR, CROSSING = 500.0, 400.0, 1000.0
RULE_NAME = "bench ingest"
CROSS_EVERY_S = 3.0
LATENCY_TARGET_S = 1.0
MOSQUITTO = os.environ.get("TOWNBRAIN_MOSQUITTO", "/usr/sbin/mosquitto")


class BenchError(Exception):
    pass


def p95(values) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)] if ordered else float("nan")


def _wait_listening(port: int, process, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            raise BenchError(f"{process.args[0]} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise BenchError(f"nothing listens on port {port} after {seconds:.0f} s")
        time.sleep(0.1)


def _stop(process, seconds: float = 20) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


# --- readings as devices send them ------------------------------------------------------------------

class Feed:
    """One sensor's readings: a millisecond apart from `base`, values 0–99, now and then one beyond the line."""

    def __init__(self, code: str, base: dt.datetime, alarm: bool, offset: float):
        self.code, self.base, self.alarm = code, base, alarm
        self.n = 0
        self.next_cross = offset

    def batch(self, size: int, now: float, t0: float):
        out = []
        for _i in range(size):
            ts = self.base + dt.timedelta(milliseconds=self.n)
            out.append({"ts": ts.isoformat(timespec="milliseconds"), "value": float(self.n % 100)})
            self.n += 1
        crossing = None
        if self.alarm and now - t0 >= self.next_cross:
            out[-1]["value"] = CROSSING
            crossing = out[-1]["ts"]
            self.next_cross += CROSS_EVERY_S
        return out, crossing


def _schedule(index, sensors, alarm_codes, rate, seconds, per_message, base_iso, start_at):
    """Yield (feed, readings, crossing ts or None) at the pace of `rate` readings/s; sets `late`."""
    base = dt.datetime.fromisoformat(base_iso)
    feeds = [Feed(code, base, code in alarm_codes, 0.5 + 0.37 * i) for i, code in enumerate(sensors)]
    per_second = rate / per_message
    k = 0
    end = start_at + seconds
    while True:
        due = start_at + k / per_second
        if due >= end or time.time() >= end:  # a sender that fell behind stops at the end all the same
            return
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        feed = feeds[k % len(feeds)]
        readings, crossing = feed.batch(per_message, time.time(), start_at)
        yield feed, readings, crossing, max(0.0, -wait)
        k += 1


def mqtt_publisher(index, port, town, sensors, alarm_codes, rate, seconds, per_message, base_iso, start_at, out):
    """A publisher process: paho, QoS 1, one JSON list of readings per message."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{index}-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(200)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos, crossings, late = [], [], 0.0
    try:
        for feed, readings, crossing, lag in _schedule(index, sensors, alarm_codes, rate, seconds, per_message,
                                                       base_iso, start_at):
            late = max(late, lag)
            payload = json.dumps(readings)
            sent = time.time()
            infos.append((client.publish(f"townbrain/{town}/{feed.code}", payload, qos=1), len(readings)))
            if crossing:
                crossings.append((feed.code, crossing, sent))
        acked = 0
        for info, n in infos:
            info.wait_for_publish(120)
            if info.is_published():
                acked += n
    finally:
        client.disconnect()
        client.loop_stop()
    out.put({"index": index, "messages": len(infos), "published": acked, "crossings": crossings, "late": late})


def http_client(index, port, town, sensors, alarm_codes, rate, seconds, per_message, base_iso, start_at, out):
    """A client process: keep-alive POST /api/ingest/ with the sensor's device token."""
    import http.client

    tokens = dict(sensors)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    sent_readings = stored = duplicates = rejected = errors = 0
    crossings, late, times = [], 0.0, []
    for feed, readings, crossing, lag in _schedule(index, list(tokens), alarm_codes, rate, seconds, per_message,
                                                   base_iso, start_at):
        late = max(late, lag)
        body = json.dumps({"sensor": feed.code, "readings": readings})
        sent = time.time()
        if crossing:
            crossings.append((feed.code, crossing, sent))
        try:
            conn.request("POST", "/api/ingest/", body, {"Authorization": f"Device {tokens[feed.code]}",
                                                        "Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            continue
        times.append(time.time() - sent)
        if response.status != 200:
            errors += 1
            continue
        answer = json.loads(data)
        sent_readings += len(readings)
        stored += answer["stored"]
        duplicates += answer["duplicates"]
        rejected += len(answer["rejected"])
    conn.close()
    out.put({"index": index, "published": sent_readings, "stored": stored, "duplicates": duplicates,
             "rejected": rejected, "errors": errors, "crossings": crossings, "late": late, "times": times})


# --- the database ------------------------------------------------------------------------------------

def prepare(n_sensors: int, n_alarm: int, echo=print) -> dict:
    """Migrate, remove the previous run's bench sensors, make this run's sensors and the kind rule."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from townbrain.core.divisions import load_divisions
    from townbrain.core.models import OrgUnit
    from townbrain.core.scope import SYSTEM
    from townbrain.sensing import services
    from townbrain.sensing.models import AlarmRule, Sensor

    call_command("migrate", interactive=False, verbosity=0)
    if not OrgUnit.objects.filter(code=TOWN).exists():
        echo("loading the divisions of province 33")
        load_divisions(SYSTEM, ["33"])
    old = list(Sensor.objects.filter(code__startswith="bench-").values_list("pk", flat=True))
    if old:
        echo(f"removing {len(old)} bench sensors of an earlier run")
        with transaction.atomic(), connection.cursor() as cursor:
            ids = ",".join(str(int(pk)) for pk in old)
            cursor.execute(f"DELETE FROM sensing_reading WHERE sensor_id IN ({ids})")  # noqa: S608 - integers
            Sensor.objects.filter(pk__in=old).delete()
    AlarmRule.objects.filter(name=RULE_NAME).delete()
    services.create_alarm_rule(SYSTEM, org=TOWN, kind=KIND, op=">", value=LINE, clear_value=CLEAR,
                               severity="minor", name=RULE_NAME)
    made = {}
    for prefix in ("m", "h"):
        sensors = []
        for i in range(n_sensors):
            sensor, token = services.create_sensor(SYSTEM, TOWN, code=f"bench-{prefix}-{i:04d}", kind=KIND,
                                                   inactive_after_s=0)
            sensors.append((sensor.code, token))
        made[prefix] = sensors
    made["alarm"] = {f"bench-{p}-{i:04d}" for p in ("m", "h") for i in range(n_alarm)}
    return made


def _stored(prefix: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sensing_reading r JOIN sensing_sensor s ON s.id = r.sensor_id "
                       "WHERE s.code LIKE %s", [f"bench-{prefix}-%"])
        return cursor.fetchone()[0]


def _latencies(crossings) -> tuple[list[float], int]:
    """(alarm created − send time) of every crossing, and how many crossings raised no alarm."""
    from townbrain.sensing.models import Alarm

    codes = {code for code, _ts, _sent in crossings}
    raised = {(a.sensor.code, a.start): a.created
              for a in Alarm.objects.filter(sensor__code__in=codes, type="threshold").select_related("sensor")}
    out, missing = [], 0
    for code, ts, sent in crossings:
        created = raised.get((code, dt.datetime.fromisoformat(ts)))
        if created is None:
            missing += 1
        else:
            out.append(created.timestamp() - sent)
    return out, missing


def _split(items, parts):
    return [items[i::parts] for i in range(parts)]


def _collect(out, procs, seconds):
    results = []
    for _p in procs:
        results.append(out.get(timeout=seconds + 300))
    for p in procs:
        p.join(30)
    return results


def _database_label() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            cursor.execute("SHOW synchronous_commit")
            sync = cursor.fetchone()[0]
            cursor.execute("SHOW shared_buffers")
            buffers = cursor.fetchone()[0]
        return (f"PostgreSQL {version} ({connection.settings_dict['NAME']}; synchronous_commit {sync}, "
                f"shared_buffers {buffers})")
    return f"{connection.vendor} ({connection.settings_dict['NAME']})"


# --- MQTT -------------------------------------------------------------------------------------------

def run_mqtt(sensors, alarm_codes, *, seconds, rate, publishers, per_message, echo=print) -> dict:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from townbrain.sensing import mqtt

    if not Path(MOSQUITTO).exists():
        raise BenchError(f"{MOSQUITTO} is missing; run scripts/install-system-deps.sh")
    folder = Path(tempfile.mkdtemp(prefix="townbrain-bench-mqtt-"))
    port = free_port()
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false",
             "max_queued_messages 0", f"log_dest file {folder}/mosquitto.log"]
    if os.geteuid() == 0:
        lines.append("user root")
    (folder / "mosquitto.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    broker = subprocess.Popen([MOSQUITTO, "-c", str(folder / "mosquitto.conf")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, broker)
        client_id = f"townbrain-bench-{uuid.uuid4().hex[:8]}"
        # The subscriber's persistent session, before anything is published: the broker keeps all for it.
        primer = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        primer.connect("127.0.0.1", port)
        primer.loop_start()
        primer.subscribe(mqtt.TOPIC, qos=mqtt.QOS)
        time.sleep(0.5)
        primer.disconnect()
        primer.loop_stop()

        codes = [c for c, _t in sensors]
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        base = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).replace(microsecond=0).isoformat()
        start_at = time.time() + 3
        procs = [ctx.Process(target=mqtt_publisher, daemon=True,
                             args=(i, port, TOWN, part, alarm_codes, rate / publishers, seconds, per_message, base,
                                   start_at, out))
                 for i, part in enumerate(_split(codes, publishers))]
        for p in procs:
            p.start()
        runner = mqtt.Runner("127.0.0.1", port, client_id=client_id)
        writes = []  # (messages, seconds) of each batch the subscriber wrote
        write = runner.write

        def timed_write(batch):
            began = time.perf_counter()
            write(batch)
            writes.append((len(batch), time.perf_counter() - began))

        runner.write = timed_write
        stop = threading.Event()
        state = {"published": None, "results": None, "samples": [], "done_at": None}

        def control():
            try:
                results = _collect(out, procs, seconds)
            except Exception as exc:  # noqa: BLE001 - reported below
                state["error"] = repr(exc)
                stop.set()
                return
            state["results"] = results
            state["published"] = sum(r["published"] for r in results)
            deadline = time.time() + max(120.0, seconds)
            while not stop.is_set() and time.time() < deadline:
                time.sleep(0.2)
            stop.set()

        def sample():
            while not stop.is_set():
                state["samples"].append((time.time(), runner.stats.stored, runner.stats.pending))
                time.sleep(1)

        def finished(stats):
            if state["published"] is None:
                return False
            if stats.stored + stats.duplicates + stats.rejected >= state["published"]:
                state["done_at"] = time.time()
                return True
            return False

        threads = [threading.Thread(target=control, daemon=True), threading.Thread(target=sample, daemon=True)]
        for t in threads:
            t.start()
        load_before = os.getloadavg()
        stats = runner.run(stop, until=finished)
        stop.set()
        load_after = os.getloadavg()
        if "error" in state:
            raise BenchError(f"MQTT publishers: {state['error']}")
    finally:
        _stop(broker)
        shutil.rmtree(folder, ignore_errors=True)
    results = state["results"] or []
    published = state["published"] or 0
    stored = _stored("m")
    end_publish = start_at + seconds
    stored_by_end = max([s for t, s, _p in state["samples"] if t <= end_publish] or [0])
    backlog = max([p for t, _s, p in state["samples"]] or [0])
    done_at = state["done_at"] or time.time()
    crossings = [c for r in results for c in r["crossings"]]
    latencies, missing = _latencies(crossings)
    return {
        "published": published, "messages": sum(r["messages"] for r in results), "stored": stored,
        "duplicates": stats.duplicates, "rejected": stats.rejected, "errors": stats.errors,
        "batches": stats.batches,
        "rate_while_publishing": stored_by_end / seconds,
        "rate_overall": stored / max(1e-9, done_at - start_at),
        "drain_s": max(0.0, done_at - end_publish),
        "max_queue_messages": backlog,
        "publisher_late_s": max([r["late"] for r in results] or [0]),
        "crossings": len(crossings), "alarms_missing": missing, "latencies": latencies,
        "load_before": load_before, "load_after": load_after,
        "batch_messages_mean": sum(n for n, _s in writes) / max(1, len(writes)),
        "batch_messages_max": max([n for n, _s in writes] or [0]),
        "batch_write_p50_ms": sorted(s for _n, s in writes)[len(writes) // 2] * 1000 if writes else float("nan"),
        "batch_write_p95_ms": p95([s for _n, s in writes]) * 1000,
    }


# --- HTTP -------------------------------------------------------------------------------------------

def run_http(sensors, alarm_codes, *, seconds, rate, clients, per_request, workers, echo=print) -> dict:
    port = free_port()
    env = dict(os.environ)
    server = subprocess.Popen([sys.executable, "-c", "from townbrain.cli import main; main()", "serve",
                               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, server, 60)
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        base = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).replace(microsecond=0).isoformat()
        start_at = time.time() + 3
        procs = [ctx.Process(target=http_client, daemon=True,
                             args=(i, port, TOWN, part, alarm_codes, rate / clients, seconds, per_request, base,
                                   start_at, out))
                 for i, part in enumerate(_split(sensors, clients))]
        load_before = os.getloadavg()
        for p in procs:
            p.start()
        results = _collect(out, procs, seconds)
        done_at = time.time()
        load_after = os.getloadavg()
    finally:
        _stop(server)
    stored = _stored("h")
    crossings = [c for r in results for c in r["crossings"]]
    latencies, missing = _latencies(crossings)
    times = [t for r in results for t in r["times"]]
    published = sum(r["published"] for r in results)
    return {
        "published": published, "messages": len(times), "stored": stored,
        "answered_stored": sum(r["stored"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results), "rejected": sum(r["rejected"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "rate_while_publishing": stored / max(1e-9, done_at - start_at), "rate_overall": stored / max(
            1e-9, done_at - start_at), "drain_s": 0.0,
        "publisher_late_s": max([r["late"] for r in results] or [0]),
        "request_p50_ms": sorted(times)[len(times) // 2] * 1000 if times else float("nan"),
        "request_p95_ms": p95(times) * 1000,
        "crossings": len(crossings), "alarms_missing": missing, "latencies": latencies,
        "load_before": load_before, "load_after": load_after,
    }


# --- the whole ----------------------------------------------------------------------------------------

def run(*, seconds: int = 300, rate: int = 10000, sensors: int = 200, alarm_sensors: int = 10,
        per_message: int = 100, per_request: int = 1000, publishers: int = 4, clients: int = 4, workers: int = 2,
        modes=("mqtt", "http"), echo=print) -> dict:
    made = prepare(sensors, alarm_sensors, echo)
    database = _database_label()
    measured = {}
    if "mqtt" in modes:
        echo(f"MQTT: {rate:,} readings/s for {seconds} s, {publishers} publishers, {sensors} sensors")
        measured["mqtt"] = run_mqtt(made["m"], made["alarm"], seconds=seconds, rate=rate, publishers=publishers,
                                    per_message=per_message, echo=echo)
        echo(_line("MQTT", measured["mqtt"], rate))
    if "http" in modes:
        echo(f"HTTP: {rate:,} readings/s for {seconds} s, {clients} clients, gunicorn {workers} workers x 4 threads")
        measured["http"] = run_http(made["h"], made["alarm"], seconds=seconds, rate=rate, clients=clients,
                                    per_request=per_request, workers=workers, echo=echo)
        echo(_line("HTTP", measured["http"], rate))
    return figures(measured, database=database, seconds=seconds, rate=rate, sensors=sensors,
                   alarm_sensors=alarm_sensors, per_message=per_message, per_request=per_request,
                   publishers=publishers, clients=clients, workers=workers)


def _ok(m: dict, rate: int) -> bool:
    return (m["stored"] == m["published"] and not m["alarms_missing"] and m["rate_overall"] >= rate * 0.98
            and p95(m["latencies"]) < LATENCY_TARGET_S)


def _line(label: str, m: dict, rate: int) -> str:
    return (f"{label}: {m['stored']:,} of {m['published']:,} readings stored, {m['rate_overall']:,.0f}/s "
            f"(target {rate:,}), alarm latency p95 {p95(m['latencies']):.3f} s over {len(m['latencies'])} alarms"
            f" ({m['alarms_missing']} missing) — {'meets' if _ok(m, rate) else 'MISSES'} the target")


def figures(measured: dict, **settings) -> dict:
    rows = [("database", settings["database"]),
            ("settings", f"{settings['seconds']} s at a target of {settings['rate']:,} readings/s; "
                         f"{settings['sensors']} sensors per transport, {settings['per_message']} readings per "
                         f"MQTT message, {settings['per_request']:,} per HTTP request; {settings['alarm_sensors']} "
                         f"sensors cross the line every {CROSS_EVERY_S:.0f} s (when their next message or request "
                         "is due)")]
    for label, m in measured.items():
        lat = m["latencies"]
        who = (f"{settings['publishers']} publisher processes (QoS 1), subscriber `mqtt.Runner` in the bench process"
               if label == "mqtt" else
               f"{settings['clients']} client processes, `townbrain serve` ({settings['workers']} workers x 4 threads)")
        rows += [
            (f"{label}: set-up", who),
            (f"{label}: readings published / stored (rows) / duplicates / rejected / errors",
             f"{m['published']:,} / {m['stored']:,} / {m['duplicates']:,} / {m['rejected']:,} / {m['errors']:,}"),
            (f"{label}: readings/s stored while publishing / overall (until the last was stored)",
             f"{m['rate_while_publishing']:,.0f} / {m['rate_overall']:,.0f}"),
            (f"{label}: backlog drained after publishing stopped (s); senders behind schedule at worst (s)",
             f"{m['drain_s']:.1f}; {m['publisher_late_s']:.1f}"),
            (f"{label}: alarm latency (alarm created − sent), s min / p50 / p95 / max; alarms raised / crossings",
             (f"{min(lat):.3f} / {sorted(lat)[len(lat) // 2]:.3f} / {p95(lat):.3f} / {max(lat):.3f}" if lat else "—")
             + f"; {len(lat)} / {m['crossings']}"),
            (f"{label}: load average (1 / 5 min) before / after",
             f"{m['load_before'][0]:.1f} {m['load_before'][1]:.1f} / {m['load_after'][0]:.1f} "
             f"{m['load_after'][1]:.1f} on {os.cpu_count()} cores"),
        ]
        if label == "mqtt":
            rows.append(("mqtt: subscriber batches: messages mean / max; write time p50 / p95 (ms)",
                         f"{m['batch_messages_mean']:.1f} / {m['batch_messages_max']}; "
                         f"{m['batch_write_p50_ms']:.0f} / {m['batch_write_p95_ms']:.0f}"))
        if label == "http":
            rows.append(("http: request time p50 / p95 (ms)", f"{m['request_p50_ms']:.0f} / {m['request_p95_ms']:.0f}"))
    summary = "; ".join(_line(label.upper(), m, settings["rate"]) for label, m in measured.items())
    raw = {label: {k: v for k, v in m.items() if k != "latencies"} | {
        "latency_p95_s": p95(m["latencies"]), "alarms_raised": len(m["latencies"])} for label, m in measured.items()}
    return {
        "description": (
            "`townbrain bench ingest`: sustained ingest with the broker, the database, the senders and the "
            "subscriber / web server all on this machine. MQTT: a private Mosquitto (`max_queued_messages 0`), "
            "the subscriber of `townbrain mqtt` (batches closed after 0.1 s, 1,000 messages or about 20,000 "
            "readings, written by `ingest.ingest_many`, acknowledged to the broker after the commit), paced "
            "publisher processes. HTTP: `POST /api/ingest/` with device tokens against `townbrain serve`. "
            "Every sensor is under a kind alarm rule, so each batch runs the rules; stored = rows in "
            "`sensing_reading` counted after the run."),
        "rows": rows,
        "summary": summary,
        "raw": raw,
        "settings": {k: v for k, v in settings.items()},
    }
