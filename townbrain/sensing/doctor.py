"""Sensing's `townbrain doctor` checks (registered in SensingConfig.ready(), see core/doctor.py).

What sensing keeps beside its source rows, and what each is compared with:

- `sensor_counters`: a sensor's `readings_stored` is the number of readings ever stored for it — the sum of
  its hourly aggregates' counts, and of its daily ones (aggregates are never dropped, raw readings are, by
  retention); its `last_ts` / `last_value` are the newest reading's — the newest aggregate's `last_ts` and
  `last`. A sensor without aggregates has stored nothing and has no last reading. Set-based: one GROUP BY.
- `sensor_aggregates`: the hourly (UTC) and daily (local day) aggregates equal the raw readings summed again
  (`storage.summarise`, the writer's own bucketing): count, min, max, last time and last value exactly, the sum
  to 1e-9 (floats added in another order); every bucket with readings has its aggregate. Buckets that began
  before the retention cut-off are not compared (their readings may be gone). The raw table is the biggest
  of all, so by default a sample of the sensors (`--sample N`, `--full`).
- `alarm_states`: what alarms and rule states copy or imply: an alarm's town is its sensor's, a rule's alarm
  is keyed `rule:<id>` (an inactivity alarm `inactivity`, with no rule), a cleared alarm has its time and an
  acknowledged one its time; a rule state's run is all or nothing (a streak has its start and its peak, no
  streak has neither), it has seen no reading newer than its sensor's last, and a rule's active alarm stands
  on a run of at least one breaching reading (a hand clear resets the run with the alarm).

Alarm counts up the tree (`alarms.counts`) are counted live, with no stored counter to drift; a rule state
is not replayed from the readings (rules are edited and late readings skipped, so the replay would not be
the history), only held to the invariants above.
"""

import math
import random

from django.db.models import OuterRef, Q, Subquery, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.doctor import Check, Options, Outcome, register, sample_size, sampled_note

from . import alarms, storage
from .models import Aggregate, Alarm, Grain, Reading, RuleState, Sensor

AGGREGATE_SAMPLE = 200  # sensors whose raw readings are summed again by default
CHUNK = 50  # sensors read at a time


def check_sensor_counters(options: Options) -> Outcome:
    out = Outcome()
    newest = Aggregate.objects.filter(sensor=OuterRef("pk"), grain=Grain.HOUR).order_by("-last_ts")
    rows = (Sensor.objects.order_by("pk")
            .annotate(hours=Sum("aggregates__count", filter=Q(aggregates__grain=Grain.HOUR)),
                      days=Sum("aggregates__count", filter=Q(aggregates__grain=Grain.DAY)),
                      agg_ts=Subquery(newest.values("last_ts")[:1]), agg_last=Subquery(newest.values("last")[:1]))
            .values_list("pk", "code", "readings_stored", "last_ts", "last_value", "hours", "days", "agg_ts",
                         "agg_last"))
    for pk, code, stored, last_ts, last_value, hours, days, agg_ts, agg_last in rows.iterator(chunk_size=5000):
        out.checked += 1
        diffs = []
        if (hours or 0) != stored or (days or 0) != stored:
            diffs.append(_("%(stored)s readings stored, its aggregates count %(hours)s by the hour and %(days)s "
                           "by the day") % {"stored": stored, "hours": hours or 0, "days": days or 0})
        if (last_ts, last_value) != (agg_ts, agg_last):
            diffs.append(_("last reading %(ts)s = %(value)s, its newest aggregate says %(agg_ts)s = %(agg_last)s")
                         % {"ts": _time(last_ts), "value": last_value, "agg_ts": _time(agg_ts), "agg_last": agg_last})
        for diff in diffs:
            out.problem(_("sensor %(code)s (#%(id)s): %(diff)s") % {"code": code, "id": pk, "diff": diff})
    return out


def check_sensor_aggregates(options: Options) -> Outcome:
    out = Outcome()
    ids = list(Sensor.objects.order_by("pk").values_list("pk", flat=True))
    size = sample_size(options, len(ids), AGGREGATE_SAMPLE)
    chosen = ids if size >= len(ids) else sorted(random.Random(len(ids)).sample(ids, size))  # noqa: S311
    out.note = sampled_note(size, len(ids))
    limit = storage.cutoff()
    codes = dict(Sensor.objects.filter(pk__in=chosen).values_list("pk", "code")) if chosen else {}
    for start in range(0, len(chosen), CHUNK):
        piece = chosen[start:start + CHUNK]
        readings = Reading.objects.filter(sensor_id__in=piece).order_by().values_list("sensor_id", "ts", "value")
        summed = storage.summarise(readings.iterator(chunk_size=20000))
        kept = {(s, grain, bucket): (n, total, lo, hi, last_ts, last)
                for s, grain, bucket, n, total, lo, hi, last_ts, last in Aggregate.objects.filter(
                    sensor_id__in=piece).order_by().values_list(
                    "sensor_id", "grain", "bucket", "count", "sum", "min", "max", "last_ts", "last").iterator(
                    chunk_size=20000)}
        for key in sorted(set(kept) | set(summed), key=lambda k: (k[0], k[1], k[2])):
            if limit is not None and key[2] < limit:
                continue  # the bucket began before the cut-off: its readings may be gone
            out.checked += 1
            have, want = kept.get(key), summed.get(key)
            label = _("sensor %(code)s %(grain)s %(bucket)s") % {
                "code": codes.get(key[0], key[0]), "grain": Grain(key[1]).label, "bucket": _time(key[2])}
            if have is None:
                out.problem(_("%(label)s: %(n)s readings and no aggregate") % {"label": label, "n": want[0]})
            elif want is None:
                out.problem(_("%(label)s: an aggregate of %(n)s readings and no readings") % {
                    "label": label, "n": have[0]})
            elif diff := _differ(have, want):
                out.problem(_("%(label)s: aggregate %(diff)s (readings)") % {"label": label, "diff": diff})
    return out


FIGURES = ("count", "sum", "min", "max", "last_ts", "last")


def _differ(have, want) -> str:
    diffs = []
    for name, a, b in zip(FIGURES, have, list(want), strict=True):
        same = math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) if name == "sum" else a == b
        if not same:
            diffs.append(f"{name} {_time(a) if name == 'last_ts' else a} ≠ {_time(b) if name == 'last_ts' else b}")
    return ", ".join(diffs)


def _time(ts) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S") + " UTC" if ts is not None else "—"


def check_alarm_states(options: Options) -> Outcome:
    out = Outcome()
    alarm_rows = (Alarm.objects.order_by("pk")
                  .values_list("pk", "key", "type", "rule_id", "town_id", "sensor__town_id", "sensor__code",
                               "cleared", "cleared_at", "acknowledged", "acked_at"))
    for pk, key, type_, rule, town, sensor_town, sensor, cleared, cleared_at, acked, acked_at in \
            alarm_rows.iterator(chunk_size=5000):
        out.checked += 1
        diffs = []
        if town != sensor_town:
            diffs.append(_("its town is %(town)s, its sensor's %(sensor_town)s") % {
                "town": town, "sensor_town": sensor_town})
        if type_ == Alarm.Type.INACTIVITY and (key != alarms.INACTIVITY or rule is not None):
            diffs.append(_("an inactivity alarm keyed “%(key)s”") % {"key": key})
        elif type_ == Alarm.Type.THRESHOLD and rule is not None and key != f"rule:{rule}":
            diffs.append(_("the alarm of rule #%(rule)s keyed “%(key)s”") % {"rule": rule, "key": key})
        if cleared != (cleared_at is not None):
            diffs.append(_("cleared is %(cleared)s, cleared at %(at)s") % {"cleared": cleared, "at": _time(cleared_at)})
        if acked != (acked_at is not None):
            diffs.append(_("acknowledged is %(acked)s, acknowledged at %(at)s") % {"acked": acked, "at": _time(acked_at)})
        for diff in diffs:
            out.problem(_("alarm #%(id)s (sensor %(sensor)s): %(diff)s") % {"id": pk, "sensor": sensor, "diff": diff})
    active = Alarm.objects.filter(sensor=OuterRef("sensor_id"), rule=OuterRef("rule_id"), cleared=False)
    state_rows = (RuleState.objects.order_by("pk")
                  .annotate(alarm=Subquery(active.values("pk")[:1]),
                            sensor_last=Subquery(Sensor.objects.filter(pk=OuterRef("sensor_id")).values("last_ts")))
                  .values_list("pk", "sensor_id", "rule_id", "streak", "since", "peak", "last_ts", "sensor_last",
                               "alarm"))
    for pk, sensor, rule, streak, since, peak, last_ts, sensor_last, alarm in state_rows.iterator(chunk_size=5000):
        out.checked += 1
        diffs = []
        if (streak > 0) != (since is not None) or (streak > 0) != (peak is not None):
            diffs.append(_("a run of %(streak)s readings since %(since)s, peak %(peak)s") % {
                "streak": streak, "since": _time(since), "peak": peak})
        if last_ts is not None and (sensor_last is None or last_ts > sensor_last):
            diffs.append(_("has seen a reading at %(ts)s, its sensor's last is %(last)s") % {
                "ts": _time(last_ts), "last": _time(sensor_last)})
        if alarm is not None and streak < 1:
            diffs.append(_("its rule's alarm #%(alarm)s is active on a run of %(streak)s readings") % {
                "alarm": alarm, "streak": streak})
        for diff in diffs:
            out.problem(_("rule state #%(id)s (sensor #%(sensor)s, rule #%(rule)s): %(diff)s") % {
                "id": pk, "sensor": sensor, "rule": rule, "diff": diff})
    return out


def register_checks() -> None:
    register(Check("sensor_counters", gettext_lazy("Sensors' counters and last readings = their aggregates"),
                   check_sensor_counters, order=70))
    register(Check("sensor_aggregates", gettext_lazy("Readings' aggregates = the readings"),
                   check_sensor_aggregates, order=71))
    register(Check("alarm_states", gettext_lazy("Alarms and rule states agree with their sensors and rules"),
                   check_alarm_states, order=72))
