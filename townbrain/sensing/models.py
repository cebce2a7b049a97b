"""Sensing (物联感知): facilities (设施), sensors, readings with their aggregates, alarm rules and alarms.

Readings are not a Django-managed table: on PostgreSQL `sensing_reading` is partitioned by month
(RANGE on ts) with a BRIN index on ts, created by migration 0001 with RunSQL; on SQLite a plain
table. `Reading` below is an unmanaged model over it (composite key sensor + ts) for reading;
writes go through `storage.py` (INSERT … ON CONFLICT DO NOTHING, partitions made ahead).
"""

import os

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager


class FacilityStatus(models.TextChoices):
    PLANNED = "planned", _("Planned (规划)")
    BUILDING = "building", _("Under construction (在建)")
    OPERATING = "operating", _("Operating (运行)")
    OUT_OF_SERVICE = "out_of_service", _("Out of service (停运)")


class Facility(TimeStampedModel):
    """One facility of a town. `kind` is a 十个一 item code of the acceptance checklist
    (acceptance/facilities.yaml: sewage-plant, garbage-treatment, water-supply …) or "other"."""

    scope_field = "town__code"

    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="facilities")
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=40)
    status = models.CharField(_("status"), max_length=20, choices=FacilityStatus.choices,
                              default=FacilityStatus.PLANNED)
    capacity = models.DecimalField(_("capacity"), max_digits=14, decimal_places=2, null=True, blank=True)
    capacity_unit = models.CharField(_("capacity unit"), max_length=20, blank=True)
    lat = models.DecimalField(_("latitude (WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(_("longitude (WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    started_on = models.DateField(_("operating since"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["town_id", "kind", "code"]
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")
        indexes = [models.Index(fields=["town"], name="sensing_facility_town_prefix", opclasses=["text_pattern_ops"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("facility-detail", args=[self.code])


class SensorKind(models.TextChoices):
    WATER_LEVEL = "water_level", _("Water level (液位)")
    COD = "cod", _("Sewage outflow COD")
    NH3N = "nh3n", _("Sewage outflow NH3-N (氨氮)")
    PM25 = "pm25", _("Air PM2.5")
    BIN_FILL = "bin_fill", _("Garbage bin fill (垃圾桶满溢)")
    FLOW = "flow", _("Flow (流量)")


# The unit a kind is usually measured in; a sensor may name another.
DEFAULT_UNITS = {"water_level": "m", "cod": "mg/L", "nh3n": "mg/L", "pm25": "μg/m³", "bin_fill": "%", "flow": "m³/h"}


class Sensor(TimeStampedModel):
    scope_field = "town__code"

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="sensors")
    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="sensors")
    kind = models.CharField(_("kind"), max_length=20, choices=SensorKind.choices)
    unit = models.CharField(_("unit"), max_length=20)
    lat = models.DecimalField(_("latitude (WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(_("longitude (WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    # SHA-256 of the device token: the token is 32 random bytes, so a fast hash is enough (nothing to
    # brute-force) and the ingest path can look a device up by it in one indexed query.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    inactive_after_s = models.PositiveIntegerField(_("inactive after (s)"), default=3600)
    last_ts = models.DateTimeField(_("last reading at"), null=True, blank=True)
    last_value = models.FloatField(_("last value"), null=True, blank=True)
    last_seen = models.DateTimeField(_("last heard from"), null=True, blank=True)
    readings_stored = models.BigIntegerField(_("readings stored"), default=0)
    bad_payloads = models.PositiveIntegerField(_("bad payloads"), default=0)
    last_bad_payload = models.CharField(_("last bad payload"), max_length=300, blank=True)
    last_bad_at = models.DateTimeField(_("last bad payload at"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["town_id", "code"]
        verbose_name = _("sensor")
        verbose_name_plural = _("sensors")
        indexes = [models.Index(fields=["town"], name="sensing_sensor_town_prefix", opclasses=["text_pattern_ops"])]

    def __str__(self):
        return self.name or self.code

    def get_absolute_url(self):
        return reverse("sensor-detail", args=[self.code])


class Reading(models.Model):
    """One raw reading (unmanaged: see the module docstring). Read-only through the ORM."""

    pk = models.CompositePrimaryKey("sensor_id", "ts")
    sensor = models.ForeignKey(Sensor, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    ts = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        managed = False
        db_table = "sensing_reading"
        ordering = ["ts"]

    def __str__(self):
        return f"{self.sensor_id} {self.ts:%Y-%m-%d %H:%M:%S} {self.value:g}"


class Grain(models.TextChoices):
    HOUR = "h", _("hour")
    DAY = "d", _("day")


class Aggregate(models.Model):
    """Hourly and daily figures of a sensor, kept by every ingest batch (upsert); never dropped by retention."""

    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="aggregates")
    grain = models.CharField(max_length=1, choices=Grain.choices)
    bucket = models.DateTimeField()
    count = models.PositiveIntegerField()
    sum = models.FloatField()
    min = models.FloatField()
    max = models.FloatField()
    last_ts = models.DateTimeField()
    last = models.FloatField()

    class Meta:
        ordering = ["sensor_id", "grain", "bucket"]
        constraints = [models.UniqueConstraint(fields=["sensor", "grain", "bucket"], name="sensing_aggregate_unique")]

    def __str__(self):
        return f"{self.sensor_id} {self.grain} {self.bucket:%Y-%m-%d %H:%M}"

    @property
    def mean(self):
        return self.sum / self.count if self.count else None


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    MAJOR = "major", _("Major")
    MINOR = "minor", _("Minor")
    WARNING = "warning", _("Warning")


SEVERITY_RANK = {"critical": 4, "major": 3, "minor": 2, "warning": 1}


class AlarmRule(TimeStampedModel):
    """A threshold for one sensor, or for every sensor of a kind inside `org`'s area.

    Raised when the value is beyond `value` (`op` > or <) `repeat` readings in a row for at least
    `duration_s`; cleared only once it is back past `clear_value` (hysteresis), so a value
    flapping at the line keeps one alarm. Beyond `critical_value` the alarm escalates to critical.
    """

    scope_field = "org__code"

    class Op(models.TextChoices):
        ABOVE = ">", _("above")
        BELOW = "<", _("below")

    org = models.ForeignKey(OrgUnit, verbose_name=_("area"), on_delete=models.PROTECT, related_name="+")
    sensor = models.ForeignKey(Sensor, verbose_name=_("sensor"), on_delete=models.CASCADE, null=True, blank=True,
                               related_name="rules")
    kind = models.CharField(_("sensor kind"), max_length=20, choices=SensorKind.choices, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    op = models.CharField(_("condition"), max_length=1, choices=Op.choices)
    value = models.FloatField(_("threshold"))
    clear_value = models.FloatField(_("clear at"))
    duration_s = models.PositiveIntegerField(_("for at least (s)"), default=0)
    repeat = models.PositiveSmallIntegerField(_("readings in a row"), default=1)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.MAJOR)
    critical_value = models.FloatField(_("critical beyond"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["org_id", "kind", "id"]
        verbose_name = _("alarm rule")
        verbose_name_plural = _("alarm rules")

    def __str__(self):
        target = self.sensor.code if self.sensor_id else self.get_kind_display()
        return self.name or f"{target} {self.op} {self.value:g}"

    def breached(self, v: float) -> bool:
        return v > self.value if self.op == ">" else v < self.value

    def cleared(self, v: float) -> bool:
        return v <= self.clear_value if self.op == ">" else v >= self.clear_value

    def critical(self, v: float) -> bool:
        if self.critical_value is None:
            return False
        return v > self.critical_value if self.op == ">" else v < self.critical_value


class RuleState(models.Model):
    """Where a rule stands for a sensor between batches: the run of breaching readings so far."""

    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(AlarmRule, on_delete=models.CASCADE, related_name="+")
    streak = models.PositiveIntegerField(default=0)
    since = models.DateTimeField(null=True)
    peak = models.FloatField(null=True)
    last_ts = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sensor", "rule"], name="sensing_rulestate_unique")]

    def __str__(self):
        return f"{self.sensor_id}/{self.rule_id}: {self.streak}"


class Alarm(TimeStampedModel):
    """ThingsBoard's alarm: one active alarm per sensor and rule (or inactivity), updated while it lasts."""

    scope_field = "town__code"

    class Type(models.TextChoices):
        THRESHOLD = "threshold", _("Threshold")
        INACTIVITY = "inactivity", _("Inactivity")

    sensor = models.ForeignKey(Sensor, verbose_name=_("sensor"), on_delete=models.CASCADE, related_name="alarms")
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(AlarmRule, verbose_name=_("rule"), on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="alarms")
    # "rule:<id>" or "inactivity": one active alarm per sensor and key (the partial unique constraint).
    key = models.CharField(max_length=30)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    peak = models.FloatField(_("peak"), null=True, blank=True)
    cleared = models.BooleanField(_("cleared"), default=False)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.CharField(_("cleared by"), max_length=150, blank=True)
    acknowledged = models.BooleanField(_("acknowledged"), default=False)
    acked_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acked_by = models.CharField(_("acknowledged by"), max_length=150, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    event_id = models.PositiveIntegerField(_("event"), null=True, blank=True)  # governance.Event, when present

    objects = RestrictedManager()

    class Meta:
        ordering = ["-start", "-id"]
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        constraints = [models.UniqueConstraint(fields=["sensor", "key"], condition=Q(cleared=False),
                                               name="sensing_alarm_one_active")]
        indexes = [models.Index(fields=["town"], name="sensing_alarm_town_prefix", opclasses=["text_pattern_ops"]),
                   models.Index(fields=["cleared", "acknowledged"], name="sensing_alarm_status")]

    def __str__(self):
        return f"{self.sensor.code} {self.get_severity_display()}"

    def get_absolute_url(self):
        return reverse("alarm-list") + f"?org={self.town_id}"

    @property
    def status(self) -> str:
        return f"{'cleared' if self.cleared else 'active'}_{'ack' if self.acknowledged else 'unack'}"


RETENTION_SETTING = "TOWNBRAIN_READINGS_RETENTION_DAYS"


def retention_days() -> int:
    """Days of raw readings kept (0: for ever). A setting, or the environment variable of the same name."""
    value = getattr(settings, RETENTION_SETTING, None)
    if value is None:
        value = os.environ.get(RETENTION_SETTING, "")
    return int(value or 0)
