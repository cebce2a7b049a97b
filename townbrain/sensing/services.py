"""The one write path of sensing: facilities, sensors (and their device tokens), alarm rules, and the
alarm life cycle (re-exported from alarms.py). Each call checks the actor's right, is atomic and
audited. Readings go through ingest.py."""

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import audit, geo
from townbrain.core.audit_labels import register_actions
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import require

from . import facilities
from .alarms import acknowledge, clear  # noqa: F401 - the alarm life cycle is part of this write path
from .models import DEFAULT_UNITS, AlarmRule, Facility, FacilityStatus, Sensor, SensorKind, Severity

register_actions({
    "facility.create": gettext_lazy("Created facility"),
    "facility.update": gettext_lazy("Changed facility"),
    "sensor.create": gettext_lazy("Created sensor"),
    "sensor.update": gettext_lazy("Changed sensor"),
    "sensor.token": gettext_lazy("Issued a new device token"),
    "alarmrule.create": gettext_lazy("Created alarm rule"),
    "alarmrule.update": gettext_lazy("Changed alarm rule"),
    "alarmrule.delete": gettext_lazy("Deleted alarm rule"),
})

FACILITY_FIELDS = ("town", "code", "name", "kind", "status", "capacity", "capacity_unit", "lat", "lng",
                   "started_on", "notes")
SENSOR_FIELDS = ("town", "facility", "code", "name", "kind", "unit", "lat", "lng", "inactive_after_s")
RULE_FIELDS = ("org", "sensor", "kind", "name", "op", "value", "clear_value", "duration_s", "repeat", "severity",
               "critical_value", "active")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _town(town) -> OrgUnit:
    if not isinstance(town, OrgUnit):
        town = OrgUnit.objects.filter(code=str(town)).first()
    if town is None or town.level != Level.TOWN:
        raise ValidationError({"town": _("Give the code of a town (乡镇/街道).")})
    return town


def _place(obj, lat, lng, crs):
    """Coordinates in `crs` (WGS-84, GCJ-02, BD-09) stored as WGS-84."""
    if lat in (None, "") and lng in (None, ""):
        obj.lat = obj.lng = None
        return
    if lat in (None, "") or lng in (None, ""):
        raise ValidationError({"lat": _("Give both latitude and longitude, or neither.")})
    try:
        obj.lat, obj.lng = geo.to_wgs84(lat, lng, crs or geo.WGS84)
    except geo.UnknownSystem:
        raise ValidationError({"crs": _("Use wgs84, gcj02 or bd09.")}) from None
    except (TypeError, ValueError, ArithmeticError):
        raise ValidationError({"lat": _("Latitude and longitude are numbers.")}) from None


# --- facilities -----------------------------------------------------------------------------------

def _check_facility(facility: Facility) -> None:
    if facility.kind not in facilities.kinds():
        raise ValidationError({"kind": _("Unknown facility kind “%(kind)s”.") % {"kind": facility.kind}})
    facility.full_clean()


def create_facility(actor, town, *, code, name, kind, status=FacilityStatus.PLANNED, capacity=None,
                    capacity_unit="", lat=None, lng=None, crs=geo.WGS84, started_on=None, notes="") -> Facility:
    town = _town(town)
    require(actor, "add", town.code)
    facility = Facility(town=town, code=code, name=name, kind=kind, status=status, capacity=capacity,
                        capacity_unit=capacity_unit, started_on=started_on, notes=notes)
    _place(facility, lat, lng, crs)
    _check_facility(facility)
    with transaction.atomic():
        facility.save()
        audit.record(actor, "facility.create", facility, {}, audit.snapshot(facility, FACILITY_FIELDS),
                     org_code=town.code)
    return facility


def update_facility(actor, facility: Facility, *, crs=geo.WGS84, **changes) -> Facility:
    require(actor, "change", facility.town_id)
    with transaction.atomic():
        facility = Facility.objects.select_for_update().get(pk=facility.pk)
        before = audit.snapshot(facility, FACILITY_FIELDS)
        if "lat" in changes or "lng" in changes:
            _place(facility, changes.pop("lat", facility.lat), changes.pop("lng", facility.lng), crs)
        for name, value in changes.items():
            if name not in FACILITY_FIELDS or name in ("town", "code"):
                raise ValidationError({name: _("This field cannot be changed here.")})
            setattr(facility, name, value)
        _check_facility(facility)
        facility.save()
        audit.record(actor, "facility.update", facility, before, audit.snapshot(facility, FACILITY_FIELDS),
                     org_code=facility.town_id)
    return facility


# --- sensors --------------------------------------------------------------------------------------

def create_sensor(actor, town, *, code, kind, unit="", name="", facility=None, lat=None, lng=None,
                  crs=geo.WGS84, inactive_after_s=3600) -> tuple[Sensor, str]:
    """A new sensor and its device token — returned this once; only its hash is stored."""
    town = _town(town)
    require(actor, "add", town.code)
    if kind not in SensorKind.values:
        raise ValidationError({"kind": _("Unknown sensor kind “%(kind)s”.") % {"kind": kind}})
    if facility is not None and facility.town_id != town.code:
        raise ValidationError({"facility": _("The facility is in another town.")})
    token = secrets.token_urlsafe(32)
    sensor = Sensor(town=town, code=code, kind=kind, unit=unit or DEFAULT_UNITS[kind], name=name, facility=facility,
                    inactive_after_s=inactive_after_s, token_hash=hash_token(token))
    _place(sensor, lat, lng, crs)
    sensor.full_clean()
    with transaction.atomic():
        sensor.save()
        audit.record(actor, "sensor.create", sensor, {}, audit.snapshot(sensor, SENSOR_FIELDS), org_code=town.code)
    return sensor, token


def new_token(actor, sensor: Sensor) -> str:
    """Replace a device's token (lost or leaked): the old one stops working at once."""
    require(actor, "change", sensor.town_id)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Sensor.objects.filter(pk=sensor.pk).update(token_hash=hash_token(token))
        audit.record(actor, "sensor.token", sensor, {"token": "***"}, {"token": "(changed)"}, org_code=sensor.town_id)
    return token


def sensor_for_token(token: str) -> Sensor | None:
    if not token:
        return None
    return Sensor.objects.select_related("town").filter(token_hash=hash_token(token)).first()


# --- alarm rules ----------------------------------------------------------------------------------

def _check_rule(rule: AlarmRule) -> None:
    errors = {}
    if (rule.sensor_id is None) == (not rule.kind):
        errors["sensor"] = _("Give a sensor or a sensor kind, not both.")
    if rule.kind and rule.kind not in SensorKind.values:
        errors["kind"] = _("Unknown sensor kind “%(kind)s”.") % {"kind": rule.kind}
    if rule.op not in (">", "<"):
        errors["op"] = _("The condition is > or <.")
    if rule.severity not in Severity.values:
        errors["severity"] = _("Severity is critical, major, minor or warning.")
    if rule.clear_value is not None and rule.value is not None and rule.op in (">", "<"):
        # The clear line must lie on the safe side of the threshold, or an alarm could never clear.
        if (rule.op == ">" and rule.clear_value > rule.value) or (rule.op == "<" and rule.clear_value < rule.value):
            errors["clear_value"] = _("The clear value must be on the safe side of the threshold.")
    if rule.repeat < 1:
        errors["repeat"] = _("At least one reading.")
    if errors:
        raise ValidationError(errors)
    rule.full_clean()


def create_alarm_rule(actor, *, org=None, sensor: Sensor | None = None, kind: str = "", op: str, value,
                      clear_value=None, duration_s: int = 0, repeat: int = 1, severity: str = Severity.MAJOR,
                      critical_value=None, name: str = "") -> AlarmRule:
    """A rule for one sensor (its town is the rule's area) or for a kind of sensor in `org`'s area."""
    if sensor is not None:
        org = sensor.town
    elif not isinstance(org, OrgUnit):
        org = OrgUnit.objects.filter(code=str(org or "")).first()
        if org is None:
            raise ValidationError({"org": _("Give the area (an org unit code) the rule applies in.")})
    require(actor, "add", org.code)
    try:
        value = float(value)
        clear_value = value if clear_value in (None, "") else float(clear_value)
        critical_value = None if critical_value in (None, "") else float(critical_value)
    except (TypeError, ValueError):
        raise ValidationError({"value": _("Thresholds are numbers.")}) from None
    rule = AlarmRule(org=org, sensor=sensor, kind="" if sensor else kind, op=op, value=value,
                     clear_value=clear_value, duration_s=int(duration_s or 0), repeat=int(repeat or 1),
                     severity=severity, critical_value=critical_value, name=name)
    _check_rule(rule)
    with transaction.atomic():
        rule.save()
        audit.record(actor, "alarmrule.create", rule, {}, audit.snapshot(rule, RULE_FIELDS), org_code=org.code)
    return rule


def update_alarm_rule(actor, rule: AlarmRule, **changes) -> AlarmRule:
    require(actor, "change", rule.org_id)
    with transaction.atomic():
        rule = AlarmRule.objects.select_for_update().get(pk=rule.pk)
        before = audit.snapshot(rule, RULE_FIELDS)
        for name, value in changes.items():
            if name not in ("name", "op", "value", "clear_value", "duration_s", "repeat", "severity",
                            "critical_value", "active"):
                raise ValidationError({name: _("This field cannot be changed here.")})
            setattr(rule, name, value)
        _check_rule(rule)
        rule.save()
        audit.record(actor, "alarmrule.update", rule, before, audit.snapshot(rule, RULE_FIELDS), org_code=rule.org_id)
    return rule


def delete_alarm_rule(actor, rule: AlarmRule) -> None:
    require(actor, "delete", rule.org_id)
    with transaction.atomic():
        audit.record(actor, "alarmrule.delete", rule, audit.snapshot(rule, RULE_FIELDS), {}, org_code=rule.org_id)
        rule.delete()
