"""Alarms in the manner of ThingsBoard: raised by the rules over new readings, one active alarm per
sensor and rule, updated while it lasts (end, peak, severity escalation), acknowledged and cleared
(audited), counted up the org tree, escalated by notification when nobody acknowledges them, and
— when the governance app is installed — turned into events (事件) for the chosen severities.

Status as ThingsBoard names it: active_unack → active_ack (acknowledged) / cleared_unack
(cleared by the clear condition or a user) → cleared_ack.
"""

import datetime as dt
import logging

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import audit, codes
from townbrain.core.audit_labels import register_actions
from townbrain.core.roles import Role, grants
from townbrain.core.scope import SYSTEM, require

from .models import SEVERITY_RANK, Alarm, AlarmRule, RuleState, Sensor, Severity

log = logging.getLogger(__name__)

register_actions({
    "alarm.raise": gettext_lazy("Raised alarm"),
    "alarm.severity": gettext_lazy("Escalated alarm severity"),
    "alarm.ack": gettext_lazy("Acknowledged alarm"),
    "alarm.clear": gettext_lazy("Cleared alarm"),
    "alarm.escalate": gettext_lazy("Escalated unacknowledged alarm"),
})

FIELDS = ("sensor", "rule", "type", "severity", "start", "end", "peak", "cleared", "acknowledged", "event_id")
INACTIVITY = "inactivity"
# Which governance category an alarm's event goes to, by sensor kind (governance/categories.py).
EVENT_CATEGORIES = {"cod": "zf-environment-sewage", "nh3n": "zf-environment-sewage", "flow": "zf-environment-sewage",
                    "water_level": "zz-safety-house", "bin_fill": "zf-city-garbage", "pm25": "zf-environment-burning"}


def event_severities() -> tuple:
    return tuple(getattr(settings, "TOWNBRAIN_ALARM_EVENT_SEVERITIES", ("critical", "major")))


def escalate_after() -> dt.timedelta:
    """How long an alarm may stay unacknowledged before the offices are told."""
    return dt.timedelta(minutes=int(getattr(settings, "TOWNBRAIN_ALARM_ESCALATE_MINUTES", 30)))


def inactivity_severity() -> str:
    return getattr(settings, "TOWNBRAIN_INACTIVITY_SEVERITY", Severity.MINOR)


def rules_for(sensor: Sensor) -> list[AlarmRule]:
    """The sensor's own rules and its kind's rules whose area holds the sensor's town."""
    return rules_for_many([sensor])[sensor.pk]


def rules_for_many(sensors) -> dict[int, list[AlarmRule]]:
    """`rules_for` of several sensors in one query (an ingest batch's): {sensor pk: [rules]}."""
    sensors = list(sensors)
    qs = AlarmRule.objects.filter(Q(sensor__in=[s.pk for s in sensors])
                                  | Q(sensor__isnull=True, kind__in={s.kind for s in sensors}), active=True)
    rules = list(qs.order_by("pk"))
    return {s.pk: [r for r in rules if (r.sensor_id == s.pk or (r.sensor_id is None and r.kind == s.kind))
                   and s.town_id.startswith(r.org_id)] for s in sensors}


def _extreme(rule: AlarmRule, a, b):
    if a is None:
        return b
    return max(a, b) if rule.op == ">" else min(a, b)


def evaluate(sensor: Sensor, fresh, *, now=None, rules=None) -> list[Alarm]:
    """Run the rules over a sensor's new readings [(ts, value)] in time order; the alarms raised.
    `rules`: the sensor's rules when the caller has them already (`rules_for_many`)."""
    raised = []
    for rule in rules_for(sensor) if rules is None else rules:
        state, _new = RuleState.objects.select_for_update().get_or_create(sensor=sensor, rule=rule)
        alarm = Alarm.objects.select_for_update().filter(sensor=sensor, key=f"rule:{rule.pk}", cleared=False).first()
        _step(sensor, rule, state, alarm, fresh, raised)
        state.save()
    return raised


def evaluate_many(batch, *, now=None) -> list[Alarm]:
    """`evaluate` for an ingest batch [(sensor, fresh readings in time order)]: the rules, their states
    and the active alarms read (and locked, in pk order) in one query each, the states written in one."""
    batch = [(sensor, fresh) for sensor, fresh in batch if fresh]
    if not batch:
        return []
    rules = rules_for_many(sensor for sensor, _fresh in batch)
    pairs = [(sensor.pk, rule.pk) for sensor, _fresh in batch for rule in rules[sensor.pk]]
    if not pairs:
        return []
    ids = sorted({s for s, _r in pairs})
    states = {(st.sensor_id, st.rule_id): st for st in RuleState.objects.select_for_update().filter(
        sensor__in=ids, rule__in={r for _s, r in pairs}).order_by("pk")}
    for key in pairs:
        if key not in states:  # a rule's first readings for this sensor (get_or_create: concurrent writers)
            states[key], _new = RuleState.objects.select_for_update().get_or_create(sensor_id=key[0], rule_id=key[1])
    active = {(a.sensor_id, a.key): a for a in Alarm.objects.select_for_update().filter(
        sensor__in=ids, key__startswith="rule:", cleared=False).order_by("pk")}
    raised, touched = [], []
    for sensor, fresh in batch:
        for rule in rules[sensor.pk]:
            state = states[(sensor.pk, rule.pk)]
            _step(sensor, rule, state, active.get((sensor.pk, f"rule:{rule.pk}")), fresh, raised)
            touched.append(state)
    _save_states(touched)
    return raised


def _save_states(states) -> None:
    """Write the rule states of a batch (locked above): on PostgreSQL one UPDATE from arrays (Django's
    bulk_update builds a CASE per field and row, a third of a batch's time); elsewhere bulk_update."""
    from . import storage

    if not storage.is_postgres():
        RuleState.objects.bulk_update(states, ["streak", "since", "peak", "last_ts"])
        return
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sensing_rulestate r SET streak = v.streak, since = v.since, peak = v.peak, last_ts = v.last_ts "
            "FROM unnest(%s::bigint[], %s::integer[], %s::timestamptz[], %s::double precision[], "
            "%s::timestamptz[]) AS v(id, streak, since, peak, last_ts) WHERE r.id = v.id",
            [storage.int_array(st.pk for st in states), storage.int_array(st.streak for st in states),
             [st.since for st in states], storage.float_array(st.peak for st in states),
             [st.last_ts for st in states]])


def _step(sensor, rule, state, alarm, fresh, raised) -> None:
    """One rule over one sensor's new readings: moves `state`, updates, raises or clears the alarm."""
    changed_alarm = False
    for ts, v in fresh:
        if state.last_ts is not None and ts <= state.last_ts:
            continue  # late: history, not a new crossing
        state.last_ts = ts
        if alarm is not None:
            if rule.cleared(v):
                _finish(alarm, changed_alarm)
                _clear(SYSTEM, alarm, ts, _("cleared by rule"))
                alarm, changed_alarm = None, False
                state.streak, state.since, state.peak = 0, None, None
            else:
                alarm.end = ts
                alarm.peak = _extreme(rule, alarm.peak, v)
                changed_alarm = True
                if rule.critical(v) and alarm.severity != Severity.CRITICAL:
                    _escalate_severity(alarm, Severity.CRITICAL)
            continue
        if rule.breached(v):
            state.streak += 1
            state.since = state.since or ts
            state.peak = _extreme(rule, state.peak, v)
            if state.streak >= rule.repeat and (ts - state.since).total_seconds() >= rule.duration_s:
                severity = Severity.CRITICAL if rule.critical(state.peak) else rule.severity
                alarm = _raise(sensor, rule, f"rule:{rule.pk}", Alarm.Type.THRESHOLD, severity,
                               state.since, ts, state.peak)
                raised.append(alarm)
                changed_alarm = False
        else:
            state.streak, state.since, state.peak = 0, None, None
    if alarm is not None:
        _finish(alarm, changed_alarm)


def _finish(alarm: Alarm, changed: bool) -> None:
    if changed:
        alarm.save(update_fields=["end", "peak", "updated"])


def _raise(sensor, rule, key, type_, severity, start, end, peak) -> Alarm:
    alarm = Alarm.objects.create(sensor=sensor, town_id=sensor.town_id, rule=rule, key=key, type=type_,
                                 severity=severity, start=start, end=end, peak=peak)
    audit.record(SYSTEM, "alarm.raise", alarm, {}, audit.snapshot(alarm, FIELDS), org_code=sensor.town_id)
    if severity in event_severities():
        _open_event(alarm)
    return alarm


def _escalate_severity(alarm: Alarm, severity: str) -> None:
    before = audit.snapshot(alarm, FIELDS)
    alarm.severity = severity
    alarm.save(update_fields=["severity", "end", "peak", "updated"])
    audit.record(SYSTEM, "alarm.severity", alarm, before, audit.snapshot(alarm, FIELDS), org_code=alarm.town_id)
    if severity in event_severities() and alarm.event_id is None:
        _open_event(alarm)


def describe(alarm: Alarm) -> str:
    sensor = alarm.sensor
    if alarm.type == Alarm.Type.INACTIVITY:
        return _("Sensor %(sensor)s (%(town)s) has sent nothing since %(since)s.") % {
            "sensor": sensor.code, "town": sensor.town.name,
            "since": timezone.localtime(alarm.start).strftime("%Y-%m-%d %H:%M")}
    return _("%(severity)s alarm: sensor %(sensor)s (%(town)s) %(rule)s, peak %(peak)s %(unit)s since %(since)s.") % {
        "severity": alarm.get_severity_display(), "sensor": sensor.code, "town": sensor.town.name,
        "rule": str(alarm.rule) if alarm.rule_id else "", "peak": f"{alarm.peak:g}" if alarm.peak is not None else "",
        "unit": sensor.unit, "since": timezone.localtime(alarm.start).strftime("%Y-%m-%d %H:%M")}


def _open_event(alarm: Alarm):
    """A governance event (事件, source 传感器) for the alarm, when the governance app is installed;
    without it, nothing at all."""
    if not apps.is_installed("townbrain.governance") or alarm.event_id:
        return None
    from townbrain.governance.models import EventCategory, Source
    from townbrain.governance.services import report_event

    category = EventCategory.objects.filter(code=EVENT_CATEGORIES.get(alarm.sensor.kind, "")).first()
    if category is None:
        category = EventCategory.objects.filter(parent__isnull=False).order_by("platform", "order", "code").first()
    if category is None:
        log.warning("no event category for alarm %s; no event opened", alarm.pk)
        return None
    sensor = alarm.sensor
    try:
        with transaction.atomic():
            event = report_event(SYSTEM, sensor.town, category, describe(alarm), source=Source.SENSOR,
                                 lat=sensor.lat, lng=sensor.lng, at=alarm.start)
    except ValidationError as exc:
        log.warning("alarm %s: event not opened: %s", alarm.pk, exc)
        return None
    alarm.event_id = event.pk
    alarm.save(update_fields=["event_id", "updated"])
    return event


def heard_from(sensor: Sensor, now) -> None:
    """A sensor that sends again clears its inactivity alarm."""
    heard_from_many([sensor], now)


def heard_from_many(sensors, now) -> None:
    """`heard_from` for an ingest batch's sensors in one query (there is seldom anything to clear)."""
    found = Alarm.objects.select_for_update().filter(sensor__in=[s.pk for s in sensors], key=INACTIVITY,
                                                     cleared=False).order_by("pk")
    for alarm in found:
        _clear(SYSTEM, alarm, now, _("the sensor sends again"))


def check_inactivity(now=None) -> dict:
    """Raise an inactivity alarm for every sensor silent longer than its `inactive_after_s`
    (run periodically by `townbrain mqtt` and by `townbrain sensing check`)."""
    now = now or timezone.now()
    raised = 0
    silent = Sensor.objects.filter(last_seen__isnull=False, inactive_after_s__gt=0).exclude(
        alarms__key=INACTIVITY, alarms__cleared=False).select_related("town")
    for sensor in silent.iterator():
        if sensor.last_seen + dt.timedelta(seconds=sensor.inactive_after_s) > now:
            continue
        with transaction.atomic():
            if Alarm.objects.select_for_update().filter(sensor=sensor, key=INACTIVITY, cleared=False).exists():
                continue
            _raise(sensor, None, INACTIVITY, Alarm.Type.INACTIVITY, inactivity_severity(),
                   sensor.last_seen, now, None)
            raised += 1
    return {"inactivity_raised": raised}


# --- the life cycle: acknowledge and clear (services: the actor's right is checked, audited) ---------

def _clear(actor, alarm: Alarm, at, reason: str = "") -> Alarm:
    before = audit.snapshot(alarm, FIELDS)
    alarm.cleared = True
    alarm.cleared_at = at
    alarm.cleared_by = getattr(actor, "username", "") or "system"
    alarm.save(update_fields=["cleared", "cleared_at", "cleared_by", "end", "peak", "updated"])
    after = audit.snapshot(alarm, FIELDS)
    if reason:
        after["reason"] = reason
    audit.record(actor, "alarm.clear", alarm, before, after, org_code=alarm.town_id)
    return alarm


def acknowledge(actor, alarm: Alarm) -> Alarm:
    require(actor, "change", alarm.town_id)
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
        if alarm.acknowledged:
            raise ValidationError(_("The alarm is already acknowledged."))
        before = audit.snapshot(alarm, FIELDS)
        alarm.acknowledged = True
        alarm.acked_at = timezone.now()
        alarm.acked_by = actor.username
        alarm.save(update_fields=["acknowledged", "acked_at", "acked_by", "updated"])
        audit.record(actor, "alarm.ack", alarm, before, audit.snapshot(alarm, FIELDS), org_code=alarm.town_id)
    return alarm


def clear(actor, alarm: Alarm) -> Alarm:
    """A user clears an alarm by hand (e.g. the sensor was serviced); the rule raises a new one if
    the value is still beyond the threshold."""
    require(actor, "change", alarm.town_id)
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
        if alarm.cleared:
            raise ValidationError(_("The alarm is already cleared."))
        _clear(actor, alarm, timezone.now())
        if alarm.rule_id:
            RuleState.objects.filter(sensor_id=alarm.sensor_id, rule_id=alarm.rule_id).update(
                streak=0, since=None, peak=None)
    return alarm


# --- escalation when nobody acknowledges ----------------------------------------------------------

CHANGE_ROLES = [r for r in Role.values if grants(r, "change") and r != Role.SYSTEM_ADMIN]


def offices_of(alarm: Alarm) -> list:
    """Who is told: the users of the town's office and of the county office above it."""
    units = [alarm.town_id, codes.parent_of(alarm.town_id) or alarm.town_id]
    return list(get_user_model().objects.filter(is_active=True, memberships__org_unit_id__in=units,
                                                memberships__role__in=CHANGE_ROLES).distinct().order_by("pk"))


def escalate(now=None) -> dict:
    """Tell the offices about active alarms unacknowledged for longer than the setting; once each.

    With the governance app the alarm gets an event (if it has none yet) and the notification goes
    through its bell (and its e-mail and webhook); without it, by e-mail only.
    """
    now = now or timezone.now()
    due = Alarm.objects.filter(cleared=False, acknowledged=False, escalated_at__isnull=True,
                               start__lte=now - escalate_after()).select_related("sensor", "sensor__town", "rule")
    sent = 0
    for alarm in due.order_by("start", "pk"):
        with transaction.atomic():
            alarm = Alarm.objects.select_for_update(of=("self",)).select_related("sensor", "sensor__town", "rule").get(pk=alarm.pk)
            if alarm.escalated_at or alarm.acknowledged or alarm.cleared:
                continue
            users = offices_of(alarm)
            message = _("Unacknowledged for %(minutes)s minutes: %(alarm)s") % {
                "minutes": int(escalate_after().total_seconds() // 60), "alarm": describe(alarm)}
            before = audit.snapshot(alarm, FIELDS)
            _notify(alarm, users, message)
            alarm.escalated_at = now
            alarm.save(update_fields=["escalated_at", "event_id", "updated"])
            after = {**audit.snapshot(alarm, FIELDS), "notified": [u.username for u in users]}
            audit.record(SYSTEM, "alarm.escalate", alarm, before, after, org_code=alarm.town_id)
            sent += 1
    return {"escalated": sent}


def _notify(alarm: Alarm, users, message: str) -> None:
    if apps.is_installed("townbrain.governance"):
        from townbrain.governance.models import Event, Notification
        from townbrain.governance.services import notify

        event = Event.objects.filter(pk=alarm.event_id).first() if alarm.event_id else _open_event(alarm)
        if event is not None:
            notify(users, event, Notification.Kind.REMIND, message)
            return
    emails = [u.email for u in users if u.email]
    if emails:
        transaction.on_commit(lambda: send_mail(message[:150], message, None, emails, fail_silently=True))


# --- counts up the tree ---------------------------------------------------------------------------

def counts(user, org_code: str) -> dict:
    """Active alarms under an org unit by severity (each alarm once, however deep), and how many of
    them nobody acknowledged: a prefix match on the town code, never a sum of children's sums."""
    qs = Alarm.objects.restrict(user, "view").filter(town__code__startswith=org_code, cleared=False)
    rows = qs.values("severity").annotate(n=Count("pk"), unack=Count("pk", filter=Q(acknowledged=False)))
    out = {s: 0 for s in SEVERITY_RANK}
    unack = 0
    for row in rows:
        out[row["severity"]] = row["n"]
        unack += row["unack"]
    return {"by_severity": out, "active": sum(out.values()), "unacknowledged": unack}


def may_handle(user, alarm: Alarm) -> bool:
    try:
        require(user, "change", alarm.town_id)
    except PermissionDenied:
        return False
    return True
