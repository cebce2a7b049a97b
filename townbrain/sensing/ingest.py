"""The ingest path shared by HTTP (`POST /api/ingest/`) and MQTT (`townbrain mqtt`).

A batch is checked item by item — a bad item is rejected with its index and the reason, never
the whole batch, never a 500 — then, in one transaction: new readings inserted (exact duplicates
of (sensor, ts) dropped and counted, inside the batch and against what is stored), the hourly and
daily aggregates upserted, the sensors' last reading and counters moved, and the alarm rules run
over the new readings in time order. Late and out-of-order readings are stored and aggregated;
the rules only look at readings newer than the last one they saw (a late reading is history,
not a new crossing).

Readings are measurements, not changes an office makes: they are counted on the sensor, not
written to the audit log; alarm rules, alarms and their life cycle are audited.
"""

import datetime as dt
import math
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, FloatField, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from . import alarms, storage
from .models import Sensor

FUTURE_SLACK = dt.timedelta(minutes=5)  # a device clock a little ahead is fine; a day ahead is wrong
MAX_BATCH = 10000


@dataclass
class Result:
    stored: int = 0
    duplicates: int = 0
    rejected: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"stored": self.stored, "duplicates": self.duplicates, "rejected": self.rejected}


def parse_item(item, now, oldest) -> tuple[dt.datetime, float]:
    """(ts, value) of one item, or ValueError with the reason a user can read."""
    if not isinstance(item, dict):
        raise ValueError(_("A reading is an object with “ts” and “value”."))
    raw_ts, raw_value = item.get("ts"), item.get("value")
    if not isinstance(raw_ts, str):
        raise ValueError(_("“ts” is missing: give an ISO 8601 time with its offset."))
    try:
        ts = parse_datetime(raw_ts.strip())
    except ValueError:
        ts = None
    if ts is None:
        raise ValueError(_("“ts” is not an ISO 8601 time: %(ts)s") % {"ts": raw_ts[:40]})
    if timezone.is_naive(ts):
        raise ValueError(_("“ts” has no offset (e.g. +08:00 or Z): %(ts)s") % {"ts": raw_ts[:40]})
    if isinstance(raw_value, bool) or not isinstance(raw_value, int | float):
        raise ValueError(_("“value” is not a number."))
    try:
        value = float(raw_value)
    except OverflowError:  # an integer too big for a float
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(_("“value” is not a finite number."))
    if ts > now + FUTURE_SLACK:
        raise ValueError(_("“ts” is in the future: %(ts)s") % {"ts": raw_ts[:40]})
    if oldest is not None and ts < oldest:
        raise ValueError(_("“ts” is older than the readings kept (%(days)s days).") % {"days": storage.retention_days()})
    try:
        return ts.astimezone(dt.UTC), value
    except OverflowError:  # e.g. year 1 with a positive offset: before the first UTC instant there is
        raise ValueError(_("“ts” is not an ISO 8601 time: %(ts)s") % {"ts": raw_ts[:40]}) from None


def check(items, now=None) -> tuple[list[tuple[dt.datetime, float]], list[dict], int]:
    """The good readings (first of each ts), the rejected ones by index, the duplicates inside the batch."""
    now = now or timezone.now()
    oldest = storage.cutoff(now)
    latest, floor = now + FUTURE_SLACK, oldest or dt.datetime.min.replace(tzinfo=dt.UTC)
    good, rejected, seen, duplicates = [], [], set(), 0
    fromisoformat, isfinite, utc = dt.datetime.fromisoformat, math.isfinite, dt.UTC
    for index, item in enumerate(items):
        # The common case inline (a dict, an ISO time with its offset, a finite number, within bounds);
        # anything else goes through parse_item, which says what is wrong.
        ts = None
        if type(item) is dict:
            raw_ts, value = item.get("ts"), item.get("value")
            if type(raw_ts) is str and type(value) in (float, int):
                try:
                    ts, value = fromisoformat(raw_ts), float(value)
                    ts = (None if ts.tzinfo is None or not isfinite(value) or not floor <= ts <= latest
                          else ts.astimezone(utc))
                except (ValueError, OverflowError):
                    ts = None
        if ts is None:
            try:
                ts, value = parse_item(item, now, oldest)
            except ValueError as exc:
                rejected.append({"index": index, "message": str(exc)})
                continue
        if ts in seen:
            duplicates += 1
            continue
        seen.add(ts)
        good.append((ts, value))
    return good, rejected, duplicates


def ingest(sensor: Sensor, items, *, now=None) -> Result:
    """One sensor's batch (the HTTP door)."""
    if not isinstance(items, list):
        return Result(rejected=[{"index": None, "message": _("“readings” is a list.")}])
    if len(items) > MAX_BATCH:
        return Result(rejected=[{"index": None, "message": _("At most %(n)s readings per batch.") % {"n": MAX_BATCH}}])
    return ingest_many([(sensor, items)], now=now)[0]


def ingest_many(batches, *, now=None) -> list[Result]:
    """Several sensors' batches in one transaction (the MQTT runner's unit of work): [(sensor, items)],
    each sensor once (the runner groups its messages by sensor)."""
    now = now or timezone.now()
    results, rows, checked = [], [], []
    for sensor, items in batches:
        good, rejected, duplicates = check(items, now)
        results.append(Result(duplicates=duplicates, rejected=rejected))
        checked.append((sensor, good))
        rows.extend((sensor.pk, ts, v) for ts, v in good)
    with transaction.atomic():
        new = storage.insert_aggregated(rows)
        by_sensor: dict[int, list] = {}
        for s, ts, v in new:
            by_sensor.setdefault(s, []).append((ts, v))
        evaluate = []
        for (sensor, good), result in zip(checked, results, strict=True):
            fresh = by_sensor.pop(sensor.pk, [])
            result.stored = len(fresh)
            result.duplicates += len(good) - len(fresh)
            fresh.sort()
            evaluate.append((sensor, fresh))
        _touch_many([(sensor, fresh, result) for (sensor, fresh), result in zip(evaluate, results, strict=True)], now)
        alarms.heard_from_many([sensor for sensor, _good in checked], now)
        alarms.evaluate_many(evaluate, now=now)
    return results


def _touch_many(items, now) -> None:
    """Counters and the last reading of a batch's sensors [(sensor, fresh, result)] in one UPDATE, with F()
    so concurrent writers (HTTP and MQTT) add up; a sensor's last reading moves only when the batch's
    newest is not older than the stored one. Sensors with rejected readings get theirs counted apart."""
    if storage.is_postgres():
        _touch_arrays(items, now)
    else:
        _touch_orm(items, now)
    for sensor, _fresh, result in items:
        if result.rejected:
            Sensor.objects.filter(pk=sensor.pk).update(
                bad_payloads=F("bad_payloads") + len(result.rejected), last_bad_at=now,
                last_bad_payload=str(result.rejected[-1]["message"])[:300])


def _touch_arrays(items, now) -> None:
    """PostgreSQL: the batch's sensors as arrays through unnest(), one statement (no ORM expressions to build)."""
    ids, counts, stamps, values = [], [], [], []
    for sensor, fresh, _result in items:
        ids.append(sensor.pk)
        counts.append(len(fresh))
        stamps.append(fresh[-1][0] if fresh else None)
        values.append(fresh[-1][1] if fresh else None)
    newer = "v.ts IS NOT NULL AND (s.last_ts IS NULL OR s.last_ts <= v.ts)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE sensing_sensor s SET last_seen = %s, readings_stored = s.readings_stored + v.n, "  # noqa: S608
            f"last_ts = CASE WHEN {newer} THEN v.ts ELSE s.last_ts END, "
            f"last_value = CASE WHEN {newer} THEN v.value ELSE s.last_value END "
            "FROM unnest(%s::bigint[], %s::integer[], %s::timestamptz[], %s::double precision[]) AS v(id, n, ts, value) "
            "WHERE s.id = v.id", [now, ids, counts, stamps, values])


def _touch_orm(items, now) -> None:
    stored, last_ts, last_value = [], [], []
    for sensor, fresh, _result in items:
        if fresh:
            ts, value = fresh[-1]
            newer = Q(pk=sensor.pk) & (Q(last_ts__isnull=True) | Q(last_ts__lte=ts))
            stored.append(When(pk=sensor.pk, then=Value(len(fresh))))
            last_ts.append(When(newer, then=Value(ts, output_field=DateTimeField())))
            last_value.append(When(newer, then=Value(value, output_field=FloatField())))
    changes = {"last_seen": now}
    if stored:
        changes.update(readings_stored=F("readings_stored") + Case(*stored, default=Value(0),
                                                                   output_field=IntegerField()),
                       last_ts=Case(*last_ts, default=F("last_ts")), last_value=Case(*last_value,
                                                                                     default=F("last_value")))
    Sensor.objects.filter(pk__in=[sensor.pk for sensor, _fresh, _result in items]).update(**changes)


def count_bad_payload(sensor: Sensor, message: str, now=None) -> None:
    """A payload that was not JSON at all (MQTT): counted on the sensor, shown on its page."""
    now = now or timezone.now()
    Sensor.objects.filter(pk=sensor.pk).update(bad_payloads=F("bad_payloads") + 1, last_bad_at=now,
                                               last_bad_payload=message[:300])
